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
	var a *activities.Activities
	var out activities.OrderStatus
	if err := workflow.ExecuteActivity(actx, a.FetchPhoenixOrder, activities.FetchOrderInput{OrderID: e.state.EntityID}).Get(ctx, &out); err != nil {
		return "", errors.New(cause(err))
	}
	e.state.LastError = ""
	return out.Status, nil
}
