package main

import (
	"bytes"
	"context"
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
	}{{50, 5 * time.Millisecond}, {95, 10 * time.Millisecond}, {99, 10 * time.Millisecond}, {10, time.Millisecond}}
	for _, tt := range tests {
		if got := percentile(sorted, tt.p); got != tt.want {
			t.Errorf("p%v = %s, want %s", tt.p, got, tt.want)
		}
	}
	if got := percentile(nil, 50); got != 0 {
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

// TestBenchAgainstStack runs a small bench with --baseline against a real
// stack: every request is answered 200 and both reports are printed.
func TestBenchAgainstStack(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	env := map[string]string{}
	for name, secret := range config.DevSecrets {
		env[name] = secret
	}
	s := newStack(t, env)
	for _, mode := range []string{"unique", "duplicate", "mix"} {
		t.Run(mode, func(t *testing.T) {
			var out bytes.Buffer
			o := benchOptions{url: s.base, provider: "fenix", mode: mode, requests: 40, duration: time.Minute, concurrency: 4, baseline: mode == "unique"}
			if err := bench(context.Background(), &out, s.cfg, s.tc, o); err != nil {
				t.Fatalf("bench: %v\n%s", err, out.String())
			}
			report := out.String()
			if mode == "unique" && (!strings.Contains(report, "outcomes   200: 40\n") || !strings.Contains(report, "outcomes   ok: 40\n") || !strings.Contains(report, "receiver / baseline:")) {
				t.Errorf("report:\n%s", report)
			}
			if mode != "unique" && !strings.Contains(report, "requests   40 in") {
				t.Errorf("report:\n%s", report)
			}
		})
	}
}
