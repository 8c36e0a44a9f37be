package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.temporal.io/sdk/client"

	"github.com/hookflow/hookflow/internal/dev/testenv"
)

// topology is hookflow as deployed: Temporal, Redis, receivers and workers,
// each its own process, plus the Phoenix API stand-in in the test process.
type topology struct {
	t   testing.TB
	ps  *procs
	dir string
	bin string // bin/hookflow

	temporal     *proc
	temporalAddr string
	redis        *proc
	redisAddr    string
	receivers    []*proc
	receiverURLs []string
	workers      []*proc
	api          *phoenixAPI
	sink         *forwardSink // every process delivers its transitions here
	tc           client.Client
	// env is added to every hookflow process's environment.
	env []string
	// The network between the processes and the services: the receivers
	// reach Temporal and Redis, and the workers Temporal, through proxies
	// a scenario can slow down or cut.
	receiverTemporal, receiverRedis, workerTemporal *faultProxy
	// pg is the cluster's own PostgreSQL, when the suite could create one.
	pg *ownPostgres
}

func newTopology(t testing.TB) *topology {
	dir := t.TempDir()
	if keep := os.Getenv("HOOKFLOW_E2E_LOGS"); keep != "" {
		dir = filepath.Join(keep, t.Name())
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return &topology{t: t, ps: newProcs(t, dir), dir: dir, bin: hookflowBinary(t), api: newPhoenixAPI(t), sink: newForwardSink(t)}
}

// hookflowBinary is HOOKFLOW_BIN (make sets it to bin/hookflow), else a
// fresh build of ./cmd/hookflow.
func hookflowBinary(t testing.TB) string {
	if p := os.Getenv("HOOKFLOW_BIN"); p != "" {
		return p
	}
	out := filepath.Join(t.TempDir(), "hookflow")
	build := exec.Command("go", "build", "-o", out, "../cmd/hookflow")
	if b, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build hookflow: %v\n%s", err, b)
	}
	return out
}

