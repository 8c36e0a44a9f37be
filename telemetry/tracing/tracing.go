// Package tracing gives every hookflow process its OpenTelemetry traces:
// one trace per event, from the provider's POST (a child of its W3C
// traceparent) through SignalWithStart, the entity workflow, the provider
// API read and the delivery, whose request carries traceparent on to the
// user's endpoint.
//
// It is configured only by the standard OTEL_* variables (contract section
// 16) and is off, with nothing created, when no OTLP endpoint is set.
package tracing

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"

	"github.com/gofiber/contrib/otelfiber/v2"
	"github.com/gofiber/fiber/v2"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.37.0"
	"go.opentelemetry.io/otel/trace"
	temporalotel "go.temporal.io/sdk/contrib/opentelemetry"
	"go.temporal.io/sdk/interceptor"
)

// Tracing is a process's tracer provider, or nothing: a nil *Tracing is
// tracing off, and every method works on it.
type Tracing struct {
	provider *sdktrace.TracerProvider
}

// propagator reads and writes W3C traceparent (and baggage) in HTTP
// headers and Temporal headers alike.
var propagator = propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})

// FromEnv builds the process's tracing from the standard variables:
// OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT turns it
// on; OTEL_EXPORTER_OTLP_(TRACES_)PROTOCOL picks grpc or http/protobuf (the
// specification's default); OTEL_SERVICE_NAME names the service (service
// when unset); OTEL_TRACES_SAMPLER, OTEL_RESOURCE_ATTRIBUTES, the
// exporter's headers, timeouts and TLS, and the batch processor's limits are
// read by the SDK as the specification says. OTEL_SDK_DISABLED=true or
// OTEL_TRACES_EXPORTER=none keep it off. Off, it returns nil: no exporter,
// no provider, nothing on the request path.
func FromEnv(ctx context.Context, service string) (*Tracing, error) {
	if !configured(os.Getenv) {
		return nil, nil
	}
	protocol := firstSet(os.Getenv, "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL")
	var exp sdktrace.SpanExporter
	var err error
	switch protocol {
	case "", "http/protobuf":
		exp, err = otlptracehttp.New(ctx)
	case "grpc":
		exp, err = otlptracegrpc.New(ctx)
	default:
		return nil, fmt.Errorf("OTEL_EXPORTER_OTLP_PROTOCOL %q: hookflow exports grpc or http/protobuf", protocol)
	}
	if err != nil {
		return nil, fmt.Errorf("OTLP trace exporter: %w", err)
	}
	return newTracing(ctx, service, sdktrace.WithBatcher(exp))
}

// New is tracing that hands every span, as it ends, to exp: for tests, with
// an in-memory exporter.
func New(ctx context.Context, service string, exp sdktrace.SpanExporter) (*Tracing, error) {
	return newTracing(ctx, service, sdktrace.WithSyncer(exp))
}

func newTracing(ctx context.Context, service string, export sdktrace.TracerProviderOption) (*Tracing, error) {
	// The default name first: OTEL_SERVICE_NAME and
	// OTEL_RESOURCE_ATTRIBUTES, read after it, win.
	res, err := resource.New(ctx,
		resource.WithAttributes(semconv.ServiceName(service)),
		resource.WithTelemetrySDK(),
		resource.WithFromEnv(),
	)
	if err != nil && !errors.Is(err, resource.ErrPartialResource) {
		return nil, fmt.Errorf("OTEL_RESOURCE_ATTRIBUTES: %w", err)
	}
	// The sampler comes from OTEL_TRACES_SAMPLER (parent-based always-on
	// when unset), read by NewTracerProvider.
	return &Tracing{provider: sdktrace.NewTracerProvider(export, sdktrace.WithResource(res))}, nil
}

// configured says whether the variables ask for traces.
func configured(getenv func(string) string) bool {
	if strings.EqualFold(getenv("OTEL_SDK_DISABLED"), "true") || getenv("OTEL_TRACES_EXPORTER") == "none" {
		return false
	}
	return firstSet(getenv, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT") != ""
}

func firstSet(getenv func(string) string, names ...string) string {
	for _, n := range names {
		if v := strings.TrimSpace(getenv(n)); v != "" {
			return v
		}
	}
	return ""
}

// Enabled says whether spans are recorded and exported.
func (t *Tracing) Enabled() bool { return t != nil }

// Shutdown exports what is buffered and stops the exporter.
func (t *Tracing) Shutdown(ctx context.Context) error {
	if t == nil {
		return nil
	}
	return t.provider.Shutdown(ctx)
}

// Middleware is the receivers' server span per request, a child of the
// request's traceparent when it has one, set on c.UserContext. nil when
// tracing is off: mount nothing then.
func (t *Tracing) Middleware() fiber.Handler {
	if t == nil {
		return nil
	}
	return otelfiber.Middleware(
		otelfiber.WithTracerProvider(t.provider),
		otelfiber.WithPropagators(propagator),
		// The receivers' metrics are hookflow's own (contract section 8).
		otelfiber.WithMeterProvider(metricnoop.NewMeterProvider()),
	)
}

// Interceptor is the Temporal SDK's tracing interceptor, for the client
// (SignalWithStart) and, through it, the worker (the workflow, its
// activities and signals). nil when tracing is off.
func (t *Tracing) Interceptor() (interceptor.Interceptor, error) {
	if t == nil {
		return nil, nil
	}
	tr, err := t.tracer()
	if err != nil {
		return nil, err
	}
	return interceptor.NewTracingInterceptor(tr), nil
}

// tracer is the SDK's OpenTelemetry tracer, taking an event's trace context
// as a parent (WithEvent).
func (t *Tracing) tracer() (interceptor.Tracer, error) {
	inner, err := temporalotel.NewTracer(temporalotel.TracerOptions{
		Tracer:            t.provider.Tracer("go.temporal.io/sdk"),
		TextMapPropagator: propagator,
		SpanContextKey:    spanKey{},
	})
	if err != nil {
		return nil, err
	}
	return eventTracer{Tracer: inner}, nil
}

// TraceParent is the W3C traceparent of ctx's span, "" without one.
func TraceParent(ctx context.Context) string {
	if !trace.SpanContextFromContext(ctx).IsValid() {
		return ""
	}
	c := propagation.MapCarrier{}
	propagation.TraceContext{}.Inject(ctx, c)
	return c["traceparent"]
}

// Inject writes ctx's trace context into h: traceparent (and tracestate)
// when ctx has a span, nothing otherwise.
func Inject(ctx context.Context, h http.Header) {
	propagator.Inject(ctx, propagation.HeaderCarrier(h))
}

// LogAttrs are a log line's trace_id and span_id for ctx's span; none
// without one.
func LogAttrs(ctx context.Context) []any {
	sc := trace.SpanContextFromContext(ctx)
	if !sc.IsValid() {
		return nil
	}
	return []any{"trace_id", sc.TraceID().String(), "span_id", sc.SpanID().String()}
}
