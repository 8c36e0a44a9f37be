package loadgen

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hookflow/hookflow/config"
)

// TestNewFairness: the fairness run takes the configuration's first two
// tenants with a secret for the provider when it names none, sends the
// steady tenant's events to that tenant's workflows, and refuses what
// cannot make the scenario before sending anything.
func TestNewFairness(t *testing.T) {
	cfg := tenantConfig(t)
	ok := FairnessOptions{Provider: "fenix", Burst: 3, Steady: 2, SteadyRate: 10, Concurrency: 1, Duration: time.Second,
		AppliedTimeout: time.Second, URL: "http://127.0.0.1:1"}

	for _, tt := range []struct {
		provider, burst, steady string
		wantA, wantB            string
	}{
		{"fenix", "", "", "a", "c"},
		{"phoenix", "", "", "a", "b"},
		{"fenix", "c", "a", "c", "a"},
	} {
		o := ok
		o.Provider, o.BurstTenant, o.SteadyTenant = tt.provider, tt.burst, tt.steady
		f, err := NewFairness(cfg, nil, o)
		if err != nil {
			t.Fatalf("%+v: %v", tt, err)
		}
		if f.a.tenant != tt.wantA || f.b.tenant != tt.wantB {
			t.Errorf("%s %q %q: tenants %s and %s, want %s and %s", tt.provider, tt.burst, tt.steady, f.a.tenant, f.b.tenant, tt.wantA, tt.wantB)
		}
		for _, e := range append(append([]steadyEvent{}, f.quiet...), f.during...) {
			if !strings.Contains(e.workflowID, "@"+tt.wantB+":") || e.req.tenant != tt.wantB || e.eventID == "" {
				t.Errorf("steady event %+v, want one of %s's workflows", e, tt.wantB)
			}
		}
		for _, r := range f.burst.reqs {
			if r.tenant != tt.wantA {
				t.Errorf("burst request of %q, want %s", r.tenant, tt.wantA)
			}
		}
		if len(f.quiet) != 2 || len(f.during) != 2 || len(f.burst.reqs) != 3 {
			t.Errorf("%d quiet, %d during, %d burst events; want 2, 2, 3", len(f.quiet), len(f.during), len(f.burst.reqs))
		}
	}

	for _, tt := range []struct {
		name string
		edit func(*FairnessOptions)
		want string
	}{
		{"one tenant", func(o *FairnessOptions) { o.BurstTenant = "a" }, "give both --burst-tenant and --steady-tenant"},
		{"the same tenant", func(o *FairnessOptions) { o.BurstTenant, o.SteadyTenant = "a", "a" }, "must differ"},
		{"no secret", func(o *FairnessOptions) { o.BurstTenant, o.SteadyTenant = "a", "b" }, `tenant "b" has no fenix secret`},
		{"unknown tenant", func(o *FairnessOptions) { o.BurstTenant, o.SteadyTenant = "a", "zz" }, `tenant "zz" is not configured`},
		{"one tenant with a secret", func(o *FairnessOptions) { o.Provider = "up42" }, "--fairness needs two tenants"},
		{"no burst", func(o *FairnessOptions) { o.Burst = 0 }, "must be positive"},
		{"no pace", func(o *FairnessOptions) { o.SteadyRate = 0 }, "--steady-rate must be positive"},
		{"not loopback", func(o *FairnessOptions) { o.URL = "http://192.0.2.1:8080" }, "only targets loopback"},
	} {
		o := ok
		tt.edit(&o)
		if _, err := NewFairness(cfg, nil, o); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want an error saying %q", tt.name, err, tt.want)
		}
	}
}

