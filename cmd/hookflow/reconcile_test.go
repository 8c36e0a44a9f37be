package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookflow/hookflow/internal/dev/testenv"
	"github.com/hookflow/hookflow/workflows"
)

// TestReconcileAgainstDevServer: with a 2 s schedule, an order whose
// fulfilled webhook never comes is fulfilled by reconcile within 10 s, and
// `status` says when the API was last read; an order the API keeps calling
// pending records its checks and nothing else; a check that retries
// through an API outage while the fulfilled webhook arrives leaves one
// transition. With HOOKFLOW_RECORD_HISTORIES=1 the three histories are
// written to workflows/testdata for the replayer.
func TestReconcileAgainstDevServer(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	const secret = "reconcile-secret"
	s := newStack(t, map[string]string{"PHOENIX_WEBHOOK_SECRET": secret, "HOOKFLOW_RECONCILE_SCHEDULE": "2s"})
	send := func(eventID, order, status string) {
		t.Helper()
		body, headers := phoenixEvent(secret, eventID, order, status)
		if r := s.post("/webhooks/phoenix", body, headers); r.status != 200 {
			t.Fatalf("%s: %d %v", eventID, r.status, r.body)
		}
	}

	t.Run("a missed webhook is reconciled", func(t *testing.T) {
		s.t = t
		s.api.set("rec-1", "pending")
		send("evt-rec-1", "rec-1", "pending")
		s.waitState("phoenix-order:rec-1", func(st workflows.State) bool { return st.Status == "pending" })
		s.api.set("rec-1", "fulfilled") // and no webhook says so
		deadline := time.Now().Add(10 * time.Second)
		st := s.waitState("phoenix-order:rec-1", func(st workflows.State) bool { return st.Status == "fulfilled" })
		if time.Now().After(deadline) {
			t.Errorf("fulfilled only after 10 s of a 2 s schedule")
		}
		last := st.Transitions[len(st.Transitions)-1]
		if last.Source != "reconcile" || last.From != "pending" {
			t.Errorf("last transition %+v, want pending→fulfilled by reconcile", last)
		}
		t.Setenv("HOOKFLOW_CONFIG", "")
		t.Setenv("TEMPORAL_ADDRESS", s.temporal.HostPort)
		t.Setenv("TEMPORAL_NAMESPACE", s.cfg.TemporalNamespace)
		out, _ := runOperatorCmd(t, newStatusCmd, "phoenix-order:rec-1")
		if !strings.Contains(out, "reconciled: ") || !strings.Contains(out, "reconcile") {
			t.Errorf("status does not show the reconcile:\n%s", out)
		}
		recordHistory(t, s, "phoenix-order:rec-1", "phoenix-order-reconciled")
	})

	t.Run("an unchanged status records only the check", func(t *testing.T) {
		s.t = t
		s.api.set("rec-2", "pending")
		send("evt-rec-2", "rec-2", "pending")
		st := s.waitState("phoenix-order:rec-2", func(st workflows.State) bool {
			return !st.LastReconciledAt.IsZero() && s.api.readsOf("rec-2") >= 3
		})
		if st.Sequence != 1 || st.Processed != 1 {
			t.Errorf("sequence %d, processed %d after checks; want 1 and 1", st.Sequence, st.Processed)
		}
		recordHistory(t, s, "phoenix-order:rec-2", "phoenix-order-reconcile-unchanged")
	})

	t.Run("a check during an event", func(t *testing.T) {
		s.t = t
		s.api.set("rec-3", "pending")
		send("evt-rec-3a", "rec-3", "pending")
		s.waitState("phoenix-order:rec-3", func(st workflows.State) bool { return st.Status == "pending" })
		s.api.setDown("rec-3", true)
		reads := s.api.readsOf("rec-3")
		testenv.Eventually(t, 30*time.Second, func() (bool, string) {
			return s.api.readsOf("rec-3") > reads, "no check during the outage"
		})
		// A check is retrying through the outage: the event comes now. Its
		// own read waits out the outage too (a local activity, retried).
		before, err := s.state("phoenix-order:rec-3")
		if err != nil {
			t.Fatal(err)
		}
		s.api.set("rec-3", "fulfilled")
		send("evt-rec-3b", "rec-3", "fulfilled") // accepted while the check retries
		s.api.setDown("rec-3", false)
		st := s.waitState("phoenix-order:rec-3", func(st workflows.State) bool {
			return st.Status == "fulfilled" && st.Processed == 2 && st.LastReconciledAt.After(before.LastReconciledAt)
		})
		if st.Sequence != 2 {
			t.Errorf("transitions %+v, want one to fulfilled", st.Transitions)
		}
		recordHistory(t, s, "phoenix-order:rec-3", "phoenix-order-reconcile-during-event")
	})
}

