package main

import (
	"bufio"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/hookflow/hookflow/internal/testenv"
	"github.com/hookflow/hookflow/workflows"
)

// exportedNames scrapes the stack's /metrics and returns every sample name.
func (s *stack) exportedNames(t *testing.T) map[string]bool {
	t.Helper()
	resp, err := http.Get(s.ops + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	names := map[string]bool{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		if end := strings.IndexAny(line, "{ "); end > 0 {
			names[line[:end]] = true
		}
	}
	return names
}

// TestDashboardAndAlertsNameExportedMetrics: every metric the Grafana
// dashboard and the alert rules read is one a hookflow process exports,
// as scraped from a stack that has received, applied and delivered events.
func TestDashboardAndAlertsNameExportedMetrics(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	const secret = "dash-secret"
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	t.Cleanup(sink.Close)
	s := newStack(t, map[string]string{"PHOENIX_WEBHOOK_SECRET": secret,
		"HOOKFLOW_FORWARD_URL": sink.URL + "/hooks", "HOOKFLOW_FORWARD_SECRET": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"})
	s.api.set("dash-1", "fulfilled")
	body, headers := phoenixEvent(secret, "evt-dash-1", "dash-1", "pending")
	if r := s.post("/webhooks/phoenix", body, headers); r.status != 200 {
		t.Fatalf("event: %d %v", r.status, r.body)
	}
	s.post("/webhooks/phoenix", body, headers) // a duplicate, answered from Redis
	s.waitState("phoenix-order:dash-1", func(st workflows.State) bool {
		return st.Status == "fulfilled" && len(st.Deliveries) > 0 && st.Deliveries[len(st.Deliveries)-1].Status == "delivered"
	})
	s.metrics.DedupError("phoenix") // the counter's series appears with its first error
	var names map[string]bool
	testenv.Eventually(t, 30*time.Second, func() (bool, string) {
		names = s.exportedNames(t)
		return names["hookflow_deliveries_total"] && names["hookflow_events_handled_total"], "delivery and worker metrics not exported yet"
	})

	exprs := map[string]string{} // expression -> where
	raw, err := os.ReadFile(filepath.Join("..", "..", "deploy", "grafana", "dashboards", "hookflow.json"))
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Title   string
			Targets []struct{ Expr string }
		}
	}
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatalf("dashboard: %v", err)
	}
	for _, p := range dash.Panels {
		for _, tg := range p.Targets {
			exprs[tg.Expr] = "panel " + p.Title
		}
	}
	raw, err = os.ReadFile(filepath.Join("..", "..", "deploy", "prometheus", "alerts.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var rules struct {
		Groups []struct {
			Rules []struct{ Alert, Expr string }
		}
	}
	if err := yaml.Unmarshal(raw, &rules); err != nil {
		t.Fatalf("alerts: %v", err)
	}
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			exprs[r.Expr] = "alert " + r.Alert
		}
	}
	if testing.Verbose() {
		var got []string
		for n := range names {
			got = append(got, n)
		}
		sort.Strings(got)
		t.Logf("exported: %s", strings.Join(got, " "))
	}
	if len(exprs) < 10 {
		t.Fatalf("only %d expressions read from the dashboard and the alerts", len(exprs))
	}
	metric := regexp.MustCompile(`\b(hookflow_|temporal_|process_|go_)[a-z0-9_]+`)
	for expr, where := range exprs {
		for _, name := range metric.FindAllString(expr, -1) {
			if !names[name] {
				t.Errorf("%s reads %s, which hookflow does not export", where, name)
			}
		}
	}
	if t.Failed() {
		var got []string
		for n := range names {
			if strings.HasPrefix(n, "hookflow_") || strings.HasPrefix(n, "temporal_") {
				got = append(got, n)
			}
		}
		sort.Strings(got)
		t.Logf("exported: %s", strings.Join(got, " "))
	}
}
