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
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/hookflow/hookflow/activities"
	"github.com/hookflow/hookflow/event"
)

// deliveryHarness runs a Fenix shipment whose transitions go to targets
// "a" and "b"; answer decides each Deliver call's result.
type deliveryHarness struct {
	t   *testing.T
	env *testsuite.TestWorkflowEnvironment

	mu     sync.Mutex
	calls  []string // "<target>:<seq>@<offset>", in call order
	bodies []string // the bodies delivered, in call order
	answer func(target string, seq, call int) error
	sa     []bool   // DeliveryFailed values upserted
	od     []bool   // Overdue values upserted
	types  []string // the messages' types, in call order
}

var targetsAB = []Target{{ID: "a", Label: "https://a.example"}, {ID: "b", Label: "https://b.example"}}

// newDeliveryHarness's slow lists the deliveries ("<target>:<seq>") whose
// first call takes 30 s of workflow time.
func newDeliveryHarness(t *testing.T, answer func(target string, seq, call int) error, slow ...string) *deliveryHarness {
	h := &deliveryHarness{t: t, answer: answer}
	var suite testsuite.WorkflowTestSuite
	h.env = suite.NewTestWorkflowEnvironment()
	h.env.SetStartTime(t0)
	h.env.RegisterWorkflow(Entity)
	h.env.RegisterActivity(&activities.Activities{})
	for _, key := range slow {
		h.env.OnActivity("Deliver", mock.Anything, mock.MatchedBy(func(in activities.DeliverInput) bool {
			return fmt.Sprintf("%s:%d", in.Target, in.Message.Seq) == key
		})).After(30 * time.Second).Return(h.deliver).Once()
	}
	h.env.OnActivity("Deliver", mock.Anything, mock.Anything).Return(h.deliver)
	h.env.OnUpsertTypedSearchAttributes(mock.Anything).Run(func(args mock.Arguments) {
		sas, _ := args.Get(0).(temporal.SearchAttributes)
		h.mu.Lock()
		defer h.mu.Unlock()
		if v, ok := sas.GetBool(DeliveryFailedKey); ok {
			h.sa = append(h.sa, v)
		}
		if v, ok := sas.GetBool(OverdueKey); ok {
			h.od = append(h.od, v)
		}
	}).Return(nil)
	return h
}

// deliver is the Deliver activity's stand-in: it records the call and
// answers from h.answer.
func (h *deliveryHarness) deliver(_ context.Context, in activities.DeliverInput) (activities.Delivered, error) {
	h.mu.Lock()
	n := 0
	for _, c := range h.calls {
		if strings.HasPrefix(c, in.Target+":") {
			n++
		}
	}
	h.calls = append(h.calls, fmt.Sprintf("%s:%d@%s", in.Target, in.Message.Seq, h.env.Now().Sub(t0)))
	h.bodies = append(h.bodies, string(in.Message.Body))
	h.types = append(h.types, in.Message.Type)
	h.mu.Unlock()
	if in.Message.WorkflowID != "fenix-shipment:s1" || (in.Message.Type != event.OutboundType && in.Message.Type != event.OverdueType) {
		h.t.Errorf("message = %+v", in.Message)
	}
	return activities.Delivered{Attempts: 1}, h.answer(in.Target, in.Message.Seq, n)
}

func (h *deliveryHarness) event(at time.Duration, id, status string) {
	ev := event.Event{Provider: "fenix", ID: id, EntityType: "shipment", EntityID: "s1", Status: status, Body: []byte(`{"id":"` + id + `"}`)}
	h.env.RegisterDelayedCallback(func() { h.env.SignalWorkflow(SignalWebhookEvent, ev) }, at)
}

func (h *deliveryHarness) input() EntityInput {
	return EntityInput{Provider: "fenix", EntityType: "shipment", EntityID: "s1", Revision: Revision, Linger: time.Minute, Targets: targetsAB, Horizon: time.Hour}
}

