package receivers_test

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/hookflow/hookflow/config"
	"github.com/hookflow/hookflow/event"
	"github.com/hookflow/hookflow/providers"
	"github.com/hookflow/hookflow/receivers"
	"github.com/hookflow/hookflow/receivers/starter"
	"github.com/hookflow/hookflow/signature"
)

// The tenants of the tenant tests: store-a receives from Phoenix and
// Fenix, store-b from Phoenix only; the provider-level secrets are the
// default tenant's.
const (
	fenixDefault = "fenix-default-secret"
	storeAPhx    = "store-a-phoenix-secret"
	storeAFnx    = "store-a-fenix-secret"
	storeBPhx    = "store-b-phoenix-secret"
	fenixUpdate  = `{"tracking_number":"T1","status":"DELIVERED"}`
)

var testTenants = []config.Tenant{
	{ID: "store-a", Secrets: map[string]config.Secrets{"phoenix": {storeAPhx}, "fenix": {"old", storeAFnx}}},
	{ID: "store-b", Secrets: map[string]config.Secrets{"phoenix": {storeBPhx}}},
}

// newTenantRig is newRig's Phoenix and Fenix receiver with tenants (none
// when tenants is nil), each tenant's verifiers bound once as serve does.
func newTenantRig(t *testing.T, tenants []config.Tenant) *rig {
	t.Helper()
	r := &rig{starter: &fakeStarter{}, dedup: newMemDedup()}
	ps := []receivers.Provider{
		providers.Phoenix(signature.NewBearer([]string{phoenixSecret})),
		providers.Fenix(providers.FenixVerifier([]string{fenixDefault})),
	}
	ts, err := receivers.BindTenants(ps, tenants, func(string) string { return "" }, nil)
	if err != nil {
		t.Fatal(err)
	}
	rcv := receivers.New(receivers.Options{
		Start:        starter.Starter{Client: r.starter, TaskQueue: testTaskQueue, Linger: 2 * time.Hour},
		Dedup:        r.dedup,
		Log:          slog.New(slog.DiscardHandler),
		MaxBodyBytes: 4096,
		StartTimeout: time.Second,
		Tenants:      ts,
	})
	r.app = receivers.NewApp(rcv, ps)
	return r
}

// TestTenantAccepted: a tenant's delivery on its route is verified with its
// secret and goes to its own workflow, with its own dedup key, and the
// event names the tenant.
func TestTenantAccepted(t *testing.T) {
	r := newTenantRig(t, testTenants)
	body := fixture(t, fulfilledFile)
	resp := post(t, r.app, "/webhooks/phoenix/store-a", body, bearer(storeAPhx))
	wantStatus(t, resp, 200)
	const want = "phoenix-order@store-a:tpT9KpKVyHU1P24RjZcW1o"
	if got := resp.json(t)["workflowId"]; got != want {
		t.Errorf("workflowId = %v, want %s", got, want)
	}
	calls := r.starter.Calls()
	if len(calls) != 1 {
		t.Fatalf("%d starts, want 1", len(calls))
	}
	if calls[0].workflowID != want || calls[0].options.ID != want {
		t.Errorf("started %q (options %q), want %q", calls[0].workflowID, calls[0].options.ID, want)
	}
	if ev, ok := calls[0].arg.(event.Event); !ok || ev.Tenant != "store-a" {
		t.Errorf("signalled %#v, want an event of tenant store-a", calls[0].arg)
	}
	if got := r.dedup.state("phoenix@store-a:evt_7Yq2mK1pW3xZ9aB4"); got != "done" {
		t.Errorf("tenant dedup record = %q, want done", got)
	}
	if got := r.dedup.state(fulfilledKey); got != "" {
		t.Errorf("the default tenant's dedup record was touched: %q", got)
	}
}

// TestTenantsApart: the same entity and event in two tenants and the
// default tenant are three workflows and three dedup records; the default
// tenant's are byte for byte those of a deployment without tenants.
func TestTenantsApart(t *testing.T) {
	body := fixture(t, fulfilledFile)
	r := newTenantRig(t, testTenants)
	for _, tc := range []struct{ path, secret, workflow, key string }{
		{"/webhooks/phoenix/store-a", storeAPhx, "phoenix-order@store-a:tpT9KpKVyHU1P24RjZcW1o", "phoenix@store-a:evt_7Yq2mK1pW3xZ9aB4"},
		{"/webhooks/phoenix/store-b", storeBPhx, "phoenix-order@store-b:tpT9KpKVyHU1P24RjZcW1o", "phoenix@store-b:evt_7Yq2mK1pW3xZ9aB4"},
		{"/webhooks/phoenix", phoenixSecret, orderWorkflow, fulfilledKey},
	} {
		resp := post(t, r.app, tc.path, body, bearer(tc.secret))
		wantStatus(t, resp, 200)
		if got := resp.json(t)["duplicate"]; got != false {
			t.Errorf("%s: duplicate = %v: another tenant's delivery took its dedup record", tc.path, got)
		}
		if got := resp.json(t)["workflowId"]; got != tc.workflow {
			t.Errorf("%s: workflowId = %v, want %s", tc.path, got, tc.workflow)
		}
		if got := r.dedup.state(tc.key); got != "done" {
			t.Errorf("%s: dedup record %s = %q, want done", tc.path, tc.key, got)
		}
	}
	if n := len(r.starter.Calls()); n != 3 {
		t.Errorf("%d starts, want 3", n)
	}

	// Without tenants: the same IDs, options and input as with them on
	// the plain route.
	plain := newTenantRig(t, nil)
	wantStatus(t, post(t, plain.app, "/webhooks/phoenix", body, bearer(phoenixSecret)), 200)
	with, without := r.starter.Calls()[2], plain.starter.Calls()[0]
	if with.workflowID != orderWorkflow || without.workflowID != orderWorkflow {
		t.Errorf("default workflow IDs %q and %q, want %q", with.workflowID, without.workflowID, orderWorkflow)
	}
	if with.options.StaticSummary != without.options.StaticSummary || with.options.ID != without.options.ID {
		t.Errorf("default options differ with tenants: %+v vs %+v", with.options, without.options)
	}
	if plain.dedup.state(fulfilledKey) != "done" {
		t.Errorf("dedup key without tenants is not %s", fulfilledKey)
	}
}

