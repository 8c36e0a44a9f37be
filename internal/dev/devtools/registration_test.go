package devtools

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/gofiber/fiber/v2"

	"github.com/hookflow/hookflow/providers"
	"github.com/hookflow/hookflow/signature"
)

// receiver is a webhook endpoint that verifies each delivery with the
// provider's own verifier, keyed with secret, and parses it with the
// provider's parser: 200 when both pass, 401 otherwise.
type receiver struct {
	*httptest.Server
	mu       sync.Mutex
	verified []string // the parsed events' statuses, in order
	rejected int
	headers  []http.Header
}

func newReceiver(t *testing.T, name, secret string) *receiver {
	t.Helper()
	p := provider(name)
	v, err := p.NewVerifier([]string{secret}, SandboxOptions{}.settings())
	if err != nil {
		t.Fatal(err)
	}
	rc := &receiver{}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		defer rc.mu.Unlock()
		rc.headers = append(rc.headers, r.Header.Clone())
		header := signature.Header(r.Header.Get)
		if err := v.Verify(body, header); err != nil {
			rc.rejected++
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		ev, err := p.Parse(body, header)
		if err != nil {
			rc.rejected++
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		rc.verified = append(rc.verified, ev.Status)
	}))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) counts() (verified, rejected int) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return len(rc.verified), rc.rejected
}

// call sends method path with body to h under the header and decodes the
// JSON answer.
func call(t *testing.T, h http.Handler, method, path, body string, header map[string]string) (int, map[string]any) {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	for k, v := range header {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var got map[string]any
	if rec.Body.Len() > 0 {
		if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
			t.Fatalf("%s %s: answer %q is not JSON: %v", method, path, rec.Body.String(), err)
		}
	}
	return rec.Code, got
}

// TestUP42Sandbox walks a webhook through UP42's API: create, list, get,
// update, test (a real delivery the receiver verifies with UP42's own
// verifier and the webhook's secret), delete.
func TestUP42Sandbox(t *testing.T) {
	const secret = "whsec-sandbox"
	rc := newReceiver(t, "up42", secret)
	h := NewUP42Sandbox(SandboxOptions{})
	auth := map[string]string{"Authorization": "Bearer token", "Content-Type": "application/json"}
	ws := "/workspaces/ws-1/webhooks"

	code, got := call(t, h, "GET", "/webhooks/events", "", auth)
	if code != 200 || !strings.Contains(toJSON(got["data"]), `"order.status"`) || got["error"] != nil {
		t.Fatalf("GET events = %d %v, want 200 listing order.status", code, got)
	}

	code, got = call(t, h, "POST", ws, `{"name":"orders","url":"`+rc.URL+`","events":["order.status"],"secret":"`+secret+`","active":true}`, auth)
	data, _ := got["data"].(map[string]any)
	id, _ := data["id"].(string)
	if code != 201 || id == "" || data["active"] != true || got["error"] != nil {
		t.Fatalf("create = %d %v, want 201 with an id", code, got)
	}
	if _, leaked := data["secret"]; leaked {
		t.Errorf("create answered the secret: %v", data)
	}

	code, got = call(t, h, "GET", ws, "", auth)
	if list, _ := got["data"].([]any); code != 200 || len(list) != 1 {
		t.Fatalf("list = %d %v, want the one webhook", code, got)
	}
	if code, got = call(t, h, "GET", "/workspaces/ws-2/webhooks", "", auth); code != 200 || len(got["data"].([]any)) != 0 {
		t.Errorf("another workspace's list = %d %v, want empty", code, got)
	}
	if code, got = call(t, h, "GET", ws+"/"+id, "", auth); code != 200 || got["data"].(map[string]any)["name"] != "orders" {
		t.Errorf("get = %d %v, want the webhook", code, got)
	}
	if code, _ = call(t, h, "GET", "/workspaces/ws-2/webhooks/"+id, "", auth); code != 404 {
		t.Errorf("get from another workspace = %d, want 404", code)
	}

	code, got = call(t, h, "PUT", ws+"/"+id, `{"name":"renamed","url":"`+rc.URL+`","events":["order.status","job.status"],"secret":"`+secret+`","active":false}`, auth)
	if data, _ := got["data"].(map[string]any); code != 200 || data["name"] != "renamed" || data["active"] != false {
		t.Fatalf("update = %d %v, want 200 renamed and inactive", code, got)
	}

	code, got = call(t, h, "POST", ws+"/"+id+"/tests", "", auth)
	want := `{"testsFailed":0,"testsRun":1,"testsSucceeded":1}`
	if code != 200 || toJSON(got["data"]) != want {
		t.Fatalf("test = %d %v, want 200 %s", code, got, want)
	}
	if verified, rejected := rc.counts(); verified != 1 || rejected != 0 {
		t.Errorf("receiver verified %d, rejected %d; want 1, 0", verified, rejected)
	}

	// A wrong secret: the delivery is made, refused, and counted failed.
	call(t, h, "PUT", ws+"/"+id, `{"name":"renamed","url":"`+rc.URL+`","events":["order.status"],"secret":"other"}`, auth)
	if _, got = call(t, h, "POST", ws+"/"+id+"/tests", "", auth); toJSON(got["data"]) != `{"testsFailed":1,"testsRun":1,"testsSucceeded":0}` {
		t.Errorf("test with the wrong secret = %v, want one failed", got)
	}
	if _, rejected := rc.counts(); rejected != 1 {
		t.Errorf("receiver rejected %d, want 1", rejected)
	}

	if code, _ = call(t, h, "DELETE", ws+"/"+id, "", auth); code != 204 {
		t.Errorf("delete = %d, want 204", code)
	}
	for _, m := range []string{"GET", "DELETE"} {
		if code, got = call(t, h, m, ws+"/"+id, "", auth); code != 404 || got["error"] == nil {
			t.Errorf("%s after delete = %d %v, want 404 with an error", m, code, got)
		}
	}
	if code, _ = call(t, h, "POST", ws+"/"+id+"/tests", "", auth); code != 404 {
		t.Errorf("test after delete = %d, want 404", code)
	}
}

