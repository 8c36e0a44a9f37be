package main

import (
	"errors"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hookflow/hookflow/config"
	"github.com/hookflow/hookflow/internal/dev/testenv"
)

// startedPid finds, in dev's start-up output, the pid of the child named.
var startedPid = regexp.MustCompile(`\[(Temporal dev server|redis-server) pid (\d+),`)

// TestDevStopsWhenAChildDies: when a child hookflow dev started dies, dev
// stops everything and returns an error naming it; a server it did not
// start (TEMPORAL_ADDRESS, a Redis answering at REDIS_URL) is not watched.
func TestDevStopsWhenAChildDies(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Temporal dev servers")
	}
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Skip("redis-server is not on PATH")
	}
	t.Setenv("HOOKFLOW_TEMPORAL_CLI", testenv.CLI(t))
	tests := []struct {
		name     string
		existing string // the server dev is given instead of starting it, stopped before the kill
		kill     string // the child killed
	}{
		{name: "Temporal dev server killed", kill: "Temporal dev server"},
		{name: "redis-server killed", kill: "redis-server"},
		{name: "an existing Redis is not watched", existing: "redis", kill: "Temporal dev server"},
		{name: "an existing Temporal is not watched", existing: "temporal", kill: "redis-server"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			free := func() string { return "127.0.0.1:" + strconv.Itoa(testenv.FreePort(t)) }
			vars := map[string]string{"HOOKFLOW_HTTP_ADDR": free()}
			var stopExisting func()
			switch tt.existing {
			case "redis":
				r := testenv.StartRedis(t)
				vars["REDIS_URL"], stopExisting = r.URL(), r.Stop
			case "temporal":
				tp := testenv.StartTemporal(t)
				vars["TEMPORAL_ADDRESS"], stopExisting = tp.HostPort, tp.Stop
			}
			cfg, err := config.Load("", func(k string) string { return vars[k] })
			if err != nil {
				t.Fatal(err)
			}
			// Free ports for what dev starts, without saying so in the
			// environment: set there, dev would use them, not start them.
			if tt.existing != "temporal" {
				cfg.TemporalAddress = free()
			}
			if tt.existing != "redis" {
				cfg.RedisURL = "redis://" + free() + "/0"
			}

			out := &testenv.SyncBuffer{}
			done := make(chan error, 1)
			go func() {
				done <- runDev(t.Context(), out, cfg, devOptions{dir: t.TempDir(), uiPort: testenv.FreePort(t)})
			}()
			pids := map[string]int{}
			testenv.Eventually(t, 2*time.Minute, func() (bool, string) {
				select {
				case err := <-done:
					t.Fatalf("dev returned before it was up: %v\n%s", err, out.String())
				default:
				}
				if !strings.Contains(out.String(), "hookflow dev is up") {
					return false, "dev not up:\n" + out.String()
				}
				for _, m := range startedPid.FindAllStringSubmatch(out.String(), -1) {
					pids[m[1]], _ = strconv.Atoi(m[2])
				}
				return true, ""
			})
			if want := 2; tt.existing != "" {
				want = 1
				if len(pids) != want {
					t.Fatalf("dev started %v, want only the %s (the other was given)", pids, tt.kill)
				}
			} else if len(pids) != want {
				t.Fatalf("dev started %v, want a Temporal dev server and a redis-server", pids)
			}

			if stopExisting != nil {
				stopExisting()
			}
			if err := syscall.Kill(pids[tt.kill], syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			select {
			case err := <-done:
				want := "dev: the " + tt.kill + " it started exited (signal: killed;"
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Fatalf("dev returned %v, want an error with %q", err, want)
				}
			case <-time.After(time.Minute):
				t.Fatalf("dev still running a minute after its %s was killed", tt.kill)
			}
			for name, pid := range pids {
				if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
					t.Errorf("dev returned but its %s (pid %d) is still there: %v", name, pid, err)
				}
			}
		})
	}
}
