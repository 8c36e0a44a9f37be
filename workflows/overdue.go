package workflows

import (
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/hookflow/hookflow/event"
)

// Overdue (revision 2, contract section 13): an entity still in a status
// past that status's deadline (EntityInput.Overdue) is flagged once per
// status it enters: search attribute Overdue true, an entity.overdue
// delivery with its own seq, MetricEntitiesOverdue, and the UI details and
// status saying since when. The next transition clears it.

// MetricEntitiesOverdue counts entities flagged overdue, tagged provider and
// status: once per entity and status entered.
const MetricEntitiesOverdue = "hookflow_entities_overdue_total"

// Notice is a delivered event that is not a transition: an entity.overdue.
// It takes the next seq, shared with transitions, so its webhook-id is its
// own.
type Notice struct {
	Seq    int       `json:"seq"`
	Type   string    `json:"type"` // event.OverdueType
	Status string    `json:"status"`
	Since  time.Time `json:"since"` // the deadline that passed
	At     time.Time `json:"at"`
}

// maxNotices bounds the notices kept for delivery.
const maxNotices = 8

// overdueAt is when the current status becomes overdue, and false when it
// has no deadline, is terminal, or was already flagged.
func (e *entity) overdueAt() (time.Time, bool) {
	d, ok := e.in.Overdue[e.state.Status]
	ts := e.state.Transitions
	if !e.does.overdue || !ok || d <= 0 || e.state.Terminal || e.state.Overdue || len(ts) == 0 || ts[len(ts)-1].To != e.state.Status {
		return time.Time{}, false
	}
	return ts[len(ts)-1].At.Add(d), true
}

// addOverdue adds the overdue alarm of the current status to sel.
func (e *entity) addOverdue(ctx workflow.Context, sel workflow.Selector, a *alarm) {
	at, ok := e.overdueAt()
	if !ok {
		return
	}
	a.add(ctx, sel, at, func() {
		if at, ok := e.overdueAt(); ok && !workflow.Now(ctx).Before(at) {
			e.flagOverdue(ctx, at)
		}
	})
}

// flagOverdue flags the entity overdue in its status since the deadline at.
func (e *entity) flagOverdue(ctx workflow.Context, since time.Time) {
	e.state.Overdue, e.state.OverdueSince = true, since
	if !e.does.publishPerTask { // revision 3: flush publishes it
		if err := workflow.UpsertTypedSearchAttributes(ctx, OverdueKey.ValueSet(true)); err != nil {
			workflow.GetLogger(ctx).Error("upsert search attributes", "error", err)
		}
	}
	workflow.GetMetricsHandler(ctx).WithTags(map[string]string{"provider": e.state.Provider, "status": e.state.Status}).
		Counter(MetricEntitiesOverdue).Inc(1)
	if len(e.in.Targets) > 0 {
		e.state.Sequence++
		e.state.Notices = append(e.state.Notices, Notice{
			Seq: e.state.Sequence, Type: event.OverdueType, Status: e.state.Status, Since: since, At: workflow.Now(ctx),
		})
		if n := len(e.state.Notices); n > maxNotices {
			e.state.Notices = e.state.Notices[n-maxNotices:]
		}
		e.enqueue(ctx, e.state.Sequence, nil)
	}
	e.details(ctx)
	e.saveTransition(ctx)
}

// clearOverdue clears the flag at a transition.
func (e *entity) clearOverdue(ctx workflow.Context) {
	if !e.state.Overdue {
		return
	}
	e.state.Overdue, e.state.OverdueSince = false, time.Time{}
	if e.does.publishPerTask {
		return // flush publishes it
	}
	if err := workflow.UpsertTypedSearchAttributes(ctx, OverdueKey.ValueSet(false)); err != nil {
		workflow.GetLogger(ctx).Error("upsert search attributes", "error", err)
	}
}

// notice finds the notice of seq.
func (e *entity) notice(seq int) (Notice, bool) {
	for _, n := range e.state.Notices {
		if n.Seq == seq {
			return n, true
		}
	}
	return Notice{}, false
}
