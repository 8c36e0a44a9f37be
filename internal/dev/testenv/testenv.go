// Package testenv starts the real services hookflow's integration tests run
// against: a redis-server and the pinned Temporal CLI's dev server (through
// devstack, as `hookflow dev` does), each on a free loopback port, stopped
// when the test ends.
package testenv

import (
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hookflow/hookflow/internal/dev/devstack"
)

// FreePort returns a loopback port that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("free port: %v", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// Eventually polls cond until it returns true or the deadline passes, then
// fails with the last description cond gave.
func Eventually(t testing.TB, within time.Duration, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		ok, why := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not within %s: %s", within, why)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Redis is a redis-server child process, without persistence.
type Redis struct {
	Port  int
	child *devstack.Child
	t     testing.TB
}

// StartRedis starts redis-server on a free port, or skips the test when
// redis-server is not installed (make test's .ci/run installs it).
func StartRedis(t testing.TB) *Redis {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Skip("redis-server is not on PATH; install Redis 7 to run this test")
	}
	r := &Redis{Port: FreePort(t), t: t}
	child, err := devstack.Redis(devstack.RedisOptions{Port: r.Port, Dir: t.TempDir(), SharedProcessGroup: true})
	if err != nil {
		t.Fatal(err)
	}
	r.child = child
	r.Start()
	t.Cleanup(r.Stop)
	return r
}

// URL is the server's redis:// URL.
func (r *Redis) URL() string { return "redis://127.0.0.1:" + strconv.Itoa(r.Port) + "/0" }

// Start (re)starts the server and waits until it answers PING.
func (r *Redis) Start() {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := r.child.Start(ctx); err != nil {
		r.t.Fatal(err)
	}
}

// Stop stops the server; Start brings it back on the same port.
func (r *Redis) Stop() {
	if err := r.child.Stop(); err != nil {
		r.t.Log(err)
	}
}

// Temporal is a Temporal dev server child process with its SQLite file, so
// it can be stopped and started again with its state.
type Temporal struct {
	HostPort string
	UIPort   int // the Web UI's port, whose /api/v1 is what operators see
	child    *devstack.Child
	t        testing.TB
}

// CLI returns the pinned Temporal CLI's path from HOOKFLOW_TEMPORAL_CLI (set
// by make test) or bin/temporal above the test's package, or skips.
func CLI(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("HOOKFLOW_TEMPORAL_CLI"); p != "" {
		return p
	}
	dir, _ := os.Getwd()
	for ; dir != filepath.Dir(dir); dir = filepath.Dir(dir) {
		p := filepath.Join(dir, "bin", "temporal")
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	t.Skip("no Temporal CLI: run `make test` (it builds the pinned CLI into bin/) or set HOOKFLOW_TEMPORAL_CLI")
	return ""
}

// StartTemporal starts a dev server on a free port with its database in a
// temporary directory. A server that exits while starting is tried again on
// other ports, twice at most: a port that was free when FreePort returned it
// may have been taken since by another test binary's server, whose own
// internal services listen on ports of the kernel's choosing.
func StartTemporal(t testing.TB) *Temporal {
	t.Helper()
	const attempts = 3
	for attempt := 1; ; attempt++ {
		tp := &Temporal{
			HostPort: "127.0.0.1:" + strconv.Itoa(FreePort(t)),
			UIPort:   FreePort(t),
			t:        t,
		}
		db := filepath.Join(t.TempDir(), "temporal.db")
		child, err := devstack.Temporal(devstack.TemporalOptions{
			CLI:      CLI(t),
			HostPort: tp.HostPort,
			DBFile:   db,
			UIPort:   tp.UIPort,
			LogLevel: "error",
			LogFile:  db + ".log",
			// A Ctrl-C on go test ends the server with the test binary.
			SharedProcessGroup: true,
		})
		if err != nil {
			t.Fatal(err)
		}
		tp.child = child
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		err = child.Start(ctx)
		cancel()
		if err != nil {
			// The temporary directory goes with the test: say why here.
			t.Logf("%v\n%s", err, logTail(db+".log", 20))
			if errors.Is(err, devstack.ErrExitedWhileStarting) && attempt < attempts {
				continue
			}
			t.FailNow()
		}
		t.Cleanup(tp.Stop)
		return tp
	}
}

// logTail is the last n lines of the file at path, or why it cannot be read.
func logTail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// Start (re)starts the server on its port and database.
func (tp *Temporal) Start() {
	tp.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := tp.child.Start(ctx); err != nil {
		tp.t.Fatal(err)
	}
}

// Stop stops the server.
func (tp *Temporal) Stop() {
	if err := tp.child.Stop(); err != nil {
		tp.t.Log(err)
	}
}
