package workflows

import (
	"encoding/json"
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/hookflow/hookflow/event"
	"github.com/hookflow/hookflow/event/lifecycle"
)

// Defaults of EntityInput's zero values.
const (
	DefaultLinger          = time.Hour
	DefaultMaxEventsPerRun = 1000
	DefaultNotFoundWindow  = 2 * time.Minute
	DefaultHorizon         = 72 * time.Hour
	DefaultMaxHeld         = 500
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

// Entity is the workflow of one provider entity. It applies each
// SignalWebhookEvent once, in arrival order, through the entity's state table;
// answers QueryState; re-queries on SignalReprocess; continues as new to keep
// its history small; and completes a Linger after a terminal status, or an
// IdleTimeout after its last event.
//
// Its life is one loop: wait for the next signal or timer and handle it
// (next), close when the close timer says so (closeWhenDue), continue as
// new when the history is long enough (continueDue).
func Entity(ctx workflow.Context, in EntityInput) (State, error) {
	if _, ok := tableOf(in); !ok {
		// Nothing could ever complete it: fail at once rather than linger.
		return State{}, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("no state table for %s %s", in.Provider, in.EntityType), "UnknownEntityKind", nil)
	}
	e := newEntity(in)
	e.tenant = tenantOf(ctx, in)
	e.state.Tenant = e.tenant
	if err := e.listen(ctx); err != nil {
		return e.state, err
	}
	e.begin(ctx)
	e.state.Tenant = e.tenant // a loaded state may predate it
	e.startDeliveries(ctx)
	e.clock.idleCloses = e.idle > 0 && (e.does.idleClose || idleCloseVersion(ctx))
	for {
		closeFired, err := e.next(ctx)
		switch {
		case err != nil:
			return e.cancelled(ctx)
		case closeFired:
			closing, err := e.closeWhenDue(ctx)
			if err != nil {
				return e.cancelled(ctx)
			}
			if closing {
				return e.close(ctx)
			}
		case e.continueDue(ctx) && e.readyToContinue(ctx):
			return e.state, e.continueAsNew(ctx, in)
		}
	}
}

// listen answers the run's queries and opens its signal channels.
func (e *entity) listen(ctx workflow.Context) error {
	if e.does.holdForSlow {
		e.wake = workflow.NewBufferedChannel(ctx, 1)
	}
	if err := workflow.SetQueryHandler(ctx, QueryState, func() (State, error) { return e.state, nil }); err != nil {
		return fmt.Errorf("register query: %w", err)
	}
	if err := workflow.SetQueryHandler(ctx, QuerySnapshot, func() (Snapshot, error) { return e.snapshot(ctx), nil }); err != nil {
		return fmt.Errorf("register query: %w", err)
	}
	e.events = workflow.GetSignalChannel(ctx, SignalWebhookEvent)
	e.reprocess = workflow.GetSignalChannel(ctx, SignalReprocess)
	e.redelivers = workflow.GetSignalChannel(ctx, SignalRedeliver)
	return nil
}

// entity is the workflow's working state.
type entity struct {
	// record is the entity's state, which runs hand on (state.go).
	record
	in        EntityInput
	does      behaviour // what the run's revision does, see behaviourOf
	tenant    string    // the entity's tenant (tenantOf); "" for the default tenant
	kind      lifecycle.Table
	linger    time.Duration
	idle      time.Duration // 0: never close while not terminal
	notFound  time.Duration
	maxEvents int
	// published is the EntityStatus last upserted (revision 1).
	published string
	// traces are the trace contexts of the events whose transitions are
	// pending delivery, by seq: each delivery joins its event's trace. Kept
	// in memory only: a delivery after continue-as-new starts its own.
	traces map[int]string
	// deliveryFailed is the DeliveryFailed search attribute as published.
	deliveryFailed bool
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
	// turns counts the waits that handled a signal or a timer (see
	// continueDue).
	turns int
	// taken counts the events taken since the run last let a workflow
	// task complete (see breathe).
	taken int
	// The run's timers: the close (linger or idle), the reconcile check
	// and the overdue alarm.
	clock   closeClock
	checks  reconcileClock
	overdue alarm
	// summarized is the summary last published in the memo.
	summarized Snapshot
	// unloaded is the previous run named in the input while its state is
	// not loaded yet.
	unloaded string
}

// tenantOf is the tenant of the run's entity (contract section 17), read
// from its workflow ID, which names the tenant for every run a tenant's
// entity ever had; "" for the default tenant, and for a run whose ID is
// not its entity's (the testsuite's).
func tenantOf(ctx workflow.Context, in EntityInput) string {
	tenant, provider, entityType, entityID, ok := event.ParseTenantWorkflowID(workflow.GetInfo(ctx).WorkflowExecution.ID)
	if !ok || provider != in.Provider || entityType != in.EntityType || entityID != in.EntityID {
		return ""
	}
	return tenant
}

func newEntity(in EntityInput) *entity {
	kind, _ := tableOf(in)
	e := &entity{
		record: record{
			state:  State{Provider: in.Provider, EntityType: in.EntityType, EntityID: in.EntityID},
			memory: newMemory(),
			bodies: map[int]json.RawMessage{},
		},
		in:        in,
		does:      behaviourOf(in.Revision),
		kind:      kind,
		maxHeld:   in.MaxHeld,
		unloaded:  in.PreviousRunID,
		traces:    map[int]string{},
		linger:    in.Linger,
		idle:      in.IdleTimeout,
		notFound:  in.NotFoundWindow,
		maxEvents: in.MaxEventsPerRun,
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
	e.memory.chunked = e.does.chunkedMemory
	if in.Carry != nil {
		e.takeCarry(*in.Carry)
		e.deliveryFailed = e.failedDeliveries() > 0 // carried over with the search attributes
		e.published = e.state.Status                // search attributes are carried over too
		e.publishedOverdue = e.state.Overdue
		e.summarized = e.summary() // the memo is carried over too
	}
	return e
}
