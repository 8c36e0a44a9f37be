package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"

	"github.com/hookflow/hookflow/internal/dev/testenv"
	"github.com/hookflow/hookflow/internal/process/health"
	"github.com/hookflow/hookflow/telemetry/metrics"
)

// get returns a GET's status code and body.
func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(raw)
}

// getReadyz returns /readyz's status code and body, failing unless the body
// is a JSON object whose values are all strings.
func getReadyz(t *testing.T, base string) (int, map[string]string) {
	t.Helper()
	code, raw := get(t, base+"/readyz")
	var body map[string]string
	if err := json.Unmarshal([]byte(raw), &body); err != nil {
		t.Fatalf("/readyz body %q: %v", raw, err)
	}
	return code, body
}

// failingLogs returns, per dependency, the errors the readiness check
// logged when it started failing.
func failingLogs(t *testing.T, logs string) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	sc := bufio.NewScanner(strings.NewReader(logs))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var line struct{ Msg, Dependency, Error string }
		if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "readiness: dependency failing" {
			out[line.Dependency] = append(out[line.Dependency], line.Error)
		}
	}
	return out
}

// TestReadinessWordsOnly checks /readyz against an unreachable Temporal and
// a Redis that does not answer: 503, a body of words only, and the raw
// errors in the log, once per dependency however often it is probed.
func TestReadinessWordsOnly(t *testing.T) {
	closed := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t)) // nothing listens there
	tc, err := client.NewLazyClient(client.Options{HostPort: closed, Logger: tlog.NewStructuredLogger(discardLogger())})
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	rdb := redis.NewClient(&redis.Options{Addr: closed, MaxRetries: -1})
	defer rdb.Close()

	tests := []struct {
		name string
		rdb  redis.UniversalClient
		want map[string]string
	}{
		{"receivers", rdb, map[string]string{"status": "down", "temporal": "down", "redis": "degraded"}},
		{"worker, without Redis", nil, map[string]string{"status": "down", "temporal": "down"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			logs := &testenv.SyncBuffer{}
			m, err := metrics.New(discardLogger())
			if err != nil {
				t.Fatal(err)
			}
			app := health.NewApp(slog.New(slog.NewJSONHandler(logs, nil)), m, tc, tt.rdb)
			for range 2 {
				resp, err := app.Test(httptest.NewRequest(http.MethodGet, "/readyz", nil), -1)
				if err != nil {
					t.Fatal(err)
				}
				raw, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				var body map[string]string
				if err := json.Unmarshal(raw, &body); err != nil || resp.StatusCode != 503 || !maps.Equal(body, tt.want) {
					t.Errorf("readyz = %d %s, want 503 %v", resp.StatusCode, raw, tt.want)
				}
			}
			got := failingLogs(t, logs.String())
			for dep := range tt.want {
				if dep == "status" {
					continue
				}
				if errs := got[dep]; len(errs) != 1 || !strings.Contains(errs[0], "refused") {
					t.Errorf("%s: logged %q, want its connection error once\n%s", dep, errs, logs.String())
				}
			}
		})
	}
}

// running is a command started by a test.
type running struct {
	cancel context.CancelFunc
	done   chan struct{} // closed when it has returned
	err    error         // what it returned, once done is closed
}

// stop ends the command, as SIGTERM does, and waits for it to return.
func (r *running) stop() {
	r.cancel()
	<-r.done
}

