package main

import (
	"bytes"
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/hookflow/hookflow/event"
	"github.com/hookflow/hookflow/internal/operator/inspect"
	"github.com/hookflow/hookflow/workflows"
)

// runOperatorCmd runs one operator command against the stack's Temporal, as
// an operator would from a shell, and returns its stdout and stderr.
func runOperatorCmd(t *testing.T, newCmd func(*app) *cobra.Command, args ...string) (string, string) {
	t.Helper()
	cmd := newCmd(&app{})
	var out, errOut bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	cmd.SetArgs(args)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := cmd.ExecuteContext(ctx); err != nil {
		t.Fatalf("%s %v: %v\n%s%s", cmd.Name(), args, err, out.String(), errOut.String())
	}
	return out.String(), errOut.String()
}

// statusJSON runs `hookflow status --json` and reports how long it took.
func statusJSON(t *testing.T, workflowID string) (inspect.Report, time.Duration) {
	t.Helper()
	start := time.Now()
	out, _ := runOperatorCmd(t, newStatusCmd, "--json", workflowID)
	took := time.Since(start)
	var rep inspect.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("status --json: %v\n%s", err, out)
	}
	return rep, took
}

// TestStatusWithoutWorker stops the worker, so no query is answered, as
// during a workflow-task backlog: status and events must come back from
// what the workflow published, promptly and saying so.
func TestStatusWithoutWorker(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	const secret = "status-secret"
	s := newStack(t, map[string]string{"PHOENIX_WEBHOOK_SECRET": secret})
	t.Setenv("HOOKFLOW_CONFIG", "")
	t.Setenv("TEMPORAL_ADDRESS", s.temporal.HostPort)
	t.Setenv("TEMPORAL_NAMESPACE", s.cfg.TemporalNamespace)
	const wfID = "phoenix-order:status-1"
	// promptly bounds a report that falls back: the live query's wait, and
	// the describe and dial around it.
	const promptly = inspect.LiveQueryWait + 5*time.Second

	s.api.set("status-1", "pending")
	body, headers := phoenixEvent(secret, "evt-status-1", "status-1", "pending")
	if r := s.post("/webhooks/phoenix", body, headers); r.status != 200 {
		t.Fatalf("first event: %d %v", r.status, r.body)
	}
	s.waitState(wfID, func(st workflows.State) bool { return st.Status == "pending" })
	s.api.set("status-1", "fulfilled")
	body, headers = phoenixEvent(secret, "evt-status-2", "status-1", "fulfilled")
	if r := s.post("/webhooks/phoenix", body, headers); r.status != 200 {
		t.Fatalf("second event: %d %v", r.status, r.body)
	}
	live := s.waitState(wfID, func(st workflows.State) bool { return st.Status == "fulfilled" && st.Processed == 2 })
	wantTransitions := []struct{ from, to, eventID string }{{"", "pending", "evt-status-1"}, {"pending", "fulfilled", "evt-status-2"}}
	checkTransitions := func(t *testing.T, got []event.Transition) {
		t.Helper()
		if len(got) != len(wantTransitions) {
			t.Fatalf("transitions %+v, want %d", got, len(wantTransitions))
		}
		for i, w := range wantTransitions {
			if g := got[i]; g.Seq != i+1 || g.From != w.from || g.To != w.to || g.EventID != w.eventID {
				t.Errorf("transition %d = %+v, want #%d %q -> %q by %s", i, g, i+1, w.from, w.to, w.eventID)
			}
		}
	}

	t.Run("with a worker the state is live", func(t *testing.T) {
		rep, _ := statusJSON(t, wfID)
		if rep.Source != inspect.SourceLive || !rep.PublishedAt.IsZero() || rep.LiveQuery != "" {
			t.Errorf("source %q, publishedAt %v, liveQuery %q; want live, none, none", rep.Source, rep.PublishedAt, rep.LiveQuery)
		}
		checkTransitions(t, rep.State.Transitions)
	})

	s.worker.Stop()

	t.Run("status falls back to the published state", func(t *testing.T) {
		rep, took := statusJSON(t, wfID)
		if took > promptly {
			t.Errorf("status took %s, want at most %s", took, promptly)
		}
		if rep.Source != inspect.SourcePublished || rep.PublishedAt.IsZero() || !strings.Contains(rep.LiveQuery, "did not answer within 2s") {
			t.Errorf("source %q, publishedAt %v, liveQuery %q; want published, the snapshot's time, not answered", rep.Source, rep.PublishedAt, rep.LiveQuery)
		}
		st := rep.State
		if st.Provider != "phoenix" || st.EntityType != "order" || st.EntityID != "status-1" || st.Status != "fulfilled" || !st.Terminal ||
			st.Sequence != 2 || st.Processed != 2 || st.Duplicates != 0 {
			t.Errorf("published state %+v, want phoenix order status-1 fulfilled (terminal), 2 transitions, 2 processed", st)
		}
		checkTransitions(t, st.Transitions)
		if !reflect.DeepEqual(st.Events, live.Events) {
			t.Errorf("published events %+v, want the live ones %+v", st.Events, live.Events)
		}
		if rep.RunStatus != "Running" {
			t.Errorf("run status %q, want Running", rep.RunStatus)
		}

		out, _ := runOperatorCmd(t, newStatusCmd, wfID)
		if want := "note:       live query did not answer within 2s (workflow task backlog?); showing the state last published at " +
			rep.PublishedAt.UTC().Format(time.RFC3339) + "\n"; !strings.HasPrefix(out, want) {
			t.Errorf("status output does not start with %q:\n%s", want, out)
		}
		if !strings.Contains(out, "status:     fulfilled (terminal)") || !strings.Contains(out, "evt-status-2") {
			t.Errorf("status output lacks the published state:\n%s", out)
		}
	})

	t.Run("events falls back and says so", func(t *testing.T) {
		out, _ := runOperatorCmd(t, newEventsCmd, wfID)
		if !strings.HasPrefix(out, "note: live query did not answer within 2s") || !strings.Contains(out, "evt-status-1") || !strings.Contains(out, "evt-status-2") {
			t.Errorf("events output:\n%s", out)
		}
		out, errOut := runOperatorCmd(t, newEventsCmd, "--json", wfID)
		var events []event.Received
		if err := json.Unmarshal([]byte(out), &events); err != nil || len(events) != 2 {
			t.Errorf("events --json: %v, %d events\n%s", err, len(events), out)
		}
		if !strings.Contains(errOut, "showing the state last published at") {
			t.Errorf("events --json says nothing on stderr of the fallback: %q", errOut)
		}
	})

	t.Run("a new entity whose first event is queued shows its search attributes", func(t *testing.T) {
		body, headers := phoenixEvent(secret, "evt-status-new", "status-new", "pending")
		if r := s.post("/webhooks/phoenix", body, headers); r.status != 200 {
			t.Fatalf("event: %d %v", r.status, r.body)
		}
		rep, took := statusJSON(t, "phoenix-order:status-new")
		if took > promptly {
			t.Errorf("status took %s, want at most %s", took, promptly)
		}
		st := rep.State
		if rep.Source != inspect.SourcePublished || !rep.PublishedAt.IsZero() || st.Provider != "phoenix" || st.EntityType != "order" ||
			st.EntityID != "status-new" || st.Status != "" || st.Sequence != 0 || len(st.Transitions) != 0 {
			t.Errorf("source %q, publishedAt %v, state %+v; want published, no snapshot, phoenix order status-new with no status", rep.Source, rep.PublishedAt, st)
		}
		out, _ := runOperatorCmd(t, newStatusCmd, "phoenix-order:status-new")
		if !strings.Contains(out, "showing the search attributes only (no state published yet)") || !strings.Contains(out, "entity:     phoenix order status-new") {
			t.Errorf("status output:\n%s", out)
		}
	})

	t.Run("a terminated run shows what it published", func(t *testing.T) {
		if err := s.tc.TerminateWorkflow(context.Background(), wfID, "", "status test"); err != nil {
			t.Fatal(err)
		}
		rep, took := statusJSON(t, wfID)
		if took > promptly {
			t.Errorf("status took %s, want at most %s", took, promptly)
		}
		if rep.RunStatus != "Terminated" || rep.Source != inspect.SourcePublished || !strings.Contains(rep.LiveQuery, "did not answer") || rep.State.Status != "fulfilled" || rep.State.Sequence != 2 {
			t.Errorf("run %s, source %q (%s), state %+v; want Terminated, published, fulfilled after 2 transitions", rep.RunStatus, rep.Source, rep.LiveQuery, rep.State)
		}
		checkTransitions(t, rep.State.Transitions)
	})
}
