package workflows

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/hookflow/hookflow/activities"
	"github.com/hookflow/hookflow/event"
	"github.com/hookflow/hookflow/event/lifecycle"
	"github.com/hookflow/hookflow/telemetry/tracing"
)

// Change IDs of workflow.GetVersion, one per behaviour change that running
// workflows must replay around. They guard runs of Revision 0 only.
const (
	// changeStaleByProviderTime: late deliveries judged by provider time.
	changeStaleByProviderTime = "stale-by-provider-time"
	// changeIdleClose: a non-terminal entity closes after IdleTimeout.
	changeIdleClose = "idle-close"
)

// Revision is the behaviour revision new runs are started with (and runs
// continue as new with). A run's revision is in its input, so it is in its
// history: a run replays with the behaviour it was started with, and a
// change costs no version marker (nor search-attribute upsert) per new
// entity. Revision 0 runs, from before revisions, replay with GetVersion.
//
// Revision 1: the previous run is read by name (DescribeRun), never through
// visibility; the snapshot is upserted at every applied transition; the
// Phoenix read is a local activity, and a 404 is retried for NotFoundWindow
// before the webhook's status applies; an event ID is remembered only once
// its handling has finished; one linger timer per terminal status; search
// attributes are upserted only when they change; stale-by-provider-time and
// idle closing always apply.
//
// Revision 2: an entity whose provider has an API is reconciled on
// EntityInput.Reconcile (reconcile.go), and one past its status's deadline
// in EntityInput.Overdue is flagged (overdue.go).
//
// Revision 3: a run keeps every promise whatever load and operators do
// (issue 25). No memo: the next run of an entity asks the closed run for
// its state (QuerySnapshot); search attributes are upserted at most once
// per workflow task; the run continues as new on the history's size and
// length too; a slow destination holds up to EntityInput.MaxHeld
// transitions, and past that the entity takes no new event until it
// catches up (the events wait, durably, in the run's signal queue); past
// the bound behind a failed delivery, transitions are recorded failed and
// redeliver sends the entity's current state after what is held; the
// event-ID memory forgets in chunks and keeps a provider-time watermark,
// below which an unremembered event is stale.
const Revision = 3

// Defaults of EntityInput's zero values.
const (
	DefaultLinger          = time.Hour
	DefaultMaxEventsPerRun = 1000
	DefaultNotFoundWindow  = 2 * time.Minute
	DefaultHorizon         = 72 * time.Hour
	DefaultMaxHeld         = 500
)

// When a revision 3 run continues as new besides the server's suggestion
// and EntityInput.MaxEventsPerRun: its history past canHistoryEvents events
// or canHistoryBytes bytes, well inside Temporal's 51,200 events and 50 MB.
// A run whose events wait for a slow destination carries none of them
// over, so it continues only once they are taken, or, past the hard
// bounds, takes them anyway and records the transitions it cannot hold as
// failed deliveries.
const (
	canHistoryEvents  = 10_000
	canHistoryBytes   = 8 << 20
	hardHistoryEvents = 40_000
	hardHistoryBytes  = 32 << 20
)

// EntityInput starts, or continues as new, an entity workflow.
type EntityInput struct {
	Provider   string
	EntityType string
	EntityID   string
	// Revision is the behaviour the run follows; see Revision.
	Revision int `json:",omitempty"`
	// PreviousRunID names the closed run of this entity whose state the
	// run continues from; empty for a brand-new entity (nothing to load).
	PreviousRunID string `json:",omitempty"`
	// Linger is how long the workflow stays open after a terminal status,
	// so late deliveries are still deduplicated; 0 means DefaultLinger.
	Linger time.Duration
	// IdleTimeout closes a workflow whose entity has had no event or
	// reprocess for that long without reaching a terminal status (an NFT
	// that is never burnt, an order nobody completes), leaving its snapshot
	// for the next run like any close; 0 keeps it open for ever.
	IdleTimeout time.Duration `json:",omitempty"`
	// NotFoundWindow is how long a provider API's 404 for the entity is
	// read as the API not having caught up yet, and retried, before the
	// webhook's own status applies; 0 means DefaultNotFoundWindow.
	NotFoundWindow time.Duration `json:",omitempty"`
	// Targets are where applied transitions are delivered, in order per
	// target; none when delivery is not configured.
	Targets []Target `json:",omitempty"`
	// Horizon is how long a delivery is retried before it is recorded as
	// failed; 0 means DefaultHorizon.
	Horizon time.Duration `json:",omitempty"`
	// MaxEventsPerRun bounds the signals one run handles before it continues
	// as new, besides the server's suggestion; 0 means DefaultMaxEventsPerRun.
	MaxEventsPerRun int
	// MaxHeld bounds the deliveries held for the entity's destinations,
	// each holding its share (revision 3); 0 means DefaultMaxHeld.
	MaxHeld int `json:",omitempty"`
	// Reconcile is when an open, non-terminal entity whose provider has an
	// API is re-read, after its last event or check, the last step
	// repeating (revision 2); empty: never. ReconcileQueue is the task
	// queue of those reads, rate-limited per provider.
	Reconcile      []time.Duration `json:",omitempty"`
	ReconcileQueue string          `json:",omitempty"`
	// Overdue are the deadlines by status past which an entity still in
	// it is flagged overdue (revision 2); none: never.
	Overdue map[string]time.Duration `json:",omitempty"`
	// Table is the entity's state table, the provider's when the entity's
	// run started; nil in inputs from before tables travelled in the input
	// (see tableOf). ContinueAsNew carries it on.
	Table *lifecycle.Table `json:",omitempty"`
	// Carry is the previous run's state, set only by ContinueAsNew.
	Carry *Carry `json:",omitempty"`
}

// Carry is what a run hands to its continuation.
type Carry struct {
	State State
	// Seen is the event-ID memory (fixed-size hashes, oldest first), and
	// SeenTimes its chunk times (revision 3).
	Seen      []byte  `json:",omitempty"`
	SeenTimes []int64 `json:",omitempty"`
	// EventIDs is the memory as revision 0 runs carried it, newest last.
	EventIDs []string `json:",omitempty"`
	// Bodies are the original bodies held for pending deliveries, by seq.
	Bodies       map[int]json.RawMessage `json:",omitempty"`
	TerminalAt   time.Time               // when the terminal status was reached, so lingering goes on
	LastActivity time.Time               `json:",omitzero"` // the last event or reprocess, so the idle clock goes on
	// CheckFrom and CheckStep are where the reconcile schedule stands.
	CheckFrom time.Time `json:",omitzero"`
	CheckStep int       `json:",omitempty"`
}

