package devstack_test

import (
	"context"
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.temporal.io/sdk/client"

	"github.com/hookflow/hookflow/internal/dev/devstack"
	"github.com/hookflow/hookflow/internal/dev/testenv"
)

// children are the two kinds of child, each started fresh on free ports
// with its data in a temporary directory and stopped when the test ends.
var children = []struct {
	name  string
	start func(t *testing.T) *devstack.Child
}{
	{"redis-server", startRedis},
	{"Temporal dev server", startTemporal},
}

func startRedis(t *testing.T) *devstack.Child {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Skip("redis-server is not on PATH")
	}
	c, err := devstack.StartRedis(t.Context(), devstack.RedisOptions{Port: testenv.FreePort(t), Dir: t.TempDir(), Save: "3600 1", SharedProcessGroup: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Stop() })
	return c
}

func startTemporal(t *testing.T) *devstack.Child {
	t.Helper()
	dir := t.TempDir()
	c, err := devstack.StartTemporal(t.Context(), devstack.TemporalOptions{
		CLI:      testenv.CLI(t),
		HostPort: "127.0.0.1:" + itoa(testenv.FreePort(t)),
		DBFile:   filepath.Join(dir, "temporal.db"),
		LogLevel: "error",
		LogFile:  filepath.Join(dir, "temporal.log"),
		// Ends with the test binary on a Ctrl-C.
		SharedProcessGroup: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Stop() })
	return c
}

func TestKilledChildIsReportedAsCrashed(t *testing.T) {
	for _, tt := range children {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.start(t)
			watched, stop := devstack.Watch(t.Context(), c)
			defer stop()
			pid := c.Pid()
			if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			select {
			case <-c.Crashed():
			case <-time.After(30 * time.Second):
				t.Fatal("Crashed not closed within 30s of SIGKILL")
			}
			var got *devstack.ExitError
			if !errors.As(c.Err(), &got) {
				t.Fatalf("Err() = %v, want an *ExitError", c.Err())
			}
			if got.Name != tt.name || got.Pid != pid || got.Reason() != "signal: killed" {
				t.Errorf("got %s (pid %d) %q, want %s (pid %d) \"signal: killed\"", got.Name, got.Pid, got.Reason(), tt.name, pid)
			}
			select {
			case <-watched.Done():
			case <-time.After(10 * time.Second):
				t.Fatal("Watch's context not cancelled within 10s of the crash")
			}
			if cause := context.Cause(watched); cause != c.Err() {
				t.Errorf("Watch's cause = %v, want %v", cause, c.Err())
			}
		})
	}
}

func TestStoppedChildIsNotACrash(t *testing.T) {
	for _, tt := range children {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.start(t)
			crashed := c.Crashed()
			watched, stop := devstack.Watch(t.Context(), c)
			defer stop()
			if err := c.Stop(); err != nil {
				t.Fatal(err)
			}
			// Stop returns once the process has been reaped, and a crash
			// is recorded before that: no waiting needed.
			select {
			case <-crashed:
				t.Fatalf("Crashed closed after Stop: %v", c.Err())
			default:
			}
			if err := c.Err(); err != nil {
				t.Errorf("Err() = %v after Stop, want nil", err)
			}
			if err := syscall.Kill(c.Pid(), 0); !errors.Is(err, syscall.ESRCH) {
				t.Errorf("process %d still there after Stop: %v", c.Pid(), err)
			}
			if watched.Err() != nil {
				t.Errorf("Watch's context ended after Stop: %v", context.Cause(watched))
			}
			if err := c.Stop(); err != nil {
				t.Errorf("second Stop: %v", err)
			}
		})
	}
}

// A restart finds the data again, and a crash after it is reported afresh.
func TestRestartKeepsData(t *testing.T) {
	t.Run("redis-server", func(t *testing.T) {
		c := startRedis(t)
		rdb := redis.NewClient(&redis.Options{Addr: c.Addr()})
		defer rdb.Close()
		if err := rdb.Set(t.Context(), "kept", "yes", 0).Err(); err != nil {
			t.Fatal(err)
		}
		restart(t, c)
		if got, err := rdb.Get(t.Context(), "kept").Result(); got != "yes" {
			t.Errorf("after restart GET kept = %q, %v; want yes", got, err)
		}
	})
	t.Run("Temporal dev server", func(t *testing.T) {
		c := startTemporal(t)
		tc, err := client.DialContext(t.Context(), client.Options{HostPort: c.Addr()})
		if err != nil {
			t.Fatal(err)
		}
		defer tc.Close()
		run, err := tc.ExecuteWorkflow(t.Context(), client.StartWorkflowOptions{ID: "kept", TaskQueue: "nobody"}, "Nothing")
		if err != nil {
			t.Fatal(err)
		}
		restart(t, c)
		testenv.Eventually(t, 30*time.Second, func() (bool, string) {
			_, err := tc.DescribeWorkflowExecution(t.Context(), "kept", run.GetRunID())
			return err == nil, "describe after restart: " + errText(err)
		})
	})
}

func restart(t *testing.T, c *devstack.Child) {
	t.Helper()
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := c.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := c.Start(t.Context()); err == nil || !strings.Contains(err.Error(), "already running") {
		t.Errorf("Start on a running child: %v, want already running", err)
	}
	if err := syscall.Kill(c.Pid(), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	select {
	case <-c.Crashed():
	case <-time.After(30 * time.Second):
		t.Fatal("a crash after a restart was not reported within 30s")
	}
	if err := c.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := c.Err(); err != nil {
		t.Errorf("Err() = %v for the new process, want nil", err)
	}
}

// A child that cannot start says so at once, rather than when Start's
// context ends.
func TestStartFails(t *testing.T) {
	taken := startRedis(t)
	_, port, _ := strings.Cut(taken.Addr(), ":")
	tests := []struct {
		name string
		opts devstack.RedisOptions
		want string
	}{
		{"address taken", devstack.RedisOptions{Port: atoi(t, port), Dir: t.TempDir()}, "127.0.0.1:" + port + " is already in use"},
		{"process exits", devstack.RedisOptions{Port: testenv.FreePort(t), Dir: t.TempDir(), Save: "not a rule"}, "redis-server exited while starting (exit status 1)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
			defer cancel()
			c, err := devstack.StartRedis(ctx, tt.opts)
			if err == nil {
				_ = c.Stop()
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want %q", err, tt.want)
			}
			if ctx.Err() != nil {
				t.Errorf("Start waited for its context to end: %v", err)
			}
		})
	}
}

func errText(err error) string {
	if err == nil {
		return "ok"
	}
	return err.Error()
}
