package workflows

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/hookflow/hookflow/activities"
	"github.com/hookflow/hookflow/event"
	"github.com/hookflow/hookflow/telemetry/tracing"
)

// Target is a destination applied transitions are delivered to (contract
// sections 10, 11 and 14): an HTTP destination, named so its URL stays out
// of histories (the activity holds it), or the user's handler activity on
// their task queue. Runs started before destinations had names name a URL
// by its activities.TargetID.
type Target struct {
	ID       string `json:"id"`                 // the destination's name, "handler:<task queue>", or a URL's TargetID
	Label    string `json:"label"`              // what operators see: the destination's name, or the handler
	Name     string `json:"name,omitempty"`     // the destination's name (redeliver --destination, metrics)
	Queue    string `json:"queue,omitempty"`    // the task queue of its deliveries: the handler's, or a rated destination's; "" is the workflow's own
	Activity string `json:"activity,omitempty"` // handler: the activity name
	// Filter is what the destination takes, evaluated when a transition
	// is applied; the zero Filter takes everything.
	Filter event.Filter `json:"filter,omitzero"`
	// Horizon is how long its deliveries are retried; 0 is the input's.
	Horizon time.Duration `json:"horizon,omitempty"`
}

// name is the target's destination name, as metrics and redeliver know it.
func (t Target) name() string {
	if t.Name != "" {
		return t.Name
	}
	return t.Label
}

// Delivery statuses.
const (
	DeliveryPending   = "pending"   // queued or being retried
	DeliveryDelivered = "delivered" // acknowledged (2xx, or the handler returned)
	DeliveryFailed    = "failed"    // a 4xx or the horizon passed; the target's queue waits for redeliver
	DeliveryStopped   = "stopped"   // the target answered 410: nothing more goes there for this entity
	// DeliverySkipped: the target's queue was full behind a failed
	// delivery (revisions 0 to 2 only; revision 3 records such transitions
	// failed, see enqueue).
	DeliverySkipped = "skipped"
)

// Delivery is one transition on its way to one target.
type Delivery struct {
	Target     string    `json:"target"` // Target.ID
	Label      string    `json:"targetLabel"`
	Seq        int       `json:"seq"`
	Status     string    `json:"status"`
	Attempts   int       `json:"attempts,omitempty"`
	At         time.Time `json:"at,omitzero"` // when it was delivered, failed, stopped or skipped
	LastAnswer string    `json:"lastAnswer,omitempty"`
	// Unheld counts the transitions recorded failed without being held,
	// past the bound behind a failed delivery (revision 3): one record per
	// target stands for them all, Seq and Transition being the latest. On
	// redeliver it becomes the delivery of that transition, the entity's
	// state as the target last had to learn it, after the held ones.
	Unheld     int               `json:"unheld,omitempty"`
	Transition *event.Transition `json:"transition,omitempty"`
}

// RedeliverRequest is the payload of SignalRedeliver.
type RedeliverRequest struct {
	RequestID string
	// Destination, when set, redelivers only that destination's failed
	// deliveries (Target.Name).
	Destination string `json:",omitempty"`
}

// Bounds of what deliveries add to a run's state. Transitions waiting in a
// target's queue keep their place in State.Transitions. Revision 3: at most
// EntityInput.MaxHeld wait per target, and at most heldBytes of them in
// all; behind a failed delivery later ones are recorded failed (Unheld),
// and for a slow target the entity takes no new event until it catches up
// (holding). Revisions 0 to 2: behind a failed delivery at most maxQueued
// wait, later ones are skipped.
const (
	maxQueued     = 20
	deliveryBytes = 8 << 10   // finished delivery records kept
	bodyBytes     = 12 << 10  // original bodies held for pending deliveries
	heldBytes     = 192 << 10 // held transitions, by transitionSize
)

// deliveryRetry retries a delivery through outages of the target, up to the
// horizon; a 410 or another 4xx ends it.
var deliveryRetry = &temporal.RetryPolicy{
	InitialInterval:        time.Second,
	BackoffCoefficient:     2,
	MaximumInterval:        10 * time.Minute,
	NonRetryableErrorTypes: []string{activities.ErrDeliveryGone, activities.ErrDeliveryRejected},
}

// startDeliveries runs one delivery loop per target: in order per target,
// in parallel across targets and entities.
func (e *entity) startDeliveries(ctx workflow.Context) {
	for _, t := range e.in.Targets {
		workflow.Go(ctx, func(ctx workflow.Context) {
			for {
				var seq int
				if err := workflow.Await(ctx, func() bool {
					seq = e.nextDelivery(t.ID)
					return seq > 0
				}); err != nil {
					return // cancelled: the run closes, its deliveries stay pending
				}
				e.deliver(ctx, t, seq)
				if ctx.Err() != nil {
					return
				}
				if e.wake != nil {
					e.wake.SendAsync(true)
				}
			}
		})
	}
}

