// Package devstack starts and watches the services hookflow runs against on
// one machine: the pinned Temporal CLI's dev server and redis-server. Both
// `hookflow dev` and the integration tests use it, so the two are started,
// stopped, restarted on the same data and watched for an unexpected death in
// one way only. Up is `hookflow dev`'s stack: it uses the servers the
// configuration names where they answer and starts what is missing.
package devstack

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"sync"
	"sync/atomic"
	"time"
)

// Child is a service process this program started. It can be stopped and
// started again on the same port and data, and it tells when it died
// without being stopped (Crashed, Err, Watch).
type Child struct {
	name    string
	addr    string
	logFile string
	command func() *exec.Cmd
	// sharedGroup keeps the child in this program's process group.
	sharedGroup bool
	// ready answers nil once the service takes requests.
	ready func(ctx context.Context) error
	// stopSignal asks the service to shut down cleanly; after stopGrace it
	// is killed.
	stopSignal os.Signal
	stopGrace  time.Duration

	mu  sync.Mutex // serialises Start and Stop
	run atomic.Pointer[run]
}

// run is one life of the child process, from Start to its exit.
type run struct {
	cmd      *exec.Cmd
	exited   chan struct{} // closed once the process has exited and been reaped
	crashed  chan struct{} // closed, before exited, when it exited without Stop
	crash    *ExitError    // set before crashed is closed
	stopping atomic.Bool
}

// ExitError says that a child exited although nobody stopped it.
type ExitError struct {
	Name string // what the child is: "Temporal dev server", "redis-server"
	Pid  int
	Err  error  // what waiting for it returned: nil when it exited with status 0
	Log  string // where its output went, "" if nowhere
}

// Reason is how the process ended, as the operating system tells it:
// "signal: killed", "exit status 1".
func (e *ExitError) Reason() string {
	if e.Err == nil {
		return "exit status 0"
	}
	return e.Err.Error()
}

func (e *ExitError) Error() string {
	msg := fmt.Sprintf("%s (pid %d) exited unexpectedly (%s)", e.Name, e.Pid, e.Reason())
	if e.Log != "" {
		msg += "; log in " + e.Log
	}
	return msg
}

func (e *ExitError) Unwrap() error { return e.Err }

// ErrAddrInUse is returned by Start when something already answers on the
// child's address.
var ErrAddrInUse = errors.New("is already in use")

// ErrExitedWhileStarting is returned by Start when the process ends before
// it answers.
var ErrExitedWhileStarting = errors.New("exited while starting")

// Name is what the child is, for messages: "Temporal dev server", "redis-server".
func (c *Child) Name() string { return c.name }

// Addr is the host:port the service listens on.
func (c *Child) Addr() string { return c.addr }

// LogFile is where the child's output goes, "" if nowhere.
func (c *Child) LogFile() string { return c.logFile }

// Pid is the current process's ID, 0 before the first Start.
func (c *Child) Pid() int {
	if r := c.run.Load(); r != nil {
		return r.cmd.Process.Pid
	}
	return 0
}

// Crashed is closed when the process of the latest Start exits without Stop.
// A later Start does not reopen it: call Crashed again for the new process.
// Before the first Start it is nil, which blocks for ever.
func (c *Child) Crashed() <-chan struct{} {
	if r := c.run.Load(); r != nil {
		return r.crashed
	}
	return nil
}

// Err is why the process of the latest Start crashed: an *ExitError once
// Crashed is closed, nil while it runs or after Stop.
func (c *Child) Err() error {
	r := c.run.Load()
	if r == nil {
		return nil
	}
	select {
	case <-r.crashed:
		return r.crash
	default:
		return nil
	}
}