// ReprocessRequest is the payload of SignalReprocess.
type ReprocessRequest struct {
	RequestID string // names the request in the recorded transition
	Reason    string
}

// State is the entity's state, returned by QueryState and by the workflow.
type State struct {
	Provider    string             `json:"provider"`
	EntityType  string             `json:"entityType"`
	EntityID    string             `json:"entityId"`
	Status      string             `json:"status"`
	ResumeFrom  string             `json:"resumeFrom,omitempty"` // the status an Anytime status (EXCEPTION) interrupted
	Terminal    bool               `json:"terminal"`
	Sequence    int                `json:"sequence"`    // transitions applied in the entity's life
	Transitions []event.Transition `json:"transitions"` // the latest, oldest first
	Processed   int                `json:"processed"`   // distinct events processed
	Duplicates  int                `json:"duplicates"`  // redeliveries ignored by the event memory
	Events      []event.Received   `json:"events"`      // the latest, oldest first
	LastError   string             `json:"lastError,omitempty"`
	// LastReconciledAt is the last check that read the provider API.
	LastReconciledAt time.Time `json:"lastReconciledAt,omitzero"`
	// Overdue is set while the entity is past its status's deadline,
	// OverdueSince being that deadline; Notices are the entity.overdue
	// events kept for delivery.
	Overdue      bool      `json:"overdue,omitempty"`
	OverdueSince time.Time `json:"overdueSince,omitzero"`
	Notices      []Notice  `json:"notices,omitempty"`
	// Deliveries are the transitions' deliveries to the configured targets:
	// every unfinished one, and the latest finished.
	Deliveries []Delivery `json:"deliveries,omitempty"`
	// Waiting is set while events wait for a slow destination to take
	// the transitions held for it (revision 3).
	Waiting bool `json:"waiting,omitempty"`
	// ForgottenUpTo is the event-ID memory's watermark: an event the
	// memory no longer holds, stamped by the provider at or before it, is
	// a redelivery and judged stale (revision 3).
	ForgottenUpTo time.Time `json:"forgottenUpTo,omitzero"`
	// Rejected counts the signals dropped as malformed, the latest of
	// them in Rejections.
	Rejected   int         `json:"rejected,omitempty"`
	Rejections []Rejection `json:"rejections,omitempty"`
}

// Entity is the workflow of one provider entity. It applies each
// SignalWebhookEvent once, in arrival order, through the entity's state table;
// answers QueryState; re-queries on SignalReprocess; continues as new to keep
// its history small; and completes a Linger after a terminal status, or an
// IdleTimeout after its last event.
func Entity(ctx workflow.Context, in EntityInput) (State, error) {
	if _, ok := tableOf(in); !ok {
		// Nothing could ever complete it: fail at once rather than linger.
		return State{}, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("no state table for %s %s", in.Provider, in.EntityType), "UnknownEntityKind", nil)
	}
	e := newEntity(in)
	if e.rev >= 3 {
		e.wake = workflow.NewBufferedChannel(ctx, 1)
	}
	if err := workflow.SetQueryHandler(ctx, QueryState, func() (State, error) { return e.state, nil }); err != nil {
		return e.state, fmt.Errorf("register query: %w", err)
	}
	if err := workflow.SetQueryHandler(ctx, QuerySnapshot, func() (Snapshot, error) { return e.snapshot(ctx), nil }); err != nil {
		return e.state, fmt.Errorf("register query: %w", err)
	}
	e.events = workflow.GetSignalChannel(ctx, SignalWebhookEvent)
	e.reprocess = workflow.GetSignalChannel(ctx, SignalReprocess)
	e.redelivers = workflow.GetSignalChannel(ctx, SignalRedeliver)
	e.begin(ctx)
	e.startDeliveries(ctx)
	clock := closeClock{idleCloses: e.idle > 0 && (e.rev >= 1 || workflow.GetVersion(ctx, changeIdleClose, workflow.DefaultVersion, 1) >= 1)}
	var checks reconcileClock
	var overdue alarm
	for handled := 0; ; {
		if e.quiet() {
			e.flush(ctx)
		}
		if err := e.breathe(ctx); err != nil {
			return e.cancelled(ctx)
		}
		sel := workflow.NewSelector(ctx)
		if !e.holding() {
			sel.AddReceive(e.events, func(c workflow.ReceiveChannel, _ bool) {
				e.taken++
				if ev, ok := e.receiveEvent(ctx, c); ok {
					e.onEvent(ctx, ev)
				}
			})
		}
		sel.AddReceive(e.reprocess, func(c workflow.ReceiveChannel, _ bool) {
			if r, ok := e.receiveReprocess(ctx, c); ok {
				e.onReprocess(ctx, r)
			}
		})
		sel.AddReceive(e.redelivers, func(c workflow.ReceiveChannel, _ bool) {
			if r, ok := e.receiveRedeliver(ctx, c); ok {
				e.lastActivity = workflow.Now(ctx)
				e.redeliver(ctx, r.Destination)
			}
		})
		woke := false
		if e.wake != nil {
			sel.AddReceive(e.wake, func(c workflow.ReceiveChannel, _ bool) { woke = c.ReceiveAsync(nil) })
		}
		cancelled := false
		sel.AddReceive(ctx.Done(), func(workflow.ReceiveChannel, bool) { cancelled = true })
		e.addReconcile(ctx, sel, &checks)
		e.addOverdue(ctx, sel, &overdue)
		fired := e.addCloseTimer(ctx, sel, &clock)
		sel.Select(ctx)
		clock.afterSelect()
		if !woke {
			handled++ // a turn that handled a signal or a timer
		}
		if cancelled || ctx.Err() != nil {
			return e.cancelled(ctx)
		}

		if *fired {
			// Signals that came with the timer are handled first; they may
			// have moved the close.
			e.drain(ctx)
			if !e.closeDue(ctx, clock) {
				continue
			}
			if !e.deliveriesBusy() {
				break
			}
			// Not before every delivery that can go has gone: wait for
			// them, or for a signal to handle first.
			if err := workflow.Await(ctx, func() bool {
				return !e.deliveriesBusy() || e.pendingSignals() > 0
			}); err != nil {
				return e.cancelled(ctx)
			}
			continue
		}
		if e.continueDue(ctx, handled) {
			e.drain(ctx)
			if e.events.Len() > 0 && !e.forced {
				// Taking them filled a slow destination's share: the run
				// goes on until it has taken every event it was handed
				// (a continuation would leave them behind).
				continue
			}
			e.flush(ctx)
			return e.state, e.continueAsNew(ctx, in)
		}
	}
	e.flush(ctx)
	if e.rev >= 3 {
		return e.state, nil
	}
	return e.state, e.save(ctx)
}

