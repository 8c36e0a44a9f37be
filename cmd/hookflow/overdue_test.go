package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hookflow/hookflow/internal/dev/testenv"
	"github.com/hookflow/hookflow/workflows"
)

// TestOverdueAgainstDevServer: with the file's overdue: {fenix:
// {IN_TRANSIT: 2s}}, a shipment left IN_TRANSIT is flagged: Overdue=true
// finds it, `hookflow status` says since when, and reprocess --query
// 'Overdue=true' --dry-run lists it; the next webhook clears it.
func TestOverdueAgainstDevServer(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	path := filepath.Join(t.TempDir(), "hookflow.yaml")
	if err := os.WriteFile(path, []byte("overdue:\n  fenix: {IN_TRANSIT: 2s}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := newStack(t, map[string]string{"HOOKFLOW_CONFIG": path, "FENIX_CLIENT_SECRET": devSecrets()["FENIX_CLIENT_SECRET"]})
	const wfID = "fenix-shipment:late-1"
	s.send("fenix", "late-1", "IN_TRANSIT")
	st := s.waitState(wfID, func(st workflows.State) bool { return st.Overdue })
	if since := st.OverdueSince.Sub(st.Transitions[0].At); since != 2*time.Second {
		t.Errorf("overdue since %s after IN_TRANSIT, want the 2s deadline", since)
	}
	testenv.Eventually(t, 30*time.Second, func() (bool, string) { return s.visible(`Overdue = true AND WebhookProvider = "fenix"`, wfID) })

	t.Setenv("HOOKFLOW_CONFIG", path)
	t.Setenv("TEMPORAL_ADDRESS", s.temporal.HostPort)
	t.Setenv("TEMPORAL_NAMESPACE", s.cfg.TemporalNamespace)
	if out, _ := runOperatorCmd(t, newStatusCmd, wfID); !strings.Contains(out, "overdue:    in IN_TRANSIT since ") {
		t.Errorf("status does not say the shipment is overdue:\n%s", out)
	}
	if out, _ := runOperatorCmd(t, newReprocessCmd, "--query", `Overdue = true AND WebhookProvider = "fenix"`, "--dry-run"); !strings.Contains(out, wfID) {
		t.Errorf("reprocess --query 'Overdue = true' --dry-run does not list %s:\n%s", wfID, out)
	}

	s.send("fenix", "late-1", "OUT_FOR_DELIVERY")
	s.waitState(wfID, func(st workflows.State) bool { return st.Status == "OUT_FOR_DELIVERY" && !st.Overdue })
	testenv.Eventually(t, 30*time.Second, func() (bool, string) { return s.visible(`Overdue = false AND WorkflowId = "`+wfID+`"`, wfID) })
}
