package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookflow/hookflow/internal/dev/devtools"
	"github.com/hookflow/hookflow/internal/dev/testenv"
	"github.com/hookflow/hookflow/internal/operator/connections"
	"github.com/hookflow/hookflow/internal/tenantstore"
	"github.com/hookflow/hookflow/providers"
	"github.com/hookflow/hookflow/receivers/verified"
	"github.com/hookflow/hookflow/telemetry/metrics"
	"github.com/hookflow/hookflow/workflows"
)

// connectionsStack is a stack with runtime tenants, the UP42 and Fenix
// registration stand-ins as the providers' APIs, and the receivers as the
// public URL.
type connectionsStack struct {
	*stack
	up42, fenix *httptest.Server
	store       *tenantstore.Store
	svc         *connections.Service
}

func newConnectionsStack(t *testing.T) *connectionsStack {
	t.Helper()
	up42 := httptest.NewServer(devtools.NewUP42Sandbox(devtools.SandboxOptions{}))
	t.Cleanup(up42.Close)
	fenix := httptest.NewServer(devtools.NewFenixSandbox(devtools.SandboxOptions{}))
	t.Cleanup(fenix.Close)
	s := newStack(t, map[string]string{
		"HOOKFLOW_SECRETS_KEY": base64.StdEncoding.EncodeToString([]byte(strings.Repeat("c", 32))),
		"UP42_API_URL":         up42.URL,
		"FENIX_API_URL":        fenix.URL,
		"HOOKFLOW_ADMIN_TOKEN": "tok-global",
	})
	s.cfg.PublicURL = s.base // known once the receivers listen
	store, err := tenantstore.New(s.cfg, s.tc)
	if err != nil {
		t.Fatal(err)
	}
	cs := &connectionsStack{stack: s, up42: up42, fenix: fenix, store: store}
	cs.svc = &connections.Service{Client: s.tc, Config: s.cfg, Tenants: store, Verified: &verified.Marks{Client: s.rdb}}
	return cs
}

// sandbox calls a stand-in with a token and decodes its JSON answer.
func sandbox(t *testing.T, method, url string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, url, nil)
	req.Header.Set("Authorization", "Bearer test")
	req.Header.Set("X-Access-Token", "test")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode, body
}

// up42Webhooks are the UP42 stand-in's webhooks of workspace.
func (cs *connectionsStack) up42Webhooks(workspace string) []any {
	cs.t.Helper()
	code, body := sandbox(cs.t, "GET", cs.up42.URL+"/workspaces/"+workspace+"/webhooks")
	if code != 200 {
		cs.t.Fatalf("list: %d %v", code, body)
	}
	list, _ := body["data"].([]any)
	return list
}

