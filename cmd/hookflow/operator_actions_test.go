package main

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/hookflow/hookflow/workflows"
)

// What an operator does to an entity from the Temporal UI or CLI (cancel,
// reset, terminate) must not cost it its state: the next event reopens it
// with everything it had, and every transition keeps the one webhook-id it
// was first delivered under.

// transitionEvents is the event IDs of the state's kept transitions, in
// order.
func transitionEvents(st workflows.State) []string {
	var out []string
	for _, tr := range st.Transitions {
		out = append(out, tr.EventID)
	}
	return out
}

// checkFullState fails unless st holds every one of events, applied in
// order, as seqs 1..len(events).
func checkFullState(t *testing.T, st workflows.State, events []string) {
	t.Helper()
	n := len(events)
	if st.Sequence != n || st.Processed != n || st.Duplicates != 0 || st.Status != "TRANSFER" {
		t.Errorf("state: %s; want sequence %d, processed %d, no duplicates, status TRANSFER", describe(st), n, n)
	}
	if got := transitionEvents(st); !slices.Equal(got, events) {
		t.Errorf("transitions of events %q, want %q", got, events)
	}
}

// waitDelivered waits until seqs 1..n of wfID have been acknowledged.
func waitDelivered(t *testing.T, s *stack, sink *recordingSink, wfID string, n int, d time.Duration) {
	t.Helper()
	ok, why := within(d, 200*time.Millisecond, func() (bool, string) {
		seqs, _, _ := sink.firstArrivals(wfID)
		return len(seqs) >= n, fmt.Sprintf("delivered %v", seqs)
	})
	if !ok {
		st, _ := s.state(wfID)
		t.Errorf("not every transition delivered within %s: %s; state %s", d, why, describe(st))
	}
}

// currentStatus is the current run's ID and status, read by name.
func (s *stack) currentStatus(wfID string) (string, enums.WorkflowExecutionStatus) {
	s.t.Helper()
	d, err := s.tc.DescribeWorkflowExecution(context.Background(), wfID, "")
	if err != nil {
		s.t.Fatal(err)
	}
	return d.GetWorkflowExecutionInfo().GetExecution().GetRunId(), d.GetWorkflowExecutionInfo().GetStatus()
}

