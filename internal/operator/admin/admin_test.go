package admin_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"

	"github.com/hookflow/hookflow/config"
	"github.com/hookflow/hookflow/internal/operator/admin"
)

func newApp(t *testing.T, tokens string) *fiber.App {
	t.Helper()
	cfg, err := config.Load("", func(k string) string {
		if k == "HOOKFLOW_ADMIN_TOKEN" {
			return tokens
		}
		return ""
	})
	if err != nil {
		t.Fatal(err)
	}
	app := fiber.New()
	(&admin.API{Config: cfg}).Mount(app)
	return app
}

// TestOpenAPIMatchesTheRouter: every route is documented, and every
// documented route is served.
func TestOpenAPIMatchesTheRouter(t *testing.T) {
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(admin.OpenAPI, &doc); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Errorf("openapi = %q, want 3.x", doc.OpenAPI)
	}
	var documented []string
	for path, ops := range doc.Paths {
		for method := range ops {
			documented = append(documented, strings.ToUpper(method)+" "+path)
		}
	}
	param := regexp.MustCompile(`:([A-Za-z]+)`)
	var served []string
	for _, r := range newApp(t, "tok").GetRoutes(true) {
		if !strings.HasPrefix(r.Path, "/v1/") || r.Method == fiber.MethodHead {
			continue
		}
		served = append(served, r.Method+" "+param.ReplaceAllString(r.Path, "{$1}"))
	}
	slices.Sort(documented)
	slices.Sort(served)
	served = slices.Compact(served)
	if !slices.Equal(documented, served) {
		t.Errorf("documented routes:\n %q\nserved routes:\n %q", documented, served)
	}
}

// TestEveryRouteWantsAToken: without a token, with a wrong one, or with a
// non-Bearer header, every route answers 401 with the contract's body; each
// of several rotated tokens gets through.
func TestEveryRouteWantsAToken(t *testing.T) {
	app := newApp(t, "old-token, new-token")
	routes := []struct{ method, path string }{
		{"GET", "/v1/openapi.json"},
		{"GET", "/v1/entities"},
		{"GET", "/v1/entities/fenix-shipment:1"},
		{"POST", "/v1/entities/fenix-shipment:1/reprocess"},
		{"POST", "/v1/entities/fenix-shipment:1/redeliver"},
	}
	for _, r := range routes {
		for _, auth := range []string{"", "Bearer wrong", "Bearer new-token-but-longer", "Basic bmV3LXRva2Vu", "new-token"} {
			req := httptest.NewRequest(r.method, r.path, nil)
			if auth != "" {
				req.Header.Set("Authorization", auth)
			}
			resp, err := app.Test(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != http.StatusUnauthorized || string(body) != `{"error":"Missing or invalid authorization header"}` {
				t.Errorf("%s %s with %q: %d %s, want 401", r.method, r.path, auth, resp.StatusCode, body)
			}
		}
	}
	for _, token := range []string{"old-token", "new-token"} {
		req := httptest.NewRequest("GET", "/v1/openapi.json", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := app.Test(req)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != http.StatusOK {
			t.Errorf("openapi.json with %s: %d, want 200", token, resp.StatusCode)
		}
	}
}
