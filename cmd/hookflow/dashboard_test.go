package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/hookflow/hookflow/internal/dev/testenv"
	"github.com/hookflow/hookflow/telemetry/metrics"
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

// checkWithPrometheus runs a real Prometheus on the shipped configuration,
// its targets pointed at the stack's operations listener (receiver and
// worker are one process here) and its scrapes and rule evaluations every
// second, and checks through its HTTP API that both targets are up, that
// the alert rules loaded healthy, and that every name in used has a series.
func checkWithPrometheus(t *testing.T, ops string, used map[string]string) {
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		t.Skip("prometheus not on PATH (Debian's prometheus package; .ci/run installs it)")
	}
	dir := filepath.Join("..", "..", "deploy", "prometheus")
	raw, err := os.ReadFile(filepath.Join(dir, "prometheus.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var conf map[string]any
	if err := yaml.Unmarshal(raw, &conf); err != nil {
		t.Fatal(err)
	}
	alerts, err := filepath.Abs(filepath.Join(dir, "alerts.yml"))
	if err != nil {
		t.Fatal(err)
	}
	conf["global"] = map[string]any{"scrape_interval": "1s", "evaluation_interval": "1s"}
	conf["rule_files"] = []string{alerts}
	var jobs []string
	for _, sc := range conf["scrape_configs"].([]any) {
		job := sc.(map[string]any)
		delete(job, "dns_sd_configs")
		job["static_configs"] = []any{map[string]any{"targets": []string{strings.TrimPrefix(ops, "http://")}}}
		jobs = append(jobs, job["job_name"].(string))
	}
	out, err := yaml.Marshal(conf)
	if err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	file := filepath.Join(work, "prometheus.yml")
	if err := os.WriteFile(file, out, 0o644); err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	logs := &testenv.SyncBuffer{}
	cmd := exec.Command(bin, "--config.file="+file, "--storage.tsdb.path="+filepath.Join(work, "data"), "--web.listen-address="+addr)
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	api := func(path string, v any) error {
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		return json.NewDecoder(resp.Body).Decode(v)
	}

	testenv.Eventually(t, 60*time.Second, func() (bool, string) {
		var targets struct {
			Data struct {
				ActiveTargets []struct {
					Labels    map[string]string
					Health    string
					LastError string
				}
			}
		}
		if err := api("/api/v1/targets", &targets); err != nil {
			return false, err.Error() + "\n" + logs.String()
		}
		up := map[string]bool{}
		for _, tg := range targets.Data.ActiveTargets {
			up[tg.Labels["job"]] = tg.Health == "up"
		}
		for _, job := range jobs {
			if !up[job] {
				return false, fmt.Sprintf("target %s not up: %+v", job, targets.Data.ActiveTargets)
			}
		}
		return len(jobs) == 2, fmt.Sprintf("jobs %v, want the receiver's and the worker's", jobs)
	})
	testenv.Eventually(t, 30*time.Second, func() (bool, string) {
		var rules struct {
			Data struct {
				Groups []struct {
					Rules []struct{ Name, Health, LastError string }
				}
			}
		}
		if err := api("/api/v1/rules", &rules); err != nil {
			return false, err.Error()
		}
		n := 0
		for _, g := range rules.Data.Groups {
			for _, r := range g.Rules {
				if r.Health != "ok" {
					return false, fmt.Sprintf("rule %s is %q: %s", r.Name, r.Health, r.LastError)
				}
				n++
			}
		}
		return n >= 10, fmt.Sprintf("%d rules evaluated, want the ten alerts", n)
	})
	for name, where := range used {
		testenv.Eventually(t, 30*time.Second, func() (bool, string) {
			var series struct{ Data []map[string]string }
			if err := api("/api/v1/series?match[]="+name, &series); err != nil {
				return false, err.Error()
			}
			return len(series.Data) > 0, fmt.Sprintf("no series of %s (read by %s) in Prometheus", name, where)
		})
	}
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
	// Reconcile checks and overdue flags within seconds, so their series exist.
	conf := filepath.Join(t.TempDir(), "hookflow.yaml")
	if err := os.WriteFile(conf, []byte("overdue:\n  phoenix: {pending: 1s}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := newStack(t, map[string]string{"PHOENIX_WEBHOOK_SECRET": secret, "HOOKFLOW_CONFIG": conf, "HOOKFLOW_RECONCILE_SCHEDULE": "1s",
		"HOOKFLOW_FORWARD_URL": sink.URL + "/hooks", "HOOKFLOW_FORWARD_SECRET": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"})
	s.api.set("dash-1", "fulfilled")
	body, headers := phoenixEvent(secret, "evt-dash-1", "dash-1", "pending")
	if r := s.post("/webhooks/phoenix", body, headers); r.status != 200 {
		t.Fatalf("event: %d %v", r.status, r.body)
	}
	s.post("/webhooks/phoenix", body, headers) // a duplicate, answered from Redis
	s.api.set("dash-2", "pending")             // stays pending: checked, then overdue
	body2, headers2 := phoenixEvent(secret, "evt-dash-2", "dash-2", "pending")
	if r := s.post("/webhooks/phoenix", body2, headers2); r.status != 200 {
		t.Fatalf("event: %d %v", r.status, r.body)
	}
	s.waitState("phoenix-order:dash-2", func(st workflows.State) bool { return st.Overdue && !st.LastReconciledAt.IsZero() })
	s.waitState("phoenix-order:dash-1", func(st workflows.State) bool {
		return st.Status == "fulfilled" && len(st.Deliveries) > 0 && st.Deliveries[len(st.Deliveries)-1].Status == "delivered"
	})
	s.metrics.DedupError("phoenix") // the counter's series appears with its first error
	// The worker's connection count is not wired yet (issue 28): set one as
	// it would, so the gauge's series exists.
	if err := s.metrics.SetConnections(map[metrics.ConnectionKey]int{{Provider: "up42", State: metrics.ConnectionActive}: 1}); err != nil {
		t.Fatal(err)
	}
	// The SDK's workflow-task failure counter appears with a failed task.
	startFailingWorkflow(t, s, "phoenix-order:dash-stuck")
	var names map[string]bool
	testenv.Eventually(t, 30*time.Second, func() (bool, string) {
		names = s.exportedNames(t)
		return names["hookflow_deliveries_total"] && names["hookflow_events_handled_total"] && names["hookflow_reconcile_checks_total"] && names["hookflow_entities_overdue_total"] && names["hookflow_connections"] &&
				names["temporal_workflow_task_execution_failed"],
			"delivery, worker, reconcile, overdue, connection and workflow-task failure metrics not exported yet"
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
	used := map[string]string{} // metric name -> where
	for expr, where := range exprs {
		for _, name := range metric.FindAllString(expr, -1) {
			used[name] = where
			if !names[name] {
				t.Errorf("%s reads %s, which hookflow does not export", where, name)
			}
		}
	}
	t.Run("through a real Prometheus", func(t *testing.T) { checkWithPrometheus(t, s.ops, used) })
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