// nextDelivery is the seq of the target's next pending delivery, or 0 when
// there is none or a failed one holds the queue.
func (e *entity) nextDelivery(target string) int {
	for _, d := range e.state.Deliveries {
		switch {
		case d.Target != target:
		case d.Status == DeliveryFailed:
			return 0
		case d.Status == DeliveryPending:
			return d.Seq
		}
	}
	return 0
}

// delivery finds the record of seq for target.
func (e *entity) delivery(target string, seq int) *Delivery {
	for i := range e.state.Deliveries {
		if d := &e.state.Deliveries[i]; d.Target == target && d.Seq == seq {
			return d
		}
	}
	return nil
}

// deliver hands one transition to its target and records the outcome.
func (e *entity) deliver(ctx workflow.Context, t Target, seq int) {
	msg, ok := e.outbound(seq)
	if !ok {
		lost := DeliverySkipped
		if e.does.holdForSlow {
			lost = DeliveryFailed
		}
		e.finishDelivery(ctx, t, seq, lost, "the transition is no longer in the entity's history", 0)
		return
	}
	left := msg.At.Add(e.horizon(t)).Sub(workflow.Now(ctx))
	if left <= 0 {
		e.finishDelivery(ctx, t, seq, DeliveryFailed, "the delivery horizon passed", 0)
		return
	}
	actx := workflow.WithActivityOptions(tracing.WithEvent(ctx, e.traces[seq]), workflow.ActivityOptions{
		TaskQueue:              t.Queue, // a handler's or a rated destination's queue; "" is the workflow's own
		StartToCloseTimeout:    30 * time.Second,
		ScheduleToCloseTimeout: left,
		RetryPolicy:            deliveryRetry,
	})
	var err error
	var done activities.Delivered
	if t.Activity != "" {
		err = workflow.ExecuteActivity(actx, t.Activity, msg).Get(ctx, nil)
	} else {
		var a *activities.Activities
		err = workflow.ExecuteActivity(actx, a.Deliver, activities.DeliverInput{Target: t.ID, Message: msg}).Get(ctx, &done)
	}
	var app *temporal.ApplicationError
	var timeout *temporal.TimeoutError
	attempts := int(done.Attempts)
	if errors.As(err, &app) && app.HasDetails() {
		var n int32
		if app.Details(&n) == nil {
			attempts = int(n)
		}
	}
	switch {
	case err != nil && ctx.Err() != nil && temporal.IsCanceledError(err):
		// The run was cancelled: the delivery stays pending for the
		// entity's next run, under the same webhook-id.
		return
	case err == nil:
		e.finishDelivery(ctx, t, seq, DeliveryDelivered, "", attempts)
		workflow.GetMetricsHandler(ctx).WithTags(map[string]string{"destination": t.name()}).
			Timer(MetricDeliveryLatency).Record(workflow.Now(ctx).Sub(msg.At))
	case app != nil && app.Type() == activities.ErrDeliveryGone:
		e.finishDelivery(ctx, t, seq, DeliveryStopped, cause(err), attempts)
	case errors.As(err, &timeout):
		e.finishDelivery(ctx, t, seq, DeliveryFailed, "the delivery horizon passed: "+cause(err), attempts)
	default:
		e.finishDelivery(ctx, t, seq, DeliveryFailed, cause(err), attempts)
	}
}

// finishDelivery records a delivery's outcome, publishes DeliveryFailed and
// the snapshot, and counts it.
func (e *entity) finishDelivery(ctx workflow.Context, t Target, seq int, status, answer string, attempts int) {
	d := e.delivery(t.ID, seq)
	if d == nil {
		return
	}
	d.Status, d.LastAnswer, d.At, d.Attempts = status, clipTo(answer, maxTextBytes), workflow.Now(ctx), attempts
	if status == DeliveryDelivered {
		d.Transition = nil
	}
	if status == DeliveryStopped {
		// Nothing more goes to this target for this entity.
		for i := range e.state.Deliveries {
			if o := &e.state.Deliveries[i]; o.Target == t.ID && o.Status == DeliveryPending {
				o.Status, o.At, o.LastAnswer = DeliveryStopped, d.At, "delivery to this target stopped at seq "+strconv.Itoa(seq)
			}
		}
	}
	workflow.GetMetricsHandler(ctx).WithTags(map[string]string{"destination": t.name(), "outcome": status}).
		Counter(MetricDeliveries).Inc(1)
	e.trimDeliveries()
	if e.does.publishPerTask {
		return // the main loop publishes it (wake)
	}
	e.publishDeliveryFailed(ctx)
	e.details(ctx)
	// A delivery that went through is not worth a snapshot of its own: a
	// run ended before its next save would only send it again, under the
	// same webhook-id. One that failed or stopped changes what the next
	// run must do, so it is saved at once.
	if status != DeliveryDelivered {
		e.saveTransition(ctx)
	}
}

