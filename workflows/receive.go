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

// next waits for the next signal or timer and handles it. closeFired is
// set when it was the close timer (the caller decides whether the run
// closes); err when the run was cancelled.
func (e *entity) next(ctx workflow.Context) (closeFired bool, err error) {
	if e.quiet() {
		e.flush(ctx)
	}
	if err := e.breathe(ctx); err != nil {
		return false, err
	}
	sel := workflow.NewSelector(ctx)
	if !e.holding() {
		sel.AddReceive(e.events, func(c workflow.ReceiveChannel, _ bool) { e.takeEvent(ctx, c) })
	}
	sel.AddReceive(e.reprocess, func(c workflow.ReceiveChannel, _ bool) { e.takeReprocess(ctx, c) })
	sel.AddReceive(e.redelivers, func(c workflow.ReceiveChannel, _ bool) {
		if r, ok := e.receiveRedeliver(ctx, c); ok {
			e.lastActivity = workflow.Now(ctx)
			e.redeliver(ctx, r.Destination)
		}
	})
	woke := false // only a delivery finished
	if e.wake != nil {
		sel.AddReceive(e.wake, func(c workflow.ReceiveChannel, _ bool) { woke = c.ReceiveAsync(nil) })
	}
	cancelled := false
	sel.AddReceive(ctx.Done(), func(workflow.ReceiveChannel, bool) { cancelled = true })
	e.addReconcile(ctx, sel, &e.checks)
	e.addOverdue(ctx, sel, &e.overdue)
	fired := e.addCloseTimer(ctx, sel, &e.clock)
	sel.Select(ctx)
	e.clock.afterSelect()
	if !woke {
		e.turns++
	}
	if cancelled || ctx.Err() != nil {
		return false, workflow.ErrCanceled
	}
	return *fired, nil
}

// takeEvent takes the next webhook event off c and handles it.
func (e *entity) takeEvent(ctx workflow.Context, c workflow.ReceiveChannel) {
	e.taken++
	if ev, ok := e.receiveEvent(ctx, c); ok {
		e.onEvent(ctx, ev)
	}
}

// takeReprocess takes the next reprocess request off c and handles it.
func (e *entity) takeReprocess(ctx workflow.Context, c workflow.ReceiveChannel) {
	if r, ok := e.receiveReprocess(ctx, c); ok {
		e.onReprocess(ctx, r)
	}
}

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
			took++
			e.takeEvent(ctx, e.events)
		case e.reprocess.Len() > 0:
			e.takeReprocess(ctx, e.reprocess)
		case e.redelivers.Len() > 0:
			if r, ok := e.receiveRedeliver(ctx, e.redelivers); ok {
				e.redeliver(ctx, r.Destination)
			}
		default:
			return
		}
	}
}
