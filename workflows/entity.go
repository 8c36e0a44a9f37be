package workflows

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/hookflow/hookflow/activities"
	"github.com/hookflow/hookflow/event"
)

// Change IDs of workflow.GetVersion, one per behaviour change that running
// workflows must replay around.
const (
	// changeStaleByProviderTime: late deliveries judged by provider time.
	changeStaleByProviderTime = "stale-by-provider-time"
	// changeIdleClose: a non-terminal entity closes after IdleTimeout.
	changeIdleClose = "idle-close"
)

// Defaults of EntityInput's zero values.
const (
	DefaultLinger          = time.Hour
	DefaultMaxEventsPerRun = 1000
	// maxRemembered bounds the event-ID memory carried from run to run; an
	// entity sees far fewer events than this in its life.
	maxRemembered = 10000
	// maxKept bounds the transitions and received events kept in State.
	maxKept = 200
)

// EntityInput starts, or continues as new, an entity workflow.
type EntityInput struct {
	Provider   string
	EntityType string
	EntityID   string
	// Linger is how long the workflow stays open after a terminal status,
	// so late deliveries are still deduplicated; 0 means DefaultLinger.
	Linger time.Duration
	// IdleTimeout closes a workflow whose entity has had no event or
	// reprocess for that long without reaching a terminal status (an NFT
	// that is never burnt, an order nobody completes), leaving its snapshot
	// for the next run like any close; 0 keeps it open for ever.
	IdleTimeout time.Duration `json:",omitempty"`
	// MaxEventsPerRun bounds the signals one run handles before it continues
	// as new, besides the server's suggestion; 0 means DefaultMaxEventsPerRun.
	MaxEventsPerRun int
	// Carry is the previous run's state, set only by ContinueAsNew.
	Carry *Carry `json:",omitempty"`
}

// Carry is what a run hands to its continuation.
type Carry struct {
	State        State
	EventIDs     []string  // newest last
	TerminalAt   time.Time // when the terminal status was reached, so lingering goes on
	LastActivity time.Time `json:",omitzero"` // the last event or reprocess, so the idle clock goes on
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
}

// Entity is the workflow of one provider entity. It applies each
// SignalWebhookEvent once, in arrival order, through the entity's state table;
// answers QueryState; re-queries on SignalReprocess; continues as new to keep
// its history small; and completes a Linger after a terminal status.
func Entity(ctx workflow.Context, in EntityInput) (State, error) {
	if _, ok := KindOf(in.Provider, in.EntityType); !ok {
		// Nothing could ever complete it: fail at once rather than linger.
		return State{}, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("no state table for %s %s", in.Provider, in.EntityType), "UnknownEntityKind", nil)
	}
	e := newEntity(in)
	if err := workflow.SetQueryHandler(ctx, QueryState, func() (State, error) { return e.state, nil }); err != nil {
		return e.state, fmt.Errorf("register query: %w", err)
	}
	if in.Carry == nil {
		e.loadPrevious(ctx)
	}
	e.publish(ctx)

	events := workflow.GetSignalChannel(ctx, SignalWebhookEvent)
	reprocess := workflow.GetSignalChannel(ctx, SignalReprocess)
	// Runs from before idle closing existed replay without its timer.
	idleCloses := e.idle > 0 && workflow.GetVersion(ctx, changeIdleClose, workflow.DefaultVersion, 1) >= 1
	// One idle timer at a time, re-armed only when it fires early, so
	// events add no timer commands to the history.
	var idleTimer workflow.Future
	cancelIdle := func() {}
	handled := 0
	for {
		lingering, idled := false, false
		sel := workflow.NewSelector(ctx)
		sel.AddReceive(events, func(c workflow.ReceiveChannel, _ bool) {
			var ev event.Event
			c.Receive(ctx, &ev)
			e.onEvent(ctx, ev)
		})
		sel.AddReceive(reprocess, func(c workflow.ReceiveChannel, _ bool) {
			var r ReprocessRequest
			c.Receive(ctx, &r)
			e.onReprocess(ctx, r)
		})
		cancelTimer := func() {}
		switch {
		case e.state.Terminal:
			if idleTimer != nil {
				cancelIdle()
				idleTimer = nil
			}
			timerCtx, cancel := workflow.WithCancel(ctx)
			cancelTimer = cancel
			sel.AddFuture(workflow.NewTimer(timerCtx, e.lingerLeft(ctx)), func(workflow.Future) { lingering = true })
		case idleCloses:
			if idleTimer == nil {
				idleCtx, cancel := workflow.WithCancel(ctx)
				idleTimer, cancelIdle = workflow.NewTimer(idleCtx, e.idleLeft(ctx)), cancel
			}
			sel.AddFuture(idleTimer, func(workflow.Future) { idled = true })
		}
		sel.Select(ctx)
		cancelTimer()
		handled++

		if idled {
			idleTimer = nil
			e.drain(ctx, events, reprocess)
			if !e.state.Terminal && e.idleLeft(ctx) <= 0 {
				break
			}
			continue
		}
		if lingering {
			e.drain(ctx, events, reprocess)
			if e.state.Terminal && e.lingerLeft(ctx) <= 0 {
				break
			}
			continue
		}
		if handled >= e.maxEvents || workflow.GetInfo(ctx).GetContinueAsNewSuggested() {
			e.drain(ctx, events, reprocess)
			next := in
			next.Carry = &Carry{State: e.state, EventIDs: e.eventIDs, TerminalAt: e.terminalAt, LastActivity: e.lastActivity}
			return e.state, workflow.NewContinueAsNewError(ctx, Entity, next)
		}
	}
	if err := workflow.UpsertMemo(ctx, map[string]any{activities.MemoKey: e.snapshot(ctx)}); err != nil {
		return e.state, fmt.Errorf("save snapshot: %w", err)
	}
	return e.state, nil
}

