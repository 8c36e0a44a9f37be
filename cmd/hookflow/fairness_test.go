package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"go.temporal.io/api/workflowservice/v1"

	"github.com/hookflow/hookflow/internal/dev/loadgen"
	"github.com/hookflow/hookflow/internal/dev/testenv"
)

// TestBenchFairnessAgainstStack runs the fairness scenario with tiny
// numbers against a real stack (Temporal dev server, Redis, worker and
// receivers) with tenants a and b: every request is answered 200, b's
// events are read back applied from b's own workflows, quiet and during
// a's burst, a's burst is counted handled end to end, and a's entities are
// a's. Flags of the other modes are refused with --fairness.
func TestBenchFairnessAgainstStack(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	env := devSecrets()
	env["A_FENIX"], env["B_FENIX"] = "fair-secret-a", "fair-secret-b"
	env["HOOKFLOW_CONFIG"] = writeConfig(t, "tenants:\n"+
		"  - id: a\n    providers: {fenix: {secret_env: A_FENIX}}\n"+
		"  - id: b\n    providers: {fenix: {secret_env: B_FENIX}}\n")
	s := newStack(t, env)
	const burst, steady = 50, 5
	o := benchOptions{url: s.base, metricsURL: s.ops + "/metrics", provider: "fenix", fairness: true,
		burstTenant: "a", steadyTenant: "b", burst: burst, steady: steady, steadyRate: 20,
		concurrency: 4, duration: time.Minute, appliedTimeout: time.Minute, json: true}
	var out bytes.Buffer
	if err := bench(context.Background(), &out, s.cfg, s.tc, o); err != nil {
		t.Fatalf("bench --fairness: %v\n%s", err, out.String())
	}
	var rep loadgen.FairnessReport
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("report %s: %v", out.String(), err)
	}
	for name, b := range map[string]*loadgen.SteadyReport{"quiet": rep.Quiet, "during_burst": rep.DuringBurst} {
		switch {
		case b == nil:
			t.Errorf("no %s in %s", name, out.String())
		case b.Sent != steady || b.Codes["200"] != steady || len(b.Codes) != 1:
			t.Errorf("%s: sent %d, codes %v; want %d answered 200", name, b.Sent, b.Codes, steady)
		case b.P50Ms == nil || b.P95Ms == nil || b.MaxMs == nil || *b.P50Ms > *b.P95Ms || *b.P95Ms > *b.MaxMs || *b.P50Ms < 0:
			t.Errorf("%s: latencies p50 %v p95 %v max %v, want 0 <= p50 <= p95 <= max", name, b.P50Ms, b.P95Ms, b.MaxMs)
		}
	}
	a := rep.Burst
	if a == nil || a.Requests != burst || a.Accepted != burst || a.Codes["200"] != burst || a.AppliedRate == nil || *a.AppliedRate <= 0 || a.HandledMs == nil {
		t.Errorf("burst report %+v, want %d accepted and an applied rate", a, burst)
	}
	if rep.BurstTenant != "a" || rep.SteadyTenant != "b" || rep.Slowdown == nil {
		t.Errorf("report %s: want tenants a and b and a slowdown", out.String())
	}

	// Every one of a's events started an entity of a's: visibility holds
	// them under Tenant = "a" once it catches up.
	testenv.Eventually(t, 30*time.Second, func() (bool, string) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		resp, err := s.tc.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{
			Namespace: s.cfg.TemporalNamespace, Query: `Tenant = "a"`,
		})
		if err != nil {
			return false, err.Error()
		}
		return resp.GetCount() == burst, fmt.Sprintf("%d of tenant a's entities, want %d", resp.GetCount(), burst)
	})

	t.Run("text", func(t *testing.T) {
		o := o
		o.json, o.burst, o.steady = false, 8, 2
		var out bytes.Buffer
		if err := bench(context.Background(), &out, s.cfg, s.tc, o); err != nil {
			t.Fatalf("bench --fairness: %v\n%s", err, out.String())
		}
		t.Logf("report:\n%s", out.String())
		for _, want := range []string{"tenant b alone (quiet)\n", "tenant b during tenant a's burst\n", "  200→applied       p50 ", "  request→200       p50 ", "  request→applied   p50 ", "tenant a's burst\n", "  applied           "} {
			if !strings.Contains(out.String(), want) {
				t.Errorf("report lacks %q:\n%s", want, out.String())
			}
		}
	})

	t.Run("other modes' flags refused", func(t *testing.T) {
		for _, flag := range []string{"--requests=10", "--mode=mix", "--tenants=2", "--applied"} {
			cmd := newBenchCmd(&app{configPath: env["HOOKFLOW_CONFIG"]})
			cmd.SetOut(&bytes.Buffer{})
			cmd.SetErr(&bytes.Buffer{})
			cmd.SetArgs([]string{"--fairness", flag, "--url", s.base})
			name, _, _ := strings.Cut(strings.TrimPrefix(flag, "--"), "=")
			if err := cmd.ExecuteContext(context.Background()); err == nil || !strings.Contains(err.Error(), "--"+name+" means nothing with --fairness") {
				t.Errorf("--fairness %s: %v, want it refused", flag, err)
			}
		}
	})
}
