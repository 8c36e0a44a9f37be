package workflows

import (
	"encoding/binary"
	"errors"
	"hash/fnv"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/hookflow/hookflow/activities"
	"github.com/hookflow/hookflow/event"
)

// Reconciling (revision 2, contract section 13): while its run is open and
// its status is not terminal, an entity whose provider has an API re-reads
// it on EntityInput.Reconcile, measured from the last event or check, so a
// webhook that never came still moves it. One timer at a time (an alarm:
// replaced only when an event after a long step brings the next check
// earlier), so events add no timer commands; the read runs beside the
// event loop, so an event that arrives during a check is handled at once,
// and the ranking rules judge the check's answer against what the event
// did.

// MetricReconcileChecks counts reconcile checks, tagged provider and outcome
// (changed, unchanged, not_found, ignored, error).
const MetricReconcileChecks = "hookflow_reconcile_checks_total"

// reconcileTimeout bounds one check's retries through an API outage (and
// its wait in the rate-limited queue); past it the error is recorded and
// the schedule goes on.
const reconcileTimeout = time.Hour

// reconcileClock is the run's one reconcile timer and its check in flight.
type reconcileClock struct {
	timer alarm           // fires at (or before) the next check
	check workflow.Future // the read in flight
}

// reconciles says whether the entity is re-read at all now.
func (e *entity) reconciles() bool {
	return e.does.reconcile && e.kind.API && len(e.in.Reconcile) > 0 && !e.state.Terminal
}

// nextCheck is when the next check is due: the step after the last event
// or check, lengthened by up to 10%, drawn from the workflow ID and that
// instant, so the same run always draws the same and a burst of entities
// spreads out.
func (e *entity) nextCheck() time.Time {
	steps := e.in.Reconcile
	step := steps[min(e.checkStep, len(steps)-1)]
	h := fnv.New64a()
	_, _ = h.Write([]byte(event.WorkflowID(e.state.Provider, e.state.EntityType, e.state.EntityID)))
	_, _ = h.Write(binary.LittleEndian.AppendUint64(nil, uint64(e.checkFrom.UnixNano())))
	jitter := time.Duration(float64(step) * float64(h.Sum64()%1000) / 10000)
	return e.checkFrom.Add(step + jitter)
}

// resetChecks restarts the schedule from its first step: an event or a
// reprocess has just read the entity.
func (e *entity) resetChecks(ctx workflow.Context) {
	if e.does.reconcile {
		e.checkFrom, e.checkStep = workflow.Now(ctx), 0
	}
}

// addReconcile adds the reconcile timer or the check in flight to sel.
func (e *entity) addReconcile(ctx workflow.Context, sel workflow.Selector, c *reconcileClock) {
	if c.check != nil {
		sel.AddFuture(c.check, func(f workflow.Future) {
			c.check = nil
			e.onCheck(ctx, f)
		})
		return
	}
	if !e.reconciles() {
		return
	}
	if e.checkFrom.IsZero() {
		e.checkFrom = workflow.Now(ctx)
	}
	c.timer.add(ctx, sel, e.nextCheck(), func() {
		if e.reconciles() && !workflow.Now(ctx).Before(e.nextCheck()) {
			c.check = e.startCheck(ctx)
		}
	})
}

// startCheck starts the read, on the provider's rate-limited reconcile
// queue (a regular activity: the limit holds across all workers).
func (e *entity) startCheck(ctx workflow.Context) workflow.Future {
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		TaskQueue:              e.in.ReconcileQueue,
		StartToCloseTimeout:    30 * time.Second,
		ScheduleToCloseTimeout: reconcileTimeout,
		RetryPolicy:            apiRetry,
	})
	read, in := e.apiRead()
	return workflow.ExecuteActivity(actx, read, in)
}

// onCheck applies a check's answer: a changed status as one transition with
// source reconcile, ranked like any event; an unchanged one records only
// the check's time. A failed read is recorded in LastError and never moves
// the entity; the schedule goes on either way.
func (e *entity) onCheck(ctx workflow.Context, f workflow.Future) {
	var out activities.OrderStatus
	err := f.Get(ctx, &out)
	now := workflow.Now(ctx)
	e.checkFrom, e.checkStep = now, e.checkStep+1
	outcome := "unchanged"
	var app *temporal.ApplicationError
	switch {
	case errors.As(err, &app) && app.Type() == activities.ErrOrderNotFound:
		outcome = "not_found" // the API does not know it (yet): nothing to say
	case err != nil:
		outcome = "error"
		e.state.LastError = reconcileErrorPrefix + cause(err)
		e.details(ctx)
	default:
		e.state.LastReconciledAt = now
		if strings.HasPrefix(e.state.LastError, reconcileErrorPrefix) {
			e.state.LastError = ""
		}
		if out.Status == e.state.Status {
			break
		}
		v := e.apply(ctx, out.Status, event.Transition{EventID: "reconcile:" + now.UTC().Format(time.RFC3339), Source: "reconcile"})
		if v != Apply {
			outcome = "ignored"
			if v == Unknown {
				e.state.LastError = reconcileErrorPrefix + "the API answered status " + clip(out.Status) + ", unknown to the state table"
			}
			break
		}
		outcome = "changed"
		e.enqueue(ctx, e.state.Sequence, nil)
		e.saveTransition(ctx)
	}
	workflow.GetMetricsHandler(ctx).WithTags(map[string]string{"provider": e.state.Provider, "outcome": outcome}).
		Counter(MetricReconcileChecks).Inc(1)
}

// reconcileErrorPrefix marks the LastError a check left, which the next
// good check clears.
const reconcileErrorPrefix = "reconcile: "

// clip bounds an API-supplied value kept in the state.
func clip(s string) string {
	const max = 64
	if len(s) > max {
		s = strings.ToValidUTF8(s[:max], "") + "…"
	}
	return s
}
