package workflows

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/hookflow/hookflow/activities"
	"github.com/hookflow/hookflow/event"
)

// The promises of issue 25, in simulated time: whatever load and operators
// do, every event a run was handed is applied once, in order, every
// transition delivered once per destination, nothing silently dropped, and
// what the run carries stays bounded.

// itemHarness runs a Phosphor item (MINT, TRANSFER…, BURN: as many
// transitions as events) delivering to one destination "a".
type itemHarness struct {
	t   *testing.T
	env *testsuite.TestWorkflowEnvironment

	mu      sync.Mutex
	calls   []int // seqs delivered to a, in call order (every attempt)
	ok      []int // seqs acknowledged
	webhook map[int]string
	answer  func(seq, call int) error
	memos   int
	upserts int
}

func newItemHarness(t *testing.T, delay time.Duration, answer func(seq, call int) error) *itemHarness {
	h := &itemHarness{t: t, answer: answer, webhook: map[int]string{}}
	var suite testsuite.WorkflowTestSuite
	h.env = suite.NewTestWorkflowEnvironment()
	h.env.SetStartTime(t0)
	h.env.RegisterWorkflow(Entity)
	h.env.RegisterActivity(&activities.Activities{})
	deliver := h.env.OnActivity("Deliver", mock.Anything, mock.Anything)
	if delay > 0 {
		deliver = deliver.After(delay)
	}
	deliver.Return(h.deliver)
	h.env.OnUpsertMemo(mock.Anything).Run(func(args mock.Arguments) {
		memo, _ := args.Get(0).(map[string]any)
		if _, ok := memo[MemoKey]; ok {
			return // a revision 2 run's snapshot
		}
		if _, ok := memo[MemoSummaryKey]; !ok || len(memo) != 1 {
			t.Errorf("memo upsert of %d fields, want only %s", len(memo), MemoSummaryKey)
		}
		if b, _ := json.Marshal(memo); len(b) > summaryBytes {
			t.Errorf("memo of %d bytes, over %d", len(b), summaryBytes)
		}
		h.mu.Lock()
		h.memos++
		h.mu.Unlock()
	}).Return(nil)
	h.env.OnUpsertTypedSearchAttributes(mock.Anything).Run(func(mock.Arguments) {
		h.mu.Lock()
		h.upserts++
		h.mu.Unlock()
	}).Return(nil)
	return h
}

func (h *itemHarness) deliver(_ context.Context, in activities.DeliverInput) (activities.Delivered, error) {
	h.mu.Lock()
	n := 0
	for _, s := range h.calls {
		if s == in.Message.Seq {
			n++
		}
	}
	h.calls = append(h.calls, in.Message.Seq)
	h.mu.Unlock()
	err := h.answer(in.Message.Seq, n)
	if err == nil {
		h.mu.Lock()
		h.ok = append(h.ok, in.Message.Seq)
		h.webhook[in.Message.Seq] = in.Message.EventID
		h.mu.Unlock()
	}
	return activities.Delivered{Attempts: 1}, err
}

func (h *itemHarness) input() EntityInput {
	return EntityInput{Provider: "phosphor", EntityType: "item", EntityID: "i1", Revision: Revision, Linger: time.Minute,
		Targets: []Target{{ID: "a", Label: "a"}}, Horizon: time.Hour}
}

// itemEvent is the n-th event of the item: MINT first, then TRANSFERs, all
// stamped alike (a rankless repeat is then never judged stale).
func itemEvent(n int, status string) event.Event {
	return event.Event{Provider: "phosphor", ID: fmt.Sprintf("ev-%04d", n), Type: "TOKEN_TX", EntityType: "item", EntityID: "i1",
		Status: status, ProviderTime: t0.Format(time.RFC3339), ReceivedAt: t0, Body: []byte(fmt.Sprintf(`{"n":%d}`, n))}
}