// TestStartupChecksSearchAttributes runs the serve, worker and setup
// commands as an operator does, against a Temporal dev server that starts
// without hookflow's search attributes.
func TestStartupChecksSearchAttributes(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	tp := testenv.StartTemporal(t)
	rd := testenv.StartRedis(t)
	httpAddr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	opsAddr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	cfgPath := filepath.Join(t.TempDir(), "hookflow.yaml")
	cfgYAML := fmt.Sprintf("temporal_address: %q\nredis_url: %q\nhttp_addr: %q\nmetrics_addr: %q\n", tp.HostPort, rd.URL(), httpAddr, opsAddr)
	if err := os.WriteFile(cfgPath, []byte(cfgYAML), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, env := range []string{"HOOKFLOW_CONFIG", "TEMPORAL_ADDRESS", "TEMPORAL_NAMESPACE", "REDIS_URL", "HOOKFLOW_HTTP_ADDR", "HOOKFLOW_METRICS_ADDR"} {
		t.Setenv(env, "") // the file decides
	}
	// start runs one command until it stops or the test ends.
	start := func(t *testing.T, command string) *running {
		ctx, cancel := context.WithCancel(context.Background())
		root := newRootCmd()
		root.SetArgs([]string{"--config", cfgPath, command})
		root.SetOut(io.Discard)
		r := &running{cancel: cancel, done: make(chan struct{})}
		go func() { r.err = root.ExecuteContext(ctx); close(r.done) }()
		t.Cleanup(r.stop)
		return r
	}
	// stopsWith waits for a command to stop by itself with want.
	stopsWith := func(t *testing.T, r *running, within time.Duration, want string) {
		t.Helper()
		select {
		case <-r.done:
			if r.err == nil || r.err.Error() != want {
				t.Errorf("stopped with %v, want the one line %q", r.err, want)
			}
		case <-time.After(within):
			t.Fatalf("still running after %s, want it stopped with %q", within, want)
		}
	}
	const missing = "search attributes WebhookProvider, EntityType, EntityID, EntityStatus, DeliveryFailed, Overdue, Tenant are not registered in namespace default; run `hookflow setup` first"

	t.Run("serve and worker stop without the attributes", func(t *testing.T) {
		for _, command := range []string{"serve", "worker"} {
			stopsWith(t, start(t, command), 30*time.Second, missing)
		}
	})

	t.Run("serve starts without Temporal, then stops when it answers without the attributes", func(t *testing.T) {
		tp.Stop()
		restarted := false
		defer func() {
			if !restarted {
				tp.Start()
			}
		}()
		serve := start(t, "serve")
		testenv.Eventually(t, 30*time.Second, func() (bool, string) {
			resp, err := http.Get("http://" + opsAddr + "/healthz")
			if err != nil {
				return false, err.Error()
			}
			resp.Body.Close()
			return resp.StatusCode == 200, resp.Status
		})
		want := map[string]string{"status": "down", "temporal": "down", "redis": "ok"}
		if code, body := getReadyz(t, "http://"+opsAddr); code != 503 || !maps.Equal(body, want) {
			t.Errorf("readyz = %d %v, want 503 %v", code, body, want)
		}
		tp.Start()
		restarted = true
		stopsWith(t, serve, time.Minute, missing)
	})

	t.Run("after setup, serve and worker start, with the ops endpoints on their own listener", func(t *testing.T) {
		var out strings.Builder
		setup := newRootCmd()
		setup.SetArgs([]string{"--config", cfgPath, "setup"})
		setup.SetOut(&out)
		if err := setup.ExecuteContext(context.Background()); err != nil {
			t.Fatalf("setup: %v", err)
		}

		serve := start(t, "serve")
		ready := func(want map[string]string) {
			t.Helper()
			testenv.Eventually(t, 30*time.Second, func() (bool, string) {
				resp, err := http.Get("http://" + opsAddr + "/readyz")
				if err != nil {
					return false, err.Error()
				}
				resp.Body.Close()
				return resp.StatusCode == 200, resp.Status
			})
			if code, body := getReadyz(t, "http://"+opsAddr); code != 200 || !maps.Equal(body, want) {
				t.Errorf("readyz = %d %v, want 200 %v", code, body, want)
			}
		}
		ready(map[string]string{"status": "ok", "temporal": "ok", "redis": "ok"})
		// A request to a disabled provider, so the receivers' counter has a sample.
		resp, err := http.Post("http://"+httpAddr+"/webhooks/phoenix", "application/json", strings.NewReader("{}"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if code, body := get(t, "http://"+opsAddr+"/metrics"); code != 200 || !strings.Contains(body, "hookflow_webhook_requests_total{") {
			t.Errorf("ops /metrics = %d without the receivers' counter:\n%.500s", code, body)
		}
		for _, path := range []string{"/metrics", "/readyz"} {
			if code, _ := get(t, "http://"+httpAddr+path); code != 404 {
				t.Errorf("webhook port %s = %d, want 404", path, code)
			}
		}
		for _, addr := range []string{httpAddr, opsAddr} {
			if code, _ := get(t, "http://"+addr+"/healthz"); code != 200 {
				t.Errorf("%s/healthz = %d, want 200", addr, code)
			}
		}
		if serve.stop(); serve.err != nil {
			t.Errorf("serve stopped with %v, want nil", serve.err)
		}

		worker := start(t, "worker")
		ready(map[string]string{"status": "ok", "temporal": "ok"})
		if worker.stop(); worker.err != nil {
			t.Errorf("worker stopped with %v, want nil", worker.err)
		}
	})
}
