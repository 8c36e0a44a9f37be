package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hookflow/hookflow/internal/dev/testenv"
	"github.com/hookflow/hookflow/workflows"
)

// metricValue reads one sample from the operations listener's /metrics.
func (s *stack) metricValue(name string, labels map[string]string) float64 {
	s.t.Helper()
	resp, err := http.Get(s.ops + "/metrics")
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, name+"{") {
			continue
		}
		match := true
		for k, v := range labels {
			if !strings.Contains(line, fmt.Sprintf("%s=%q", k, v)) {
				match = false
			}
		}
		if match {
			f, _ := strconv.ParseFloat(line[strings.LastIndex(line, " ")+1:], 64)
			return f
		}
	}
	return 0
}

// readyz is the operations listener's /readyz: its status code and its
// whole body, which must be a JSON object of words.
func (s *stack) readyz() (int, map[string]string) {
	s.t.Helper()
	return getReadyz(s.t, s.ops)
}

func TestOperators(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	const secret = "operators-secret"
	s := newStack(t, map[string]string{"PHOENIX_WEBHOOK_SECRET": secret, "HOOKFLOW_LINGER": "2s"})
	ctx := context.Background()

	// op-done is fulfilled and closes after its linger; op-open stays pending.
	s.api.set("op-done", "fulfilled")
	s.api.set("op-open", "pending")
	for _, order := range []string{"op-done", "op-open"} {
		body, headers := phoenixEvent(secret, "evt-"+order, order, "pending")
		if r := s.post("/webhooks/phoenix", body, headers); r.status != 200 {
			t.Fatalf("%s: %d %v", order, r.status, r.body)
		}
	}
	s.waitState("phoenix-order:op-open", func(st workflows.State) bool { return st.Status == "pending" })
	s.waitState("phoenix-order:op-done", func(st workflows.State) bool { return st.Status == "fulfilled" })

	t.Run("metrics count each outcome", func(t *testing.T) {
		s.t = t
		count := func(outcome string) float64 {
			return s.metricValue("hookflow_webhook_requests_total", map[string]string{"provider": "phoenix", "outcome": outcome})
		}
		before := map[string]float64{}
		for _, o := range []string{"accepted", "duplicate", "unauthorized", "invalid"} {
			before[o] = count(o)
		}
		disabled := func() float64 {
			return s.metricValue("hookflow_webhook_requests_total", map[string]string{"provider": "up42", "outcome": "disabled"})
		}
		disabledBefore := disabled()
		if r := s.post("/webhooks/up42", []byte(`{}`), nil); r.status != 404 {
			t.Errorf("disabled provider answered %d, want 404", r.status)
		}
		if got := disabled() - disabledBefore; got != 1 {
			t.Errorf("disabled moved by %v, want 1", got)
		}
		body, headers := phoenixEvent(secret, "evt-op-open", "op-open", "pending")
		s.post("/webhooks/phoenix", body, headers) // duplicate
		s.post("/webhooks/phoenix", body, map[string]string{"Authorization": "Bearer wrong"})
		s.post("/webhooks/phoenix", []byte("{not json"), headers)
		body, headers = phoenixEvent(secret, "evt-op-metrics", "op-metrics", "pending")
		s.api.set("op-metrics", "pending")
		s.post("/webhooks/phoenix", body, headers)
		for o, want := range map[string]float64{"accepted": 1, "duplicate": 1, "unauthorized": 1, "invalid": 1} {
			if got := count(o) - before[o]; got != want {
				t.Errorf("%s moved by %v, want %v", o, got, want)
			}
		}
		if got := s.metricValue("hookflow_webhook_accept_seconds_count", map[string]string{"provider": "phoenix", "outcome": "accepted"}); got < 1 {
			t.Errorf("accept latency histogram has %v accepted samples, want at least 1", got)
		}
		if testing.Verbose() {
			resp, _ := http.Get(s.ops + "/metrics")
			raw, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			for _, l := range strings.Split(string(raw), "\n") {
				if strings.HasPrefix(l, "hookflow_") {
					t.Log(l)
				}
			}
		}
		testenv.Eventually(t, 30*time.Second, func() (bool, string) {
			got := s.metricValue("hookflow_transitions_applied_total", map[string]string{"provider": "phoenix", "status": "pending"})
			return got >= 2, fmt.Sprintf("transitions applied to pending: %v", got)
		})
		if got := s.metricValue("hookflow_provider_api_calls_total", map[string]string{"provider": "phoenix", "outcome": "ok"}); got < 2 {
			t.Errorf("provider API calls ok = %v, want at least 2", got)
		}
		if got := s.metricValue("temporal_request", nil); got == 0 {
			t.Errorf("no Temporal client metrics exported")
		}
	})

	t.Run("the Temporal UI API filters by EntityStatus", func(t *testing.T) {
		s.t = t
		testenv.Eventually(t, 30*time.Second, func() (bool, string) {
			q := url.QueryEscape(`WebhookProvider="phoenix" AND EntityStatus="pending"`)
			resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/api/v1/namespaces/default/workflows?query=%s", s.temporal.UIPort, q))
			if err != nil {
				return false, err.Error()
			}
			defer resp.Body.Close()
			raw, _ := io.ReadAll(resp.Body)
			return resp.StatusCode == 200 && strings.Contains(string(raw), "phoenix-order:op-open") && !strings.Contains(string(raw), "phoenix-order:op-done"),
				fmt.Sprintf("%d %.300s", resp.StatusCode, raw)
		})
	})

	t.Run("reprocess", func(t *testing.T) {
		s.t = t
		run := func(args []string, o reprocessOptions) string {
			var out bytes.Buffer
			if o.rate == 0 {
				o.rate = 100
			}
			if err := reprocess(ctx, strings.NewReader(""), &out, s.tc, s.cfg, args, o); err != nil {
				t.Fatalf("reprocess %v %+v: %v\n%s", args, o, err, out.String())
			}
			return out.String()
		}

		out := run(nil, reprocessOptions{query: `WebhookProvider="phoenix" AND EntityStatus="pending"`, dryRun: true})
		if !strings.Contains(out, "phoenix-order:op-open") || strings.Contains(out, "op-done") || !strings.Contains(out, "target(s); dry run") {
			t.Errorf("dry run listed:\n%s", out)
		}
		var needYes bytes.Buffer
		if err := reprocess(ctx, strings.NewReader(""), &needYes, s.tc, s.cfg, []string{"phoenix-order:op-open", "phoenix-order:op-done"}, reprocessOptions{rate: 100}); err == nil {
			t.Errorf("two targets without --yes and without a terminal went ahead")
		}

		// reprocessed runs a reprocess of one order and returns the state
		// once the workflow has handled it. A reprocess that changes
		// nothing records nothing, so the barrier is the API read it makes:
		// that read runs inside the workflow task that applies its answer,
		// and a query made after it waits for that task to complete.
		reprocessed := func(order string, args []string, o reprocessOptions) (string, workflows.State) {
			t.Helper()
			before := s.api.readsOf(order)
			out := run(args, o)
			testenv.Eventually(t, 30*time.Second, func() (bool, string) {
				n := s.api.readsOf(order)
				return n > before, fmt.Sprintf("API read %d times for %s, want more than %d", n, order, before)
			})
			st, err := s.state("phoenix-order:" + order)
			if err != nil {
				t.Fatalf("state of %s after reprocess: %v", order, err)
			}
			return out, st
		}
		// transitions are the recorded transitions as "seq from->to source",
		// the whole history an operator sees.
		transitions := func(st workflows.State) []string {
			var out []string
			for _, tr := range st.Transitions {
				out = append(out, fmt.Sprintf("%d %s->%s %s", tr.Seq, tr.From, tr.To, tr.Source))
			}
			return out
		}
		check := func(what string, st workflows.State, wantStatus string, want ...string) {
			t.Helper()
			if got := transitions(st); st.Status != wantStatus || st.Sequence != len(want) || !slices.Equal(got, want) {
				t.Errorf("%s: status %s, sequence %d, transitions %q; want %s, %d, %q", what, st.Status, st.Sequence, got, wantStatus, len(want), want)
			}
		}

		// By ID: the API has moved on; reprocess applies it once.
		s.api.set("op-open", "fulfilled")
		_, st := reprocessed("op-open", []string{"phoenix-order:op-open"}, reprocessOptions{})
		check("reprocess after the API moved on", st, "fulfilled", "1 ->pending api", "2 pending->fulfilled reprocess")
		if last := st.Transitions[len(st.Transitions)-1]; !strings.HasPrefix(last.EventID, "reprocess:") || st.Processed != 1 {
			t.Errorf("reprocess transition %+v, processed %d; want a reprocess: event ID, 1 event processed", last, st.Processed)
		}
		// By query, again: nothing changed, so nothing is recorded.
		_, st = reprocessed("op-open", nil, reprocessOptions{query: `WorkflowId = "phoenix-order:op-open"`, yes: true})
		check("second reprocess of a terminal order", st, "fulfilled", "1 ->pending api", "2 pending->fulfilled reprocess")

		// An open order whose API status has not moved: reprocessing it,
		// twice, records nothing.
		s.api.set("op-same", "pending")
		body, headers := phoenixEvent(secret, "evt-op-same", "op-same", "pending")
		if r := s.post("/webhooks/phoenix", body, headers); r.status != 200 {
			t.Fatalf("op-same: %d %v", r.status, r.body)
		}
		s.waitState("phoenix-order:op-same", func(st workflows.State) bool { return st.Processed == 1 })
		for i := range 2 {
			_, st = reprocessed("op-same", []string{"phoenix-order:op-same"}, reprocessOptions{})
			check(fmt.Sprintf("reprocess %d of an unchanged open order", i+1), st, "pending", "1 ->pending api")
		}

		// By entity, of a closed workflow: a new run that loads its state.
		testenv.Eventually(t, 30*time.Second, func() (bool, string) {
			return s.visible(`WorkflowId = "phoenix-order:op-done" AND ExecutionStatus = "Completed"`, "phoenix-order:op-done")
		})
		out, st = reprocessed("op-done", nil, reprocessOptions{provider: "phoenix", entity: "op-done", yes: true})
		if !strings.Contains(out, "reprocessed 1, failed 0") {
			t.Errorf("summary:\n%s", out)
		}
		// The API said fulfilled from the first event on: one transition,
		// loaded with its history from the closed run and not applied again.
		check("reprocess of a closed order", st, "fulfilled", "1 ->fulfilled api")
		if st.Processed != 1 {
			t.Errorf("closed entity after reprocess: processed %d, want 1", st.Processed)
		}
	})

	t.Run("readyz says ok, degraded or down, and logs the errors", func(t *testing.T) {
		s.t = t
		ok := map[string]string{"status": "ok", "temporal": "ok", "redis": "ok"}
		if code, body := s.readyz(); code != 200 || !maps.Equal(body, ok) {
			t.Fatalf("readyz = %d %v, want 200 %v", code, body, ok)
		}
		s.redis.Stop()
		code, body := s.readyz()
		s.redis.Start()
		if want := map[string]string{"status": "degraded", "temporal": "ok", "redis": "degraded"}; code != 200 || !maps.Equal(body, want) {
			t.Errorf("Redis down: readyz = %d %v, want 200 %v", code, body, want)
		}
		s.temporal.Stop()
		code, body = s.readyz()
		unavailable := func() float64 {
			return s.metricValue("hookflow_webhook_requests_total", map[string]string{"provider": "phoenix", "outcome": "unavailable"})
		}
		unavailableBefore := unavailable()
		ev, headers := phoenixEvent(secret, "evt-op-unavailable", "op-unavailable", "pending")
		r := s.post("/webhooks/phoenix", ev, headers)
		s.temporal.Start()
		if want := map[string]string{"status": "down", "temporal": "down", "redis": "ok"}; code != 503 || !maps.Equal(body, want) {
			t.Errorf("Temporal down: readyz = %d %v, want 503 %v", code, body, want)
		}
		if got := unavailable() - unavailableBefore; r.status != 503 || got != 1 {
			t.Errorf("Temporal down: answered %d and unavailable moved by %v, want 503 and 1", r.status, got)
		}
		// The raw errors are in the log instead, once per change.
		logged := failingLogs(t, s.logs.String())
		for _, dep := range []string{"redis", "temporal"} {
			if errs := logged[dep]; len(errs) != 1 || errs[0] == "" {
				t.Errorf("logged %q about %s failing, want its error once", errs, dep)
			}
		}
		testenv.Eventually(t, 30*time.Second, func() (bool, string) {
			code, body := s.readyz()
			return code == 200 && maps.Equal(body, ok), fmt.Sprintf("%d %v", code, body)
		})
	})

	t.Run("ops endpoints are off the webhook port", func(t *testing.T) {
		s.t = t
		for _, path := range []string{"/metrics", "/readyz"} {
			if code, _ := get(t, s.base+path); code != 404 {
				t.Errorf("webhook port %s = %d, want 404", path, code)
			}
		}
		for _, base := range []string{s.base, s.ops} {
			if code, body := get(t, base+"/healthz"); code != 200 || body != `{"status":"ok"}` {
				t.Errorf("%s/healthz = %d %s, want 200 ok", base, code, body)
			}
		}
	})
}