// burst sends n events at once at offset at: MINT, TRANSFERs, and BURN
// last when burn is set.
func (h *itemHarness) burst(at time.Duration, n int, burn bool) {
	h.env.RegisterDelayedCallback(func() {
		for i := 1; i <= n; i++ {
			status := "TRANSFER"
			switch {
			case i == 1:
				status = "MINT"
			case i == n && burn:
				status = "BURN"
			}
			h.env.SignalWorkflow(SignalWebhookEvent, itemEvent(i, status))
		}
	}, at)
}

func (h *itemHarness) queryAt(at time.Duration) *State { return queryStateAt(h.t, h.env, at) }

func (h *itemHarness) run(in EntityInput) State {
	h.t.Helper()
	h.env.ExecuteWorkflow(Entity, in)
	if err := h.env.GetWorkflowError(); err != nil {
		h.t.Fatal(err)
	}
	var st State
	if err := h.env.GetWorkflowResult(&st); err != nil {
		h.t.Fatal(err)
	}
	return st
}

func seqs(from, to int) []int {
	var out []int
	for i := from; i <= to; i++ {
		out = append(out, i)
	}
	return out
}

// TestSlowDestinationHoldsEveryTransition: 60 events at once to an entity
// whose destination takes 2 s an answer and may hold 5: the entity takes
// events as the destination catches up, applies all 60 once and in order,
// and the destination gets every transition once, in order; nothing is
// skipped or failed.
func TestSlowDestinationHoldsEveryTransition(t *testing.T) {
	h := newItemHarness(t, 2*time.Second, func(int, int) error { return nil })
	h.burst(time.Second, 60, true)
	during := h.queryAt(30 * time.Second)
	in := h.input()
	in.MaxHeld = 5
	st := h.run(in)

	if st.Sequence != 60 || st.Processed != 60 || st.Status != "BURN" {
		t.Errorf("final state: sequence %d, processed %d, status %s; want 60, 60, BURN", st.Sequence, st.Processed, st.Status)
	}
	if !slices.Equal(h.ok, seqs(1, 60)) || !slices.Equal(h.calls, seqs(1, 60)) {
		t.Errorf("delivered %v (calls %v), want 1..60 once each, in order", h.ok, h.calls)
	}
	for _, d := range st.Deliveries {
		if d.Status != DeliveryDelivered {
			t.Errorf("delivery %+v, want every one delivered", d)
		}
	}
	if !during.Waiting {
		t.Errorf("state during the burst: waiting = false, want events waiting for the destination")
	}
	if open := len(during.Deliveries) - countStatus(during.Deliveries, DeliveryDelivered); open > 5 {
		t.Errorf("during the burst %d deliveries held, want at most MaxHeld 5", open)
	}
}

// TestBurstToOneEntity: 1,000 events delivered at once are all applied
// once, in order, and delivered in order; the memo carries only the
// summary, and search attributes are upserted only when they change. (The
// test environment hands the workflow one signal at a time, so the bound of
// one upsert per workflow task is proven against the dev server, in
// cmd/hookflow's hot-entity test.)
func TestBurstToOneEntity(t *testing.T) {
	h := newItemHarness(t, 0, func(int, int) error { return nil })
	h.burst(time.Second, 1000, true)
	in := h.input()
	in.MaxEventsPerRun = 5000
	st := h.run(in)
	if st.Sequence != 1000 || st.Processed != 1000 {
		t.Errorf("sequence %d, processed %d; want 1000 and 1000", st.Sequence, st.Processed)
	}
	if !slices.Equal(h.ok, seqs(1, 1000)) {
		t.Errorf("delivered %d transitions, want 1..1000 in order", len(h.ok))
	}
	if h.upserts > 3 {
		t.Errorf("%d search attribute upserts, want 3 (MINT, TRANSFER, BURN)", h.upserts)
	}
}

// TestSlowDestinationOldRevisionSkipped documents the defect revision 3
// fixes: a revision 2 run skipped transitions behind a merely slow
// destination (21 and later of a burst), silently.
func TestSlowDestinationOldRevisionSkipped(t *testing.T) {
	h := newItemHarness(t, 2*time.Second, func(int, int) error { return nil })
	h.burst(time.Second, 30, true)
	in := h.input()
	in.Revision = 2
	st := h.run(in)
	if n := countStatus(st.Deliveries, DeliverySkipped); n == 0 {
		t.Errorf("revision 2 skipped nothing; the defect this test documents is gone: %v", deliveries(st.Deliveries))
	}
}

