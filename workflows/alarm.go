package workflows

import (
	"time"

	"go.temporal.io/sdk/workflow"
)

// alarm is one durable timer toward an instant that moves: kept when the
// instant moves later (it fires early and the caller re-arms it), replaced
// only when the instant moves earlier. So a run holds one timer per purpose,
// and events that push the instant back add no timer commands.
type alarm struct {
	timer  workflow.Future
	at     time.Time
	cancel workflow.CancelFunc
}

// add arms the alarm for at and adds it to sel; fired runs when the timer
// fires (the caller checks whether its instant has come).
func (a *alarm) add(ctx workflow.Context, sel workflow.Selector, at time.Time, fired func()) {
	if a.timer != nil && at.Before(a.at) {
		a.cancel()
		a.timer = nil
	}
	if a.timer == nil {
		tctx, cancel := workflow.WithCancel(ctx)
		a.timer, a.at, a.cancel = workflow.NewTimer(tctx, max(at.Sub(workflow.Now(ctx)), time.Millisecond)), at, cancel
	}
	sel.AddFuture(a.timer, func(workflow.Future) {
		a.timer = nil
		fired()
	})
}