// enqueue queues the delivery of transition (or notice) seq to every
// target whose filter takes it, holding body, the provider's original, for
// them while it fits. A target that does not take it never sees it: it
// neither waits for it nor holds its queue.
func (e *entity) enqueue(ctx workflow.Context, seq int, body json.RawMessage) {
	if len(e.in.Targets) == 0 {
		return
	}
	msg, _ := e.outbound(seq)
	queued := false
	for _, t := range e.in.Targets {
		// A body filter decodes the body with encoding/json, deterministic
		// for the same bytes (a map is only looked up, never ranged over);
		// workflowcheck flags its reflection caches.
		//workflowcheck:ignore
		takes := t.Filter.Takes(msg, body)
		if e.delivery(t.ID, seq) != nil || !takes {
			continue // a reprocess of a state still on its way, or not this target's
		}
		d := Delivery{Target: t.ID, Label: t.Label, Seq: seq, Status: DeliveryPending}
		switch {
		case e.stopped(t.ID):
			d.Status, d.At, d.LastAnswer = DeliveryStopped, workflow.Now(ctx), "delivery to this target stopped earlier (410)"
		case e.does.holdForSlow && e.full(t.ID) && (e.failedHead(t.ID) || e.forced):
			e.notHeld(ctx, t, msg)
			continue
		case e.does.holdForSlow:
			queued = true
		case e.queued(t.ID) >= maxQueued:
			d.Status, d.At, d.LastAnswer = DeliverySkipped, workflow.Now(ctx), "queue full behind a failed delivery"
		default:
			queued = true
		}
		e.state.Deliveries = append(e.state.Deliveries, d)
	}
	if queued && len(body) > 0 && e.heldBodyBytes()+len(body) <= bodyBytes {
		e.bodies[seq] = body
	}
}

// redeliver sets every failed delivery pending again, only destination's
// when it is set, releasing the queues behind them. A record of transitions
// not held becomes the delivery of the latest of them, after the held
// ones: the target learns the entity's current state.
func (e *entity) redeliver(ctx workflow.Context, destination string) {
	for i := range e.state.Deliveries {
		if d := &e.state.Deliveries[i]; d.Status == DeliveryFailed && (destination == "" || e.targetName(d.Target) == destination) {
			d.Status, d.LastAnswer = DeliveryPending, clipTo("redelivered after: "+d.LastAnswer, maxTextBytes)
			if d.Unheld > 0 {
				d.LastAnswer = fmt.Sprintf("redelivered as the current state after %d transitions not held", d.Unheld)
			}
		}
	}
	e.publishDeliveryFailed(ctx)
	e.details(ctx)
}

// targetName is the destination name of the target with ID id.
func (e *entity) targetName(id string) string {
	for _, t := range e.in.Targets {
		if t.ID == id {
			return t.name()
		}
	}
	return ""
}

// deliveriesBusy reports whether a delivery is pending and not held behind
// a failed one: a run does not close on it.
func (e *entity) deliveriesBusy() bool {
	for _, t := range e.in.Targets {
		if e.nextDelivery(t.ID) > 0 {
			return true
		}
	}
	return false
}

func (e *entity) stopped(target string) bool {
	for _, d := range e.state.Deliveries {
		if d.Target == target && d.Status == DeliveryStopped {
			return true
		}
	}
	return false
}

// full reports whether target holds as many transitions as it may
// (revision 3): its share of EntityInput.MaxHeld and of heldBytes.
func (e *entity) full(target string) bool {
	n := max(1, len(e.in.Targets))
	return e.queued(target) >= max(1, e.maxHeld/n) || e.heldSize(target) >= heldBytes/n
}

// failedHead reports whether a failed delivery holds target's queue.
func (e *entity) failedHead(target string) bool {
	for _, d := range e.state.Deliveries {
		if d.Target == target && d.Status == DeliveryFailed {
			return true
		}
	}
	return false
}

