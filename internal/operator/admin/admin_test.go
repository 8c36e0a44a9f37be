package admin_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

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

// fakeTemporal is the Temporal client behind the tenant tests: it records
// every visibility query and every workflow it is asked to describe, and
// answers a describe with Unavailable (503), so that reaching Temporal is
// told apart from the API's own 404.
type fakeTemporal struct {
	client.Client // nil: any other call panics
	queries       []string
	described     []string
}

func (f *fakeTemporal) ListWorkflow(_ context.Context, req *workflowservice.ListWorkflowExecutionsRequest) (*workflowservice.ListWorkflowExecutionsResponse, error) {
	f.queries = append(f.queries, req.GetQuery())
	return &workflowservice.ListWorkflowExecutionsResponse{}, nil
}

func (f *fakeTemporal) DescribeWorkflowExecution(_ context.Context, id, _ string) (*workflowservice.DescribeWorkflowExecutionResponse, error) {
	f.described = append(f.described, id)
	return nil, serviceerror.NewUnavailable("fake")
}

// newTenantApp serves the API with a global token "global-tok", tenant a's
// tokens "a-old" and "a-new", tenant b's "b-tok", over fake.
func newTenantApp(t *testing.T, fake *fakeTemporal) *fiber.App {
	t.Helper()
	path := filepath.Join(t.TempDir(), "hookflow.yaml")
	yaml := "tenants:\n" +
		"  - id: a\n    providers: {fenix: {secret_env: S}}\n    admin_token_env: A_TOKEN\n" +
		"  - id: b.example\n    providers: {fenix: {secret_env: S}}\n    admin_token_env: B_TOKEN\n"
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"S": "s", "A_TOKEN": "a-old,a-new", "B_TOKEN": "b-tok", "HOOKFLOW_ADMIN_TOKEN": "global-tok"}
	cfg, err := config.Load(path, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	app := fiber.New()
	(&admin.API{Config: cfg, Client: fake}).Mount(app)
	return app
}

