package main

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"go.temporal.io/api/workflowservice/v1"

	"github.com/hookflow/hookflow/internal/dev/testenv"
	"github.com/hookflow/hookflow/workflows"
)

// closeEntity delivers one event for a new Phoenix order whose API status
// is status and waits until its run has completed (linger 1s); it returns
// that run's ID.
func (s *stack) closeEntity(secret, order, status string) string {
	s.t.Helper()
	s.api.set(order, status)
	body, headers := phoenixEvent(secret, "evt-"+order+"-1", order, status)
	if r := s.post("/webhooks/phoenix", body, headers); r.status != 200 {
		s.t.Fatalf("first delivery: %d %v", r.status, r.body)
	}
	return s.waitClosed("phoenix-order:" + order)
}

// TestConcurrentReopen: deliveries that reopen a closed entity at the same
// moment end in one new run that holds the closed run's state and every one
// of them.
func TestConcurrentReopen(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	const secret = "reopen-secret"
	s := newStack(t, map[string]string{"PHOENIX_WEBHOOK_SECRET": secret, "HOOKFLOW_LINGER": "1s"})
	const order, wfID = "reopen-1", "phoenix-order:reopen-1"
	firstRun := s.closeEntity(secret, order, "fulfilled")

	const n = 8
	var wg sync.WaitGroup
	start := make(chan struct{})
	codes := make([]int, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			body, headers := phoenixEvent(secret, fmt.Sprintf("evt-%s-late-%d", order, i), order, "pending")
			<-start
			codes[i] = s.postAsProvider("/webhooks/phoenix", body, headers)
		}()
	}
	close(start)
	wg.Wait()
	for i, c := range codes {
		if c != 200 {
			t.Fatalf("delivery %d answered %d, want 200", i, c)
		}
	}

	st := s.waitState(wfID, func(st workflows.State) bool { return st.Processed+st.Duplicates >= 1+n })
	if st.Status != "fulfilled" || st.Sequence != 1 || st.Processed != 1+n || st.Duplicates != 0 {
		t.Errorf("state = status %s, %d transitions, %d processed, %d duplicates; want fulfilled, 1, %d, 0",
			st.Status, st.Sequence, st.Processed, st.Duplicates, 1+n)
	}
	if len(st.Transitions) != 1 || st.Transitions[0].EventID != "evt-"+order+"-1" {
		t.Errorf("transitions = %+v, want the closed run's one", st.Transitions)
	}
	if n := s.rpcs.count("ListWorkflowExecutions"); n != 0 {
		t.Errorf("%d visibility list call(s), want none", n)
	}
	// One run after the closed one: list the runs once visibility has them.
	testenv.Eventually(t, 30*time.Second, func() (bool, string) {
		runs, err := listRunIDs(s, wfID)
		if err != nil {
			return false, err.Error()
		}
		return len(runs) == 2 && slices.Contains(runs, firstRun), fmt.Sprintf("runs %v, want the closed one and one more", runs)
	})
}

// listRunIDs lists a workflow's runs through visibility.
func listRunIDs(s *stack, wfID string) ([]string, error) {
	resp, err := s.tc.ListWorkflow(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{
		Namespace: s.cfg.TemporalNamespace, Query: fmt.Sprintf("WorkflowId = %q", wfID),
	})
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, ex := range resp.GetExecutions() {
		ids = append(ids, ex.GetExecution().GetRunId())
	}
	return ids, nil
}