// TestUP42SandboxRefuses checks the answers in UP42's shape for a missing
// token, invalid bodies and an oversized one.
func TestUP42SandboxRefuses(t *testing.T) {
	h := NewUP42Sandbox(SandboxOptions{})
	auth := map[string]string{"Authorization": "Bearer token"}
	ws := "/workspaces/ws-1/webhooks"
	for _, tc := range []struct {
		name, method, path, body string
		header                   map[string]string
		want                     int
	}{
		{"no token", "GET", "/webhooks/events", "", nil, 401},
		{"not bearer", "GET", ws, "", map[string]string{"Authorization": "Basic eDp5"}, 401},
		{"not JSON", "POST", ws, "nope", auth, 400},
		{"no events", "POST", ws, `{"name":"n","url":"http://x.test/","events":[]}`, auth, 400},
		{"unknown event", "POST", ws, `{"name":"n","url":"http://x.test/","events":["nope"]}`, auth, 400},
		{"relative url", "POST", ws, `{"name":"n","url":"/hook","events":["order.status"]}`, auth, 400},
		{"no name", "POST", ws, `{"url":"http://x.test/","events":["order.status"]}`, auth, 400},
		{"too large", "POST", ws, `{"name":"` + strings.Repeat("n", maxSandboxBody) + `"}`, auth, 413},
		{"unknown webhook", "GET", ws + "/nope", "", auth, 404},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, got := call(t, h, tc.method, tc.path, tc.body, tc.header)
			e, _ := got["error"].(map[string]any)
			if code != tc.want || got["data"] != nil || e == nil || e["message"] == "" || e["code"] != float64(tc.want) {
				t.Errorf("= %d %v, want %d with UP42's error", code, got, tc.want)
			}
		})
	}
}

