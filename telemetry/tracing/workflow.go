package tracing

import (
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/workflow"
)

// An entity workflow lives for many events: the SDK's interceptor would make
// every activity a child of the run's first trace. WithEvent puts an event's
// own trace context on the workflow context, so the provider read and the
// deliveries of that event join its trace.

// spanKey is where the tracing interceptor keeps the current span on a
// workflow.Context (TracerOptions.SpanContextKey).
type spanKey struct{}

// eventParent is an event's trace context, as the receiver's span wrote it:
// a span to the interceptor (it only reads it as a parent), turned into the
// SDK tracer's own parent reference by eventTracer.
type eventParent string

// Finish is a no-op: the span it stands for, the receiver's, is ended there.
func (eventParent) Finish(*interceptor.TracerFinishSpanOptions) {}

// WithEvent returns ctx with traceparent as the parent of the spans started
// from it (activities, local activities). "" leaves ctx as it is. It changes
// no command: workflows stay deterministic, and on replay the interceptor
// starts no span at all.
func WithEvent(ctx workflow.Context, traceparent string) workflow.Context {
	if traceparent == "" {
		return ctx
	}
	return workflow.WithValue(ctx, spanKey{}, eventParent(traceparent))
}

// eventTracer is the SDK's OpenTelemetry tracer, reading an eventParent as
// the parent it stands for.
type eventTracer struct{ interceptor.Tracer }

func (t eventTracer) StartSpan(opts *interceptor.TracerStartSpanOptions) (interceptor.TracerSpan, error) {
	if p, ok := opts.Parent.(eventParent); ok {
		ref, err := t.UnmarshalSpan(map[string]string{"traceparent": string(p)})
		if err != nil {
			ref = nil // a malformed trace context starts a new trace
		}
		opts.Parent = ref
	}
	return t.Tracer.StartSpan(opts)
}