// TestTenantSecretsApart: only the resolved tenant's secrets are tried;
// an unknown tenant is answered as a wrong secret, body for body.
func TestTenantSecretsApart(t *testing.T) {
	r := newTenantRig(t, testTenants)
	body := fixture(t, fulfilledFile)
	wrong := post(t, r.app, "/webhooks/phoenix/store-b", body, bearer("not-a-secret"))
	wantStatus(t, wrong, 401)
	missing := post(t, r.app, "/webhooks/phoenix/store-b", body, nil)
	wantStatus(t, missing, 401)
	for _, tc := range []struct {
		name, path string
		headers    map[string]string
		want       response
	}{
		{"store A's secret for store B", "/webhooks/phoenix/store-b", bearer(storeAPhx), wrong},
		{"the default secret for store A", "/webhooks/phoenix/store-a", bearer(phoenixSecret), wrong},
		{"store A's secret on the plain route", "/webhooks/phoenix", bearer(storeAPhx), wrong},
		{"unknown store", "/webhooks/phoenix/store-z", bearer(storeAPhx), wrong},
		{"unknown store, the default secret", "/webhooks/phoenix/store-z", bearer(phoenixSecret), wrong},
		{"unknown store, the public dev secret", "/webhooks/phoenix/store-z", bearer(providers.Phoenix(nil).DevSecret), wrong},
		{"unknown store, no credential", "/webhooks/phoenix/store-z", nil, missing},
		{"a tenant without the provider", "/webhooks/fenix/store-b", map[string]string{"Authorization": "x"}, response{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := post(t, r.app, tc.path, body, tc.headers)
			wantStatus(t, got, 401)
			if tc.want.body != nil {
				wantBody(t, got, string(tc.want.body))
			}
		})
	}
	if n := len(r.starter.Calls()); n != 0 {
		t.Errorf("%d starts, want none", n)
	}

	// Fenix documents its 401: the unknown store's is the same.
	fw := post(t, r.app, "/webhooks/fenix/store-a", []byte(fenixUpdate), fenixHeaders("wrong", fenixUpdate))
	fu := post(t, r.app, "/webhooks/fenix/store-z", []byte(fenixUpdate), fenixHeaders(storeAFnx, fenixUpdate))
	wantStatus(t, fw, 401)
	wantStatus(t, fu, 401)
	wantBody(t, fu, string(fw.body))
	wantBody(t, fw, `{"error":"Invalid Source: Unmatched HMAC code"}`)
}

// TestFenixStoreHeader: on Fenix's own routes, X-Client-Storename naming a
// tenant makes it that tenant's delivery, verified with its secrets only;
// naming no tenant, it is the default tenant's, as before tenants.
func TestFenixStoreHeader(t *testing.T) {
	r := newTenantRig(t, testTenants)
	for _, tc := range []struct {
		name, store, secret string
		status              int
		workflow            string
	}{
		{"store A, its secret", "store-a", storeAFnx, 200, "fenix-shipment@store-a:T1"},
		{"store A, the default secret", "store-a", fenixDefault, 401, ""},
		{"store B, no Fenix secret of its own", "store-b", fenixDefault, 401, ""},
		{"a store that is no tenant", "other.myshopify.com", fenixDefault, 200, "fenix-shipment:T1"},
		{"a store that is no tenant, store A's secret", "other.myshopify.com", storeAFnx, 401, ""},
		{"no store", "", fenixDefault, 200, "fenix-shipment:T1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := fenixHeaders(tc.secret, fenixUpdate, "X-Client-Storename", tc.store, "X-Fenix-Event-Id", "evt-"+tc.name)
			resp := post(t, r.app, "/shipment-track-status", []byte(fenixUpdate), h)
			wantStatus(t, resp, tc.status)
			if tc.workflow != "" {
				if got := resp.json(t)["workflowId"]; got != tc.workflow {
					t.Errorf("workflowId = %v, want %s", got, tc.workflow)
				}
			}
		})
	}
}