// postUP42 posts an UP42 order event for tenant signed with secret, and
// returns the receiver's status.
func (cs *connectionsStack) postUP42(tenant, secret, order string) int {
	cs.t.Helper()
	p := builtin("up42")
	d := providers.Delivery{Entity: order, Status: p.Sample.Status, EventID: "evt-" + order}
	body := p.Sample.Body(d)
	req, _ := http.NewRequest(http.MethodPost, cs.base+"/webhooks/up42/"+tenant, bytes.NewReader(body))
	for k, v := range p.Sample.Headers(d, body, secret, cs.cfg.Setting) {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cs.t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func (cs *connectionsStack) await(provider, tenant string, within time.Duration, done func(workflows.ConnectionState) bool) workflows.ConnectionState {
	cs.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	st, err := cs.svc.Await(ctx, provider, tenant, done)
	if err != nil {
		cs.t.Fatalf("%s for %s: %v; last state %+v", provider, tenant, err, st)
	}
	return st
}

// TestConnectUP42: against a real dev server, receivers and the UP42
// stand-in, connect registers exactly one webhook for the tenant with a
// secret hookflow generated, the stand-in's test event arrives and
// verifies; the webhook deleted at the provider is noticed at the next
// check and registered again; rotate has the old and new secrets both
// accepted during the overlap and the old one refused after; disconnect
// deletes it and ends the workflow. No secret is in clear in any history,
// memo or log line. With HOOKFLOW_RECORD_HISTORIES=1 the connection's
// history, scanned first, is recorded in workflows/testdata for TestReplay.
func TestConnectUP42(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	cs := newConnectionsStack(t)
	ctx := context.Background()
	const apiToken = "up42-api-token-3b9d"
	if err := cs.store.Put(ctx, "demo", tenantstore.Change{AccessTokens: map[string]string{"up42": apiToken}}); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 10*time.Second, func() (bool, string) {
		_, err := cs.store.Get(ctx, "demo")
		return err == nil, fmt.Sprint(err)
	})
	if err := cs.svc.Connect(ctx, "up42", "demo", connections.Options{Overlap: 3 * time.Second}); err != nil {
		t.Fatal(err)
	}
	st := cs.await("up42", "demo", 90*time.Second, func(st workflows.ConnectionState) bool {
		return st.State == workflows.ConnectionActive || st.State == workflows.ConnectionFailing
	})
	if st.State != workflows.ConnectionActive || st.Verified.IsZero() || st.WebhookID == "" {
		t.Fatalf("after connect: %+v, want active with the test event verified", st)
	}
	hooks := cs.up42Webhooks("demo")
	if len(hooks) != 1 {
		t.Fatalf("%d webhooks at the provider, want 1: %v", len(hooks), hooks)
	}
	if h := hooks[0].(map[string]any); h["url"] != cs.base+"/webhooks/up42/demo" || h["active"] != true ||
		fmt.Sprint(h["events"]) != "[order.status]" {
		t.Errorf("registered %v, want our URL, active, order.status", h)
	}
	secrets, err := cs.store.Secrets(ctx, "demo", "up42")
	if err != nil || len(secrets) != 1 {
		t.Fatalf("the tenant's up42 secrets: %d, %v; want the one generated", len(secrets), err)
	}

	t.Run("connect again finds its webhook and makes no second", func(t *testing.T) {
		if err := cs.svc.Connect(ctx, "up42", "demo", connections.Options{}); err != nil {
			t.Fatal(err)
		}
		since := st.Verified
		cs.await("up42", "demo", 90*time.Second, func(s workflows.ConnectionState) bool { return s.Verified.After(since) })
		if n := len(cs.up42Webhooks("demo")); n != 1 {
			t.Errorf("%d webhooks after connecting twice, want 1", n)
		}
	})

	t.Run("a webhook deleted at the provider is noticed and repaired", func(t *testing.T) {
		if code, body := sandbox(t, "DELETE", cs.up42.URL+"/workspaces/demo/webhooks/"+st.WebhookID); code/100 != 2 {
			t.Fatalf("delete at the stand-in: %d %v", code, body)
		}
		before, _ := cs.svc.Get(ctx, "up42", "demo")
		if err := cs.svc.Check(ctx, "up42", "demo"); err != nil {
			t.Fatal(err)
		}
		after := cs.await("up42", "demo", 30*time.Second, func(s workflows.ConnectionState) bool { return s.Repairs > before.Repairs })
		if after.State != workflows.ConnectionActive || len(cs.up42Webhooks("demo")) != 1 {
			t.Errorf("after the check: %+v with %d webhooks, want active with one", after, len(cs.up42Webhooks("demo")))
		}
	})

	var rotated []string // the secrets during the overlap, scanned for at the end
	t.Run("rotate: both secrets during the overlap, the old one refused after", func(t *testing.T) {
		old := secrets[0]
		if err := cs.svc.Rotate(ctx, "up42", "demo"); err != nil {
			t.Fatal(err)
		}
		rot := cs.await("up42", "demo", 30*time.Second, func(s workflows.ConnectionState) bool { return !s.RotatingUntil.IsZero() })
		both, err := cs.store.Secrets(ctx, "demo", "up42")
		if err != nil || len(both) != 2 || both[1] != old {
			t.Fatalf("during the overlap the secrets are %d (%v), want the new and the old", len(both), err)
		}
		rotated = both
		for i, secret := range both {
			testenv.Eventually(t, 5*time.Second, func() (bool, string) {
				code := cs.postUP42("demo", secret, fmt.Sprintf("rot-%d-%d", i, time.Now().UnixNano()))
				return code == 200, fmt.Sprintf("secret %d during the overlap: %d", i, code)
			})
		}
		_ = rot
		// After the overlap the workflow drops the old one; the receivers
		// refuse it within 5 s of that.
		testenv.Eventually(t, 20*time.Second, func() (bool, string) {
			code := cs.postUP42("demo", old, fmt.Sprintf("rot-old-%d", time.Now().UnixNano()))
			return code == 401, fmt.Sprintf("the old secret after the overlap: %d", code)
		})
		if code := cs.postUP42("demo", both[0], "rot-new-after"); code != 200 {
			t.Errorf("the new secret after the overlap: %d", code)
		}
	})

	t.Run("secrets replaced by a PUT: connect again pushes a new one to the provider", func(t *testing.T) {
		if err := cs.store.Put(ctx, "demo", tenantstore.Change{Replace: true, AccessTokens: map[string]string{"up42": apiToken}}); err != nil {
			t.Fatal(err)
		}
		testenv.Eventually(t, 10*time.Second, func() (bool, string) {
			s, err := cs.store.Secrets(ctx, "demo", "up42")
			return err == nil && len(s) == 0, "the PUT has not replaced the secrets yet"
		})
		since := time.Now()
		if err := cs.svc.Connect(ctx, "up42", "demo", connections.Options{}); err != nil {
			t.Fatal(err)
		}
		st := cs.await("up42", "demo", 90*time.Second, func(s workflows.ConnectionState) bool {
			return s.Verified.After(since) || s.Unverified
		})
		if st.State != workflows.ConnectionActive || st.Unverified {
			t.Fatalf("after connect with the secrets replaced: %+v, want active, the new secret verified", st)
		}
		replaced, _ := cs.store.Secrets(ctx, "demo", "up42")
		secrets = append(secrets, replaced...)
	})

	t.Run("disconnect deletes it at the provider", func(t *testing.T) {
		if err := cs.svc.Disconnect(ctx, "up42", "demo"); err != nil {
			t.Fatal(err)
		}
		cs.await("up42", "demo", 30*time.Second, func(s workflows.ConnectionState) bool { return s.State == workflows.ConnectionDisconnected })
		if n := len(cs.up42Webhooks("demo")); n != 0 {
			t.Errorf("%d webhooks after disconnect, want none", n)
		}
	})

	// The disconnect ended the workflow: its history is whole.
	wf := workflows.ConnectionWorkflowID("up42", "demo")
	run := cs.waitClosed(wf)

	all, _ := cs.store.Secrets(ctx, "demo", "up42")
	all = append(all, append(append(secrets, rotated...), apiToken)...)
	for _, secret := range all {
		if strings.Contains(cs.logs.String(), secret) {
			t.Errorf("a log line holds a secret")
		}
	}
	scanHistories(t, cs.stack, all)
	if !t.Failed() { // never record a history the scan found a secret in
		recordRun(t, cs.stack, wf, run, "connection-up42-lifecycle")
	}
}

// TestConnectFenixRefused: the tenant's own filters are what connect
// registers; Fenix's 400 for them is reported with its identifier and
// description; fixed, a new connection registers them exactly.
func TestConnectFenixRefused(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	cs := newConnectionsStack(t)
	ctx := context.Background()
	bad := json.RawMessage(`[{"carrier":"UPS","sub_filter":{"delivery_statuses":["LOST"]}}]`)
	if err := cs.store.Put(ctx, "shop.example", tenantstore.Change{
		AccessTokens: map[string]string{"fenix": "store-token-5c1e"},
		Filters:      map[string]json.RawMessage{"fenix": bad},
	}); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 10*time.Second, func() (bool, string) {
		_, err := cs.store.Get(ctx, "shop.example")
		return err == nil, fmt.Sprint(err)
	})
	if err := cs.svc.Connect(ctx, "fenix", "shop.example", connections.Options{}); err != nil {
		t.Fatal(err)
	}
	st := cs.await("fenix", "shop.example", 60*time.Second, func(s workflows.ConnectionState) bool { return s.State == workflows.ConnectionFailing })
	if !strings.Contains(st.LastError, "INVALID_PARAMETERS") || !strings.Contains(st.LastError, "LOST") {
		t.Errorf("last error %q, want Fenix's identifier and description", st.LastError)
	}

	t.Run("fixed filters: a new connection registers them", func(t *testing.T) {
		if err := cs.svc.Disconnect(ctx, "fenix", "shop.example"); err != nil {
			t.Fatal(err)
		}
		cs.await("fenix", "shop.example", 30*time.Second, func(s workflows.ConnectionState) bool { return s.State == workflows.ConnectionDisconnected })
		good := `[{"carrier":"UPS","sub_filter":{"delivery_statuses":["DELIVERED"]}}]`
		if err := cs.store.Put(ctx, "shop.example", tenantstore.Change{Filters: map[string]json.RawMessage{"fenix": json.RawMessage(good)}}); err != nil {
			t.Fatal(err)
		}
		testenv.Eventually(t, 10*time.Second, func() (bool, string) {
			f, err := cs.store.Filters(ctx, "shop.example", "fenix")
			return err == nil && string(f) == good, fmt.Sprintf("filters %s, %v", f, err)
		})
		if err := cs.svc.Connect(ctx, "fenix", "shop.example", connections.Options{}); err != nil {
			t.Fatal(err)
		}
		st := cs.await("fenix", "shop.example", 60*time.Second, func(s workflows.ConnectionState) bool {
			return s.State == workflows.ConnectionActive || s.State == workflows.ConnectionFailing
		})
		code, body := sandbox(t, "GET", cs.fenix.URL+"/admin/api/2024-07/webhooks?store_name=shop.example")
		hooks, _ := body["webhooks"].([]any)
		if st.State != workflows.ConnectionActive || code != 200 || len(hooks) != 1 {
			t.Fatalf("after connecting with fixed filters: %s, %d webhooks (%d)", st.State, len(hooks), code)
		}
		registered, _ := json.Marshal(hooks[0].(map[string]any)["filters"])
		if string(registered) != good {
			t.Errorf("registered filters %s, want the tenant's %s", registered, good)
		}
	})

	t.Run("a provider without a registration API is refused with what to do by hand", func(t *testing.T) {
		err := cs.svc.Connect(ctx, "phoenix", "shop.example", connections.Options{})
		var manual *connections.ManualError
		if !errors.As(err, &manual) || !strings.Contains(err.Error(), "--check") || !strings.Contains(err.Error(), cs.base+"/webhooks/phoenix/shop.example") {
			t.Errorf("connect phoenix: %v, want the manual steps", err)
		}
	})
	t.Run("the admin API lists, reads, refuses and disconnects", func(t *testing.T) {
		testenv.Eventually(t, 10*time.Second, func() (bool, string) { // the list reads visibility
			c := cs.admin("GET", "/v1/tenants/shop.example/connections", "tok-global", "")
			return c.code == 200 && strings.Contains(c.raw, `"provider":"fenix"`) && strings.Contains(c.raw, `"state":"active"`),
				fmt.Sprintf("list: %d %s", c.code, c.raw)
		})
		if c := cs.admin("GET", "/v1/tenants/shop.example/connections/fenix", "tok-global", ""); c.code != 200 || c.body["provider"] != "fenix" {
			t.Errorf("get: %d %s", c.code, c.raw)
		}
		if c := cs.admin("GET", "/v1/tenants/shop.example/connections/up42", "tok-global", ""); c.code != 404 {
			t.Errorf("get a connection never made: %d %s", c.code, c.raw)
		}
		if c := cs.admin("POST", "/v1/tenants/shop.example/connections", "tok-global", `{"provider":"phosphor"}`); c.code != 422 || !strings.Contains(c.raw, "--check") {
			t.Errorf("connect phosphor: %d %s, want 422 with the manual steps", c.code, c.raw)
		}
		if c := cs.admin("POST", "/v1/tenants/nobody/connections", "tok-global", `{"provider":"up42"}`); c.code != 404 {
			t.Errorf("connect an unknown tenant: %d %s", c.code, c.raw)
		}
		if c := cs.admin("DELETE", "/v1/tenants/shop.example/connections/fenix", "tok-global", ""); c.code != 202 {
			t.Errorf("disconnect: %d %s", c.code, c.raw)
		}
	})
	scanHistories(t, cs.stack, []string{"store-token-5c1e"})
}

