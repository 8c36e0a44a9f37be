package devtools

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"
)

// TestPhoenixSandboxBulk registers orders in one PATCH and reads each back
// as the workflows' activity would; a malformed body changes nothing.
func TestPhoenixSandboxBulk(t *testing.T) {
	app := fiber.New()
	MountPhoenixSandbox(app)
	do := func(method, path, body string) (int, map[string]any) {
		t.Helper()
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		resp, err := app.Test(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var got map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&got)
		return resp.StatusCode, got
	}

	if code, _ := do("PATCH", SandboxPrefix+"/orders", `{"o-1":"pending","o-2":"fulfilled"}`); code != 200 {
		t.Fatalf("PATCH orders = %d, want 200", code)
	}
	for id, want := range map[string]string{"o-1": "pending", "o-2": "fulfilled"} {
		code, got := do("GET", SandboxPrefix+"/orders/"+id, "")
		if code != 200 || got["status"] != want {
			t.Errorf("GET %s = %d %v, want 200 status %s", id, code, got, want)
		}
	}
	for _, body := range []string{`not json`, `{}`, `{"o-3":""}`, `{"":"pending"}`} {
		if code, _ := do("PATCH", SandboxPrefix+"/orders", body); code != 400 {
			t.Errorf("PATCH %s = %d, want 400", body, code)
		}
	}
	if code, _ := do("GET", SandboxPrefix+"/orders/o-3", ""); code != 404 {
		t.Errorf("GET o-3 after refused PATCH = %d, want 404", code)
	}
	// Three reads so far (the two orders and o-3), each counted in its second.
	code, got := do("GET", SandboxPrefix+"/reads", "")
	total := 0.0
	per, _ := got["perSecond"].(map[string]any)
	for _, n := range per {
		total += n.(float64)
	}
	if code != 200 || total != 3 {
		t.Errorf("GET reads = %d %v, want 200 and 3 reads counted", code, got)
	}
}
