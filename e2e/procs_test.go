package e2e

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// proc is one child process the suite can start, SIGKILL and start again
// with the same command line, so a restart finds its ports and data where
// it left them. Its output goes to a log file that a failing test prints.
type proc struct {
	name string
	argv []string
	env  []string
	log  string
	// ready reports whether the started process serves; start polls it.
	ready func() error

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has exited
}

// procs is every process of a topology, for cleanup, logs and RSS.
type procs struct {
	t   testing.TB
	dir string
	all []*proc
}

func newProcs(t testing.TB, dir string) *procs {
	ps := &procs{t: t, dir: dir}
	// Cleanup runs on failure too; Pdeathsig (below) covers a test binary
	// that dies without running it (go test's -timeout panic).
	t.Cleanup(ps.stopAll)
	return ps
}

// add declares a process; it does not start it.
func (ps *procs) add(name string, env []string, ready func() error, argv ...string) *proc {
	p := &proc{name: name, argv: argv, env: env, ready: ready, log: filepath.Join(ps.dir, name+".log")}
	ps.all = append(ps.all, p)
	return p
}

// start starts p and waits until it is ready.
func (ps *procs) start(p *proc) {
	ps.t.Helper()
	if err := p.start(); err != nil {
		ps.t.Fatalf("start %s: %v", p.name, err)
	}
	if err := p.waitReady(90 * time.Second); err != nil {
		ps.t.Fatalf("%s not ready: %v\n%s", p.name, err, p.tail(30))
	}
}

// stopAll SIGKILLs whatever is still running and, when the test failed,
// prints the end of every process's log.
func (ps *procs) stopAll() {
	for _, p := range ps.all {
		p.kill()
	}
	if ps.t.Failed() {
		for _, p := range ps.all {
			ps.t.Logf("--- %s (%s) ---\n%s", p.name, p.log, p.tail(15))
		}
	}
}

// rss is each running process's resident set size in MiB.
func (ps *procs) rss() map[string]float64 {
	out := map[string]float64{}
	for _, p := range ps.all {
		if mib, ok := p.rss(); ok {
			out[p.name] = mib
		}
	}
	return out
}

func (p *proc) start() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil {
		return fmt.Errorf("%s is already running", p.name)
	}
	logFile, err := os.OpenFile(p.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	fmt.Fprintf(logFile, "=== %s start %s\n", time.Now().Format(time.RFC3339Nano), strings.Join(p.argv, " "))
	cmd := exec.Command(p.argv[0], p.argv[1:]...)
	cmd.Env = p.env
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return err
	}
	p.cmd = cmd
	done := make(chan struct{})
	p.done = done
	go func() {
		_ = cmd.Wait()
		logFile.Close()
		close(done)
	}()
	return nil
}

// kill SIGKILLs the process (no chance to clean up: the fault being
// tested) and waits until it is gone.
func (p *proc) kill() {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.cmd = nil
	p.mu.Unlock()
	if cmd == nil || cmd.Process == nil {
		return
	}
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	select {
	case <-done:
	case <-time.After(10 * time.Second):
	}
}

// restart kills p and starts it again with the same command line.
func (ps *procs) restart(p *proc) {
	ps.t.Helper()
	p.kill()
	ps.start(p)
}

func (p *proc) pid() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil || p.cmd.Process == nil {
		return 0
	}
	return p.cmd.Process.Pid
}

// running reports whether the process was started and has not exited.
func (p *proc) running() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return false
	}
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

func (p *proc) waitReady(within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		err := p.ready()
		if err == nil {
			return nil
		}
		if !p.running() {
			return fmt.Errorf("process is not running: %w", err)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("after %s: %w", within, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// rss reads VmRSS from /proc: Linux only, as is the suite.
func (p *proc) rss() (float64, bool) {
	pid := p.pid()
	if pid == 0 {
		return 0, false
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, false
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) >= 2 && f[0] == "VmRSS:" {
			kib, _ := strconv.ParseFloat(f[1], 64)
			return kib / 1024, true
		}
	}
	return 0, false
}

// tail is the last n lines of the process's log.
func (p *proc) tail(n int) string {
	b, err := os.ReadFile(p.log)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// httpOK is a ready check: GET url answers 200.
func httpOK(url string) func() error {
	hc := &http.Client{Timeout: time.Second}
	return func() error {
		resp, err := hc.Get(url)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET %s: %s", url, resp.Status)
		}
		return nil
	}
}

// eventually polls cond until it holds or the deadline passes.
func eventually(ctx context.Context, within time.Duration, cond func() (bool, string)) error {
	deadline := time.Now().Add(within)
	for {
		ok, why := cond()
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not within %s: %s", within, why)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}
