package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// cancelled closes the run for an operator's cancel (the Temporal UI's or
// CLI's): the signals already delivered are handled, nothing spins, and
// the run ends Canceled. Pending deliveries stay in the state, which the
// entity's next run loads (QuerySnapshot) and goes on from, as after any
// close.
func (e *entity) cancelled(ctx workflow.Context) (State, error) {
	dctx, _ := workflow.NewDisconnectedContext(ctx)
	e.forced = true
	e.drain(dctx)
	e.flush(dctx)
	if e.does.memoSnapshot {
		if err := e.save(dctx); err != nil {
			workflow.GetLogger(ctx).Error("save snapshot", "error", err)
		}
	}
	workflow.GetLogger(ctx).Info("entity cancelled by an operator; its next event reopens it")
	return e.state, temporal.NewCanceledError("cancelled by an operator; the next event reopens the entity with its state")
}

// closeWhenDue follows the close timer's firing, and reports whether the
// run closes now. Signals that came with the timer are handled first; they
// may have moved the close. Nor does the run close before every delivery
// that can go has gone: it waits for them, or for a signal to handle
// first, and err is set when it is cancelled meanwhile.
func (e *entity) closeWhenDue(ctx workflow.Context) (closing bool, err error) {
	e.drain(ctx)
	if !e.closeDue(ctx, e.clock) {
		return false, nil
	}
	if !e.deliveriesBusy() {
		return true, nil
	}
	return false, workflow.Await(ctx, func() bool {
		return !e.deliveriesBusy() || e.pendingSignals() > 0
	})
}

// close completes the run with what changed published; a run that keeps
// its snapshot in its memo leaves it there.
func (e *entity) close(ctx workflow.Context) (State, error) {
	e.flush(ctx)
	if !e.does.memoSnapshot {
		return e.state, nil
	}
	return e.state, e.save(ctx)
}

// closeClock holds the timers a run may close on: the linger after a
// terminal status, the idle timeout otherwise. There is one of each at a
// time, re-armed only when it fires early, so events add no timer commands
// to the history (revision 0 runs replay a linger timer per wait, and an
// idle timer cancelled at the terminal status).
type closeClock struct {
	idleCloses    bool
	idle, linger  workflow.Future
	cancelIdle    func()
	cancelWait    func() // revision 0: the linger timer of this wait
	lingerElapsed bool   // which timer fired last
}

// addCloseTimer adds the timer the run would close on now to sel, and
// returns the flag set when it fires.
func (e *entity) addCloseTimer(ctx workflow.Context, sel workflow.Selector, c *closeClock) *bool {
	fired := new(bool)
	c.cancelWait = func() {}
	switch {
	case e.state.Terminal && e.does.oneLingerTimer:
		if c.linger == nil {
			c.linger = workflow.NewTimer(ctx, e.lingerLeft(ctx))
		}
		sel.AddFuture(c.linger, func(workflow.Future) { *fired, c.linger, c.lingerElapsed = true, nil, true })
	case e.state.Terminal:
		e.addLingerPerWait(ctx, sel, c, fired)
	case c.idleCloses:
		if c.idle == nil {
			idleCtx, cancel := workflow.WithCancel(ctx)
			c.idle, c.cancelIdle = workflow.NewTimer(idleCtx, e.idleLeft(ctx)), cancel
		}
		sel.AddFuture(c.idle, func(workflow.Future) { *fired, c.idle, c.lingerElapsed = true, nil, false })
	}
	return fired
}

// afterSelect cancels a revision 0 linger timer that did not fire.
func (c *closeClock) afterSelect() { c.cancelWait() }

// closeDue reports whether the timer that fired still closes the run.
func (e *entity) closeDue(ctx workflow.Context, c closeClock) bool {
	if c.lingerElapsed {
		return e.state.Terminal && e.lingerLeft(ctx) <= 0
	}
	return !e.state.Terminal && e.idleLeft(ctx) <= 0
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
