package main

import (
	"bytes"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestHealthcheckCommand runs `hookflow healthcheck` against a server
// standing in for the ops listener: found by HOOKFLOW_METRICS_ADDR, or named
// by --url.
func TestHealthcheckCommand(t *testing.T) {
	var code atomic.Int32
	var path atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		path.Store(r.URL.Path)
		if r.URL.Path == "/slow" {
			time.Sleep(2 * time.Second)
		}
		w.WriteHeader(int(code.Load()))
	}))
	defer srv.Close()
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedAddr := closed.Addr().String()
	closed.Close()

	t.Setenv("HOOKFLOW_CONFIG", "")
	t.Setenv("HOOKFLOW_METRICS_ADDR", ":"+port) // every interface: checked over loopback
	tests := []struct {
		name     string
		args     []string
		code     int
		wantOut  string // stdout on success
		wantErr  string // substring of the error; empty: success
		wantPath string
	}{
		{name: "up", code: 200, wantOut: "ok: http://127.0.0.1:" + port + "/healthz answered 200\n", wantPath: "/healthz"},
		{name: "answers 503", code: 503, wantErr: "answered 503", wantPath: "/healthz"},
		{name: "url flag", args: []string{"--url", srv.URL + "/other"}, code: 200, wantOut: "ok: " + srv.URL + "/other answered 200\n", wantPath: "/other"},
		{name: "nothing listening", args: []string{"--url", "http://" + closedAddr + "/healthz"}, code: 200, wantErr: "connection refused"},
		{name: "too slow", args: []string{"--url", srv.URL + "/slow", "--timeout", "200ms"}, code: 200, wantErr: "deadline exceeded"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code.Store(int32(tt.code))
			path.Store("")
			cmd := newRootCmd()
			var out bytes.Buffer
			cmd.SetOut(&out)
			cmd.SetArgs(append([]string{"healthcheck"}, tt.args...))
			start := time.Now()
			err := cmd.Execute()
			if took := time.Since(start); took > 1500*time.Millisecond {
				t.Errorf("took %s; a health check must be short", took)
			}
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v; want one saying %q", err, tt.wantErr)
				}
			} else if err != nil {
				t.Fatal(err)
			} else if out.String() != tt.wantOut {
				t.Errorf("output %q, want %q", out.String(), tt.wantOut)
			}
			if tt.wantPath != "" && path.Load() != tt.wantPath {
				t.Errorf("GET %v, want %s", path.Load(), tt.wantPath)
			}
		})
	}
}
