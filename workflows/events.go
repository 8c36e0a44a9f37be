package workflows

import (
	"go.temporal.io/sdk/workflow"

	"github.com/hookflow/hookflow/event"
	"github.com/hookflow/hookflow/telemetry/tracing"
)

// onEvent applies one delivery, once. An event counts as processed only
// when its handling has finished: one whose provider API read failed for
// good is not remembered, so its redelivery is handled afresh.
func (e *entity) onEvent(ctx workflow.Context, ev event.Event) {
	ctx = tracing.WithEvent(ctx, ev.TraceParent)
	e.lastActivity = workflow.Now(ctx)
	if e.holds(ev) {
		e.state.Duplicates++
		e.received(ctx, ev, "duplicate")
		return
	}
	if e.does.chunkedMemory && e.forgotten(ev) {
		// Older than IDs the memory has forgotten: a redelivery of one of
		// them, however late, is never applied twice.
		e.remember(ev)
		e.received(ctx, ev, string(Stale))
		return
	}
	if !e.does.rememberHandled {
		e.memory.add(ev.ID)
		e.state.Processed++
	}
	e.resetChecks(ctx)
	status, source := ev.Status, "webhook"
	if e.kind.API {
		rctx := ctx
		if e.does.finishOnCancel {
			// An operator's cancel waits for the read in hand: the event
			// was acknowledged and is handled before the run closes.
			rctx, _ = workflow.NewDisconnectedContext(ctx)
		}
		current, fellBack, err := e.readStatus(rctx, ev)
		if err != nil {
			e.state.LastError = err.Error()
			e.details(ctx)
			e.received(ctx, ev, "error")
			return
		}
		if !fellBack {
			status, source = current, "api"
		}
	}
	if e.does.rememberHandled {
		e.remember(ev)
	}
	v := e.apply(ctx, status, event.Transition{
		EventID: ev.ID, Source: source, ProviderTime: ev.ProviderTime, Details: ev.Attributes,
	})
	e.received(ctx, ev, string(v))
	if v == Apply {
		e.enqueue(ctx, e.state.Sequence, ev.Body)
		if ev.TraceParent != "" && len(e.in.Targets) > 0 {
			e.traces[e.state.Sequence] = ev.TraceParent
		}
		e.saveTransition(ctx)
	}
}

// onReprocess re-queries the provider API where there is one and re-applies
// the current state's handling; with nothing new it changes nothing.
func (e *entity) onReprocess(ctx workflow.Context, r ReprocessRequest) {
	e.lastActivity = workflow.Now(ctx)
	e.resetChecks(ctx)
	if e.kind.API {
		fetch := e.fetchStatus
		if e.does.localAPIRead {
			fetch = e.fetchLocal
		}
		current, err := fetch(ctx)
		if err != nil {
			e.state.LastError = clipTo(cause(err), maxTextBytes)
			e.details(ctx)
			return
		}
		e.state.LastError = ""
		if e.apply(ctx, current, event.Transition{EventID: "reprocess:" + r.RequestID, Source: "reprocess"}) == Apply {
			e.enqueue(ctx, e.state.Sequence, nil)
			e.saveTransition(ctx)
		}
	}
	e.resendCurrent(ctx)
	e.publish(ctx)
}

// apply moves the entity to status to when its table allows, records the
// transition (t names its cause: event ID, source, provider time, details)
// and publishes it to the search attributes.
func (e *entity) apply(ctx workflow.Context, to string, t event.Transition) Verdict {
	from := e.state.Status
	// After an interruption such as a shipment EXCEPTION, the entity is
	// judged by where it stood before it: it may resume there or go on, but
	// a stale older status still cannot move it back.
	judged := from
	if e.kind.Anytime[from] && e.state.ResumeFrom != "" {
		judged = e.state.ResumeFrom
	}
	v := e.kind.Allows(judged, to)
	if v == Same && judged != from {
		v = Apply
	}
	// Where rank cannot tell a late delivery from a new turn (leaving an
	// interruption, a retry, an interruption), the provider's clock does.
	rankBlind := judged != from || e.kind.Rankless(judged, to)
	if v == Apply && rankBlind && e.olderThanStatus(t.ProviderTime) &&
		(e.does.staleByProviderTime || staleByProviderTimeVersion(ctx)) {
		v = Stale
	}
	if v != Apply {
		return v
	}
	switch {
	case e.kind.Anytime[to] && !e.kind.Anytime[from]:
		e.state.ResumeFrom = from
	case !e.kind.Anytime[to]:
		e.state.ResumeFrom = ""
	}
	now := workflow.Now(ctx)
	e.state.Sequence++
	t.Seq, t.From, t.To, t.At = e.state.Sequence, e.state.Status, to, now
	e.state.Transitions = e.keepTransitions(append(e.state.Transitions, t))
	e.state.Status = to
	e.state.Terminal = e.kind.Terminal[to]
	e.clearOverdue(ctx)
	workflow.GetMetricsHandler(ctx).WithTags(map[string]string{"provider": e.state.Provider, "status": to}).
		Counter(MetricTransitionsApplied).Inc(1)
	if e.state.Terminal {
		e.terminalAt = now
	}
	e.publish(ctx)
	return Apply
}

// olderThanStatus reports whether the provider stamped an event at
// providerTime before the event that set the current status. Without both
// timestamps, readable, it cannot tell and says no.
func (e *entity) olderThanStatus(providerTime string) bool {
	ts := e.state.Transitions
	if len(ts) == 0 || ts[len(ts)-1].To != e.state.Status {
		return false
	}
	current, ok := providerInstant(ts[len(ts)-1].ProviderTime)
	if !ok {
		return false
	}
	at, ok := providerInstant(providerTime)
	return ok && at.Before(current)
}

// received records what became of a delivery, and counts it handled.
func (e *entity) received(ctx workflow.Context, ev event.Event, outcome string) {
	e.state.Events = keepLast(append(e.state.Events, event.Received{
		EventID: ev.ID, Type: ev.Type, Status: ev.Status, ReceivedAt: ev.ReceivedAt, Outcome: outcome, // bounded on receipt
	}), receivedBytes)
	workflow.GetMetricsHandler(ctx).WithTags(map[string]string{"provider": e.state.Provider, "outcome": outcome}).
		Counter(MetricEventsHandled).Inc(1)
}