// temporalCLI is the pinned Temporal CLI: HOOKFLOW_TEMPORAL_CLI (set by
// make) or bin/temporal of this checkout; the test is skipped without it.
func temporalCLI(t testing.TB) string {
	if p := os.Getenv("HOOKFLOW_TEMPORAL_CLI"); p != "" {
		return p
	}
	if p, err := filepath.Abs("../bin/temporal"); err == nil {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	t.Skip("no Temporal CLI: run make test or make test-faults (they build bin/temporal), or set HOOKFLOW_TEMPORAL_CLI")
	return ""
}

// startDevTemporal starts the pinned CLI's dev server on a SQLite file in
// WAL mode, with fair dispatch, as hookflow dev does; a restart finds the
// same file.
func (tp *topology) startDevTemporal() {
	port := testenv.FreePort(tp.t)
	tp.temporalAddr = "127.0.0.1:" + strconv.Itoa(port)
	tp.temporal = tp.ps.add("temporal", os.Environ(), tp.temporalReady,
		temporalCLI(tp.t), "server", "start-dev", "--ip", "127.0.0.1", "--port", strconv.Itoa(port), "--headless",
		"--db-filename", filepath.Join(tp.dir, "temporal.db"), "--log-level", "warn",
		"--sqlite-pragma", "journal_mode=wal", "--sqlite-pragma", "synchronous=normal",
		"--dynamic-config-value", "matching.enableFairness=true")
	tp.ps.start(tp.temporal)
	tp.dial()
}

// temporalReady is the frontend's gRPC health check.
func (tp *topology) temporalReady() error {
	c, err := client.NewLazyClient(client.Options{HostPort: tp.temporalAddr})
	if err != nil {
		return err
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_, err = c.CheckHealth(ctx, &client.CheckHealthRequest{})
	return err
}

func (tp *topology) dial() {
	tc, err := client.NewLazyClient(client.Options{HostPort: tp.temporalAddr, Namespace: "default"})
	if err != nil {
		tp.t.Fatalf("temporal client: %v", err)
	}
	tp.tc = tc
	tp.t.Cleanup(tc.Close)
}

// startRedis starts a redis-server of the suite's own on a free port: the
// scenarios kill and flush it.
func (tp *topology) startRedis() {
	if _, err := exec.LookPath("redis-server"); err != nil {
		tp.t.Skip("redis-server is not on PATH")
	}
	port := testenv.FreePort(tp.t)
	tp.redisAddr = "127.0.0.1:" + strconv.Itoa(port)
	tp.redis = tp.ps.add("redis", os.Environ(), tp.redisReady, "redis-server",
		"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", tp.dir)
	tp.ps.start(tp.redis)
}

func (tp *topology) redisReady() error {
	c := redis.NewClient(&redis.Options{Addr: tp.redisAddr})
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	return c.Ping(ctx).Err()
}

// flushRedis forgets every dedup record.
func (tp *topology) flushRedis() {
	c := redis.NewClient(&redis.Options{Addr: tp.redisAddr})
	defer c.Close()
	if err := c.FlushAll(context.Background()).Err(); err != nil {
		tp.t.Fatalf("redis FLUSHALL: %v", err)
	}
}

// hookflowEnv is the environment of a hookflow process: the topology's
// addresses, every provider's secret, and extra.
func (tp *topology) hookflowEnv(extra ...string) []string {
	env := []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + os.Getenv("HOME"),
		"TEMPORAL_ADDRESS=" + tp.temporalAddr,
		"TEMPORAL_NAMESPACE=default",
		"REDIS_URL=redis://" + tp.redisAddr + "/0",
		"PHOENIX_API_URL=" + tp.api.srv.URL,
	}
	env = append(env, secretEnv()...)
	env = append(env, tp.sink.env()...)
	env = append(env, tp.env...)
	return append(env, extra...)
}

// setup runs hookflow setup (search attributes).
func (tp *topology) setup() {
	cmd := exec.Command(tp.bin, "setup")
	cmd.Env = tp.hookflowEnv()
	if out, err := cmd.CombinedOutput(); err != nil {
		tp.t.Fatalf("hookflow setup: %v\n%s", err, out)
	}
}

// startReceivers starts n hookflow serve processes. Each has its own
// HOOKFLOW_METRICS_ADDR, and readiness is /healthz on the webhook port,
// which stays there whatever moves to the metrics address.
func (tp *topology) startReceivers(n int) {
	if tp.receiverTemporal == nil {
		tp.receiverTemporal, tp.receiverRedis = newFaultProxy(tp.t, tp.temporalAddr), newFaultProxy(tp.t, tp.redisAddr)
	}
	for i := range n {
		port := testenv.FreePort(tp.t)
		url := "http://127.0.0.1:" + strconv.Itoa(port)
		p := tp.ps.add(fmt.Sprintf("serve-%d", i+1), tp.hookflowEnv(
			"TEMPORAL_ADDRESS="+tp.receiverTemporal.addr(),
			"REDIS_URL=redis://"+tp.receiverRedis.addr()+"/0",
			"HOOKFLOW_HTTP_ADDR=127.0.0.1:"+strconv.Itoa(port),
			"HOOKFLOW_METRICS_ADDR=127.0.0.1:"+strconv.Itoa(testenv.FreePort(tp.t)),
		), httpOK(url+"/healthz"), tp.bin, "serve")
		tp.ps.start(p)
		tp.receivers = append(tp.receivers, p)
		tp.receiverURLs = append(tp.receiverURLs, url)
	}
}

// startWorkers starts n hookflow worker processes, each with its own
// metrics address, ready when its /healthz answers.
func (tp *topology) startWorkers(n int) {
	if tp.workerTemporal == nil {
		tp.workerTemporal = newFaultProxy(tp.t, tp.temporalAddr)
	}
	for i := range n {
		addr := "127.0.0.1:" + strconv.Itoa(testenv.FreePort(tp.t))
		// Each worker reads the Phoenix stand-in under its own prefix, so a
		// scenario knows which one has a read in flight.
		api := fmt.Sprintf("PHOENIX_API_URL=%s/w%d", tp.api.srv.URL, len(tp.workers))
		p := tp.ps.add(fmt.Sprintf("worker-%d", i+1), tp.hookflowEnv("TEMPORAL_ADDRESS="+tp.workerTemporal.addr(), "HOOKFLOW_METRICS_ADDR="+addr, api),
			httpOK("http://"+addr+"/healthz"), tp.bin, "worker")
		tp.ps.start(p)
		tp.workers = append(tp.workers, p)
	}
}
