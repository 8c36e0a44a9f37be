package workflows

import (
	"time"

	"go.temporal.io/sdk/workflow"
)

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
	if !e.does.boundedTasks {
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