// TestNoTenants: without tenants, no tenant route exists and the store
// header is only kept with the event.
func TestNoTenants(t *testing.T) {
	r := newTenantRig(t, nil)
	wantStatus(t, post(t, r.app, "/webhooks/phoenix/store-a", fixture(t, fulfilledFile), bearer(phoenixSecret)), 404)
	h := fenixHeaders(fenixDefault, fenixUpdate, "X-Client-Storename", "store-a")
	resp := post(t, r.app, "/webhooks/fenix", []byte(fenixUpdate), h)
	wantStatus(t, resp, 200)
	if got := resp.json(t)["workflowId"]; got != "fenix-shipment:T1" {
		t.Errorf("workflowId = %v, want fenix-shipment:T1", got)
	}
	if ev := r.starter.Calls()[0].arg.(event.Event); ev.Tenant != "" || ev.Attributes["X-Client-Storename"] != "store-a" {
		t.Errorf("event tenant %q, attributes %v", ev.Tenant, ev.Attributes)
	}
}

// TestHostileTenantRoutes: a route's tenant that is no tenant ID is refused
// at the edge, 401 or 404 and never 5xx, and nothing is started.
func TestHostileTenantRoutes(t *testing.T) {
	r := newTenantRig(t, testTenants)
	body := fixture(t, fulfilledFile)
	for _, path := range []string{
		"/webhooks/phoenix/store%40a", "/webhooks/phoenix/store-a%40evil", "/webhooks/phoenix/store@a",
		"/webhooks/phoenix/..", "/webhooks/phoenix/../phoenix", "/webhooks/phoenix/store..a", "/webhooks/phoenix/%2e%2e",
		"/webhooks/phoenix/store-a%2F..", "/webhooks/phoenix/store-a:x", "/webhooks/phoenix/STORE-A",
		"/webhooks/phoenix/" + strings.Repeat("a", 64), "/webhooks/phoenix/" + strings.Repeat("a", 3000),
		"/webhooks/phoenix/m%C3%BCller", "/webhooks/phoenix/store-a%00", "/webhooks/phoenix/store-a/x",
	} {
		t.Run(path[:min(len(path), 60)], func(t *testing.T) {
			req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(string(body)))
			req.URL.RawPath, req.URL.Path = "", ""
			req.RequestURI = path
			req.URL.Opaque = path
			req.Header.Set("Authorization", "Bearer "+storeAPhx)
			resp, err := r.app.Test(req, testTimeout)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != fiber.StatusUnauthorized && resp.StatusCode != fiber.StatusNotFound {
				t.Errorf("status %d, want 401 or 404", resp.StatusCode)
			}
		})
	}
	if n := len(r.starter.Calls()); n != 0 {
		t.Errorf("%d starts, want none", n)
	}
	// Raw non-ASCII bytes in the path.
	req := httptest.NewRequest(http.MethodPost, "/webhooks/phoenix/müller", strings.NewReader(string(body)))
	req.Header.Set("Authorization", "Bearer "+storeAPhx)
	resp, err := r.app.Test(req, testTimeout)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 && resp.StatusCode != 404 {
		t.Errorf("non-ASCII tenant: status %d, want 401 or 404", resp.StatusCode)
	}
}

// TestRuntimeTenantsSwap: with runtime tenants, a tenant's delivery before
// the first listing is 503 (it may exist: the provider retries), after a
// listing without it 401, after one with it 200, and after one without it
// again 401: SetTenants swaps the verifiers while the receiver runs.
func TestRuntimeTenantsSwap(t *testing.T) {
	r := &rig{starter: &fakeStarter{}, dedup: newMemDedup()}
	ps := []receivers.Provider{
		providers.Phoenix(signature.NewBearer([]string{phoenixSecret})),
		providers.Fenix(providers.FenixVerifier([]string{fenixDefault})),
	}
	rcv := receivers.New(receivers.Options{
		Start:          starter.Starter{Client: r.starter, TaskQueue: testTaskQueue, Linger: 2 * time.Hour},
		Dedup:          r.dedup,
		Log:            slog.New(slog.DiscardHandler),
		MaxBodyBytes:   4096,
		StartTimeout:   time.Second,
		RuntimeTenants: true,
	})
	app := receivers.NewApp(rcv, ps)
	body := fixture(t, fulfilledFile)
	send := func() response { return post(t, app, "/webhooks/phoenix/store-a", body, bearer(storeAPhx)) }
	wantStatus(t, send(), 503)
	bind := func(tenants []config.Tenant) {
		ts, err := receivers.BindTenants(ps, tenants, func(string) string { return "" }, nil)
		if err != nil {
			t.Fatal(err)
		}
		rcv.SetTenants(ts)
	}
	bind(nil)
	wantStatus(t, send(), 401)
	bind(testTenants)
	wantStatus(t, send(), 200)
	bind(testTenants[1:])
	wantStatus(t, send(), 401)
}
