package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/hookflow/hookflow/internal/dev/testenv"
	"github.com/hookflow/hookflow/telemetry/tracing"
	"github.com/hookflow/hookflow/workflows"
)

// traceSink is a delivery target that keeps the traceparent of each
// delivery, by its webhook-id.
type traceSink struct {
	mu      sync.Mutex
	parents map[string]string
}

func (s *traceSink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.parents[r.Header.Get("webhook-id")] = r.Header.Get("traceparent")
	s.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func (s *traceSink) traceparent(id string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.parents[id]
}

// TestOneTracePerEvent: a Phoenix event sent with a traceparent gives one
// trace holding the receiver's span (parented on the header), the
// SignalWithStart span, the workflow's spans, the Phoenix read and Deliver;
// the delivery carries a traceparent of that trace to the sink. A second
// event to the same, running, entity is a trace of its own, its read and
// delivery included; the accept log lines carry trace_id and span_id.
func TestOneTracePerEvent(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	const secret = "trace-secret"
	exp := tracetest.NewInMemoryExporter()
	tr, err := tracing.New(context.Background(), "hookflow-test", exp)
	if err != nil {
		t.Fatal(err)
	}
	sink := &traceSink{parents: map[string]string{}}
	srv := httptest.NewServer(sink)
	t.Cleanup(srv.Close)
	s := newTracedStack(t, map[string]string{"PHOENIX_WEBHOOK_SECRET": secret,
		"HOOKFLOW_FORWARD_URL": srv.URL + "/hooks", "HOOKFLOW_FORWARD_SECRET": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}, tr)

	const wfID = "phoenix-order:traced-1"
	for i, step := range []struct{ status, traceID, parent string }{
		{"pending", "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"},
		{"fulfilled", "5cf92f3577b34da6a3ce929d0e0e4737", "10f067aa0ba902b8"},
	} {
		s.api.set("traced-1", step.status)
		body, headers := phoenixEvent(secret, fmt.Sprintf("evt-traced-%d", i+1), "traced-1", step.status)
		headers["traceparent"] = "00-" + step.traceID + "-" + step.parent + "-01"
		if r := s.post("/webhooks/phoenix", body, headers); r.status != 200 {
			t.Fatalf("event %d: %d %v", i+1, r.status, r.body)
		}
		seq := i + 1
		s.waitState(wfID, func(st workflows.State) bool {
			for _, d := range st.Deliveries {
				if d.Seq == seq && d.Status == workflows.DeliveryDelivered {
					return true
				}
			}
			return false
		})

		want := map[string]bool{ // span name -> seen in the event's trace
			"/webhooks/phoenix":               false,
			"SignalWithStartWorkflow:Entity":  false,
			"StartActivity:FetchEntityStatus": false,
			"RunActivity:FetchEntityStatus":   false,
			"StartActivity:Deliver":           false,
			"RunActivity:Deliver":             false,
		}
		want["HandleSignal:"+workflows.SignalWebhookEvent] = false
		var server sdktrace.ReadOnlySpan
		testenv.Eventually(t, 30*time.Second, func() (bool, string) {
			for _, sp := range exp.GetSpans().Snapshots() {
				if sp.SpanContext().TraceID().String() != step.traceID {
					continue
				}
				if _, ok := want[sp.Name()]; ok {
					want[sp.Name()] = true
				}
				if sp.SpanKind() == trace.SpanKindServer && sp.Name() == "/webhooks/phoenix" {
					server = sp
				}
			}
			var missing []string
			for name, seen := range want {
				if !seen {
					missing = append(missing, name)
				}
			}
			return len(missing) == 0, fmt.Sprintf("event %d: trace %s lacks %v", i+1, step.traceID, missing)
		})
		if got := server.Parent().SpanID().String(); got != step.parent {
			t.Errorf("event %d: the receiver's span has parent %s, want the header's %s", i+1, got, step.parent)
		}
		deliveryID := fmt.Sprintf("%s:%d", wfID, seq)
		if tp := sink.traceparent(deliveryID); !strings.HasPrefix(tp, "00-"+step.traceID+"-") {
			t.Errorf("event %d: delivery %s carried traceparent %q, want one of trace %s", i+1, deliveryID, tp, step.traceID)
		}
		if !strings.Contains(s.logs.String(), `"trace_id":"`+step.traceID+`"`) {
			t.Errorf("event %d: no log line carries trace_id %s", i+1, step.traceID)
		}
	}
}