// maxEventsPerTask bounds the events one workflow task takes from a burst
// (revision 3): the SDK fails a task whose code runs a second without
// blocking (its deadlock detector), and a completion must stay far below
// gRPC's 4 MiB, so after that many the run lets the task complete and
// takes the rest in the next.
const maxEventsPerTask = 200

// breathe ends the workflow task once it has taken maxEventsPerTask events
// in a row with more waiting, with a timer of a millisecond; the events
// stay in the run's signal queue. It returns the timer's error when the
// run is cancelled.
func (e *entity) breathe(ctx workflow.Context) error {
	if e.rev < 3 {
		return nil
	}
	if e.events.Len() == 0 {
		e.taken = 0 // the next wait blocks, and the task can complete
		return nil
	}
	if e.taken < maxEventsPerTask {
		return nil
	}
	e.taken = 0
	e.flush(ctx)
	return workflow.Sleep(ctx, time.Millisecond)
}

// quiet reports whether the run has handled every signal it can take now,
// so what it publishes goes out once for them all.
func (e *entity) quiet() bool {
	return (e.holding() || e.events.Len() == 0) && e.reprocess.Len() == 0 && e.redelivers.Len() == 0
}

// pendingSignals counts the signals delivered and not handled yet that
// the run can take now: events waiting for a slow destination are not.
func (e *entity) pendingSignals() int {
	n := e.reprocess.Len() + e.redelivers.Len()
	if !e.holding() {
		n += e.events.Len()
	}
	return n
}

// continueDue reports whether the run should continue as new now: after
// MaxEventsPerRun turns, when the server suggests it, and (revision 3) when
// the history passes canHistoryEvents or canHistoryBytes. A run whose
// events wait for a slow destination goes on until they are taken, up to
// the hard bounds; past those its drain takes them, forced.
func (e *entity) continueDue(ctx workflow.Context, handled int) bool {
	info := workflow.GetInfo(ctx)
	due := handled >= e.maxEvents || info.GetContinueAsNewSuggested()
	if e.rev < 3 {
		return due
	}
	length, size := info.GetCurrentHistoryLength(), info.GetCurrentHistorySize()
	due = due || length >= canHistoryEvents || size >= canHistoryBytes
	if !due || !e.holding() || e.events.Len() == 0 {
		return due
	}
	if length < hardHistoryEvents && size < hardHistoryBytes {
		return false
	}
	e.forced = true
	return true
}

// cancelled closes the run for an operator's cancel (the Temporal UI's or
// CLI's): the signals already delivered are handled, nothing spins, and
// the run ends Canceled. Pending deliveries stay in the state, which the
// entity's next run loads (QuerySnapshot) and goes on from, as after any
// close.
func (e *entity) cancelled(ctx workflow.Context) (State, error) {
	dctx, _ := workflow.NewDisconnectedContext(ctx)
	e.forced = true
	e.drain(dctx)
	e.flush(dctx)
	if e.rev < 3 {
		if err := e.save(dctx); err != nil {
			workflow.GetLogger(ctx).Error("save snapshot", "error", err)
		}
	}
	workflow.GetLogger(ctx).Info("entity cancelled by an operator; its next event reopens it")
	return e.state, temporal.NewCanceledError("cancelled by an operator; the next event reopens the entity with its state")
}

// closeClock holds the timers a run may close on: the linger after a
// terminal status, the idle timeout otherwise. There is one of each at a
// time, re-armed only when it fires early, so events add no timer commands
// to the history (revision 0 runs replay a linger timer per wait, and an
// idle timer cancelled at the terminal status).
type closeClock struct {
	idleCloses    bool
	idle, linger  workflow.Future
	cancelIdle    func()
	cancelWait    func() // revision 0: the linger timer of this wait
	lingerElapsed bool   // which timer fired last
}

// addCloseTimer adds the timer the run would close on now to sel, and
// returns the flag set when it fires.
func (e *entity) addCloseTimer(ctx workflow.Context, sel workflow.Selector, c *closeClock) *bool {
	fired := new(bool)
	c.cancelWait = func() {}
	switch {
	case e.state.Terminal && e.rev >= 1:
		if c.linger == nil {
			c.linger = workflow.NewTimer(ctx, e.lingerLeft(ctx))
		}
		sel.AddFuture(c.linger, func(workflow.Future) { *fired, c.linger, c.lingerElapsed = true, nil, true })
	case e.state.Terminal:
		if c.idle != nil {
			c.cancelIdle()
			c.idle = nil
		}
		timerCtx, cancel := workflow.WithCancel(ctx)
		c.cancelWait = cancel
		sel.AddFuture(workflow.NewTimer(timerCtx, e.lingerLeft(ctx)), func(workflow.Future) { *fired, c.lingerElapsed = true, true })
	case c.idleCloses:
		if c.idle == nil {
			idleCtx, cancel := workflow.WithCancel(ctx)
			c.idle, c.cancelIdle = workflow.NewTimer(idleCtx, e.idleLeft(ctx)), cancel
		}
		sel.AddFuture(c.idle, func(workflow.Future) { *fired, c.idle, c.lingerElapsed = true, nil, false })
	}
	return fired
}

// afterSelect cancels a revision 0 linger timer that did not fire.
func (c *closeClock) afterSelect() { c.cancelWait() }

// closeDue reports whether the timer that fired still closes the run.
func (e *entity) closeDue(ctx workflow.Context, c closeClock) bool {
	if c.lingerElapsed {
		return e.state.Terminal && e.lingerLeft(ctx) <= 0
	}
	return !e.state.Terminal && e.idleLeft(ctx) <= 0
}

// continueAsNew hands the run's state to a new run of the same entity.
func (e *entity) continueAsNew(ctx workflow.Context, in EntityInput) error {
	next := in
	next.Revision, next.PreviousRunID = Revision, ""
	// The continuation follows this run's table, also when it came from
	// tables-before-input.json: from there on it is in the input.
	next.Table = &e.kind
	next.Carry = &Carry{State: e.state, Seen: e.memory.packed(), SeenTimes: e.memory.times(), Bodies: e.bodies,
		TerminalAt: e.terminalAt, LastActivity: e.lastActivity, CheckFrom: e.checkFrom, CheckStep: e.checkStep}
	next.Carry.State.Waiting = false
	if e.rev == 1 || e.rev == 2 {
		// The continuation starts with this run's memo: leave it current.
		if err := e.save(ctx); err != nil {
			return err
		}
	}
	return workflow.NewContinueAsNewError(ctx, Entity, next)
}

