package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hookflow/hookflow/event"
	"github.com/hookflow/hookflow/workflows"
)

// TestBackfill: `reprocess --provider phoenix --file` starts a workflow for
// each listed order hookflow has never heard of, and one that exists is
// reprocessed; each takes its status from the API.
func TestBackfill(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	const secret = "backfill-secret"
	s := newStack(t, map[string]string{"PHOENIX_WEBHOOK_SECRET": secret})
	t.Setenv("HOOKFLOW_CONFIG", "")
	t.Setenv("TEMPORAL_ADDRESS", s.temporal.HostPort)
	t.Setenv("TEMPORAL_NAMESPACE", s.cfg.TemporalNamespace)

	// bf-known has a workflow, pending; the API has moved on since.
	s.api.set("bf-known", "pending")
	body, headers := phoenixEvent(secret, "evt-bf-known", "bf-known", "pending")
	if r := s.post("/webhooks/phoenix", body, headers); r.status != 200 {
		t.Fatalf("webhook: %d %v", r.status, r.body)
	}
	s.waitState("phoenix-order:bf-known", func(st workflows.State) bool { return st.Status == "pending" })
	want := map[string]string{"bf-known": "fulfilled", "bf-new": "pending", "bf-ü": "expired"}
	for order, status := range want {
		s.api.set(order, status)
	}
	file := filepath.Join(t.TempDir(), "orders.txt")
	if err := os.WriteFile(file, []byte("bf-known\nbf-new\n\nbf-ü\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	out, _ := runOperatorCmd(t, newReprocessCmd, "--provider", "phoenix", "--file", file, "--dry-run")
	if !strings.Contains(out, "phoenix-order%:bf-%C3%BC\n") || !strings.Contains(out, "3 target(s); dry run") {
		t.Errorf("dry run:\n%s", out)
	}
	out, _ = runOperatorCmd(t, newReprocessCmd, "--provider", "phoenix", "--file", file, "--yes", "--rate", "50")
	if !strings.Contains(out, "reprocessed 3, failed 0") {
		t.Errorf("backfill:\n%s", out)
	}
	for order, status := range want {
		st := s.waitState(event.WorkflowID("phoenix", "order", order), func(st workflows.State) bool { return st.Status == status })
		last := st.Transitions[len(st.Transitions)-1]
		if st.EntityID != order || last.Source != "reprocess" || last.To != status {
			t.Errorf("%s: entity %q, last transition %+v; want %s by reprocess", order, st.EntityID, last, status)
		}
	}
}