func countStatus(ds []Delivery, status string) int {
	n := 0
	for _, d := range ds {
		if d.Status == status {
			n++
		}
	}
	return n
}

// TestFailedDestinationPastBound: behind a failed delivery the destination
// holds MaxHeld; later transitions are recorded failed (one record, never
// skipped), DeliveryFailed is set, and redeliver sends what is held, in
// order, then the current state as one event.
func TestFailedDestinationPastBound(t *testing.T) {
	rejected := temporal.NewNonRetryableApplicationError("a answered 400 Bad Request", activities.ErrDeliveryRejected, nil)
	h := newItemHarness(t, 0, func(seq, call int) error {
		if seq == 1 && call == 0 {
			return rejected
		}
		return nil
	})
	for i := 1; i <= 10; i++ {
		status := "TRANSFER"
		if i == 1 {
			status = "MINT"
		}
		ev := itemEvent(i, status)
		h.env.RegisterDelayedCallback(func() { h.env.SignalWorkflow(SignalWebhookEvent, ev) }, time.Duration(i)*time.Second)
	}
	failed := h.queryAt(30 * time.Second)
	h.env.RegisterDelayedCallback(func() { h.env.SignalWorkflow(SignalRedeliver, RedeliverRequest{RequestID: "r1"}) }, time.Minute)
	after := h.queryAt(2 * time.Minute)
	h.env.RegisterDelayedCallback(func() { h.env.SignalWorkflow(SignalWebhookEvent, itemEvent(11, "BURN")) }, 3*time.Minute)
	in := h.input()
	in.MaxHeld = 3
	st := h.run(in)

	checkStrings(t, "deliveries while failed", deliveries(failed.Deliveries), []string{"a:1 failed", "a:10 failed", "a:2 pending", "a:3 pending"})
	var unheld *Delivery
	for i, d := range failed.Deliveries {
		if d.Unheld > 0 {
			unheld = &failed.Deliveries[i]
		}
	}
	if unheld == nil || unheld.Unheld != 7 || unheld.Transition == nil || unheld.Transition.EventID != "ev-0010" {
		t.Fatalf("unheld record = %+v, want 7 transitions not held, the latest ev-0010", unheld)
	}
	if !strings.Contains(unheld.LastAnswer, "not held") {
		t.Errorf("unheld answer = %q", unheld.LastAnswer)
	}
	if want := []int{1, 1, 2, 3, 10, 11}; !slices.Equal(h.calls, want) {
		t.Errorf("calls %v, want %v (the failure, then the held ones, then the current state, then the next)", h.calls, want)
	}
	if h.webhook[10] != "ev-0010" {
		t.Errorf("current state delivered as %q, want ev-0010's transition", h.webhook[10])
	}
	if after.Deliveries == nil || countStatus(after.Deliveries, DeliveryFailed) != 0 {
		t.Errorf("after redeliver: %v, want nothing failed", deliveries(after.Deliveries))
	}
	if st.Sequence != 11 {
		t.Errorf("sequence %d, want 11", st.Sequence)
	}
}