// TestUP42SandboxBound checks the cap on webhooks held.
func TestUP42SandboxBound(t *testing.T) {
	h := NewUP42Sandbox(SandboxOptions{})
	auth := map[string]string{"Authorization": "Bearer token"}
	body := `{"name":"n","url":"http://x.test/","events":["order.status"]}`
	for i := range MaxSandboxWebhooks {
		if code, got := call(t, h, "POST", "/workspaces/ws/webhooks", body, auth); code != 201 {
			t.Fatalf("create %d = %d %v, want 201", i, code, got)
		}
	}
	if code, _ := call(t, h, "POST", "/workspaces/ws/webhooks", body, auth); code != 400 {
		t.Errorf("create past the bound = %d, want 400", code)
	}
}

// TestFenixSandbox registers a webhook as seed 003 does and drives a
// lifecycle to it, each delivery verified with Fenix's own verifier.
func TestFenixSandbox(t *testing.T) {
	fenix := provider("fenix")
	rc := newReceiver(t, "fenix", fenix.DevSecret)
	h := NewFenixSandbox(SandboxOptions{})
	auth := map[string]string{"X-Access-Token": "store-token"}
	path := "/admin/api/2024-07/webhooks"
	reg := `{"store_name":"shop-1.myshopify.com","topic":"tracking/updated","address":"` + rc.URL + `","format":"json","api_version":"2024-07",` +
		`"filters":[{"carrier":"FEDEX","sub_filter":{"delivery_statuses":["IN_TRANSIT","DELIVERED"]}}]}`

	code, got := call(t, h, "POST", path, reg, auth)
	id, _ := got["id"].(string)
	if code != 201 || id == "" || got["status"] != "ACTIVE" || got["address"] != rc.URL || got["store_name"] != "shop-1.myshopify.com" {
		t.Fatalf("register = %d %v, want 201 with id and status ACTIVE", code, got)
	}

	code, got = call(t, h, "POST", path+"/"+id+"/lifecycle", `{"tracking_number":"t-1"}`, auth)
	n := len(fenix.Sample.Lifecycle)
	if code != 200 || got["sent"] != float64(n) || got["succeeded"] != float64(n) {
		t.Fatalf("lifecycle = %d %v, want %d sent and succeeded", code, got, n)
	}
	if verified, rejected := rc.counts(); verified != n || rejected != 0 {
		t.Errorf("receiver verified %d, rejected %d; want %d, 0", verified, rejected, n)
	}
	rc.mu.Lock()
	for _, hd := range rc.headers {
		if hd.Get(providers.FenixStoreHeader) != "shop-1.myshopify.com" || hd.Get("X-Fenix-Webhook-Id") != id {
			t.Errorf("delivery headers %v, want the store and webhook ID", hd)
		}
	}
	if got := strings.Join(rc.verified, ","); got != strings.Join(fenix.Sample.Lifecycle, ",") {
		t.Errorf("statuses delivered %s, want %v", got, fenix.Sample.Lifecycle)
	}
	rc.mu.Unlock()

	if code, got = call(t, h, "POST", path+"/nope/lifecycle", "", auth); code != 404 || got["identifier"] == nil {
		t.Errorf("lifecycle of an unknown webhook = %d %v, want 404", code, got)
	}
}

