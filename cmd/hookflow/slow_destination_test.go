package main

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/hookflow/hookflow/internal/dev/testenv"
	"github.com/hookflow/hookflow/workflows"
)

// sendTransfers sends a MINT and then transfers of item through the
// receiver, n events in all, one after the other (each a 200), stamped
// alike after the MINT; it returns their event IDs in order.
func (s *stack) sendTransfers(secret, item string, from, n int) []string {
	s.t.Helper()
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	var ids []string
	for i := from; i < from+n; i++ {
		id, tx, at := fmt.Sprintf("evt-%s-%03d", item, i), "TRANSFER", t0.Add(time.Second)
		if i == 0 {
			tx, at = "MINT", t0
		}
		body, headers := phosphorTx(secret, id, item, tx, at)
		if r := s.post("/webhooks/phosphor", body, headers); r.status != 200 || r.body["duplicate"] != false {
			s.t.Fatalf("%s: %d %v, want 200 accepted", id, r.status, r.body)
		}
		ids = append(ids, id)
	}
	return ids
}

// checkDeliveries fails unless the destination acknowledged seqs 1..n of
// wfID, each once, in order, carrying events (the event IDs in order), and
// no transition came under two webhook-ids.
func checkDeliveries(t *testing.T, sink *recordingSink, wfID string, events []string) {
	t.Helper()
	seqs, got, repeats := sink.firstArrivals(wfID)
	if want := wantSeqs(1, len(events)); !slices.Equal(seqs, want) {
		t.Errorf("delivered seqs %v, want %v: each transition once, in order", seqs, want)
	}
	if !slices.Equal(got, events) {
		t.Errorf("delivered transitions of events %q, want %q", got, events)
	}
	if repeats > 0 {
		t.Logf("%d repeats of an acknowledged webhook-id (retries)", repeats)
	}
	if p := sink.problems(); len(p) > 0 {
		t.Errorf("destination problems: %q", p)
	}
}

// settledDeliveries reports whether no delivery is pending or failed
// (which a redeliver makes pending): nothing more will come, whatever came.
func settledDeliveries(st workflows.State) bool {
	if st.Sequence == 0 {
		return false
	}
	for _, d := range st.Deliveries {
		if d.Status == workflows.DeliveryPending || d.Status == workflows.DeliveryFailed {
			return false
		}
	}
	return true
}

// checkNoDroppedDeliveries fails on any delivery record skipped or failed,
// and on DeliveryFailed set.
func checkNoDroppedDeliveries(t *testing.T, s *stack, wfID string) {
	t.Helper()
	st, err := s.state(wfID)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range st.Deliveries {
		if d.Status == workflows.DeliverySkipped || d.Status == workflows.DeliveryFailed {
			t.Errorf("delivery of seq %d to %s: %s (%s)", d.Seq, d.Label, d.Status, d.LastAnswer)
		}
	}
	if s.deliveryFailedAttr(wfID) {
		t.Errorf("DeliveryFailed is set")
	}
}

// TestSlowDestination: a destination that takes 2 s per answer holds no
// event up: 30 events to one entity are applied long before their
// deliveries finish, and every transition is then delivered once, in
// order; none is skipped or failed.
func TestSlowDestination(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	const secret, item, n = "slow-destination-secret", "slow-1", 30
	const wfID = "phosphor-item:" + item
	sink := newRecordingSink(t)
	sink.delay.Store(int64(2 * time.Second))
	env := sink.env()
	env["PHOSPHOR_WEBHOOK_SECRET"] = secret
	s := newStack(t, env)

	start := time.Now()
	events := s.sendTransfers(secret, item, 0, n)
	ok, why := within(20*time.Second, 100*time.Millisecond, func() (bool, string) {
		st, err := s.state(wfID)
		if err != nil {
			return false, err.Error()
		}
		return st.Sequence == n && st.Processed == n, describe(st)
	})
	if !ok {
		t.Fatalf("30 events not applied within 20 s: %s; workflow tasks: %q", why, s.allTaskFailures(wfID))
	}
	applied, delivered := time.Since(start), sink.ackedCount()
	t.Logf("applied in %s, %d delivered by then", applied.Round(time.Millisecond), delivered)
	if delivered >= n {
		t.Errorf("every delivery had finished before the events were applied: the slow destination held them up")
	}

	// 30 deliveries at 2 s each, one after the other.
	ok, why = within(3*time.Minute, time.Second, func() (bool, string) {
		seqs, _, _ := sink.firstArrivals(wfID)
		st, _ := s.state(wfID)
		return len(seqs) >= n || settledDeliveries(st), fmt.Sprintf("delivered %v; state %s", seqs, describe(st))
	})
	if !ok {
		t.Errorf("not every transition delivered: %s", why)
	}
	checkDeliveries(t, sink, wfID, events)
	checkNoDroppedDeliveries(t, s, wfID)
	if f := onlyFailures(s.allTaskFailures(wfID)); len(f) > 0 {
		t.Errorf("workflow task failures: %q", f)
	}
}

// TestRefusingDestinationThenRedeliver: a destination that refuses (400)
// holds every later transition, in order, however many; once it is fixed
// and an operator redelivers, every held transition arrives in order, the
// current state last.
func TestRefusingDestinationThenRedeliver(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	const secret, item, n = "refusing-destination-secret", "refused-1", 30
	const wfID = "phosphor-item:" + item
	sink := newRecordingSink(t)
	sink.failCode.Store(400)
	env := sink.env()
	env["PHOSPHOR_WEBHOOK_SECRET"] = secret
	s := newStack(t, env)

	events := s.sendTransfers(secret, item, 0, n)
	st := s.waitState(wfID, func(st workflows.State) bool {
		failed := false
		for _, d := range st.Deliveries {
			failed = failed || d.Status == workflows.DeliveryFailed
		}
		return st.Sequence == n && failed
	})
	for _, d := range st.Deliveries {
		if d.Status == workflows.DeliverySkipped {
			t.Errorf("delivery of seq %d %s behind the failed one (%s): the contract says later transitions wait, in order", d.Seq, d.Status, d.LastAnswer)
		}
	}
	testenv.Eventually(t, 30*time.Second, func() (bool, string) {
		return s.deliveryFailedAttr(wfID), "DeliveryFailed not set"
	})
	if got := sink.ackedCount(); got != 0 {
		t.Fatalf("%d deliveries acknowledged by a destination that refuses them all", got)
	}

	sink.failCode.Store(0)
	if err := s.tc.SignalWorkflow(context.Background(), wfID, "", workflows.SignalRedeliver, workflows.RedeliverRequest{RequestID: "test-redeliver-1"}); err != nil {
		t.Fatal(err)
	}
	ok, why := within(90*time.Second, 500*time.Millisecond, func() (bool, string) {
		seqs, _, _ := sink.firstArrivals(wfID)
		st, _ := s.state(wfID)
		return len(seqs) >= n || settledDeliveries(st), fmt.Sprintf("delivered %v; state %s", seqs, describe(st))
	})
	if !ok {
		t.Errorf("after redeliver: %s", why)
	}
	checkDeliveries(t, sink, wfID, events)
	if seqs, _, _ := sink.firstArrivals(wfID); len(seqs) > 0 && seqs[len(seqs)-1] != n {
		t.Errorf("the last delivery is seq %d, want the current state's, %d", seqs[len(seqs)-1], n)
	}
	checkNoDroppedDeliveries(t, s, wfID)
	if f := onlyFailures(s.allTaskFailures(wfID)); len(f) > 0 {
		t.Errorf("workflow task failures: %q", f)
	}
}