// TestCancelClosesCleanly: an operator's cancel (the UI's) with deliveries
// in flight closes the run Canceled at once, without spinning; the events
// it was handed are applied and its pending deliveries are left in the
// snapshot the next run loads, which delivers them under the same
// webhook-ids.
func TestCancelClosesCleanly(t *testing.T) {
	h := newItemHarness(t, 30*time.Second, func(int, int) error { return nil })
	h.burst(time.Second, 3, false)
	h.env.RegisterDelayedCallback(func() {
		h.env.SignalWorkflow(SignalWebhookEvent, itemEvent(4, "TRANSFER"))
		h.env.CancelWorkflow()
	}, 5*time.Second)
	h.env.ExecuteWorkflow(Entity, h.input())
	err := h.env.GetWorkflowError()
	var canceled *temporal.CanceledError
	if !errors.As(err, &canceled) {
		t.Fatalf("workflow error = %v, want Canceled", err)
	}
	if got := h.env.Now().Sub(t0); got > 6*time.Second {
		t.Errorf("closed at +%s, want right after the cancel at +5s", got)
	}
	v, err := h.env.QueryWorkflow(QuerySnapshot)
	if err != nil {
		t.Fatal(err)
	}
	var snap Snapshot
	if err := v.Get(&snap); err != nil {
		t.Fatal(err)
	}
	if snap.Sequence != 4 || snap.Processed != 4 {
		t.Errorf("snapshot: sequence %d, processed %d; want 4 and 4 (the event that came with the cancel applied)", snap.Sequence, snap.Processed)
	}
	checkStrings(t, "deliveries left", deliveries(snap.Deliveries), []string{"a:1 pending", "a:2 pending", "a:3 pending", "a:4 pending"})

	// The next event reopens it: the next run loads that snapshot.
	next := newItemHarness(t, 0, func(int, int) error { return nil })
	raw, _ := json.Marshal(snap)
	next.env.OnActivity("DescribeRun", mock.Anything, mock.Anything).Return(activities.Run{Memo: raw}, nil)
	next.env.RegisterDelayedCallback(func() { next.env.SignalWorkflow(SignalWebhookEvent, itemEvent(5, "BURN")) }, time.Second)
	in := next.input()
	in.PreviousRunID = "cancelled-run"
	st := next.run(in)
	if !slices.Equal(next.ok, seqs(1, 5)) {
		t.Errorf("next run delivered %v, want 1..5 in order", next.ok)
	}
	for seq, id := range map[int]string{1: "ev-0001", 4: "ev-0004", 5: "ev-0005"} {
		if next.webhook[seq] != id {
			t.Errorf("seq %d delivered as %q, want %s", seq, next.webhook[seq], id)
		}
	}
	if st.Sequence != 5 || st.Processed != 5 {
		t.Errorf("final: sequence %d processed %d, want 5 and 5", st.Sequence, st.Processed)
	}
}

// TestCancelWithoutDestinations: the close timer's path does not spin
// after a cancel either.
func TestCancelWithoutDestinations(t *testing.T) {
	h := newItemHarness(t, 0, func(int, int) error { return nil })
	h.burst(time.Second, 2, false)
	h.env.RegisterDelayedCallback(h.env.CancelWorkflow, 10*time.Second)
	in := h.input()
	in.Targets, in.IdleTimeout = nil, time.Hour
	h.env.ExecuteWorkflow(Entity, in)
	var canceled *temporal.CanceledError
	if err := h.env.GetWorkflowError(); !errors.As(err, &canceled) {
		t.Fatalf("workflow error = %v, want Canceled", err)
	}
}