// entity is the workflow's working state.
type entity struct {
	in         EntityInput
	rev        int
	kind       lifecycle.Table
	state      State
	memory     *memory
	linger     time.Duration
	idle       time.Duration // 0: never close while not terminal
	notFound   time.Duration
	maxEvents  int
	terminalAt time.Time
	// lastActivity is the last event or reprocess; zero until the first,
	// when the idle clock runs from the run's start.
	lastActivity time.Time
	// published is the EntityStatus last upserted (revision 1).
	published string
	// bodies are the original bodies held for pending deliveries, by seq;
	// looked up only, never iterated.
	bodies map[int]json.RawMessage
	// traces are the trace contexts of the events whose transitions are
	// pending delivery, by seq: each delivery joins its event's trace. Kept
	// in memory only: a delivery after continue-as-new starts its own.
	traces map[int]string
	// deliveryFailed is the DeliveryFailed search attribute as published.
	deliveryFailed bool
	// checkFrom is the last event, reprocess or check the reconcile
	// schedule runs from, checkStep the step it is at (revision 2).
	checkFrom time.Time
	checkStep int
	// The run's signal channels.
	events, reprocess, redelivers workflow.ReceiveChannel
	// wake is signalled by the delivery loops when a delivery finished, so
	// the main loop publishes it and takes events again once a slow
	// destination caught up (revision 3).
	wake workflow.Channel
	// maxHeld bounds the transitions held per target (revision 3).
	maxHeld int
	// forced is set when the run must take every delivered event before
	// it closes or continues as new, holding or not (see enqueue).
	forced bool
	// publishedOverdue is the Overdue search attribute as published.
	publishedOverdue bool
	// taken counts the events taken since the run last let a workflow
	// task complete (see breathe).
	taken int
	// summarized is the summary last published in the memo.
	summarized Snapshot
	// unloaded is the previous run named in the input while its state is
	// not loaded yet.
	unloaded string
}

func newEntity(in EntityInput) *entity {
	kind, _ := tableOf(in)
	e := &entity{
		in:        in,
		rev:       in.Revision,
		kind:      kind,
		memory:    newMemory(),
		maxHeld:   in.MaxHeld,
		unloaded:  in.PreviousRunID,
		bodies:    map[int]json.RawMessage{},
		traces:    map[int]string{},
		linger:    in.Linger,
		idle:      in.IdleTimeout,
		notFound:  in.NotFoundWindow,
		maxEvents: in.MaxEventsPerRun,
		state:     State{Provider: in.Provider, EntityType: in.EntityType, EntityID: in.EntityID},
	}
	if e.linger <= 0 {
		e.linger = DefaultLinger
	}
	if e.notFound <= 0 {
		e.notFound = DefaultNotFoundWindow
	}
	if e.maxEvents <= 0 {
		e.maxEvents = DefaultMaxEventsPerRun
	}
	if e.maxHeld <= 0 {
		e.maxHeld = DefaultMaxHeld
	}
	e.memory.chunked = e.rev >= 3
	if in.Carry != nil {
		e.state = in.Carry.State
		e.terminalAt = in.Carry.TerminalAt
		e.lastActivity = in.Carry.LastActivity
		e.checkFrom, e.checkStep = in.Carry.CheckFrom, in.Carry.CheckStep
		e.memory.load(in.Carry.Seen, in.Carry.EventIDs, in.Carry.SeenTimes)
		e.memory.forgotten = e.state.ForgottenUpTo.UnixMilli()
		if e.state.ForgottenUpTo.IsZero() {
			e.memory.forgotten = 0
		}
		if in.Carry.Bodies != nil {
			e.bodies = in.Carry.Bodies
		}
		e.deliveryFailed = e.failedDeliveries() > 0 // carried over with the search attributes
		e.published = e.state.Status                // search attributes are carried over too
		e.publishedOverdue = e.state.Overdue
		e.summarized = e.summary() // the memo is carried over too
	}
	return e
}

// begin sets the run up: a continuation has its state in its input; a
// reopened entity loads the run it names; a brand-new one has nothing to
// load (its start already set its identifying search attributes).
func (e *entity) begin(ctx workflow.Context) {
	switch {
	case e.rev < 1:
		if e.in.Carry == nil {
			e.loadLatest(ctx)
		}
		e.publish(ctx)
	case e.in.Carry != nil:
		e.details(ctx)
		if _, ok := workflow.GetInfo(ctx).Memo.GetFields()[MemoKey]; !ok && e.rev < 3 {
			// Continued from a revision 0 run, which kept no snapshot while
			// open: leave one now, so a terminate still leaves the state.
			if err := e.save(ctx); err != nil {
				workflow.GetLogger(ctx).Error("save snapshot", "error", err)
			}
		}
	case e.in.PreviousRunID != "" && e.rev >= 3:
		// An operator's cancel waits for the load: without the state no
		// event this run holds could be handled.
		dctx, _ := workflow.NewDisconnectedContext(ctx)
		e.loadNamed(dctx)
		e.flush(ctx)
	case e.in.PreviousRunID != "":
		e.loadNamed(ctx)
		e.publish(ctx)
		e.publishDeliveryFailed(ctx) // failed deliveries the closed run left
		// Leave the loaded state in this run's memo at once, so that even
		// if this run is terminated before its first transition, the next
		// one still finds it.
		if err := e.save(ctx); err != nil {
			workflow.GetLogger(ctx).Error("save snapshot", "error", err)
		}
	default:
		e.details(ctx)
	}
}