// Start starts the process and waits until the service answers, until ctx
// ends or until the process exits, whichever comes first; on failure
// nothing is left running. Starting a running child is an error.
func (c *Child) Start(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if r := c.run.Load(); r != nil {
		select {
		case <-r.exited:
		case <-r.crashed:
			<-r.exited // closed right after crashed
		default:
			return fmt.Errorf("%s is already running (pid %d)", c.name, r.cmd.Process.Pid)
		}
	}
	// Something else answering there would pass for the child while the
	// child itself fails to listen.
	if conn, err := (&net.Dialer{Timeout: time.Second}).DialContext(ctx, "tcp", c.addr); err == nil {
		conn.Close()
		return fmt.Errorf("start %s: %s %w", c.name, c.addr, ErrAddrInUse)
	}
	cmd := c.command()
	if !c.sharedGroup {
		ownProcessGroup(cmd)
	}
	var logFile *os.File
	if c.logFile != "" {
		f, err := os.OpenFile(c.logFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return fmt.Errorf("%s log: %w", c.name, err)
		}
		logFile = f
		cmd.Stdout, cmd.Stderr = f, f
	}
	if err := cmd.Start(); err != nil {
		if logFile != nil {
			logFile.Close()
		}
		return fmt.Errorf("start %s: %w", c.name, err)
	}
	r := &run{cmd: cmd, exited: make(chan struct{}), crashed: make(chan struct{})}
	go func() {
		err := cmd.Wait()
		if logFile != nil {
			logFile.Close()
		}
		if !r.stopping.Load() {
			r.crash = &ExitError{Name: c.name, Pid: cmd.Process.Pid, Err: err, Log: c.logFile}
			close(r.crashed)
		}
		close(r.exited)
	}()
	c.run.Store(r)
	if err := c.waitReady(ctx, r); err != nil {
		_ = c.stop(r)
		return err
	}
	return nil
}

// waitReady polls the service until it answers, ctx ends or the process exits.
func (c *Child) waitReady(ctx context.Context, r *run) error {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		attempt, cancel := context.WithTimeout(ctx, 2*time.Second)
		err := c.ready(attempt)
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-r.exited:
			reason := "exit status 0"
			if r.crash != nil && r.crash.Err != nil {
				reason = r.crash.Err.Error()
			}
			return fmt.Errorf("%s %w (%s)%s", c.name, ErrExitedWhileStarting, reason, c.logHint())
		case <-ctx.Done():
			return fmt.Errorf("%s on %s did not answer: %w (last: %v)%s", c.name, c.addr, ctx.Err(), err, c.logHint())
		case <-tick.C:
		}
	}
}

func (c *Child) logHint() string {
	if c.logFile == "" {
		return ""
	}
	return "; log in " + c.logFile
}

// Stop asks the process to shut down cleanly, kills it if it has not within
// its grace period, and returns once it has exited. Stopping is not a crash:
// Crashed stays open. Stopping a child that is not running does nothing.
func (c *Child) Stop() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	r := c.run.Load()
	if r == nil {
		return nil
	}
	return c.stop(r)
}

func (c *Child) stop(r *run) error {
	r.stopping.Store(true)
	select {
	case <-r.exited:
		return nil
	default:
	}
	_ = r.cmd.Process.Signal(c.stopSignal)
	grace := time.NewTimer(c.stopGrace)
	defer grace.Stop()
	select {
	case <-r.exited:
		return nil
	case <-grace.C:
	}
	_ = r.cmd.Process.Kill()
	<-r.exited
	return fmt.Errorf("%s did not stop within %s: killed", c.name, c.stopGrace)
}

// Watch returns a copy of ctx that is cancelled as soon as one of children
// crashes (exits without Stop), with that child's *ExitError as its cause
// (see context.Cause). It watches the processes running when it is called.
func Watch(ctx context.Context, children ...*Child) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancelCause(ctx)
	for _, c := range children {
		r := c.run.Load()
		if r == nil {
			continue
		}
		go func() {
			select {
			case <-r.crashed:
				cancel(r.crash)
			case <-ctx.Done():
			}
		}()
	}
	return ctx, func() { cancel(context.Canceled) }
}
