package workflows

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/hookflow/hookflow/activities"
)

// begin sets the run up: a continuation has its state in its input; a
// reopened entity loads the run it names; a brand-new one has nothing to
// load (its start already set its identifying search attributes).
func (e *entity) begin(ctx workflow.Context) {
	switch {
	case !e.does.loadByName:
		e.beginRevision0(ctx)
	case e.in.Carry != nil:
		e.details(ctx)
		if _, ok := workflow.GetInfo(ctx).Memo.GetFields()[MemoKey]; !ok && e.does.memoSnapshot {
			// Continued from a revision 0 run, which kept no snapshot while
			// open: leave one now, so a terminate still leaves the state.
			if err := e.save(ctx); err != nil {
				workflow.GetLogger(ctx).Error("save snapshot", "error", err)
			}
		}
	case e.in.PreviousRunID != "" && e.does.finishOnCancel:
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
	if e.does.querySnapshot {
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

// save upserts the snapshot into the run's memo.
func (e *entity) save(ctx workflow.Context) error {
	if err := workflow.UpsertMemo(ctx, map[string]any{MemoKey: e.snapshot(ctx)}); err != nil {
		return fmt.Errorf("save snapshot: %w", err)
	}
	return nil
}

// saveTransition leaves the state after an applied transition in the memo
// (revision 1), so a run terminated or reset later still leaves it.
func (e *entity) saveTransition(ctx workflow.Context) {
	if !e.does.memoPerTransition {
		return
	}
	if err := e.save(ctx); err != nil {
		workflow.GetLogger(ctx).Error("save snapshot", "error", err)
	}
}
