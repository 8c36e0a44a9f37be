package loadgen

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hookflow/hookflow/config"
)

func TestPercentile(t *testing.T) {
	ms := func(n ...int) []time.Duration {
		out := make([]time.Duration, len(n))
		for i, v := range n {
			out[i] = time.Duration(v) * time.Millisecond
		}
		return out
	}
	sorted := ms(1, 2, 3, 4, 5, 6, 7, 8, 9, 10)
	tests := []struct {
		p    float64
		want time.Duration
	}{{50, 5 * time.Millisecond}, {95, 10 * time.Millisecond}, {99, 10 * time.Millisecond}, {10, time.Millisecond}, {100, 10 * time.Millisecond}}
	for _, tt := range tests {
		if got := Percentile(sorted, tt.p); got != tt.want {
			t.Errorf("p%v = %s, want %s", tt.p, got, tt.want)
		}
	}
	if got := Percentile(nil, 50); got != 0 {
		t.Errorf("p50 of nothing = %s, want 0", got)
	}
}

func TestRequireLoopback(t *testing.T) {
	for url, ok := range map[string]bool{
		"http://127.0.0.1:8080": true, "http://127.3.2.1": true, "http://localhost:8080": true, "http://[::1]:8080": true,
		"http://10.0.0.1:8080": false, "http://192.168.1.2": false, "https://example.com": false, "http://0.0.0.0:8080": false,
	} {
		if err := requireLoopback(url); (err == nil) != ok {
			t.Errorf("requireLoopback(%s) = %v, want allowed %v", url, err, ok)
		}
	}
}

// handledText is an exposition of the handled counter as the OTel
// exporter writes the SDK's counters (a gauge without UseMonotonicCounters),
// beside other metrics and other providers.
const handledText = `# HELP hookflow_transitions_applied_total 
# TYPE hookflow_transitions_applied_total gauge
hookflow_transitions_applied_total{otel_scope_name="hookflow",provider="fenix",status="DELIVERED"} 40
# HELP hookflow_events_handled_total 
# TYPE hookflow_events_handled_total gauge
hookflow_events_handled_total{namespace="default",otel_scope_name="hookflow",otel_scope_schema_url="",otel_scope_version="",outcome="applied",provider="fenix",workflow_type="Entity"} 7
hookflow_events_handled_total{namespace="default",otel_scope_name="hookflow",outcome="stale",provider="fenix",workflow_type="Entity"} 2
hookflow_events_handled_total{namespace="default",otel_scope_name="hookflow",outcome="applied",provider="phoenix",workflow_type="Entity"} 100
hookflow_events_handled_total{note="a \"quoted\", provider=\"fenix\" value",outcome="error",provider="up42"} 1000
hookflow_events_handled{outcome="duplicate",provider="fenix"} 1e1
temporal_hookflow_events_handled_total{outcome="error",provider="fenix"} 3 1700000000000
hookflow_events_handled_seconds_bucket{le="+Inf",provider="fenix"} 999
`

func TestParseHandled(t *testing.T) {
	tests := []struct {
		name, text, provider string
		want                 handledCount
		found                bool
	}{
		{"every fenix series, whatever the prefix or suffix; errors apart", handledText, "fenix", handledCount{handled: 7 + 2 + 10, errors: 3}, true},
		{"escaped label values", handledText, "up42", handledCount{errors: 1000}, true},
		{"other provider", handledText, "phoenix", handledCount{handled: 100}, true},
		{"no series for the provider", handledText, "phantom", handledCount{}, false},
		{"no counter at all", "# TYPE go_goroutines gauge\ngo_goroutines 12\n", "fenix", handledCount{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, found, err := parseHandled(strings.NewReader(tt.text), tt.provider)
			if err != nil || got != tt.want || found != tt.found {
				t.Errorf("parseHandled = %v, %v, %v; want %v, %v", got, found, err, tt.want, tt.found)
			}
		})
	}
	if _, _, err := parseHandled(strings.NewReader(`hookflow_events_handled_total{provider="fenix} 3`+"\n"), "fenix"); err == nil {
		t.Error("unterminated label value: no error")
	}
}