// TestConnectionStatesAreTheGauges: the workflow's states are the gauge's.
func TestConnectionStatesAreTheGauges(t *testing.T) {
	want := metrics.ConnectionStates()
	got := []string{workflows.ConnectionRegistering, workflows.ConnectionActive, workflows.ConnectionDrifted,
		workflows.ConnectionFailing, workflows.ConnectionManual, workflows.ConnectionDisconnected}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("workflow states %v, gauge states %v", got, want)
	}
}

// TestConnectWorkerKilledMidRegistration: the worker is stopped while the
// provider has created the webhook but not yet answered; a new worker's
// retry finds that webhook instead of creating a second.
func TestConnectWorkerKilledMidRegistration(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	cs := newConnectionsStack(t)
	// The UP42 stand-in, behind a door that holds the first create's
	// answer back after the stand-in made the webhook.
	sandboxAPI := devtools.NewUP42Sandbox(devtools.SandboxOptions{})
	created := make(chan struct{})
	var first sync.Once
	held := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/webhooks") {
			hold := false
			first.Do(func() { hold = true })
			if hold {
				sandboxAPI.ServeHTTP(httptest.NewRecorder(), r) // made at the provider …
				close(created)
				<-r.Context().Done() // … never answered
				return
			}
		}
		sandboxAPI.ServeHTTP(w, r)
	}))
	t.Cleanup(held.Close)
	cs.cfg.UP42APIURL = held.URL
	ctx := context.Background()
	if err := cs.store.Put(ctx, "demo", tenantstore.Change{AccessTokens: map[string]string{"up42": "up42-api-token-kill"}}); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 10*time.Second, func() (bool, string) {
		_, err := cs.store.Get(ctx, "demo")
		return err == nil, fmt.Sprint(err)
	})
	if err := cs.svc.Connect(ctx, "up42", "demo", connections.Options{}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-created:
	case <-time.After(60 * time.Second):
		t.Fatal("the provider was never asked to create the webhook")
	}
	cs.worker.Stop() // killed mid-registration: the create is made, its answer lost
	cs.worker = newWorker(cs.cfg, cs.tc)
	if err := cs.worker.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cs.worker.Stop)
	st := cs.await("up42", "demo", 3*time.Minute, func(s workflows.ConnectionState) bool {
		return s.State == workflows.ConnectionActive || s.State == workflows.ConnectionFailing
	})
	code, body := sandbox(t, "GET", held.URL+"/workspaces/demo/webhooks")
	list, _ := body["data"].([]any)
	if code != 200 || len(list) != 1 || st.State != workflows.ConnectionActive {
		t.Fatalf("after the worker was killed mid-registration: %s with %d webhooks at the provider, want active with one", st.State, len(list))
	}
}
