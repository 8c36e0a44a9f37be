package workflows

import (
	"go.temporal.io/sdk/workflow"
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

// continueDue reports whether the run should continue as new now: after
// MaxEventsPerRun turns, when the server suggests it, and (revision 3) when
// the history passes canHistoryEvents or canHistoryBytes. A run whose
// events wait for a slow destination goes on until they are taken, up to
// the hard bounds; past those its drain takes them, forced.
func (e *entity) continueDue(ctx workflow.Context) bool {
	info := workflow.GetInfo(ctx)
	due := e.turns >= e.maxEvents || info.GetContinueAsNewSuggested()
	if !e.does.continueOnHistory {
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

// readyToContinue handles the signals already delivered, so none is left
// behind, and reports whether the run can continue as new now.
func (e *entity) readyToContinue(ctx workflow.Context) bool {
	e.drain(ctx)
	if e.events.Len() > 0 && !e.forced {
		// Taking them filled a slow destination's share: the run goes on
		// until it has taken every event it was handed (a continuation
		// would leave them behind).
		return false
	}
	e.flush(ctx)
	return true
}

// continueAsNew hands the run's state to a new run of the same entity.
func (e *entity) continueAsNew(ctx workflow.Context, in EntityInput) error {
	next := in
	next.Revision, next.PreviousRunID = Revision, ""
	// The continuation follows this run's table, also when it came from
	// tables-before-input.json: from there on it is in the input.
	next.Table = &e.kind
	next.Carry = e.carry()
	if e.does.memoPerTransition {
		// The continuation starts with this run's memo: leave it current.
		if err := e.save(ctx); err != nil {
			return err
		}
	}
	return workflow.NewContinueAsNewError(ctx, Entity, next)
}