// TestMalformedSignals: every signal name with a string, wrong types, an
// empty object and a huge payload: each is rejected and recorded, never
// counted as processed, and the next real event and reprocess are handled
// at once.
func TestMalformedSignals(t *testing.T) {
	h := newItemHarness(t, 0, func(int, int) error { return nil })
	huge := strings.Repeat("x", 1500<<10)
	bad := map[string][]any{
		SignalWebhookEvent: {"x", map[string]any{"eventId": 5, "status": []int{1}}, map[string]any{}, huge},
		SignalReprocess:    {"x", map[string]any{"RequestID": 5}, huge},
		SignalRedeliver:    {"x", map[string]any{"Destination": []int{}}, huge},
	}
	h.env.RegisterDelayedCallback(func() {
		for _, name := range []string{SignalWebhookEvent, SignalReprocess, SignalRedeliver} {
			for _, p := range bad[name] {
				h.env.SignalWorkflow(name, p)
			}
		}
	}, time.Second)
	h.env.RegisterDelayedCallback(func() { h.env.SignalWorkflow(SignalWebhookEvent, itemEvent(1, "MINT")) }, 2*time.Second)
	h.env.RegisterDelayedCallback(func() {
		h.env.SignalWorkflow(SignalReprocess, "not a request")
		h.env.SignalWorkflow(SignalReprocess, ReprocessRequest{RequestID: "r1"})
	}, 2500*time.Millisecond)
	h.env.RegisterDelayedCallback(func() { h.env.SignalWorkflow(SignalWebhookEvent, itemEvent(2, "BURN")) }, 3*time.Second)
	st := h.run(h.input())

	if st.Rejected != 11 {
		t.Errorf("rejected %d, want 11: %+v", st.Rejected, st.Rejections)
	}
	if len(st.Rejections) != maxRejections {
		t.Errorf("%d rejections kept, want %d", len(st.Rejections), maxRejections)
	}
	for _, r := range st.Rejections {
		if len(r.Reason) > maxTextBytes {
			t.Errorf("rejection reason of %d bytes", len(r.Reason))
		}
	}
	if st.Processed != 2 || st.Sequence != 2 || st.Status != "BURN" {
		t.Errorf("state: processed %d, sequence %d, status %s; want 2, 2, BURN", st.Processed, st.Sequence, st.Status)
	}
	// The reprocess right after a malformed one re-sent the current state.
	if want := []int{1, 1, 2}; !slices.Equal(h.calls, want) {
		t.Errorf("deliveries %v, want %v (MINT, its re-send by reprocess, BURN)", h.calls, want)
	}
}

// TestMemoryWatermark: past the event-ID window, a redelivery of a
// forgotten event is judged stale by the provider-time watermark, never
// applied again; a remembered one is a duplicate; a newer one applies.
func TestMemoryWatermark(t *testing.T) {
	old := newMemory()
	old.chunked = true
	for i := 0; i < maxRemembered; i++ {
		old.addAt(t0.Add(-time.Hour+time.Duration(i)*time.Millisecond).UnixMilli(), fmt.Sprintf("old-%d", i))
	}
	in := EntityInput{Provider: "phosphor", EntityType: "item", EntityID: "i1", Revision: Revision, Linger: time.Minute}
	in.Carry = &Carry{
		State: State{Provider: "phosphor", EntityType: "item", EntityID: "i1", Status: "TRANSFER", Sequence: maxRemembered, Processed: maxRemembered},
		Seen:  old.packed(), SeenTimes: old.times(),
	}
	ev := func(id string, at time.Time, status string) event.Event {
		return event.Event{Provider: "phosphor", ID: id, EntityType: "item", EntityID: "i1", Status: status, ProviderTime: at.Format(time.RFC3339Nano)}
	}
	steps := []event.Event{
		ev("new-1", t0, "TRANSFER"), // the 10,001st ID: the oldest chunk is forgotten
		ev("old-5", t0.Add(-time.Hour+5*time.Millisecond), "TRANSFER"),
		ev("old-500", t0.Add(-time.Hour+500*time.Millisecond), "TRANSFER"),
		ev("late-new", t0.Add(-30*time.Minute), "TRANSFER"),
		ev("new-2", t0.Add(time.Second), "BURN"),
	}
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	env.SetStartTime(t0)
	env.RegisterWorkflow(Entity)
	for i, e := range steps {
		env.RegisterDelayedCallback(func() { env.SignalWorkflow(SignalWebhookEvent, e) }, time.Duration(i+1)*time.Second)
	}
	env.ExecuteWorkflow(Entity, in)
	var st State
	if err := env.GetWorkflowResult(&st); err != nil {
		t.Fatal(err)
	}
	checkStrings(t, "outcomes", outcomes(st.Events), []string{
		"new-1 applied", "old-5 ignored-stale", "old-500 duplicate", "late-new applied", "new-2 applied",
	})
	if want := t0.Add(-time.Hour + 99*time.Millisecond); !st.ForgottenUpTo.Equal(want) {
		t.Errorf("watermark %s, want %s (the latest of the forgotten chunk)", st.ForgottenUpTo, want)
	}
}