func TestOperatorActions(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	const secret = "operator-actions-secret"
	sink := newRecordingSink(t)
	env := sink.env()
	env["PHOSPHOR_WEBHOOK_SECRET"] = secret
	s := newStack(t, env)

	t.Run("cancel with deliveries in flight", func(t *testing.T) {
		s.t = t
		const item, wfID = "op-cancel-1", "phosphor-item:op-cancel-1"
		sink.delay.Store(int64(2 * time.Second))
		defer sink.delay.Store(0)
		events := s.sendTransfers(secret, item, 0, 6)
		s.waitState(wfID, func(st workflows.State) bool { return st.Sequence == 6 })
		if got := sink.ackedCount(); got >= 6 {
			t.Fatalf("every delivery already made (%d): nothing in flight to cancel", got)
		}
		firstRun, _ := s.currentStatus(wfID)
		// The UI's Cancel.
		if err := s.tc.CancelWorkflow(context.Background(), wfID, firstRun); err != nil {
			t.Fatal(err)
		}
		ok, why := within(20*time.Second, 200*time.Millisecond, func() (bool, string) {
			_, status := s.currentStatus(wfID)
			return status == enums.WORKFLOW_EXECUTION_STATUS_CANCELED, "status " + status.String()
		})
		if !ok {
			t.Errorf("the cancelled run did not close as Canceled within 20 s: %s; workflow tasks: %q", why, s.allTaskFailures(wfID))
		}

		events = append(events, s.sendTransfers(secret, item, 6, 1)...)
		st := s.waitState(wfID, func(st workflows.State) bool { return st.Processed >= 7 })
		checkFullState(t, st, events)
		if run, _ := s.currentStatus(wfID); ok && run == firstRun {
			t.Errorf("the next event went to the cancelled run")
		}
		waitDelivered(t, s, sink, wfID, 7, time.Minute)
		checkDeliveries(t, sink, wfID, events)
		checkNoDroppedDeliveries(t, s, wfID)
	})

	t.Run("reset to the first workflow task", func(t *testing.T) {
		s.t = t
		const item, wfID = "op-reset-1", "phosphor-item:op-reset-1"
		var events []string
		for i := range 4 { // one workflow task each
			events = append(events, s.sendTransfers(secret, item, i, 1)...)
			s.waitState(wfID, func(st workflows.State) bool { return st.Sequence == i+1 })
		}
		waitDelivered(t, s, sink, wfID, 4, 30*time.Second)
		run, _ := s.currentStatus(wfID)
		first := firstTaskCompleted(t, s, wfID, run)
		resp, err := s.tc.ResetWorkflowExecution(context.Background(), &workflowservice.ResetWorkflowExecutionRequest{
			Namespace:                 s.cfg.TemporalNamespace,
			WorkflowExecution:         &commonpb.WorkflowExecution{WorkflowId: wfID, RunId: run},
			Reason:                    "test: reset to the first workflow task",
			WorkflowTaskFinishEventId: first,
			RequestId:                 fmt.Sprintf("test-reset-%d", time.Now().UnixNano()),
			ResetReapplyType:          enums.RESET_REAPPLY_TYPE_SIGNAL,
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("reset %s at event %d to run %s", run, first, resp.GetRunId())

		events = append(events, s.sendTransfers(secret, item, 4, 1)...)
		st := s.waitState(wfID, func(st workflows.State) bool { return st.Processed+st.Duplicates >= 5 && st.Sequence >= 5 })
		checkFullState(t, st, events)
		waitDelivered(t, s, sink, wfID, 5, 30*time.Second)
		checkDeliveries(t, sink, wfID, events)
		checkNoDroppedDeliveries(t, s, wfID)
		if f := onlyFailures(s.allTaskFailures(wfID, run)); len(f) > 0 {
			t.Errorf("workflow task failures: %q", f)
		}
	})

	t.Run("terminate after several transitions", func(t *testing.T) {
		s.t = t
		const item, wfID = "op-terminate-1", "phosphor-item:op-terminate-1"
		events := s.sendTransfers(secret, item, 0, 4)
		s.waitState(wfID, func(st workflows.State) bool { return st.Sequence == 4 })
		waitDelivered(t, s, sink, wfID, 4, 30*time.Second)
		run, _ := s.currentStatus(wfID)
		if err := s.tc.TerminateWorkflow(context.Background(), wfID, run, "test: terminated by an operator"); err != nil {
			t.Fatal(err)
		}
		events = append(events, s.sendTransfers(secret, item, 4, 1)...)
		st := s.waitState(wfID, func(st workflows.State) bool { return st.Processed+st.Duplicates >= 5 })
		checkFullState(t, st, events)
		if next, _ := s.currentStatus(wfID); next == run {
			t.Errorf("the next event went to the terminated run")
		}
		waitDelivered(t, s, sink, wfID, 5, 30*time.Second)
		checkDeliveries(t, sink, wfID, events)
		checkNoDroppedDeliveries(t, s, wfID)
	})
}

// firstTaskCompleted is the event ID of the run's first
// WorkflowTaskCompleted: where the UI's "reset to first workflow task"
// goes.
func firstTaskCompleted(t *testing.T, s *stack, wfID, run string) int64 {
	t.Helper()
	it := s.tc.GetWorkflowHistory(context.Background(), wfID, run, false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		if ev.GetEventType() == enums.EVENT_TYPE_WORKFLOW_TASK_COMPLETED {
			return ev.GetEventId()
		}
	}
	t.Fatal("no completed workflow task in the history")
	return 0
}