// TestTerminatedEntityKeepsItsState: a run terminated mid-life leaves its
// state up to the last applied transition; the next delivery continues from
// it, and a redelivery of an event it applied stays a duplicate.
func TestTerminatedEntityKeepsItsState(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	const secret = "terminate-secret"
	s := newStack(t, map[string]string{"PHOENIX_WEBHOOK_SECRET": secret})
	const order, wfID = "terminated-1", "phoenix-order:terminated-1"
	s.api.set(order, "pending")
	first, headers := phoenixEvent(secret, "evt-t-1", order, "pending")
	if r := s.post("/webhooks/phoenix", first, headers); r.status != 200 {
		t.Fatalf("first delivery: %d %v", r.status, r.body)
	}
	s.waitState(wfID, func(st workflows.State) bool { return st.Status == "pending" })
	if err := s.tc.TerminateWorkflow(context.Background(), wfID, "", "test: terminated mid-life"); err != nil {
		t.Fatal(err)
	}

	if err := s.rdb.FlushAll(context.Background()).Err(); err != nil {
		t.Fatal(err)
	}
	if r := s.post("/webhooks/phoenix", first, headers); r.status != 200 {
		t.Fatalf("redelivery: %d %v", r.status, r.body)
	}
	s.api.set(order, "fulfilled")
	next, headers := phoenixEvent(secret, "evt-t-2", order, "fulfilled")
	if r := s.post("/webhooks/phoenix", next, headers); r.status != 200 {
		t.Fatalf("next delivery: %d %v", r.status, r.body)
	}
	st := s.waitState(wfID, func(st workflows.State) bool { return st.Processed+st.Duplicates >= 3 })
	if st.Status != "fulfilled" || st.Sequence != 2 || st.Processed != 2 || st.Duplicates != 1 {
		t.Errorf("state = status %s, %d transitions, %d processed, %d duplicates; want fulfilled, 2, 2, 1",
			st.Status, st.Sequence, st.Processed, st.Duplicates)
	}
	var got []string
	for _, tr := range st.Transitions {
		got = append(got, tr.From+"→"+tr.To+" "+tr.EventID)
	}
	if want := []string{"→pending evt-t-1", "pending→fulfilled evt-t-2"}; !slices.Equal(got, want) {
		t.Errorf("transitions = %q, want %q", got, want)
	}
}

// TestNewEntitiesNeedNoVisibility: a burst of brand-new entities is handled
// without a single visibility list call.
func TestNewEntitiesNeedNoVisibility(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	const secret = "burst-secret"
	s := newStack(t, map[string]string{"PHOENIX_WEBHOOK_SECRET": secret})
	const n = 40
	var wg sync.WaitGroup
	codes := make([]int, n)
	for i := range n {
		order := fmt.Sprintf("burst-%d", i)
		s.api.set(order, "pending")
		wg.Add(1)
		go func() {
			defer wg.Done()
			body, headers := phoenixEvent(secret, "evt-"+order, order, "pending")
			codes[i] = s.postAsProvider("/webhooks/phoenix", body, headers)
		}()
	}
	wg.Wait()
	for i, c := range codes {
		if c != 200 {
			t.Fatalf("delivery %d answered %d, want 200", i, c)
		}
	}
	for i := range n {
		s.waitState(fmt.Sprintf("phoenix-order:burst-%d", i), func(st workflows.State) bool { return st.Status == "pending" })
	}
	if got := s.rpcs.count("ListWorkflowExecutions"); got != 0 {
		t.Errorf("%d visibility list call(s) for %d new entities, want none", got, n)
	}
	// One each, plus any a provider's retry of a 503 (a start slower than
	// HOOKFLOW_START_TIMEOUT on a loaded machine) made again.
	if got := s.rpcs.count("SignalWithStartWorkflowExecution"); got < n {
		t.Errorf("%d SignalWithStart calls for %d new entities, want at least one each", got, n)
	}
}

// postAsProvider delivers as a provider does: a 503 or 429 (this machine
// too loaded to start the workflow within the start timeout) is retried
// after its Retry-After, a few times; it returns the last status.
func (s *stack) postAsProvider(path string, body []byte, headers map[string]string) int {
	var status int
	for range 5 {
		r := s.post(path, body, headers)
		if status = r.status; status != 503 && status != 429 {
			return status
		}
		time.Sleep(time.Second) // the provider's own backoff, not a synchronisation
	}
	return status
}