// loadNamed continues from the closed run this run was started to follow,
// read by name. Without that state a late event could move a closed entity
// backwards or be applied twice, so the run does not go on without it: it
// retries for as long as it takes, with the error in State.LastError for
// `hookflow status`, and handles no event meanwhile.
func (e *entity) loadNamed(ctx workflow.Context) {
	lctx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		// A closed revision 3 run is queried, which replays its history.
		StartToCloseTimeout:    30 * time.Second,
		ScheduleToCloseTimeout: time.Minute,
		RetryPolicy:            &temporal.RetryPolicy{InitialInterval: time.Second, MaximumInterval: 10 * time.Second},
	})
	var a *activities.Activities
	in := activities.DescribeRunInput{WorkflowID: workflow.GetInfo(ctx).WorkflowExecution.ID, RunID: e.in.PreviousRunID, MemoField: MemoKey}
	if e.rev >= 3 {
		in.Query = QuerySnapshot
	}
	for attempt := 0; ; attempt++ {
		var run activities.Run
		err := workflow.ExecuteLocalActivity(lctx, a.DescribeRun, in).Get(ctx, &run)
		var next string
		if err == nil {
			next, err = e.restoreRun(ctx, run)
		}
		if err == nil && next != "" && next != in.RunID && attempt < maxUnloadedChain {
			// That run closed before it loaded its own predecessor: load
			// the run whose state it never took up.
			in.RunID = next
			continue
		}
		if err == nil {
			e.unloaded = ""
			return
		}
		e.state.LastError = clipTo("load previous run "+in.RunID+": "+cause(err), maxTextBytes)
		e.details(ctx)
		_ = workflow.Sleep(ctx, min(time.Duration(1<<min(attempt, 9))*time.Second, 5*time.Minute))
	}
}

// maxUnloadedChain bounds how many runs that closed before loading their
// predecessor a run follows back.
const maxUnloadedChain = 16

// restoreRun takes the state of the named previous run. next names the
// run to load instead, when that one closed before it had loaded its own
// predecessor (Snapshot.Unloaded).
func (e *entity) restoreRun(ctx workflow.Context, run activities.Run) (next string, err error) {
	switch {
	case run.Gone:
		// Past the namespace's retention the server has forgotten the run;
		// no retry can bring it back.
		e.state.LastError = "previous run " + e.in.PreviousRunID + " no longer exists (past retention); continued without its state"
		return "", nil
	case run.Running:
		return "", errors.New("the previous run is still running")
	case len(run.Memo) == 0:
		// A run from before snapshots were kept at every transition, closed
		// without one: the latest run that left one is the best there is.
		e.loadLatest(ctx)
		return "", nil
	}
	var s Snapshot
	// encoding/json is deterministic for these plain structs (fields in
	// order, maps sorted); workflowcheck flags its reflection caches.
	//workflowcheck:ignore
	if err := json.Unmarshal(run.Memo, &s); err != nil {
		return "", fmt.Errorf("decode snapshot: %w", err)
	}
	if s.Unloaded != "" {
		return s.Unloaded, nil
	}
	e.restore(s)
	return "", nil
}

// loadLatest continues from the last closed run of this entity that left a
// snapshot, found through visibility (revision 0, and the fallback for
// runs from then). Visibility gets an hour to answer before the run goes on
// without it, recording why.
func (e *entity) loadLatest(ctx workflow.Context) {
	info := workflow.GetInfo(ctx)
	lctx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout:    10 * time.Second,
		ScheduleToCloseTimeout: time.Hour,
		RetryPolicy:            &temporal.RetryPolicy{InitialInterval: time.Second, MaximumInterval: time.Minute},
	})
	var a *activities.Activities
	var prev activities.PreviousRun
	err := workflow.ExecuteLocalActivity(lctx, a.LoadPreviousRun, activities.LoadPreviousInput{
		WorkflowID: info.WorkflowExecution.ID, RunID: info.WorkflowExecution.RunID,
	}).Get(ctx, &prev)
	if err != nil {
		e.state.LastError = "load previous run: " + cause(err)
		return
	}
	if !prev.Found {
		return
	}
	var s Snapshot
	// encoding/json is deterministic for these plain structs (fields in
	// order, maps sorted); workflowcheck flags its reflection caches.
	//workflowcheck:ignore
	if err := json.Unmarshal(prev.Snapshot, &s); err != nil {
		e.state.LastError = "load previous run: decode snapshot: " + err.Error()
		return
	}
	e.restore(s)
}

// restore takes a previous run's snapshot as this run's state.
func (e *entity) restore(s Snapshot) {
	e.state.Status, e.state.ResumeFrom, e.state.Sequence = s.Status, s.ResumeFrom, s.Sequence
	e.state.Processed, e.state.Duplicates = s.Processed, s.Duplicates
	e.state.Transitions, e.state.Events = s.Transitions, s.Events
	e.state.Terminal = e.kind.Terminal[s.Status]
	e.state.LastError = ""
	e.state.Deliveries = s.Deliveries
	if s.Bodies != nil {
		e.bodies = s.Bodies
	}
	e.memory.load(s.Seen, s.EventIDs, s.SeenTimes)
	if e.rev >= 3 {
		e.state.Notices, e.state.Overdue, e.state.OverdueSince = s.Notices, s.Overdue, s.OverdueSince
		e.state.Rejected = s.Rejected
		e.state.ForgottenUpTo = s.ForgottenUpTo
		if !s.ForgottenUpTo.IsZero() {
			e.memory.forgotten = s.ForgottenUpTo.UnixMilli()
		}
	}
}

// snapshot is what this run leaves in its memo for the next.
func (e *entity) snapshot(ctx workflow.Context) Snapshot {
	s := Snapshot{
		Status: e.state.Status, ResumeFrom: e.state.ResumeFrom, Processed: e.state.Processed, Duplicates: e.state.Duplicates,
		Sequence: e.state.Sequence, Transitions: e.state.Transitions, Events: e.state.Events,
		Seen: e.memory.packed(), Deliveries: e.state.Deliveries, Bodies: e.bodies, SavedAt: workflow.Now(ctx),
	}
	if e.rev >= 3 {
		s.SeenTimes, s.ForgottenUpTo = e.memory.times(), e.state.ForgottenUpTo
		s.Notices, s.Overdue, s.OverdueSince = e.state.Notices, e.state.Overdue, e.state.OverdueSince
		s.Rejected, s.Unloaded = e.state.Rejected, e.unloaded
	}
	return s
}

// save upserts the snapshot into the run's memo.
func (e *entity) save(ctx workflow.Context) error {
	if err := workflow.UpsertMemo(ctx, map[string]any{MemoKey: e.snapshot(ctx)}); err != nil {
		return fmt.Errorf("save snapshot: %w", err)
	}
	return nil
}