// holding reports whether the entity takes no new event for now: a target
// that is slow, not failed, holds as many transitions as it may (revision
// 3). The events wait in the run's signal queue, recorded by Temporal, and
// are taken as deliveries finish.
func (e *entity) holding() bool {
	if !e.does.holdForSlow || e.forced {
		return false
	}
	for _, t := range e.in.Targets {
		if !e.stopped(t.ID) && !e.failedHead(t.ID) && e.full(t.ID) {
			return true
		}
	}
	return false
}

// notHeld records a transition target takes but cannot hold: on the
// target's one Unheld record, failed, so DeliveryFailed is set and
// redeliver brings the target to the current state.
func (e *entity) notHeld(ctx workflow.Context, t Target, msg event.Outbound) {
	now := workflow.Now(ctx)
	tr := &event.Transition{Seq: msg.Seq, From: msg.From, To: msg.To, EventID: msg.EventID, Source: msg.Source, At: msg.At, ProviderTime: msg.ProviderTime}
	why := "behind a failed delivery"
	if !e.failedHead(t.ID) {
		why = "while the run closed behind a slow destination"
	}
	// The target's last record, when it is the failed record of unheld
	// transitions, stands for this one too; otherwise a new record goes
	// last, so each target's records stay in seq order.
	var d *Delivery
	for i := range e.state.Deliveries {
		if o := &e.state.Deliveries[i]; o.Target == t.ID {
			d = o
		}
	}
	if d == nil || d.Unheld == 0 || d.Status != DeliveryFailed {
		e.state.Deliveries = append(e.state.Deliveries, Delivery{Target: t.ID, Label: t.Label, Status: DeliveryFailed})
		d = &e.state.Deliveries[len(e.state.Deliveries)-1]
	}
	d.Unheld++
	d.Seq, d.Transition, d.At = msg.Seq, tr, now
	d.LastAnswer = fmt.Sprintf("%d transition(s) not held %s (at most %d held); redeliver sends the current state", d.Unheld, why, e.maxHeld)
	workflow.GetMetricsHandler(ctx).WithTags(map[string]string{"destination": t.name(), "outcome": DeliveryFailed}).
		Counter(MetricDeliveries).Inc(1)
}

// heldSize approximates the JSON size of the transitions held for
// target's pending and failed deliveries.
func (e *entity) heldSize(target string) int {
	open := map[int]bool{} // looked up only, never iterated
	for _, d := range e.state.Deliveries {
		if d.Target == target && d.Transition == nil && (d.Status == DeliveryPending || d.Status == DeliveryFailed) {
			open[d.Seq] = true
		}
	}
	if len(open) == 0 {
		return 0
	}
	n := 0
	for _, t := range e.state.Transitions {
		if open[t.Seq] {
			n += transitionSize(t)
		}
	}
	return n
}

// queued counts the target's pending and failed deliveries.
func (e *entity) queued(target string) int {
	n := 0
	for _, d := range e.state.Deliveries {
		if d.Target == target && (d.Status == DeliveryPending || d.Status == DeliveryFailed) {
			n++
		}
	}
	return n
}

// failedDeliveries counts failed deliveries.
func (e *entity) failedDeliveries() int {
	n := 0
	for _, d := range e.state.Deliveries {
		if d.Status == DeliveryFailed {
			n++
		}
	}
	return n
}

// publishDeliveryFailed keeps the DeliveryFailed search attribute current.
func (e *entity) publishDeliveryFailed(ctx workflow.Context) {
	failed := e.failedDeliveries() > 0
	if failed == e.deliveryFailed {
		return
	}
	if err := workflow.UpsertTypedSearchAttributes(ctx, DeliveryFailedKey.ValueSet(failed)); err != nil {
		workflow.GetLogger(ctx).Error("upsert search attributes", "error", err)
	}
	e.deliveryFailed = failed
}

// heldBodyBytes is the size of the bodies held for pending deliveries.
func (e *entity) heldBodyBytes() int {
	n := 0
	for _, d := range e.state.Deliveries {
		if d.Status == DeliveryPending || d.Status == DeliveryFailed {
			n += len(e.bodies[d.Seq])
		}
	}
	return n
}

// trimDeliveries keeps every unfinished delivery and the latest finished
// ones within deliveryBytes, and drops the bodies no delivery needs.
func (e *entity) trimDeliveries() {
	var open, done []Delivery
	for _, d := range e.state.Deliveries {
		if d.Status == DeliveryPending || d.Status == DeliveryFailed {
			open = append(open, d)
		} else {
			done = append(done, d)
		}
	}
	if len(done) > 0 {
		done = keepLast(done, deliveryBytes)
	}
	needed := map[int]bool{}
	for _, d := range open {
		needed[d.Seq] = true
	}
	for _, d := range e.state.Deliveries {
		if !needed[d.Seq] {
			delete(e.bodies, d.Seq)
			delete(e.traces, d.Seq)
		}
	}
	// Finished first, then the open ones in their order: each target's
	// queue keeps its order.
	e.state.Deliveries = append(done, open...)
}

