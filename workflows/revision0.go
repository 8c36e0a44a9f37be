package workflows

import (
	"encoding/json"
	"errors"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/hookflow/hookflow/activities"
)

// Change IDs of workflow.GetVersion, one per behaviour change that running
// workflows must replay around. They guard runs of Revision 0 only.
const (
	// changeStaleByProviderTime: late deliveries judged by provider time.
	changeStaleByProviderTime = "stale-by-provider-time"
	// changeIdleClose: a non-terminal entity closes after IdleTimeout.
	changeIdleClose = "idle-close"
)

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

// fetchStatus asks the provider API for the entity's status with a regular
// activity (revision 0), retrying transient failures durably until it
// answers.
func (e *entity) fetchStatus(ctx workflow.Context) (string, error) {
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout:    30 * time.Second,
		ScheduleToCloseTimeout: 24 * time.Hour,
		RetryPolicy:            apiRetry,
	})
	var out activities.OrderStatus
	if err := workflow.ExecuteActivity(actx, activities.BuiltInOrderRead, activities.FetchOrderInput{OrderID: e.state.EntityID}).Get(ctx, &out); err != nil {
		return "", errors.New(cause(err))
	}
	e.state.LastError = ""
	return out.Status, nil
}

// idleCloseVersion reports whether a revision 0 run closes when idle: runs
// recorded before idle closing replay without it.
func idleCloseVersion(ctx workflow.Context) bool {
	return workflow.GetVersion(ctx, changeIdleClose, workflow.DefaultVersion, 1) >= 1
}

// staleByProviderTimeVersion reports whether a revision 0 run judges a
// late delivery by provider time. The version marker is recorded only
// where the rule decides, so runs that applied such moves before the rule
// existed replay as they ran.
func staleByProviderTimeVersion(ctx workflow.Context) bool {
	return workflow.GetVersion(ctx, changeStaleByProviderTime, workflow.DefaultVersion, 1) >= 1
}

// beginRevision0 sets a revision 0 run up: a new run (not a continuation)
// loads the latest closed run through visibility, and every run publishes
// its identifying search attributes.
func (e *entity) beginRevision0(ctx workflow.Context) {
	if e.in.Carry == nil {
		e.loadLatest(ctx)
	}
	e.publish(ctx)
}

// addLingerPerWait adds a revision 0 run's linger timer to sel: one per
// wait, cancelled after it (afterSelect) unless it fired, and the idle
// timer cancelled at the terminal status.
func (e *entity) addLingerPerWait(ctx workflow.Context, sel workflow.Selector, c *closeClock, fired *bool) {
	if c.idle != nil {
		c.cancelIdle()
		c.idle = nil
	}
	timerCtx, cancel := workflow.WithCancel(ctx)
	c.cancelWait = cancel
	sel.AddFuture(workflow.NewTimer(timerCtx, e.lingerLeft(ctx)), func(workflow.Future) { *fired, c.lingerElapsed = true, true })
}
