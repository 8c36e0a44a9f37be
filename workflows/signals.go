package workflows

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"
	"unicode/utf8"

	"go.temporal.io/sdk/workflow"

	"github.com/hookflow/hookflow/event"
)

// Signals come from the receivers, from `hookflow reprocess` and
// `redeliver`, and from anyone with the Temporal UI or CLI: the workflow
// takes whatever arrives. Each signal is received without blocking as raw
// JSON and decoded here, so a payload that cannot be decoded never stalls a
// Receive (the SDK drops undecodable values and would wait for the next
// one). A payload that is not what its signal carries, or a webhook event
// without an event ID, its entity or a status, is rejected: counted in
// MetricSignalsRejected and State.Rejected, the latest kept in
// State.Rejections, and never counted as processed.

// MetricSignalsRejected counts signals the entity dropped, tagged signal.
const MetricSignalsRejected = "hookflow_signals_rejected_total"

// Rejection is a signal the entity dropped, and why.
type Rejection struct {
	Signal string    `json:"signal"`
	Reason string    `json:"reason"`
	At     time.Time `json:"at"`
}

// Bounds of what a signal brings into the state. Receivers refuse longer
// identifiers (contract section 3), so only a hand-made signal meets them.
const (
	maxRejections     = 8   // rejections kept in State
	maxEventIDBytes   = 512 // as the receivers' bound
	maxStatusBytes    = 128
	maxFieldBytes     = 128 // event type, provider time
	maxAttributes     = 16
	maxAttributeBytes = 256 // each attribute's key and value
	maxTextBytes      = 512 // error text and answers kept in State
	maxBodyBytes      = 1 << 20
)

// takeSignal receives the next value of c as JSON without blocking. ok is
// false when the SDK could not decode the payload at all (it drops it).
func takeSignal(c workflow.ReceiveChannel) (raw json.RawMessage, ok bool) {
	return raw, c.ReceiveAsync(&raw) && len(raw) > 0
}

// decodeSignal decodes a signal's JSON into T.
func decodeSignal[T any](raw json.RawMessage) (T, error) {
	var v T
	// encoding/json is deterministic for these plain structs;
	// workflowcheck flags its reflection caches.
	//workflowcheck:ignore
	if err := json.Unmarshal(raw, &v); err != nil {
		return v, fmt.Errorf("payload is not a %T: %s", v, clipTo(err.Error(), 200))
	}
	return v, nil
}

// receiveEvent takes the next webhook event off c; false when it was
// rejected (and recorded) instead.
func (e *entity) receiveEvent(ctx workflow.Context, c workflow.ReceiveChannel) (event.Event, bool) {
	raw, ok := takeSignal(c)
	if !ok {
		e.reject(ctx, SignalWebhookEvent, "payload could not be decoded")
		return event.Event{}, false
	}
	ev, err := decodeSignal[event.Event](raw)
	if err == nil {
		err = e.checkEvent(ev)
	}
	if err != nil {
		e.reject(ctx, SignalWebhookEvent, err.Error())
		return event.Event{}, false
	}
	return boundEvent(ev), true
}

// receiveReprocess takes the next reprocess request off c.
func (e *entity) receiveReprocess(ctx workflow.Context, c workflow.ReceiveChannel) (ReprocessRequest, bool) {
	return receiveRequest[ReprocessRequest](ctx, e, SignalReprocess, c)
}

// receiveRedeliver takes the next redeliver request off c.
func (e *entity) receiveRedeliver(ctx workflow.Context, c workflow.ReceiveChannel) (RedeliverRequest, bool) {
	return receiveRequest[RedeliverRequest](ctx, e, SignalRedeliver, c)
}

func receiveRequest[T any](ctx workflow.Context, e *entity, name string, c workflow.ReceiveChannel) (T, bool) {
	var zero T
	raw, ok := takeSignal(c)
	if !ok {
		e.reject(ctx, name, "payload could not be decoded")
		return zero, false
	}
	r, err := decodeSignal[T](raw)
	if err != nil {
		e.reject(ctx, name, err.Error())
		return zero, false
	}
	return r, true
}

// errBadEvent marks a webhook event the entity cannot apply.
var errBadEvent = errors.New("webhook event")

// checkEvent says why ev cannot be applied to this entity, or nil.
func (e *entity) checkEvent(ev event.Event) error {
	switch {
	case ev.ID == "":
		return fmt.Errorf("%w without an event ID", errBadEvent)
	case len(ev.ID) > maxEventIDBytes:
		return fmt.Errorf("%w ID over %d bytes", errBadEvent, maxEventIDBytes)
	case ev.Status == "":
		return fmt.Errorf("%w %s without a status", errBadEvent, clipTo(ev.ID, 64))
	case len(ev.Status) > maxStatusBytes:
		return fmt.Errorf("%w %s: status over %d bytes", errBadEvent, clipTo(ev.ID, 64), maxStatusBytes)
	case ev.EntityID != e.state.EntityID:
		return fmt.Errorf("%w %s is for entity %q, not this one", errBadEvent, clipTo(ev.ID, 64), clipTo(ev.EntityID, 64))
	case len(ev.Body) > maxBodyBytes:
		return fmt.Errorf("%w %s: body over %d bytes", errBadEvent, clipTo(ev.ID, 64), maxBodyBytes)
	}
	return nil
}

// boundEvent caps what an accepted event brings into the state: its
// descriptive fields and its attributes (in key order, so the same event
// always keeps the same ones).
func boundEvent(ev event.Event) event.Event {
	ev.Type = clipTo(ev.Type, maxFieldBytes)
	ev.ProviderTime = clipTo(ev.ProviderTime, maxFieldBytes)
	ev.RequestID = clipTo(ev.RequestID, maxFieldBytes)
	ev.TraceParent = clipTo(ev.TraceParent, maxFieldBytes)
	if len(ev.Attributes) == 0 {
		return ev
	}
	keys := sortedKeys(ev.Attributes)
	kept := make(map[string]string, min(len(keys), maxAttributes))
	for _, k := range keys {
		if len(kept) == maxAttributes {
			break
		}
		kept[clipTo(k, maxAttributeBytes)] = clipTo(ev.Attributes[k], maxAttributeBytes)
	}
	ev.Attributes = kept
	return ev
}

// reject records a dropped signal.
func (e *entity) reject(ctx workflow.Context, signal, reason string) {
	e.state.Rejected++
	e.state.Rejections = append(e.state.Rejections, Rejection{Signal: signal, Reason: clipTo(reason, maxTextBytes), At: workflow.Now(ctx)})
	if n := len(e.state.Rejections); n > maxRejections {
		e.state.Rejections = append([]Rejection(nil), e.state.Rejections[n-maxRejections:]...)
	}
	workflow.GetMetricsHandler(ctx).WithTags(map[string]string{"signal": signal}).Counter(MetricSignalsRejected).Inc(1)
	workflow.GetLogger(ctx).Warn("signal rejected", "signal", signal, "reason", clipTo(reason, 200))
}

// clipTo bounds text from outside (a provider, a destination, an API, a
// signal) kept in the state to n bytes, cut on a UTF-8 boundary.
func clipTo(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n - len("…")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// sortedKeys is m's keys in order: a map is never ranged over for its
// order in workflow code.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	//workflowcheck:ignore
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// ReprocessRequest is the payload of SignalReprocess.
type ReprocessRequest struct {
	RequestID string // names the request in the recorded transition
	Reason    string
}