func (h *deliveryHarness) run(in EntityInput) State {
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

// deliveries summarizes records as "<target>:<seq> <status>".
func deliveries(ds []Delivery) []string {
	var out []string
	for _, d := range ds {
		out = append(out, fmt.Sprintf("%s:%d %s", d.Target, d.Seq, d.Status))
	}
	slices.Sort(out)
	return out
}

// callsTo lists the calls to one target, in order.
func (h *deliveryHarness) callsTo(target string) []string {
	var out []string
	for _, c := range h.calls {
		if strings.HasPrefix(c, target+":") {
			out = append(out, c)
		}
	}
	return out
}

// TestDeliveriesInOrderPerTarget: a slow delivery holds its target's next
// one back, not the other target's.
func TestDeliveriesInOrderPerTarget(t *testing.T) {
	// The first delivery to "a" takes 30 s; everything else is instant.
	h := newDeliveryHarness(t, func(string, int, int) error { return nil }, "a:1")
	h.event(time.Second, "f1", "LABEL_CREATED")
	h.event(2*time.Second, "f2", "IN_TRANSIT")
	h.event(3*time.Second, "f3", "DELIVERED")
	st := h.run(h.input())

	checkStrings(t, "deliveries", deliveries(st.Deliveries), []string{
		"a:1 delivered", "a:2 delivered", "a:3 delivered", "b:1 delivered", "b:2 delivered", "b:3 delivered",
	})
	checkStrings(t, "calls to b", h.callsTo("b"), []string{"b:1@1s", "b:2@2s", "b:3@3s"})
	// "a" got 2 and 3 only once 1 was acknowledged, 31 s in (the slow
	// call is recorded when it answers).
	checkStrings(t, "calls to a", h.callsTo("a"), []string{"a:1@31s", "a:2@31s", "a:3@31s"})
}

// TestDeliveryGoneStopsTheTarget: a 410 stops delivery to that target for
// the entity, and only there.
func TestDeliveryGoneStopsTheTarget(t *testing.T) {
	gone := temporal.NewNonRetryableApplicationError("https://a.example answered 410 Gone", activities.ErrDeliveryGone, nil)
	h := newDeliveryHarness(t, func(target string, seq, _ int) error {
		if target == "a" && seq == 2 {
			return gone
		}
		return nil
	})
	h.event(time.Second, "f1", "LABEL_CREATED")
	h.event(2*time.Second, "f2", "IN_TRANSIT")
	h.event(3*time.Second, "f3", "DELIVERED")
	st := h.run(h.input())

	checkStrings(t, "deliveries", deliveries(st.Deliveries), []string{
		"a:1 delivered", "a:2 stopped", "a:3 stopped", "b:1 delivered", "b:2 delivered", "b:3 delivered",
	})
	if got := h.callsTo("a"); len(got) != 2 {
		t.Errorf("calls to a = %q, want none after the 410", got)
	}
	if len(h.sa) != 0 {
		t.Errorf("DeliveryFailed upserts %v, want none for a 410", h.sa)
	}
}

// TestDeliveryFailedThenRedeliver: a 4xx fails the delivery, sets
// DeliveryFailed and holds the target's later transitions, in order, until
// redeliver; then all go, in order.
func TestDeliveryFailedThenRedeliver(t *testing.T) {
	rejected := temporal.NewNonRetryableApplicationError("https://a.example answered 400 Bad Request", activities.ErrDeliveryRejected, nil)
	h := newDeliveryHarness(t, func(target string, seq, call int) error {
		if target == "a" && seq == 1 && call == 0 {
			return rejected
		}
		return nil
	})
	h.event(time.Second, "f1", "LABEL_CREATED")
	h.event(2*time.Second, "f2", "IN_TRANSIT")
	during := h.queryAtTime(10 * time.Second)
	h.env.RegisterDelayedCallback(func() { h.env.SignalWorkflow(SignalRedeliver, RedeliverRequest{RequestID: "r1"}) }, 20*time.Second)
	h.event(25*time.Second, "f3", "DELIVERED")
	st := h.run(h.input())

	checkStrings(t, "deliveries while failed", deliveries(during.Deliveries), []string{
		"a:1 failed", "a:2 pending", "b:1 delivered", "b:2 delivered",
	})
	checkStrings(t, "calls to a", h.callsTo("a"), []string{"a:1@1s", "a:1@20s", "a:2@20s", "a:3@25s"})
	checkStrings(t, "deliveries", deliveries(st.Deliveries), []string{
		"a:1 delivered", "a:2 delivered", "a:3 delivered", "b:1 delivered", "b:2 delivered", "b:3 delivered",
	})
	if !slices.Equal(h.sa, []bool{true, false}) {
		t.Errorf("DeliveryFailed upserts = %v, want [true false]", h.sa)
	}
}

func (h *deliveryHarness) queryAtTime(at time.Duration) *State { return queryStateAt(h.t, h.env, at) }

// TestDeliveriesCarriedOverContinueAsNew: deliveries still pending (here
// held behind a failed one) when the run continues as new go on in the
// next run, with their bodies.
func TestDeliveriesCarriedOverContinueAsNew(t *testing.T) {
	rejected := temporal.NewNonRetryableApplicationError("https://a.example answered 400 Bad Request", activities.ErrDeliveryRejected, nil)
	first := newDeliveryHarness(t, func(target string, _, _ int) error {
		if target == "a" {
			return rejected
		}
		return nil
	})
	first.event(time.Second, "f1", "LABEL_CREATED")
	first.event(2*time.Second, "f2", "IN_TRANSIT")
	in := first.input()
	in.MaxEventsPerRun = 2
	first.env.ExecuteWorkflow(Entity, in)
	var can *workflow.ContinueAsNewError
	if err := first.env.GetWorkflowError(); !errors.As(err, &can) {
		t.Fatalf("workflow error = %v, want ContinueAsNew", err)
	}
	next := decodeContinuation(t, can)
	checkStrings(t, "carried deliveries", deliveries(next.Carry.State.Deliveries), []string{
		"a:1 failed", "a:2 pending", "b:1 delivered", "b:2 pending",
	})
	if string(next.Carry.Bodies[2]) != `{"id":"f2"}` {
		t.Errorf("carried bodies = %v, want f2's body for seq 2", next.Carry.Bodies)
	}

	second := newDeliveryHarness(t, func(string, int, int) error { return nil })
	next.MaxEventsPerRun = 0
	second.env.RegisterDelayedCallback(func() { second.env.SignalWorkflow(SignalRedeliver, RedeliverRequest{}) }, time.Second)
	second.event(2*time.Second, "f3", "DELIVERED")
	st := second.run(next)
	checkStrings(t, "calls to a in the next run", second.callsTo("a"), []string{"a:1@1s", "a:2@1s", "a:3@2s"})
	checkStrings(t, "deliveries", deliveries(st.Deliveries), []string{
		"a:1 delivered", "a:2 delivered", "a:3 delivered", "b:1 delivered", "b:2 delivered", "b:3 delivered",
	})
	if !slices.Contains(second.bodies, `{"id":"f2"}`) {
		t.Errorf("bodies delivered = %q, want f2's carried body", second.bodies)
	}
}

// TestRunWaitsForDeliveries: a run whose linger is over does not close
// while a delivery is still being retried.
func TestRunWaitsForDeliveries(t *testing.T) {
	h := newDeliveryHarness(t, func(target string, _, call int) error {
		// Retried for 1+2+4+…+128 s: past the one-minute linger.
		if target == "a" && call < 8 {
			return errors.New("https://a.example answered 503 Service Unavailable")
		}
		return nil
	})
	h.event(time.Second, "f1", "DELIVERED")
	in := h.input()
	in.Targets = targetsAB[:1]
	st := h.run(in)
	checkStrings(t, "deliveries", deliveries(st.Deliveries), []string{"a:1 delivered"})
	if got := len(h.callsTo("a")); got != 9 {
		t.Errorf("%d calls, want 8 retried failures and a success", got)
	}
}

func decodeContinuation(t *testing.T, can *workflow.ContinueAsNewError) EntityInput {
	t.Helper()
	var next EntityInput
	if err := converter.GetDefaultDataConverter().FromPayloads(can.Input, &next); err != nil {
		t.Fatal(err)
	}
	return next
}

// TestReopenedRunKeepsFailedDeliveries: a closed run's failed delivery and
// the transitions queued behind it come back with the reopened run, which
// publishes DeliveryFailed again and sends them on redeliver.
func TestReopenedRunKeepsFailedDeliveries(t *testing.T) {
	h := newDeliveryHarness(t, func(string, int, int) error { return nil })
	prev := Snapshot{
		Status: "IN_TRANSIT", Sequence: 2, Processed: 2, Seen: packed("f1", "f2"),
		Transitions: []event.Transition{
			{Seq: 1, To: "LABEL_CREATED", EventID: "f1", Source: "webhook", At: t0.Add(-time.Minute)},
			{Seq: 2, From: "LABEL_CREATED", To: "IN_TRANSIT", EventID: "f2", Source: "webhook", At: t0.Add(-time.Minute)},
		},
		Deliveries: []Delivery{
			{Target: "a", Seq: 1, Status: DeliveryFailed, LastAnswer: "400"},
			{Target: "a", Seq: 2, Status: DeliveryPending},
		},
		Bodies: map[int]json.RawMessage{2: json.RawMessage(`{"id":"f2"}`)},
	}
	memo, _ := json.Marshal(prev)
	h.env.OnActivity("DescribeRun", mock.Anything, mock.Anything).Return(activities.Run{Memo: memo}, nil)
	h.env.RegisterDelayedCallback(func() { h.env.SignalWorkflow(SignalRedeliver, RedeliverRequest{}) }, time.Second)
	h.event(2*time.Second, "f3", "DELIVERED")
	in := h.input()
	in.Targets, in.PreviousRunID = targetsAB[:1], "run-1"
	st := h.run(in)

	checkStrings(t, "calls to a", h.callsTo("a"), []string{"a:1@1s", "a:2@1s", "a:3@2s"})
	checkStrings(t, "deliveries", deliveries(st.Deliveries), []string{"a:1 delivered", "a:2 delivered", "a:3 delivered"})
	if !slices.Equal(h.sa, []bool{true, false}) {
		t.Errorf("DeliveryFailed upserts = %v, want [true false]", h.sa)
	}
	if !slices.Contains(h.bodies, `{"id":"f2"}`) {
		t.Errorf("bodies = %q, want the closed run's held body", h.bodies)
	}
}