// TestWorstCaseStaysBounded: the worst a run can be handed (a full event
// memory; events with the longest IDs, fields and attributes the workflow
// takes; a destination failing for good) continues as new with an input
// under 512 KiB, and leaves no memo.
func TestWorstCaseStaysBounded(t *testing.T) {
	const maxInput = 512 << 10
	rejected := temporal.NewNonRetryableApplicationError(strings.Repeat("E", 3<<20), activities.ErrDeliveryRejected, nil)
	h := newItemHarness(t, 0, func(int, int) error { return rejected })
	full := newMemory()
	full.chunked = true
	for i := 0; i < maxRemembered; i++ {
		full.addAt(int64(i), fmt.Sprintf("old-%d", i))
	}
	in := h.input()
	in.Targets = []Target{{ID: "a", Label: "a"}, {ID: "b", Label: "b"}}
	in.Carry = &Carry{State: State{Provider: "phosphor", EntityType: "item", EntityID: "i1", Status: "TRANSFER", Sequence: 1}, Seen: full.packed(), SeenTimes: full.times()}
	const n = 700
	in.MaxEventsPerRun = n
	attrs := map[string]string{}
	for i := 0; i < 40; i++ {
		attrs[fmt.Sprintf("%03d%s", i, strings.Repeat("k", 600))] = strings.Repeat("v", 600)
	}
	body := json.RawMessage(`"` + strings.Repeat("<", 16<<10) + `"`)
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("%06d%s", i, strings.Repeat("<", maxEventIDBytes-6))
		ev := event.Event{
			Provider: "phosphor", ID: id, Type: strings.Repeat("t", 4096), EntityType: "item", EntityID: "i1",
			Status: "TRANSFER", ProviderTime: strings.Repeat("p", 4096), RequestID: strings.Repeat("r", 4096),
			Attributes: attrs, Body: body,
		}
		h.env.RegisterDelayedCallback(func() { h.env.SignalWorkflow(SignalWebhookEvent, ev) }, time.Second+time.Duration(i)*time.Millisecond)
	}
	h.env.ExecuteWorkflow(Entity, in)
	var can *workflow.ContinueAsNewError
	if err := h.env.GetWorkflowError(); !errors.As(err, &can) {
		t.Fatalf("workflow error = %v, want ContinueAsNew", err)
	}
	size := 0
	for _, p := range can.Input.GetPayloads() {
		size += len(p.GetData())
	}
	t.Logf("continue-as-new input: %d bytes (bound %d)", size, maxInput)
	if size > maxInput {
		t.Errorf("continue-as-new input is %d bytes, over %d", size, maxInput)
	}
	next := decodeContinuation(t, can)
	if got := next.Carry.State.Processed; got != n {
		t.Errorf("processed %d, want %d", got, n)
	}

	snap, _ := json.Marshal(next.Carry.State)
	t.Logf("state %d bytes, %d deliveries, %d transitions", len(snap), len(next.Carry.State.Deliveries), len(next.Carry.State.Transitions))
}

// TestContinueAsNewTakesEveryEvent: a run due to continue as new while
// events wait for a slow destination goes on until it has taken them all:
// what it was handed is never left behind in its signal queue.
func TestContinueAsNewTakesEveryEvent(t *testing.T) {
	h := newItemHarness(t, 2*time.Second, func(int, int) error { return nil })
	h.burst(time.Second, 60, false)
	in := h.input()
	in.MaxHeld, in.MaxEventsPerRun = 5, 10
	h.env.ExecuteWorkflow(Entity, in)
	var can *workflow.ContinueAsNewError
	if err := h.env.GetWorkflowError(); !errors.As(err, &can) {
		t.Fatalf("workflow error = %v, want ContinueAsNew", err)
	}
	next := decodeContinuation(t, can)
	if st := next.Carry.State; st.Processed != 60 || st.Sequence != 60 {
		t.Errorf("continued with processed %d, sequence %d; want all 60 events taken first", st.Processed, st.Sequence)
	}
}