// entity is the workflow's working state.
type entity struct {
	in         EntityInput
	kind       Kind
	state      State
	seen       map[string]bool // event-ID memory, looked up only (never iterated)
	eventIDs   []string        // the same IDs in arrival order, for carrying over
	linger     time.Duration
	idle       time.Duration // 0: never close while not terminal
	maxEvents  int
	terminalAt time.Time
	// lastActivity is the last event or reprocess; zero until the first,
	// when the idle clock runs from the run's start.
	lastActivity time.Time
}

func newEntity(in EntityInput) *entity {
	kind, _ := KindOf(in.Provider, in.EntityType)
	e := &entity{
		in:        in,
		kind:      kind,
		seen:      map[string]bool{},
		linger:    in.Linger,
		idle:      in.IdleTimeout,
		maxEvents: in.MaxEventsPerRun,
		state:     State{Provider: in.Provider, EntityType: in.EntityType, EntityID: in.EntityID},
	}
	if e.linger <= 0 {
		e.linger = DefaultLinger
	}
	if e.maxEvents <= 0 {
		e.maxEvents = DefaultMaxEventsPerRun
	}
	if in.Carry != nil {
		e.state = in.Carry.State
		e.terminalAt = in.Carry.TerminalAt
		e.lastActivity = in.Carry.LastActivity
		e.remember(in.Carry.EventIDs...)
	}
	return e
}

// remember adds IDs to the event memory, forgetting the oldest past the bound.
func (e *entity) remember(ids ...string) {
	for _, id := range ids {
		if e.seen[id] {
			continue
		}
		e.seen[id] = true
		e.eventIDs = append(e.eventIDs, id)
	}
	if over := len(e.eventIDs) - maxRemembered; over > 0 {
		for _, id := range e.eventIDs[:over] {
			delete(e.seen, id)
		}
		e.eventIDs = append([]string(nil), e.eventIDs[over:]...)
	}
}

// loadPrevious continues from the last closed run of this entity, if any, so
// that a late event cannot move a closed entity backwards or be applied twice.
func (e *entity) loadPrevious(ctx workflow.Context) {
	info := workflow.GetInfo(ctx)
	// Without the previous state a late event could move a closed entity
	// back, so visibility gets an hour to answer before the run goes on
	// without it (recording why).
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
	s := prev.Snapshot
	e.state.Status, e.state.Sequence, e.state.Processed, e.state.Duplicates = s.Status, s.Sequence, s.Processed, s.Duplicates
	e.state.Transitions, e.state.Events = s.Transitions, s.Events
	e.state.Terminal = e.kind.Terminal[s.Status]
	e.remember(s.EventIDs...)
}

// snapshot is what this run leaves in its memo for the next.
func (e *entity) snapshot(ctx workflow.Context) activities.Snapshot {
	return activities.Snapshot{
		Status: e.state.Status, Processed: e.state.Processed, Duplicates: e.state.Duplicates,
		Sequence: e.state.Sequence, Transitions: e.state.Transitions, Events: e.state.Events,
		EventIDs: e.eventIDs, ClosedAt: workflow.Now(ctx),
	}
}