// TestFenixSandboxRefuses checks Fenix's error answers: 401 without a
// token, 400 INVALID_PARAMETERS with a description for a bad body.
func TestFenixSandboxRefuses(t *testing.T) {
	h := NewFenixSandbox(SandboxOptions{})
	auth := map[string]string{"X-Access-Token": "store-token"}
	path := "/admin/api/2024-07/webhooks"
	good := map[string]any{
		"store_name": "shop", "topic": "tracking/updated", "address": "https://x.test/hook", "format": "json", "api_version": "2024-07",
	}
	with := func(k string, v any) string {
		m := map[string]any{}
		for kk, vv := range good {
			m[kk] = vv
		}
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
		return toJSON(m)
	}
	for _, tc := range []struct {
		name, body string
		header     map[string]string
		want       int
		identifier string
	}{
		{"no token", toJSON(good), nil, 401, "UNAUTHORIZED"},
		{"bad topic", with("topic", "orders/create"), auth, 400, "INVALID_PARAMETERS"},
		{"no address", with("address", nil), auth, 400, "INVALID_PARAMETERS"},
		{"relative address", with("address", "/hook"), auth, 400, "INVALID_PARAMETERS"},
		{"no store", with("store_name", nil), auth, 400, "INVALID_PARAMETERS"},
		{"bad format", with("format", "xml"), auth, 400, "INVALID_PARAMETERS"},
		{"bad status", with("filters", []any{map[string]any{"carrier": "UPS", "sub_filter": map[string]any{"delivery_statuses": []string{"LOST"}}}}), auth, 400, "INVALID_PARAMETERS"},
		{"not JSON", "nope", auth, 400, "INVALID_PARAMETERS"},
		{"too large", `{"store_name":"` + strings.Repeat("s", maxSandboxBody) + `"}`, auth, 413, "PAYLOAD_TOO_LARGE"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, got := call(t, h, "POST", path, tc.body, tc.header)
			if code != tc.want || got["identifier"] != tc.identifier || got["description"] == "" || got["description"] == nil {
				t.Errorf("= %d %v, want %d %s with a description", code, got, tc.want, tc.identifier)
			}
		})
	}
}

func toJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestMountRegistrationSandboxes reaches both stand-ins through a Fiber app,
// under their prefixes, as `hookflow dev` serves them.
func TestMountRegistrationSandboxes(t *testing.T) {
	app := fiber.New()
	MountRegistrationSandboxes(app, SandboxOptions{})
	for _, tc := range []struct {
		method, path, body, header, value string
		want                              int
	}{
		{"GET", UP42SandboxPrefix + "/webhooks/events", "", "Authorization", "Bearer t", 200},
		{"GET", UP42SandboxPrefix + "/workspaces/ws/webhooks/nope", "", "Authorization", "Bearer t", 404},
		{"POST", FenixSandboxPrefix + "/admin/api/2024-07/webhooks",
			`{"store_name":"s","topic":"tracking/updated","address":"http://x.test/","format":"json","api_version":"2024-07"}`, "X-Access-Token", "t", 201},
		{"POST", FenixSandboxPrefix + "/admin/api/2024-07/webhooks", `{}`, "", "", 401},
	} {
		req := httptest.NewRequest(tc.method, tc.path, strings.NewReader(tc.body))
		if tc.header != "" {
			req.Header.Set(tc.header, tc.value)
		}
		resp, err := app.Test(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("%s %s = %d, want %d", tc.method, tc.path, resp.StatusCode, tc.want)
		}
	}
}

// TestFenixSandboxBound checks the cap on webhooks held.
func TestFenixSandboxBound(t *testing.T) {
	h := NewFenixSandbox(SandboxOptions{})
	auth := map[string]string{"X-Access-Token": "t"}
	body := `{"store_name":"s","topic":"tracking/updated","address":"http://x.test/","format":"json","api_version":"2024-07"}`
	for i := range MaxSandboxWebhooks {
		if code, got := call(t, h, "POST", "/admin/api/2024-07/webhooks", body, auth); code != 201 {
			t.Fatalf("register %d = %d %v, want 201", i, code, got)
		}
	}
	if code, got := call(t, h, "POST", "/admin/api/2024-07/webhooks", body, auth); code != 400 || got["identifier"] != "INVALID_PARAMETERS" {
		t.Errorf("register past the bound = %d %v, want 400 INVALID_PARAMETERS", code, got)
	}
}

