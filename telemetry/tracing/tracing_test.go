package tracing

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/gofiber/fiber/v2"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"go.temporal.io/sdk/interceptor"
	"google.golang.org/protobuf/proto"
)

// otelVars are every variable FromEnv or the SDK reads here, cleared for
// each test so that the machine's own settings do not leak in.
var otelVars = []string{
	"OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_PROTOCOL",
	"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_SERVICE_NAME", "OTEL_RESOURCE_ATTRIBUTES", "OTEL_TRACES_SAMPLER",
	"OTEL_TRACES_SAMPLER_ARG", "OTEL_SDK_DISABLED", "OTEL_TRACES_EXPORTER",
}

func clearEnv(t *testing.T) {
	for _, v := range otelVars {
		t.Setenv(v, "")
	}
}

func TestOffUnlessAnEndpointIsSet(t *testing.T) {
	for name, env := range map[string]map[string]string{
		"no variable":         {},
		"only a service name": {"OTEL_SERVICE_NAME": "hookflow", "OTEL_TRACES_SAMPLER": "always_on"},
		"SDK disabled":        {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318", "OTEL_SDK_DISABLED": "true"},
		"exporter none":       {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318", "OTEL_TRACES_EXPORTER": "none"},
	} {
		t.Run(name, func(t *testing.T) {
			clearEnv(t)
			for k, v := range env {
				t.Setenv(k, v)
			}
			tr, err := FromEnv(context.Background(), "hookflow-test")
			if err != nil {
				t.Fatal(err)
			}
			if tr.Enabled() || tr != nil {
				t.Fatalf("tracing on (%+v), want off: no exporter, no provider", tr)
			}
			if tr.Middleware() != nil {
				t.Error("a middleware when off")
			}
			if ti, err := tr.Interceptor(); ti != nil || err != nil {
				t.Errorf("an interceptor when off: %v, %v", ti, err)
			}
			if err := tr.Shutdown(context.Background()); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestUnknownProtocolIsAnError(t *testing.T) {
	clearEnv(t)
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318")
	t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json")
	_, err := FromEnv(context.Background(), "hookflow-test")
	if err == nil || !strings.Contains(err.Error(), "OTEL_EXPORTER_OTLP_PROTOCOL") {
		t.Fatalf("got %v, want an error naming OTEL_EXPORTER_OTLP_PROTOCOL", err)
	}
}

// collector is an OTLP/HTTP trace endpoint that keeps what it is sent.
type collector struct {
	mu       sync.Mutex
	services []string
	spans    map[string][]byte // name -> parent span ID
}

func (c *collector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	var req coltracepb.ExportTraceServiceRequest
	if r.URL.Path != "/v1/traces" || proto.Unmarshal(raw, &req) != nil {
		http.Error(w, "not an OTLP trace export", http.StatusBadRequest)
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, rs := range req.GetResourceSpans() {
		for _, a := range rs.GetResource().GetAttributes() {
			if a.GetKey() == "service.name" {
				c.services = append(c.services, a.GetValue().GetStringValue())
			}
		}
		for _, ss := range rs.GetScopeSpans() {
			for _, sp := range ss.GetSpans() {
				c.spans[sp.GetName()] = sp.GetParentSpanId()
			}
		}
	}
	w.Header().Set("Content-Type", "application/x-protobuf")
	_, _ = w.Write(nil)
}

// serveOne sends one request with a traceparent through the receivers'
// middleware and returns the log attributes the handler saw.
func serveOne(t *testing.T, tr *Tracing) []any {
	t.Helper()
	app := fiber.New()
	var attrs []any
	app.Post("/webhooks/x", tr.Middleware(), func(c *fiber.Ctx) error {
		attrs = LogAttrs(c.UserContext())
		return c.SendStatus(200)
	})
	req := httptest.NewRequest(http.MethodPost, "/webhooks/x", nil)
	req.Header.Set("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	if _, err := app.Test(req); err != nil {
		t.Fatal(err)
	}
	return attrs
}

func TestExportsOverOTLPFromTheStandardVariables(t *testing.T) {
	c := &collector{spans: map[string][]byte{}}
	srv := httptest.NewServer(c)
	defer srv.Close()
	clearEnv(t)
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", srv.URL)
	t.Setenv("OTEL_SERVICE_NAME", "receivers-eu")
	tr, err := FromEnv(context.Background(), "hookflow-serve")
	if err != nil || !tr.Enabled() {
		t.Fatalf("tracing %v, %v; want on", tr, err)
	}
	attrs := serveOne(t, tr)
	if err := tr.Shutdown(context.Background()); err != nil { // flushes the batch
		t.Fatal(err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	parent, ok := c.spans["/webhooks/x"]
	if !ok {
		t.Fatalf("the collector got spans %v, want the request's", c.spans)
	}
	if got := trace.SpanID(parent).String(); got != "00f067aa0ba902b7" {
		t.Errorf("parent %s, want the traceparent's span 00f067aa0ba902b7", got)
	}
	if len(c.services) == 0 || c.services[0] != "receivers-eu" {
		t.Errorf("service.name %v, want OTEL_SERVICE_NAME's receivers-eu", c.services)
	}
	if len(attrs) != 4 || attrs[0] != "trace_id" || attrs[1] != "4bf92f3577b34da6a3ce929d0e0e4736" || attrs[2] != "span_id" {
		t.Errorf("log attributes %v, want trace_id of the request's trace and span_id", attrs)
	}
}

func TestSamplerFromTheEnvironment(t *testing.T) {
	c := &collector{spans: map[string][]byte{}}
	srv := httptest.NewServer(c)
	defer srv.Close()
	clearEnv(t)
	t.Setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", srv.URL+"/v1/traces")
	t.Setenv("OTEL_TRACES_SAMPLER", "always_off")
	tr, err := FromEnv(context.Background(), "hookflow-serve")
	if err != nil {
		t.Fatal(err)
	}
	serveOne(t, tr)
	if err := tr.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.spans) != 0 {
		t.Errorf("spans %v exported under always_off", c.spans)
	}
}

func TestEventParent(t *testing.T) {
	tr, err := New(context.Background(), "test", tracetest.NewInMemoryExporter())
	if err != nil {
		t.Fatal(err)
	}
	ti, err := tr.Interceptor()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := ti.(interceptor.WorkerInterceptor); !ok {
		t.Fatal("the interceptor does not intercept workers")
	}
	inner, err := tr.tracer()
	if err != nil {
		t.Fatal(err)
	}
	const tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	span, err := inner.StartSpan(&interceptor.TracerStartSpanOptions{Parent: eventParent(tp), Operation: "StartActivity", Name: "Deliver"})
	if err != nil {
		t.Fatal(err)
	}
	m, err := inner.MarshalSpan(span)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(m["traceparent"], "00-4bf92f3577b34da6a3ce929d0e0e4736-") {
		t.Errorf("span %v, want a child in the event's trace", m)
	}
	// A malformed trace context starts a trace of its own, not an error.
	if _, err := inner.StartSpan(&interceptor.TracerStartSpanOptions{Parent: eventParent("00-zz"), Operation: "StartActivity", Name: "Deliver"}); err != nil {
		t.Errorf("malformed parent: %v", err)
	}
}