// drain handles every signal already delivered, so none is lost when the run
// completes or continues as new.
func (e *entity) drain(ctx workflow.Context, events, reprocess workflow.ReceiveChannel) {
	for {
		var ev event.Event
		if events.ReceiveAsync(&ev) {
			e.onEvent(ctx, ev)
			continue
		}
		var r ReprocessRequest
		if reprocess.ReceiveAsync(&r) {
			e.onReprocess(ctx, r)
			continue
		}
		return
	}
}

// onEvent applies one delivery, once.
func (e *entity) onEvent(ctx workflow.Context, ev event.Event) {
	e.lastActivity = workflow.Now(ctx)
	if e.seen[ev.ID] {
		e.state.Duplicates++
		e.received(ev, "duplicate")
		return
	}
	e.remember(ev.ID)
	e.state.Processed++
	status, source := ev.Status, "webhook"
	if e.kind.API {
		current, err := e.fetchStatus(ctx)
		if err != nil {
			e.state.LastError = err.Error()
			e.received(ev, "error")
			return
		}
		status, source = current, "api"
	}
	e.received(ev, string(e.apply(ctx, status, event.Transition{
		EventID: ev.ID, Source: source, ProviderTime: ev.ProviderTime, Details: ev.Attributes,
	})))
}

// onReprocess re-queries the provider API where there is one and re-applies
// the current state's handling; with nothing new it changes nothing.
func (e *entity) onReprocess(ctx workflow.Context, r ReprocessRequest) {
	e.lastActivity = workflow.Now(ctx)
	if e.kind.API {
		current, err := e.fetchStatus(ctx)
		if err != nil {
			e.state.LastError = err.Error()
			return
		}
		e.apply(ctx, current, event.Transition{EventID: "reprocess:" + r.RequestID, Source: "reprocess"})
	}
	e.publish(ctx)
}

// fetchStatus asks the provider API for the entity's status, retrying
// transient failures durably until it answers.
func (e *entity) fetchStatus(ctx workflow.Context) (string, error) {
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		// A day of outage is retried; past that the error is recorded and
		// the entity goes on handling its other events (reprocess retries).
		ScheduleToCloseTimeout: 24 * time.Hour,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        time.Second,
			BackoffCoefficient:     2,
			MaximumInterval:        5 * time.Minute,
			NonRetryableErrorTypes: activities.NonRetryable,
		},
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
	// Runs that applied such moves before this rule existed replay as they
	// ran: the version marker is recorded only where the rule decides.
	rankBlind := judged != from || e.kind.Rankless(judged, to)
	if v == Apply && rankBlind && e.olderThanStatus(t.ProviderTime) &&
		workflow.GetVersion(ctx, changeStaleByProviderTime, workflow.DefaultVersion, 1) >= 1 {
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
	e.state.Transitions = keepLast(append(e.state.Transitions, t))
	e.state.Status = to
	e.state.Terminal = e.kind.Terminal[to]
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
func (e *entity) publish(ctx workflow.Context) {
	s := e.state
	updates := []temporal.SearchAttributeUpdate{
		ProviderKey.ValueSet(s.Provider), EntityTypeKey.ValueSet(s.EntityType), EntityIDKey.ValueSet(s.EntityID),
	}
	if s.Status != "" {
		updates = append(updates, EntityStatusKey.ValueSet(s.Status))
	}
	if err := workflow.UpsertTypedSearchAttributes(ctx, updates...); err != nil {
		workflow.GetLogger(ctx).Error("upsert search attributes", "error", err)
	}
	status := s.Status
	if status == "" {
		status = "unknown"
	}
	workflow.SetCurrentDetails(ctx, fmt.Sprintf("**%s %s** `%s`\n\nstatus: **%s**, %d transition(s), %d event(s) processed",
		s.Provider, s.EntityType, s.EntityID, status, s.Sequence, s.Processed))
}

func (e *entity) received(ev event.Event, outcome string) {
	e.state.Events = keepLast(append(e.state.Events, event.Received{
		EventID: ev.ID, Type: ev.Type, Status: ev.Status, ReceivedAt: ev.ReceivedAt, Outcome: outcome,
	}))
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

func keepLast[T any](s []T) []T {
	if len(s) > maxKept {
		return append([]T(nil), s[len(s)-maxKept:]...)
	}
	return s
}

// cause is the message of the innermost error, without the activity wrapper.
func cause(err error) string {
	var app *temporal.ApplicationError
	if errors.As(err, &app) {
		return app.Error()
	}
	return err.Error()
}