// drain handles every signal already delivered, so none is lost when the run
// completes or continues as new. Events waiting for a slow destination
// stay where they are, unless the run is forced to take them.
//
// The events already delivered may be many: they are taken
// maxEventsPerTask a workflow task (breathe). Those that arrive meanwhile
// are taken without another pause, so a steady stream cannot keep the run
// from closing or continuing as new: what arrives after that is refused
// to the completion by the server, and the run drains again.
func (e *entity) drain(ctx workflow.Context) {
	backlog := e.events.Len()
	for took := 0; ; {
		if took < backlog {
			if err := e.breathe(ctx); err != nil {
				return // cancelled: the caller closes the run, which drains again
			}
		}
		switch {
		case e.events.Len() > 0 && (e.forced || !e.holding()):
			e.taken++
			took++
			if ev, ok := e.receiveEvent(ctx, e.events); ok {
				e.onEvent(ctx, ev)
			}
		case e.reprocess.Len() > 0:
			if r, ok := e.receiveReprocess(ctx, e.reprocess); ok {
				e.onReprocess(ctx, r)
			}
		case e.redelivers.Len() > 0:
			if r, ok := e.receiveRedeliver(ctx, e.redelivers); ok {
				e.redeliver(ctx, r.Destination)
			}
		default:
			return
		}
	}
}

// onEvent applies one delivery, once. An event counts as processed only
// when its handling has finished: one whose provider API read failed for
// good is not remembered, so its redelivery is handled afresh.
func (e *entity) onEvent(ctx workflow.Context, ev event.Event) {
	ctx = tracing.WithEvent(ctx, ev.TraceParent)
	e.lastActivity = workflow.Now(ctx)
	if e.memory.has(ev.ID) {
		e.state.Duplicates++
		e.received(ctx, ev, "duplicate")
		return
	}
	if e.rev >= 3 && e.forgotten(ev) {
		// Older than IDs the memory has forgotten: a redelivery of one of
		// them, however late, is never applied twice.
		e.remember(ev)
		e.received(ctx, ev, string(Stale))
		return
	}
	if e.rev < 1 {
		e.memory.add(ev.ID)
		e.state.Processed++
	}
	e.resetChecks(ctx)
	status, source := ev.Status, "webhook"
	if e.kind.API {
		rctx := ctx
		if e.rev >= 3 {
			// An operator's cancel waits for the read in hand: the event
			// was acknowledged and is handled before the run closes.
			rctx, _ = workflow.NewDisconnectedContext(ctx)
		}
		current, fellBack, err := e.readStatus(rctx, ev)
		if err != nil {
			e.state.LastError = err.Error()
			e.details(ctx)
			e.received(ctx, ev, "error")
			return
		}
		if !fellBack {
			status, source = current, "api"
		}
	}
	if e.rev >= 1 {
		e.remember(ev)
	}
	v := e.apply(ctx, status, event.Transition{
		EventID: ev.ID, Source: source, ProviderTime: ev.ProviderTime, Details: ev.Attributes,
	})
	e.received(ctx, ev, string(v))
	if v == Apply {
		e.enqueue(ctx, e.state.Sequence, ev.Body)
		if ev.TraceParent != "" && len(e.in.Targets) > 0 {
			e.traces[e.state.Sequence] = ev.TraceParent
		}
		e.saveTransition(ctx)
	}
}

// remember adds ev to the event-ID memory and counts it processed.
func (e *entity) remember(ev event.Event) {
	e.state.Processed++
	if e.rev < 3 {
		e.memory.add(ev.ID)
		return
	}
	var at int64
	if t, ok := providerInstant(ev.ProviderTime); ok {
		at = t.UnixMilli()
	}
	e.memory.addAt(ev.ID, at)
	if e.memory.forgotten > 0 {
		e.state.ForgottenUpTo = time.UnixMilli(e.memory.forgotten).UTC()
	}
}

// forgotten reports whether ev, which the memory does not hold, was stamped
// by the provider at or before the latest event the memory has forgotten.
// Without a readable provider time it cannot tell and says no.
func (e *entity) forgotten(ev event.Event) bool {
	if e.state.ForgottenUpTo.IsZero() {
		return false
	}
	at, ok := providerInstant(ev.ProviderTime)
	return ok && !at.After(e.state.ForgottenUpTo)
}

// readStatus asks the provider API for the entity's status on behalf of
// event ev. The API is authoritative when it answers. A 404 is read as the
// API not having caught up with the webhook yet and is retried for the
// not-found window; past it, or on another 4xx, the webhook's own
// (authenticated) status applies: fellBack is true and the API's error is
// in State.LastError. err is set only when the API stayed unavailable for
// the whole retry period (revision 0: on any failure).
func (e *entity) readStatus(ctx workflow.Context, ev event.Event) (status string, fellBack bool, err error) {
	if e.rev < 1 {
		status, err = e.fetchStatus(ctx)
		return status, false, err
	}
	var firstNotFound time.Time
	for attempt := 0; ; attempt++ {
		status, err = e.fetchLocal(ctx)
		var app *temporal.ApplicationError
		final := errors.As(err, &app) && (app.NonRetryable() || slices.Contains(activities.NonRetryable, app.Type()))
		switch {
		case err == nil:
			e.state.LastError = ""
			return status, false, nil
		case !final:
			return "", false, errors.New(clipTo(cause(err), maxTextBytes))
		case app.Type() != activities.ErrOrderNotFound:
			e.state.LastError = clipTo(cause(err), maxTextBytes) + "; applied the webhook's status"
			return "", true, nil
		}
		now := workflow.Now(ctx)
		if firstNotFound.IsZero() {
			firstNotFound = now
		}
		left := firstNotFound.Add(e.notFound).Sub(now)
		if left <= 0 {
			e.state.LastError = clipTo(cause(err), maxTextBytes) + fmt.Sprintf(" for %s; applied the webhook's status", e.notFound)
			return "", true, nil
		}
		e.state.LastError = clipTo(cause(err), maxTextBytes) + "; retrying while the API catches up"
		e.details(ctx)
		if err := workflow.Sleep(ctx, min(time.Duration(1<<min(attempt, 5))*time.Second, left)); err != nil {
			return "", false, fmt.Errorf("read cancelled: %w", err)
		}
	}
}

// onReprocess re-queries the provider API where there is one and re-applies
// the current state's handling; with nothing new it changes nothing.
func (e *entity) onReprocess(ctx workflow.Context, r ReprocessRequest) {
	e.lastActivity = workflow.Now(ctx)
	e.resetChecks(ctx)
	if e.kind.API {
		fetch := e.fetchStatus
		if e.rev >= 1 {
			fetch = e.fetchLocal
		}
		current, err := fetch(ctx)
		if err != nil {
			e.state.LastError = clipTo(cause(err), maxTextBytes)
			e.details(ctx)
			return
		}
		e.state.LastError = ""
		if e.apply(ctx, current, event.Transition{EventID: "reprocess:" + r.RequestID, Source: "reprocess"}) == Apply {
			e.enqueue(ctx, e.state.Sequence, nil)
			e.saveTransition(ctx)
		}
	}
	e.resendCurrent(ctx)
	e.publish(ctx)
}