// TestFenixSandboxManage walks the assumed Shopify-style routes: list by
// store, get, the sandbox-only status that stops deliveries, delete.
func TestFenixSandboxManage(t *testing.T) {
	rc := newReceiver(t, "fenix", provider("fenix").DevSecret)
	h := NewFenixSandbox(SandboxOptions{})
	auth := map[string]string{"X-Access-Token": "t"}
	path := "/admin/api/2024-07/webhooks"
	register := func(store string) string {
		t.Helper()
		body := `{"store_name":"` + store + `","topic":"tracking/updated","address":"` + rc.URL + `","format":"json","api_version":"2024-07"}`
		code, got := call(t, h, "POST", path, body, auth)
		if code != 201 {
			t.Fatalf("register = %d %v", code, got)
		}
		return got["id"].(string)
	}
	first, second := register("shop-a"), register("shop-a")
	register("shop-b")

	for _, tc := range []struct {
		query string
		want  int
	}{{"?store_name=shop-a", 2}, {"?store_name=shop-b", 1}, {"?store_name=shop-c", 0}, {"", 3}} {
		code, got := call(t, h, "GET", path+tc.query, "", auth)
		list, ok := got["webhooks"].([]any)
		if code != 200 || !ok || len(list) != tc.want {
			t.Errorf("list%s = %d %v, want %d webhooks", tc.query, code, got, tc.want)
		}
	}
	_, got := call(t, h, "GET", path+"?store_name=shop-a", "", auth)
	if list := got["webhooks"].([]any); list[0].(map[string]any)["id"] != first || list[1].(map[string]any)["id"] != second {
		t.Errorf("list = %v, want oldest first", list)
	}

	code, got := call(t, h, "GET", path+"/"+first, "", auth)
	if hook, _ := got["webhook"].(map[string]any); code != 200 || hook["id"] != first || hook["status"] != "ACTIVE" {
		t.Errorf("get = %d %v, want the ACTIVE webhook", code, got)
	}

	code, got = call(t, h, "POST", path+"/"+first+"/status", `{"status":"DISABLED"}`, auth)
	if hook, _ := got["webhook"].(map[string]any); code != 200 || hook["status"] != "DISABLED" {
		t.Fatalf("status = %d %v, want DISABLED", code, got)
	}
	if _, got = call(t, h, "GET", path+"/"+first, "", auth); got["webhook"].(map[string]any)["status"] != "DISABLED" {
		t.Errorf("get after disabling = %v, want DISABLED", got)
	}
	if code, got = call(t, h, "POST", path+"/"+first+"/lifecycle", "", auth); code != 200 || got["sent"] != float64(0) {
		t.Errorf("lifecycle of a disabled webhook = %d %v, want nothing sent", code, got)
	}
	if verified, rejected := rc.counts(); verified+rejected != 0 {
		t.Errorf("receiver got %d deliveries, want none", verified+rejected)
	}
	for _, bad := range []string{`{"status":"BROKEN"}`, `nope`} {
		if code, got = call(t, h, "POST", path+"/"+first+"/status", bad, auth); code != 400 || got["identifier"] != "INVALID_PARAMETERS" {
			t.Errorf("status %s = %d %v, want 400 INVALID_PARAMETERS", bad, code, got)
		}
	}

	if code, got = call(t, h, "DELETE", path+"/"+first, "", auth); code != 200 || len(got) != 0 {
		t.Errorf("delete = %d %v, want 200 {}", code, got)
	}
	for _, tc := range []struct{ method, path string }{
		{"GET", path + "/" + first}, {"DELETE", path + "/" + first}, {"POST", path + "/" + first + "/status"},
	} {
		body := ""
		if tc.method == "POST" {
			body = `{"status":"ACTIVE"}`
		}
		if code, got = call(t, h, tc.method, tc.path, body, auth); code != 404 || got["identifier"] != "NOT_FOUND" || got["description"] == nil {
			t.Errorf("%s %s after delete = %d %v, want 404 NOT_FOUND", tc.method, tc.path, code, got)
		}
	}
	if _, got = call(t, h, "GET", path+"?store_name=shop-a", "", auth); len(got["webhooks"].([]any)) != 1 {
		t.Errorf("list after delete = %v, want the other webhook", got)
	}
}