// oldestOpenSeq is the lowest seq a delivery still needs, 0 when none.
func (e *entity) oldestOpenSeq() int {
	low := 0
	for _, d := range e.state.Deliveries {
		if d.Transition != nil {
			continue // carries its own transition
		}
		if (d.Status == DeliveryPending || d.Status == DeliveryFailed) && (low == 0 || d.Seq < low) {
			low = d.Seq
		}
	}
	return low
}

// outbound is the event delivered for transition (or notice) seq.
func (e *entity) outbound(seq int) (event.Outbound, bool) {
	o := event.Outbound{
		Provider: e.state.Provider, EntityType: e.state.EntityType, EntityID: e.state.EntityID,
		WorkflowID: event.TenantWorkflowID(e.tenant, e.state.Provider, e.state.EntityType, e.state.EntityID),
		Tenant:     e.tenant, Seq: seq,
	}
	if n, ok := e.notice(seq); ok {
		o.Type, o.From, o.To, o.At, o.OverdueSince = n.Type, n.Status, n.Status, n.At, n.Since
		o.EventID, o.Source = "overdue:"+n.Status, "overdue"
		return o, true
	}
	for _, t := range e.state.Transitions {
		if t.Seq != seq {
			continue
		}
		o.Type, o.From, o.To, o.EventID, o.Source, o.ProviderTime, o.At = event.OutboundType, t.From, t.To, t.EventID, t.Source, t.ProviderTime, t.At
		// Transitions caused by a webhook had a body; one no longer held
		// was too large to keep until delivery.
		o.Body = e.bodies[seq]
		o.BodyOmitted = len(o.Body) == 0 && t.Source != "reprocess" && t.Source != "reconcile"
		return o, true
	}
	for _, d := range e.state.Deliveries {
		if t := d.Transition; t != nil && t.Seq == seq {
			// A transition not held: its record carries it, without body.
			o.Type, o.From, o.To, o.EventID, o.Source, o.ProviderTime, o.At = event.OutboundType, t.From, t.To, t.EventID, t.Source, t.ProviderTime, t.At
			o.BodyOmitted = t.Source != "reprocess" && t.Source != "reconcile"
			return o, true
		}
	}
	return event.Outbound{}, false
}

// horizon is how long a delivery to t is retried.
func (e *entity) horizon(t Target) time.Duration {
	if t.Horizon > 0 {
		return t.Horizon
	}
	if e.in.Horizon > 0 {
		return e.in.Horizon
	}
	return DefaultHorizon
}

// resendCurrent queues the current state's transition again for every
// target that had it delivered (a reprocess re-sends the current state,
// under the same webhook-id), and releases failed deliveries.
func (e *entity) resendCurrent(ctx workflow.Context) {
	if len(e.in.Targets) == 0 || e.state.Sequence == 0 {
		return
	}
	e.redeliver(ctx, "")
	for i := range e.state.Deliveries {
		if d := &e.state.Deliveries[i]; d.Seq == e.state.Sequence && d.Status == DeliveryDelivered {
			d.Status, d.LastAnswer = DeliveryPending, "re-sent by reprocess"
		}
	}
}

// keepTransitions bounds the kept transitions like keepLast, but never
// drops one a delivery still needs. Revision 3 keeps just those besides the
// latest; earlier revisions kept every one from the oldest needed on.
func (e *entity) keepTransitions(ts []event.Transition) []event.Transition {
	kept := keepLast(ts, transitionBytes)
	low := e.oldestOpenSeq()
	if low == 0 || len(kept) == 0 || kept[0].Seq <= low {
		return kept
	}
	if !e.does.holdForSlow {
		for i, t := range ts {
			if t.Seq >= low {
				return append([]event.Transition(nil), ts[i:]...)
			}
		}
		return kept
	}
	open := map[int]bool{} // looked up only, never iterated
	for _, d := range e.state.Deliveries {
		if d.Transition == nil && (d.Status == DeliveryPending || d.Status == DeliveryFailed) {
			open[d.Seq] = true
		}
	}
	out := make([]event.Transition, 0, len(kept)+len(open))
	for _, t := range ts[:len(ts)-len(kept)] {
		if open[t.Seq] {
			out = append(out, t)
		}
	}
	return append(out, kept...)
}