func do(t *testing.T, app *fiber.App, method, target, token string) (int, string) {
	t.Helper()
	req := httptest.NewRequest(method, target, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := app.Test(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// TestTenantTokenListings: a tenant token's listing is kept to its
// tenant's entity workflows whatever the query; one that could escape its
// parentheses is 400 before Temporal sees it; a global token's is kept to
// entity workflows only.
func TestTenantTokenListings(t *testing.T) {
	tests := []struct {
		name, token, query string
		wantCode           int
		wantQuery          string // "" when Temporal must not be asked
	}{
		{"tenant, no query", "a-new", "", 200, `WorkflowType = "Entity" AND Tenant = "a"`},
		{"tenant, rotated token", "a-old", "", 200, `WorkflowType = "Entity" AND Tenant = "a"`},
		{"other tenant", "b-tok", "", 200, `WorkflowType = "Entity" AND Tenant = "b.example"`},
		{"tenant, OR", "a-new", `EntityID = "1" OR Tenant = "b.example"`, 200,
			`WorkflowType = "Entity" AND Tenant = "a" AND (EntityID = "1" OR Tenant = "b.example")`},
		{"tenant, OR out of the parentheses", "a-new", `EntityID = "1") OR (Tenant = "b.example"`, 400, ""},
		{"tenant, OR after a quote", "a-new", `EntityID = "1" ) OR Tenant = "b.example" OR ( "`, 400, ""},
		{"tenant, comment", "a-new", `EntityID = "1" -- `, 400, ""},
		{"global, no query", "global-tok", "", 200, `WorkflowType = "Entity"`},
		{"global, query", "global-tok", `Tenant = "a"`, 200, `WorkflowType = "Entity" AND (Tenant = "a")`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := &fakeTemporal{}
			app := newTenantApp(t, fake)
			code, body := do(t, app, "GET", "/v1/entities?query="+url.QueryEscape(tt.query), tt.token)
			if code != tt.wantCode {
				t.Fatalf("answer %d %s, want %d", code, body, tt.wantCode)
			}
			var want []string
			if tt.wantQuery != "" {
				want = []string{tt.wantQuery}
			}
			if !slices.Equal(fake.queries, want) {
				t.Errorf("visibility queries = %q, want %q", fake.queries, want)
			}
		})
	}
}

// TestTenantTokenEntityRoutes: a tenant token gets 404, with an unknown
// workflow's body and without Temporal being asked, for another tenant's
// entity, a default-tenant entity and a workflow that is no entity; its
// own tenant's entities reach Temporal. The global token reaches all.
func TestTenantTokenEntityRoutes(t *testing.T) {
	const notFound = `{"error":"no such entity workflow"}`
	tests := []struct {
		name, token, id string
		reach           bool
	}{
		{"own entity", "a-new", "fenix-shipment@a:1", true},
		{"own entity, rotated token", "a-old", "fenix-shipment@a:1", true},
		{"other tenant's entity", "a-new", "fenix-shipment@b.example:1", false},
		{"default tenant's entity", "a-new", "fenix-shipment:1", false},
		{"not an entity", "a-new", "hookflow-backfill", false},
		{"not an entity, tenant-like", "a-new", "nobody-thing@a:1", false},
		{"b's own entity", "b-tok", "fenix-shipment@b.example:1", true},
		{"b on a's entity", "b-tok", "fenix-shipment@a:1", false},
		{"global on a tenant's entity", "global-tok", "fenix-shipment@b.example:1", true},
		{"global on a default entity", "global-tok", "fenix-shipment:1", true},
	}
	for _, tt := range tests {
		for _, route := range []struct{ method, suffix string }{{"GET", ""}, {"POST", "/reprocess"}, {"POST", "/redeliver"}} {
			t.Run(tt.name+" "+route.method+route.suffix, func(t *testing.T) {
				fake := &fakeTemporal{}
				app := newTenantApp(t, fake)
				code, body := do(t, app, route.method, "/v1/entities/"+url.PathEscape(tt.id)+route.suffix, tt.token)
				if tt.reach {
					if code != 503 || len(fake.described) != 1 {
						t.Errorf("answer %d %s, described %q; want Temporal asked (503 from the fake)", code, body, fake.described)
					}
					return
				}
				if code != 404 || body != notFound || len(fake.described) != 0 {
					t.Errorf("answer %d %s, described %q; want 404 %s without asking Temporal", code, body, fake.described, notFound)
				}
			})
		}
	}
}

// TestTenantParameter: ?tenant= keeps a global token's listing to that
// tenant's entity workflows, as a tenant token's is kept, and takes an
// entity route's default-tenant workflow ID as that tenant's entity. A
// tenant token may name only its own tenant: another's listing is empty
// and another's entity 404, without asking Temporal; a value that is not a
// tenant ID is 400.
func TestTenantParameter(t *testing.T) {
	const notFound = `{"error":"no such entity workflow"}`
	t.Run("listings", func(t *testing.T) {
		tests := []struct {
			name, token, params string
			wantCode            int
			wantBody            string // "" for any
			wantQuery           string // "" when Temporal must not be asked
		}{
			{"global", "global-tok", "tenant=a", 200, "", `WorkflowType = "Entity" AND Tenant = "a"`},
			{"global, with a query", "global-tok", "tenant=b.example&query=" + url.QueryEscape(`EntityStatus = "x" OR Tenant = "a"`), 200, "",
				`WorkflowType = "Entity" AND Tenant = "b.example" AND (EntityStatus = "x" OR Tenant = "a")`},
			{"tenant token, its own", "a-new", "tenant=a", 200, "", `WorkflowType = "Entity" AND Tenant = "a"`},
			{"tenant token, another's", "a-new", "tenant=b.example", 200, `{"entities":[],"nextPageToken":""}`, ""},
			{"not a tenant ID", "global-tok", "tenant=" + url.QueryEscape(`a" OR Tenant != "`), 400, "", ""},
			{"upper case", "global-tok", "tenant=A", 400, "", ""},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				fake := &fakeTemporal{}
				code, body := do(t, newTenantApp(t, fake), "GET", "/v1/entities?"+tt.params, tt.token)
				if code != tt.wantCode || (tt.wantBody != "" && body != tt.wantBody) {
					t.Fatalf("answer %d %s, want %d %s", code, body, tt.wantCode, tt.wantBody)
				}
				var want []string
				if tt.wantQuery != "" {
					want = []string{tt.wantQuery}
				}
				if !slices.Equal(fake.queries, want) {
					t.Errorf("visibility queries = %q, want %q", fake.queries, want)
				}
			})
		}
	})

	t.Run("entity routes", func(t *testing.T) {
		tests := []struct {
			name, token, id, tenant string
			wantCode                int
			wantDescribed           string // "" when Temporal must not be asked
		}{
			{"global, default-tenant ID", "global-tok", "fenix-shipment:1", "a", 503, "fenix-shipment@a:1"},
			{"global, the tenant's ID", "global-tok", "fenix-shipment@a:1", "a", 503, "fenix-shipment@a:1"},
			{"global, another tenant's ID", "global-tok", "fenix-shipment@b.example:1", "a", 404, ""},
			{"global, not an entity", "global-tok", "hookflow-backfill", "a", 404, ""},
			{"tenant token, its own", "a-new", "fenix-shipment:1", "a", 503, "fenix-shipment@a:1"},
			{"tenant token, another's", "a-new", "fenix-shipment:1", "b.example", 404, ""},
			{"not a tenant ID", "global-tok", "fenix-shipment:1", "A", 400, ""},
		}
		for _, tt := range tests {
			for _, route := range []struct{ method, suffix string }{{"GET", ""}, {"POST", "/reprocess"}, {"POST", "/redeliver"}} {
				t.Run(tt.name+" "+route.method+route.suffix, func(t *testing.T) {
					fake := &fakeTemporal{}
					target := "/v1/entities/" + url.PathEscape(tt.id) + route.suffix + "?tenant=" + url.QueryEscape(tt.tenant)
					code, body := do(t, newTenantApp(t, fake), route.method, target, tt.token)
					if code != tt.wantCode || (code == 404 && body != notFound) {
						t.Errorf("answer %d %s, want %d", code, body, tt.wantCode)
					}
					var want []string
					if tt.wantDescribed != "" {
						want = []string{tt.wantDescribed}
					}
					if !slices.Equal(fake.described, want) {
						t.Errorf("described %q, want %q", fake.described, want)
					}
				})
			}
		}
	})
}
