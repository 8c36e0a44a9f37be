package health

import (
	"strings"
	"testing"
)

func TestHealthzURL(t *testing.T) {
	tests := []struct {
		addr, want string
	}{
		{"127.0.0.1:9090", "http://127.0.0.1:9090/healthz"},
		{":9090", "http://127.0.0.1:9090/healthz"},
		{"0.0.0.0:9191", "http://127.0.0.1:9191/healthz"},
		{"[::]:9090", "http://[::1]:9090/healthz"},
		{"10.0.0.5:9090", "http://10.0.0.5:9090/healthz"},
		{"9090", ""},
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			got, err := HealthzURL(tt.addr)
			if tt.want == "" {
				if err == nil || !strings.Contains(err.Error(), "HOOKFLOW_METRICS_ADDR") {
					t.Fatalf("got %q, %v; want an error naming HOOKFLOW_METRICS_ADDR", got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}