// recordHistory writes the workflow's history to workflows/testdata when
// HOOKFLOW_RECORD_HISTORIES=1, in the form `temporal workflow show
// --output json` writes and the replayer reads.
func recordHistory(t *testing.T, s *stack, workflowID, name string) {
	t.Helper()
	recordRun(t, s, workflowID, "", name)
}

// TestConfiguredProviderAPIReconciles: a configured provider with an api:
// block reads it as Phoenix's is read: the webhook's own status gives way
// to the API's (source api), with the credential from its variable, and on
// a 2 s schedule a status the API reports with no webhook is applied by
// reconcile within 10 s.
func TestConfiguredProviderAPIReconciles(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	var mu sync.Mutex
	status, auth := map[string]string{"A-7": "paid"}, ""
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		auth = r.Header.Get("Authorization")
		st, ok := status[strings.TrimPrefix(r.URL.Path, "/v1/orders/")]
		if !ok {
			http.NotFound(w, r)
			return
		}
		fmt.Fprintf(w, `{"data":{"order":{"status":%q}}}`, st)
	}))
	t.Cleanup(api.Close)
	yaml := acmeYAML + "    api:\n      url: " + api.URL + "/v1/orders/{entity_id}\n      status: data.order.status\n" +
		"      auth: {header: Authorization, prefix: \"Bearer \", secret_env: ACME_EU_API_TOKEN}\n"
	path := filepath.Join(t.TempDir(), "hookflow.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	s := newStack(t, map[string]string{"HOOKFLOW_CONFIG": path, "ACME_EU_WEBHOOK_SECRET": acmeSecret,
		"ACME_EU_API_TOKEN": "api-token-1", "HOOKFLOW_RECONCILE_SCHEDULE": "2s"})
	p := providerByName(t, s.cfg, "acme-eu")
	d := sendOptions{entity: "A-7", status: "created", eventID: "msg_a7"}.delivery()
	body := p.Sample.Body(d)
	if r := s.post(p.Routes[0], body, p.Sample.Headers(d, body, p.SendSecret(s.cfg.Setting), s.cfg.Setting)); r.status != 200 {
		t.Fatalf("answer %d %v", r.status, r.body)
	}
	const wfID = "acme-eu-order:A-7"
	st := s.waitState(wfID, func(st workflows.State) bool { return st.Status != "" })
	if st.Status != "paid" || st.Transitions[0].Source != "api" {
		t.Fatalf("status %q by %q, want the API's paid over the webhook's created", st.Status, st.Transitions[0].Source)
	}
	mu.Lock()
	got := auth
	status["A-7"] = "shipped" // and no webhook says so
	mu.Unlock()
	if got != "Bearer api-token-1" {
		t.Errorf("the API was read with Authorization %q", got)
	}
	start := time.Now()
	st = s.waitState(wfID, func(st workflows.State) bool { return st.Status == "shipped" })
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("shipped after %s of a 2 s schedule", took)
	}
	if last := st.Transitions[len(st.Transitions)-1]; last.Source != "reconcile" {
		t.Errorf("shipped by %q, want reconcile", last.Source)
	}
}