// saveTransition leaves the state after an applied transition in the memo
// (revision 1), so a run terminated or reset later still leaves it.
func (e *entity) saveTransition(ctx workflow.Context) {
	if e.rev < 1 || e.rev >= 3 {
		return
	}
	if err := e.save(ctx); err != nil {
		workflow.GetLogger(ctx).Error("save snapshot", "error", err)
	}
}

// apiRetry retries a provider API read through an outage: a day of it is
// retried, past that the error is recorded and the entity goes on handling
// its other events (reprocess retries).
var apiRetry = &temporal.RetryPolicy{
	InitialInterval:        time.Second,
	BackoffCoefficient:     2,
	MaximumInterval:        5 * time.Minute,
	NonRetryableErrorTypes: activities.NonRetryable,
}

// fetchLocal reads the Phoenix order as a local activity: it runs in the
// workflow task that handles the event, so an event costs one workflow task
// instead of two plus an activity task. Long outages are retried with
// timers by the SDK, durably across worker restarts.
func (e *entity) fetchLocal(ctx workflow.Context) (string, error) {
	lctx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout:    30 * time.Second,
		ScheduleToCloseTimeout: 24 * time.Hour,
		RetryPolicy:            apiRetry,
	})
	read, in := e.apiRead()
	var out activities.OrderStatus
	if err := workflow.ExecuteLocalActivity(lctx, read, in).Get(ctx, &out); err != nil {
		return "", err
	}
	return out.Status, nil
}

// apiRead is the activity that reads the entity's status from its
// provider's API, and its input: Phoenix's own, or a configured provider's
// (api: in its entry).
func (e *entity) apiRead() (activity any, input any) {
	var a *activities.Activities
	if e.state.Provider == "phoenix" {
		return a.FetchPhoenixOrder, activities.FetchOrderInput{OrderID: e.state.EntityID}
	}
	return a.FetchEntityStatus, activities.FetchStatusInput{Provider: e.state.Provider, EntityID: e.state.EntityID}
}

// fetchStatus asks the provider API for the entity's status with a regular
// activity (revision 0), retrying transient failures durably until it
// answers.
func (e *entity) fetchStatus(ctx workflow.Context) (string, error) {
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout:    30 * time.Second,
		ScheduleToCloseTimeout: 24 * time.Hour,
		RetryPolicy:            apiRetry,
	})
	var a *activities.Activities
	var out activities.OrderStatus
	if err := workflow.ExecuteActivity(actx, a.FetchPhoenixOrder, activities.FetchOrderInput{OrderID: e.state.EntityID}).Get(ctx, &out); err != nil {
		return "", errors.New(cause(err))
	}
	e.state.LastError = ""
	return out.Status, nil
}

// apply moves the entity to status to when its table allows, records the
// transition (t names its cause: event ID, source, provider time, details)
// and publishes it to the search attributes.
func (e *entity) apply(ctx workflow.Context, to string, t event.Transition) Verdict {
	from := e.state.Status
	// After an interruption such as a shipment EXCEPTION, the entity is
	// judged by where it stood before it: it may resume there or go on, but
	// a stale older status still cannot move it back.
	judged := from
	if e.kind.Anytime[from] && e.state.ResumeFrom != "" {
		judged = e.state.ResumeFrom
	}
	v := e.kind.Allows(judged, to)
	if v == Same && judged != from {
		v = Apply
	}
	// Where rank cannot tell a late delivery from a new turn (leaving an
	// interruption, a retry, an interruption), the provider's clock does.
	// Revision 0 runs that applied such moves before this rule existed
	// replay as they ran: the version marker is recorded only where the
	// rule decides.
	rankBlind := judged != from || e.kind.Rankless(judged, to)
	if v == Apply && rankBlind && e.olderThanStatus(t.ProviderTime) &&
		(e.rev >= 1 || workflow.GetVersion(ctx, changeStaleByProviderTime, workflow.DefaultVersion, 1) >= 1) {
		v = Stale
	}
	if v != Apply {
		return v
	}
	switch {
	case e.kind.Anytime[to] && !e.kind.Anytime[from]:
		e.state.ResumeFrom = from
	case !e.kind.Anytime[to]:
		e.state.ResumeFrom = ""
	}
	now := workflow.Now(ctx)
	e.state.Sequence++
	t.Seq, t.From, t.To, t.At = e.state.Sequence, e.state.Status, to, now
	e.state.Transitions = e.keepTransitions(append(e.state.Transitions, t))
	e.state.Status = to
	e.state.Terminal = e.kind.Terminal[to]
	e.clearOverdue(ctx)
	workflow.GetMetricsHandler(ctx).WithTags(map[string]string{"provider": e.state.Provider, "status": to}).
		Counter(MetricTransitionsApplied).Inc(1)
	if e.state.Terminal {
		e.terminalAt = now
	}
	e.publish(ctx)
	return Apply
}

// olderThanStatus reports whether the provider stamped an event at
// providerTime before the event that set the current status. Without both
// timestamps, readable, it cannot tell and says no.
func (e *entity) olderThanStatus(providerTime string) bool {
	ts := e.state.Transitions
	if len(ts) == 0 || ts[len(ts)-1].To != e.state.Status {
		return false
	}
	current, ok := providerInstant(ts[len(ts)-1].ProviderTime)
	if !ok {
		return false
	}
	at, ok := providerInstant(providerTime)
	return ok && at.Before(current)
}

// providerInstant reads a provider timestamp: RFC 3339 (Phoenix, UP42,
// Fenix, Phosphor) or Unix seconds or milliseconds (Phantom Core).
func providerInstant(s string) (time.Time, bool) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, true
	}
	n, err := strconv.ParseInt(s, 10, 64)
	switch {
	case err != nil || n <= 0:
		return time.Time{}, false
	case n >= 1e12:
		return time.UnixMilli(n), true
	default:
		return time.Unix(n, 0), true
	}
}