func TestParseSample(t *testing.T) {
	tests := []struct {
		line   string
		name   string
		labels map[string]string
		value  float64
	}{
		{`up 1`, "up", map[string]string{}, 1},
		{`m{} 2.5 1700000000000`, "m", map[string]string{}, 2.5},
		{`m{a="x",b=""} 3`, "m", map[string]string{"a": "x", "b": ""}, 3},
		{`m{path="C:\\dir",q="say \"hi\", provider=\"x\"",nl="a\nb"} 4`, "m",
			map[string]string{"path": `C:\dir`, "q": `say "hi", provider="x"`, "nl": "a\nb"}, 4},
		{`m{a="1",} +Inf`, "m", map[string]string{"a": "1"}, math.Inf(1)},
	}
	for _, tt := range tests {
		name, labels, value, err := parseSample(tt.line)
		if err != nil || name != tt.name || !reflect.DeepEqual(labels, tt.labels) || value != tt.value {
			t.Errorf("parseSample(%s) = %s %v %v %v, want %s %v %v", tt.line, name, labels, value, err, tt.name, tt.labels, tt.value)
		}
	}
	for _, line := range []string{`m`, `m{a="1"`, `m{a="1"} x`, `{a="1"} 1`, `m{a} 1`} {
		if _, _, _, err := parseSample(line); err == nil {
			t.Errorf("parseSample(%s): no error", line)
		}
	}
}

// TestWaitHandled: --applied counts only the events whose handling
// finished without error, fails on any that ended in error, and takes no
// more than the run accepted for a result.
func TestWaitHandled(t *testing.T) {
	before := handledCount{handled: 100, errors: 1} // counted before the run
	tests := []struct {
		name            string
		handled, errors float64 // what the worker counts after the run
		wantHandled     int
		wantFailed      int
		wantErr         string // "" for a result
	}{
		{"every accepted event handled", 105, 1, 5, 0, ""},
		{"one ended in error", 104, 2, 4, 1, "1 of 5 accepted events ended in error"},
		{"errors never pass for handled events", 100, 6, 0, 5, "5 of 5 accepted events ended in error"},
		{"more than accepted: other traffic", 107, 1, 7, 0, "7 events handled for 5 accepted"},
		{"not all handled yet", 103, 1, 3, 0, "3 of 5 accepted events handled (0 in error)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				fmt.Fprintf(w, "hookflow_events_handled_total{outcome=\"applied\",provider=\"fenix\"} %v\n", tt.handled-10)
				fmt.Fprintf(w, "hookflow_events_handled_total{outcome=\"duplicate\",provider=\"fenix\"} 10\n")
				fmt.Fprintf(w, "hookflow_events_handled_total{outcome=\"error\",provider=\"fenix\"} %v\n", tt.errors)
				fmt.Fprintf(w, "hookflow_events_handled_total{outcome=\"applied\",provider=\"up42\"} 1000\n")
			}))
			defer srv.Close()
			handled, failed, at, err := waitHandled(context.Background(), srv.Client(), srv.URL, "fenix", before, 5, 300*time.Millisecond)
			if handled != tt.wantHandled || failed != tt.wantFailed {
				t.Errorf("handled %d, failed %d; want %d, %d", handled, failed, tt.wantHandled, tt.wantFailed)
			}
			switch {
			case tt.wantErr == "" && (err != nil || at.IsZero()):
				t.Errorf("got %v at %v, want a result", err, at)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("got %v, want an error with %q", err, tt.wantErr)
			}
		})
	}
}

func TestBaselineRefusedWhereMeaningless(t *testing.T) {
	cfg, err := config.Load("", func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	for _, mode := range []string{"duplicate", "mix"} {
		o := Options{Provider: "fenix", Mode: mode, Requests: 1, Concurrency: 1, Duration: time.Second, Baseline: true}
		if _, err := o.Check(cfg); err == nil || !strings.Contains(err.Error(), "--baseline means nothing") {
			t.Errorf("--mode %s --baseline: got %v, want refused", mode, err)
		}
	}
}
