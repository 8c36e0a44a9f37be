package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/hookflow/hookflow/internal/dev/testenv"
	"github.com/hookflow/hookflow/providers"
	"github.com/hookflow/hookflow/workflows"
)

// secondReceiver serves another receivers' app of the stack's process, as
// a second receiver replica would, and returns its base URL.
func (s *stack) secondReceiver() string {
	s.t.Helper()
	proc := &process{cfg: s.cfg, log: slog.New(slog.NewJSONHandler(s.logs, nil)), metrics: s.metrics, tc: s.tc, rdb: s.rdb}
	app := proc.receivers(s.t.Context()).App
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		s.t.Fatal(err)
	}
	go func() { _ = app.Listener(ln) }()
	s.t.Cleanup(func() { _ = app.Shutdown() })
	return "http://" + ln.Addr().String()
}

// postFenixTenant posts a Fenix event for entity to base's
// /webhooks/fenix/<tenant>, signed with secret, and returns the status.
func postFenixTenant(t *testing.T, base, tenant, secret, entity, status string, settings providers.Settings) int {
	t.Helper()
	p := builtin("fenix")
	d := providers.Delivery{Entity: entity, Status: status, EventID: "evt_" + tenant + "_" + entity + "_" + status}
	body := p.Sample.Body(d)
	req, _ := http.NewRequest(http.MethodPost, base+"/webhooks/fenix/"+tenant, bytes.NewReader(body))
	for k, v := range p.Sample.Headers(d, body, secret, settings) {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST: %v", err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// TestRuntimeTenants: a tenant added through the admin API gets its first
// webhook accepted within 5 s on two receivers, without a restart; changed,
// its new secret verifies and the old one is refused; removed, it gets
// 401 and its workflow ends. Its secrets are never in clear in a history,
// a memo, a log line or an answer (contract section 18). With
// HOOKFLOW_RECORD_HISTORIES=1 the tenant's history, scanned first, is
// recorded in workflows/testdata for TestReplay.
func TestRuntimeTenants(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	const (
		first  = "runtime-fenix-secret-first-0d1f"
		second = "runtime-fenix-secret-second-9a7c"
		token  = "runtime-fenix-access-token-77e2"
	)
	key := base64.StdEncoding.EncodeToString([]byte(strings.Repeat("k", 32)))
	s := newStack(t, map[string]string{
		"HOOKFLOW_SECRETS_KEY": key,
		"HOOKFLOW_ADMIN_TOKEN": "tok-global",
		"FENIX_CLIENT_SECRET":  devSecrets()["FENIX_CLIENT_SECRET"],
	})
	other := s.secondReceiver()
	bases := []string{s.base, other}

	// Before: an unknown tenant, refused on both once they have listed the
	// tenants (503, retry, until then).
	for _, b := range bases {
		testenv.Eventually(t, 5*time.Second, func() (bool, string) {
			code := postFenixTenant(t, b, "demo", first, "rt-0", "LABEL_CREATED", s.cfg.Setting)
			return code == 401, fmt.Sprintf("before the tenant exists: %d, want 401", code)
		})
	}

	// put answers what the tenant became: its workflow took the change.
	put := func(secret string, revision int) time.Time {
		t.Helper()
		body := fmt.Sprintf(`{"secrets":{"fenix":[%q]},"accessTokens":{"fenix":%q}}`, secret, token)
		c := s.admin("PUT", "/v1/tenants/demo", "tok-global", body)
		if c.code != 200 || c.body["source"] != "runtime" || c.body["revision"] != float64(revision) {
			t.Fatalf("PUT /v1/tenants/demo: %d %s, want revision %d", c.code, c.raw, revision)
		}
		if strings.Contains(c.raw, secret) || strings.Contains(c.raw, token) {
			t.Fatalf("the answer shows a secret: %s", c.raw)
		}
		return time.Now()
	}
	// acceptedWithin polls each receiver with secret until it answers 200,
	// and fails past 5 s from since.
	acceptedWithin := func(since time.Time, secret, entity string) {
		t.Helper()
		for i, b := range bases {
			for {
				code := postFenixTenant(t, b, "demo", secret, fmt.Sprintf("%s-%d", entity, i), "LABEL_CREATED", s.cfg.Setting)
				if code == 200 {
					t.Logf("receiver %d: the tenant's secret verified %s after the PUT's answer", i, time.Since(since).Round(time.Millisecond))
					break
				}
				if time.Since(since) > 5*time.Second {
					t.Fatalf("receiver %d: %d after %s, want 200 within 5 s", i, code, time.Since(since).Round(time.Millisecond))
				}
				time.Sleep(50 * time.Millisecond) // a retry's pace, not a synchronisation
			}
		}
	}

	added := put(first, 1)
	acceptedWithin(added, first, "rt-1")
	s.waitState("fenix-shipment@demo:rt-1-0", func(st workflows.State) bool { return st.Status == "LABEL_CREATED" })

	t.Run("a file tenant's ID and a bad ID are refused", func(t *testing.T) {
		if c := s.admin("PUT", "/v1/tenants/Bad..ID", "tok-global", `{}`); c.code != 400 {
			t.Errorf("bad ID: %d %s", c.code, c.raw)
		}
		if c := s.admin("PUT", "/v1/tenants/demo", "tok-global", `{"secrets":{"nope":["x"]}}`); c.code != 400 {
			t.Errorf("unknown provider: %d %s", c.code, c.raw)
		}
		if c := s.admin("GET", "/v1/tenants/demo", "tok-global", ""); c.code != 200 || c.body["providers"].(map[string]any)["fenix"] != 1.0 {
			t.Errorf("GET: %d %s", c.code, c.raw)
		}
	})

	// Changed: the new secret verifies, the old one is refused.
	changed := put(second, 2)
	acceptedWithin(changed, second, "rt-2")
	for i, b := range bases {
		testenv.Eventually(t, 5*time.Second, func() (bool, string) {
			code := postFenixTenant(t, b, "demo", first, fmt.Sprintf("rt-3-%d", i), "LABEL_CREATED", s.cfg.Setting)
			return code == 401, fmt.Sprintf("receiver %d: the replaced secret got %d", i, code)
		})
	}

	// Removed: 401 on both within 5 s.
	if c := s.admin("DELETE", "/v1/tenants/demo", "tok-global", ""); c.code != 200 {
		t.Fatalf("DELETE: %d %s", c.code, c.raw)
	}
	for i, b := range bases {
		testenv.Eventually(t, 5*time.Second, func() (bool, string) {
			code := postFenixTenant(t, b, "demo", second, fmt.Sprintf("rt-4-%d", i), "LABEL_CREATED", s.cfg.Setting)
			return code == 401, fmt.Sprintf("receiver %d: a removed tenant got %d", i, code)
		})
	}
	if c := s.admin("GET", "/v1/tenants/demo", "tok-global", ""); c.code != 404 {
		t.Errorf("GET after DELETE: %d %s", c.code, c.raw)
	}

	// The removal ended the workflow: its history is whole.
	run := s.waitClosed(workflows.TenantWorkflowID("demo"))

	// No secret in clear anywhere: every history of the namespace, every
	// memo, every log line.
	for _, secret := range []string{first, second, token} {
		if strings.Contains(s.logs.String(), secret) {
			t.Errorf("a log line holds the secret %q", secret)
		}
	}
	scanHistories(t, s, []string{first, second, token})
	if !t.Failed() { // never record a history the scan found a secret in
		recordRun(t, s, workflows.TenantWorkflowID("demo"), run, "tenant-added-changed-removed")
	}
}

// scanHistories reads every workflow's histories and memos in the
// namespace and fails if one holds any of secrets.
func scanHistories(t *testing.T, s *stack, secrets []string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	resp, err := s.tc.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Namespace: s.cfg.TemporalNamespace, PageSize: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.GetExecutions()) == 0 {
		t.Fatal("no workflows to scan")
	}
	scanned := 0
	for _, ex := range resp.GetExecutions() {
		memo, _ := json.Marshal(ex.GetMemo())
		var all bytes.Buffer
		all.Write(memo)
		it := s.tc.GetWorkflowHistory(ctx, ex.GetExecution().GetWorkflowId(), ex.GetExecution().GetRunId(), false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		for it.HasNext() {
			e, err := it.Next()
			if err != nil {
				t.Fatal(err)
			}
			b, _ := json.Marshal(e)
			all.Write(b)
		}
		for _, secret := range secrets {
			for _, form := range secretForms(secret) {
				if bytes.Contains(all.Bytes(), []byte(form)) {
					t.Errorf("workflow %s holds the secret %q", ex.GetExecution().GetWorkflowId(), secret)
				}
			}
		}
		scanned++
	}
	t.Logf("scanned %d workflows' histories and memos", scanned)
}

// secretForms are the ways a secret shows in a history's JSON: in clear,
// and inside a payload's base64 at each of the three alignments (without
// the edge blocks, which hold neighbouring bytes).
func secretForms(secret string) []string {
	forms := []string{secret}
	for off := range 3 {
		enc := base64.StdEncoding.EncodeToString(append(make([]byte, off), secret...))
		start := 0
		if off > 0 {
			start = 4
		}
		forms = append(forms, enc[start:len(enc)-4])
	}
	return forms
}