// publish keeps the search attributes and the UI's details current.
// Revision 1 upserts only what changed: the identifying attributes are set
// by the start and carried over ContinueAsNew.
func (e *entity) publish(ctx workflow.Context) {
	if e.rev >= 3 {
		return // flush publishes, once per workflow task
	}
	s := e.state
	var updates []temporal.SearchAttributeUpdate
	if e.rev < 1 {
		updates = append(updates, ProviderKey.ValueSet(s.Provider), EntityTypeKey.ValueSet(s.EntityType), EntityIDKey.ValueSet(s.EntityID))
	}
	if s.Status != "" && (e.rev < 1 || s.Status != e.published) {
		updates = append(updates, EntityStatusKey.ValueSet(s.Status))
	}
	if len(updates) > 0 {
		if err := workflow.UpsertTypedSearchAttributes(ctx, updates...); err != nil {
			workflow.GetLogger(ctx).Error("upsert search attributes", "error", err)
		}
		e.published = s.Status
	}
	e.details(ctx)
}

// flush publishes what changed since the last flush to the search
// attributes, in one upsert, and the UI's details (revision 3). The main
// loop flushes once it has handled every signal it can take, so a workflow
// task that applies a thousand buffered events upserts at most once.
func (e *entity) flush(ctx workflow.Context) {
	if e.rev < 3 {
		return
	}
	e.state.Waiting = e.holding() && e.events.Len() > 0
	var updates []temporal.SearchAttributeUpdate
	if s := e.state.Status; s != "" && s != e.published {
		updates = append(updates, EntityStatusKey.ValueSet(s))
	}
	if failed := e.failedDeliveries() > 0; failed != e.deliveryFailed {
		updates = append(updates, DeliveryFailedKey.ValueSet(failed))
	}
	if e.state.Overdue != e.publishedOverdue {
		updates = append(updates, OverdueKey.ValueSet(e.state.Overdue))
	}
	if len(updates) > 0 {
		if err := workflow.UpsertTypedSearchAttributes(ctx, updates...); err != nil {
			workflow.GetLogger(ctx).Error("upsert search attributes", "error", err)
		}
		e.published, e.deliveryFailed, e.publishedOverdue = e.state.Status, e.failedDeliveries() > 0, e.state.Overdue
	}
	if sum := e.summary(); !sameSummary(sum, e.summarized) {
		sum.SavedAt = workflow.Now(ctx)
		if err := workflow.UpsertMemo(ctx, map[string]any{MemoSummaryKey: sum}); err != nil {
			workflow.GetLogger(ctx).Error("upsert memo", "error", err)
		}
		e.summarized = sum
	}
	e.details(ctx)
}

// summary is the state as published in the memo (MemoSummaryKey): the
// status, counts, last error and the latest transitions (without details)
// and events, within summaryBytes.
func (e *entity) summary() Snapshot {
	s := e.state
	ts := s.Transitions[max(0, len(s.Transitions)-summaryKept):]
	kept := make([]event.Transition, 0, len(ts))
	for _, t := range ts {
		t.Details = nil
		kept = append(kept, t)
	}
	return Snapshot{
		Status: s.Status, ResumeFrom: s.ResumeFrom, Processed: s.Processed, Duplicates: s.Duplicates, Sequence: s.Sequence,
		Transitions: keepLast(kept, summaryBytes/2), Events: keepLast(s.Events[max(0, len(s.Events)-summaryKept):], summaryBytes/4),
		Overdue: s.Overdue, OverdueSince: s.OverdueSince, Rejected: s.Rejected,
	}
}

// sameSummary reports whether a and b publish the same state.
func sameSummary(a, b Snapshot) bool {
	return a.Status == b.Status && a.ResumeFrom == b.ResumeFrom && a.Processed == b.Processed && a.Duplicates == b.Duplicates &&
		a.Sequence == b.Sequence && a.Overdue == b.Overdue && a.Rejected == b.Rejected
}

// details sets the readable line the Temporal UI shows for the run.
func (e *entity) details(ctx workflow.Context) {
	s := e.state
	status := s.Status
	if status == "" {
		status = "unknown"
	}
	line := fmt.Sprintf("**%s %s** `%s`\n\nstatus: **%s**, %d transition(s), %d event(s) processed",
		s.Provider, s.EntityType, s.EntityID, status, s.Sequence, s.Processed)
	if s.Overdue {
		line += fmt.Sprintf("\n\noverdue: in %s since %s", s.Status, s.OverdueSince.UTC().Format(time.RFC3339))
	}
	if s.LastError != "" && e.rev >= 1 {
		line += "\n\nlast error: " + s.LastError
	}
	if s.Waiting {
		line += "\n\nevents waiting for a slow destination to catch up"
	}
	if s.Rejected > 0 && len(s.Rejections) > 0 {
		r := s.Rejections[len(s.Rejections)-1]
		line += fmt.Sprintf("\n\n%d malformed signal(s) rejected, the latest %s: %s", s.Rejected, r.Signal, r.Reason)
	}
	for _, d := range s.Deliveries {
		if d.Status == DeliveryFailed {
			line += fmt.Sprintf("\n\ndelivery failed: %s, transition %d: %s (hookflow redeliver)", d.Label, d.Seq, d.LastAnswer)
			break
		}
	}
	workflow.SetCurrentDetails(ctx, line)
}

// received records what became of a delivery, and counts it handled.
func (e *entity) received(ctx workflow.Context, ev event.Event, outcome string) {
	e.state.Events = keepLast(append(e.state.Events, event.Received{
		EventID: ev.ID, Type: ev.Type, Status: ev.Status, ReceivedAt: ev.ReceivedAt, Outcome: outcome, // bounded on receipt
	}), receivedBytes)
	workflow.GetMetricsHandler(ctx).WithTags(map[string]string{"provider": e.state.Provider, "outcome": outcome}).
		Counter(MetricEventsHandled).Inc(1)
}

// lingerLeft is how much of the linger after the terminal status remains.
// A run that loaded a terminal state lingers from its own start.
func (e *entity) lingerLeft(ctx workflow.Context) time.Duration {
	if e.terminalAt.IsZero() {
		e.terminalAt = workflow.Now(ctx)
	}
	return e.terminalAt.Add(e.linger).Sub(workflow.Now(ctx))
}

// idleLeft is how much of the idle timeout since the last activity remains.
func (e *entity) idleLeft(ctx workflow.Context) time.Duration {
	if e.lastActivity.IsZero() {
		e.lastActivity = workflow.Now(ctx)
	}
	return e.lastActivity.Add(e.idle).Sub(workflow.Now(ctx))
}

// cause is the message of the innermost error, without the activity wrapper.
func cause(err error) string {
	var app *temporal.ApplicationError
	if errors.As(err, &app) {
		return app.Message()
	}
	return err.Error()
}