// TestSteadyReport: B's latencies run from each 200 to the workflow's
// transition, an event applied before its 200 arrived counts 0, and a
// phase with any event not read back applied has no latencies.
func TestSteadyReport(t *testing.T) {
	start := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return start.Add(time.Duration(ms) * time.Millisecond) }
	r := steadyRun{
		sent:    []time.Time{at(0), at(100), at(200), at(300)},
		at:      []time.Time{at(5), at(110), at(210), at(320)},
		got:     []answer{{code: "200"}, {code: "200"}, {code: "200"}, {code: "200"}},
		applied: []time.Time{at(4), at(130), at(250), at(420)}, // 0 (before its 200), 20, 40, 100
	}
	rep := r.report(start)
	if rep.Sent != 4 || rep.Codes["200"] != 4 || rep.SentMs != 300 {
		t.Errorf("sent %d, codes %v, sent_ms %v; want 4, 200: 4, 300", rep.Sent, rep.Codes, rep.SentMs)
	}
	if rep.AnswerP50Ms == nil || *rep.AnswerP50Ms != 10 || *rep.AnswerP95Ms != 20 {
		t.Errorf("answered p50 %s p95 %s; want 10ms, 20ms", msText(rep.AnswerP50Ms), msText(rep.AnswerP95Ms))
	}
	if rep.RequestP50Ms == nil || *rep.RequestP50Ms != 30 || *rep.RequestP95Ms != 120 {
		t.Errorf("request→applied p50 %s p95 %s; want 30ms, 120ms", msText(rep.RequestP50Ms), msText(rep.RequestP95Ms))
	}
	if rep.P50Ms == nil || *rep.P50Ms != 20 || *rep.P95Ms != 100 || *rep.MaxMs != 100 || *rep.LastAppliedMs != 420 {
		t.Errorf("p50 %s p95 %s max %s last %s; want 20ms, 100ms, 100ms, 420ms", msText(rep.P50Ms), msText(rep.P95Ms), msText(rep.MaxMs), msText(rep.LastAppliedMs))
	}
	r.applied[2] = time.Time{}
	if rep := r.report(start); rep.P50Ms != nil || rep.MaxMs != nil {
		t.Errorf("a phase with an event not read back has latencies: %+v", rep)
	}
}

// TestTenantsExample: examples/tenants.yaml, the configuration
// docs/performance.md runs the fairness scenario with, loads and makes the
// scenario's tenants a and b.
func TestTenantsExample(t *testing.T) {
	env := map[string]string{"TENANT_A_FENIX_SECRET": "a-secret", "TENANT_B_FENIX_SECRET": "b-secret"}
	cfg, err := config.Load(filepath.Join("..", "..", "..", "examples", "tenants.yaml"), func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	o := FairnessOptions{Provider: "fenix", Burst: 1, Steady: 1, SteadyRate: 1, Concurrency: 1, Duration: time.Second,
		AppliedTimeout: time.Second, URL: "http://127.0.0.1:1"}
	f, err := NewFairness(cfg, nil, o)
	if err != nil || f.a.tenant != "a" || f.b.tenant != "b" || f.b.secret != "b-secret" {
		t.Fatalf("NewFairness: %v, want tenants a and b", err)
	}
}

// TestFairnessText: the text report says when --duration cut the burst
// short, and a failed run's report has counts only.
func TestFairnessText(t *testing.T) {
	v := func(f float64) *float64 { return &f }
	res := FairnessResult{Report: FairnessReport{BurstTenant: "a", SteadyTenant: "b",
		Quiet:       &SteadyReport{Sent: 2, Codes: map[string]int{"200": 2}},
		DuringBurst: &SteadyReport{Sent: 2, Codes: map[string]int{"200": 1, "503": 1}},
		Burst:       &BurstReport{Planned: 10, Requests: 4, Codes: map[string]int{"200": 4}, Accepted: 4, Rate: v(2), P50Ms: v(1), P95Ms: v(2), P99Ms: v(3)},
	}}
	var b strings.Builder
	res.WriteText(&b)
	for _, want := range []string{"cut short         4 of the 10 planned", "outcomes 200: 1, 503: 1"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, b.String())
		}
	}
	for _, never := range []string{"200→applied", "applied           ", "x its p95"} {
		if strings.Contains(b.String(), never) {
			t.Errorf("a report without latencies shows %q:\n%s", never, b.String())
		}
	}
}
