package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/spf13/cobra"
	"go.temporal.io/sdk/client"

	"github.com/hookflow/hookflow/config"
	"github.com/hookflow/hookflow/connect"
	"github.com/hookflow/hookflow/devtools"
	"github.com/hookflow/hookflow/internal/devstack"
	"github.com/hookflow/hookflow/metrics"
	"github.com/hookflow/hookflow/ops"
)

// devOptions are where hookflow dev keeps its children's data and where
// the Temporal Web UI listens; tests move both out of the way.
type devOptions struct {
	// dir holds what hookflow dev keeps between runs: the Temporal SQLite
	// file, Redis's data and the children's logs.
	dir    string
	uiPort int
	// forwardToLog runs a local sink that verifies and prints every
	// delivered transition, as HOOKFLOW_FORWARD_URL.
	forwardToLog bool
}

func newDevCmd(a *app) *cobra.Command {
	opts := devOptions{dir: ".hookflow", uiPort: 8233}
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "Run everything in one process: Temporal dev server, Redis, worker, receivers and the Phoenix sandbox",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := config.Load(a.configPath, nil)
			if err != nil {
				return err
			}
			return runDev(cmd.Context(), cmd.OutOrStdout(), cfg, opts)
		},
	}
	cmd.Flags().BoolVar(&opts.forwardToLog, "forward-to-log", false,
		"deliver applied transitions to a local sink that verifies their signature and prints them")
	return cmd
}

// runDev starts what is missing, runs until ctx ends or a child it started
// dies, then stops what it started, in reverse order.
func runDev(ctx context.Context, out io.Writer, cfg *config.Config, opts devOptions) error {
	log := newLogger()
	if err := os.MkdirAll(opts.dir, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", opts.dir, err)
	}
	devSecrets := cfg.UseDevSecrets()
	sandbox := !cfg.IsSet("PHOENIX_API_URL")
	if !cfg.IsSet("HOOKFLOW_HTTP_ADDR") {
		// The dev secrets are public and the sandbox is unauthenticated:
		// only this machine may reach them unless the user says otherwise.
		cfg.HTTPAddr = "127.0.0.1:8080"
	}
	_, port, err := net.SplitHostPort(cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("HOOKFLOW_HTTP_ADDR %q: %w", cfg.HTTPAddr, err)
	}
	base := "http://127.0.0.1:" + port
	opsBase, err := loopbackURL("HOOKFLOW_METRICS_ADDR", cfg.MetricsAddr)
	if err != nil {
		return err
	}
	if sandbox {
		cfg.PhoenixAPIURL = base + devtools.SandboxPrefix
	}
	var sink *devtools.LogSink
	if opts.forwardToLog {
		if sink, err = devtools.NewLogSink(out, cfg, base); err != nil {
			return err
		}
	}
	if err := cfg.Validate(); err != nil {
		return err
	}

	var stops []func()
	defer func() {
		for i := len(stops) - 1; i >= 0; i-- {
			stops[i]()
		}
	}()

	m, err := metrics.New(log)
	if err != nil {
		return err
	}
	tc, temporal, stopTemporal, err := devTemporal(ctx, cfg, opts, log, m)
	if err != nil {
		return err
	}
	stops = append(stops, stopTemporal)
	if _, err := ops.RegisterSearchAttributes(ctx, tc, cfg.TemporalNamespace); err != nil {
		return err
	}

	rdb, redisServer, stopRedis, err := devRedis(ctx, cfg, opts.dir, log)
	if err != nil {
		return err
	}
	stops = append(stops, stopRedis)

	// Only what dev started is watched: an existing Temporal or Redis
	// going away is answered with 503s and retries, as under serve.
	var started []*devstack.Child
	for _, c := range []*devstack.Child{temporal, redisServer} {
		if c != nil {
			started = append(started, c)
		}
	}
	ctx, stopWatching := devstack.Watch(ctx, started...)
	defer stopWatching()

	w := newWorker(cfg, tc)
	if err := w.Start(); err != nil {
		return fmt.Errorf("start worker: %w", err)
	}
	stops = append(stops, w.Stop)

	app := newReceiverApp(cfg, tc, rdb, log, m)
	if sink != nil {
		app.Post(devtools.LogSinkPath, sink.Handle)
	}
	if sandbox {
		devtools.MountPhoenixSandbox(app)
	}

	fmt.Fprintf(out, "\nhookflow dev is up\n")
	fmt.Fprintf(out, "  receivers     %s/webhooks/<provider>\n", base)
	if temporal != nil {
		fmt.Fprintf(out, "  Temporal UI   http://127.0.0.1:%d/namespaces/%s/workflows\n", opts.uiPort, cfg.TemporalNamespace)
	}
	fmt.Fprintf(out, "  Temporal      %s (namespace %s, task queue %s)%s\n", cfg.TemporalAddress, cfg.TemporalNamespace, cfg.TaskQueue, startedBy(temporal))
	fmt.Fprintf(out, "  Redis         %s%s\n", redactURL(cfg.RedisURL), startedBy(redisServer))
	fmt.Fprintf(out, "  operations    %s/metrics  %s/readyz  %s/healthz\n", opsBase, opsBase, opsBase)
	if sink != nil {
		fmt.Fprintf(out, "  FORWARD       applied transitions are delivered, signed, to %s%s and printed here\n", base, devtools.LogSinkPath)
	}
	if sandbox {
		fmt.Fprintf(out, "  SANDBOX       Phoenix orders API is the in-process sandbox at %s (set PHOENIX_API_URL to use a real one)\n", cfg.PhoenixAPIURL)
	}
	if len(devSecrets) > 0 {
		fmt.Fprintf(out, "  dev secrets   %s use hookflow's public development secrets\n", strings.Join(devSecrets, ", "))
	}
	fmt.Fprintf(out, "\nTry:\n  bin/hookflow send phoenix --order order-1 --status fulfilled\n  bin/hookflow status phoenix-order:order-1\n"+
		"  bin/hookflow send fenix --entity shipment-1 --status DELIVERED   (also: phosphor, up42, phantom)\n\nCtrl-C stops everything.\n\n")
	err = serveAll(ctx,
		listener{"HOOKFLOW_HTTP_ADDR", app, cfg.HTTPAddr},
		listener{"HOOKFLOW_METRICS_ADDR", newOpsApp(log, m, tc, rdb), cfg.MetricsAddr})
	var exited *devstack.ExitError
	if errors.As(context.Cause(ctx), &exited) {
		return fmt.Errorf("dev: the %s it started exited (%s; log in %s); stopped everything", exited.Name, exited.Reason(), exited.Log)
	}
	return err
}

// startedBy says, for the start-up output, which process dev started and
// where its log is; nothing for a server dev found running.
func startedBy(c *devstack.Child) string {
	if c == nil {
		return ""
	}
	return fmt.Sprintf("  [%s pid %d, log %s]", c.Name(), c.Pid(), c.LogFile())
}

// devTemporal starts the pinned Temporal CLI's dev server with its SQLite
// file in WAL mode and the Web UI, unless TEMPORAL_ADDRESS was given, in
// which case that server is used as it is and the returned child is nil.
func devTemporal(ctx context.Context, cfg *config.Config, opts devOptions, log *slog.Logger, m *metrics.Metrics) (client.Client, *devstack.Child, func(), error) {
	copts, err := connect.TemporalOptions(cfg, log, m)
	if err != nil {
		return nil, nil, nil, err
	}
	if cfg.IsSet("TEMPORAL_ADDRESS") {
		tc, err := client.DialContext(ctx, copts)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("connect to Temporal at %s: %w", cfg.TemporalAddress, err)
		}
		return tc, nil, tc.Close, nil
	}
	cli, err := temporalCLI()
	if err != nil {
		return nil, nil, nil, err
	}
	startCtx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	srv, err := devstack.StartTemporal(startCtx, devstack.TemporalOptions{
		CLI:       cli,
		HostPort:  cfg.TemporalAddress,
		Namespace: cfg.TemporalNamespace,
		DBFile:    filepath.Join(opts.dir, "temporal.db"),
		UIPort:    opts.uiPort,
		LogLevel:  "warn",
		LogFile:   filepath.Join(opts.dir, "temporal.log"),
	})
	if errors.Is(err, devstack.ErrAddrInUse) {
		return nil, nil, nil, fmt.Errorf("%w: set TEMPORAL_ADDRESS=%s to use the server there, or stop it", err, cfg.TemporalAddress)
	}
	if err != nil {
		return nil, nil, nil, fmt.Errorf("%w (Temporal CLI %s)", err, cli)
	}
	stop := func() {
		if err := srv.Stop(); err != nil {
			log.Warn("temporal dev server stop", "error", err.Error())
		}
	}
	tc, err := client.DialContext(startCtx, copts)
	if err != nil {
		stop()
		return nil, nil, nil, fmt.Errorf("connect to the Temporal dev server at %s: %w", cfg.TemporalAddress, err)
	}
	return tc, srv, func() { tc.Close(); stop() }, nil
}

// temporalCLI finds the pinned Temporal CLI: HOOKFLOW_TEMPORAL_CLI, then
// bin/temporal beside this binary or in the working directory, then PATH.
func temporalCLI() (string, error) {
	if p := os.Getenv("HOOKFLOW_TEMPORAL_CLI"); p != "" {
		return p, nil
	}
	var candidates []string
	if exe, err := os.Executable(); err == nil {
		candidates = append(candidates, filepath.Join(filepath.Dir(exe), "temporal"))
	}
	candidates = append(candidates, filepath.Join("bin", "temporal"))
	for _, c := range candidates {
		if st, err := os.Stat(c); err == nil && !st.IsDir() {
			return c, nil
		}
	}
	if p, err := exec.LookPath("temporal"); err == nil {
		return p, nil
	}
	return "", errors.New("no Temporal CLI found: run `make temporal` (builds the pinned v1.5.1 into bin/) or set HOOKFLOW_TEMPORAL_CLI")
}

// devRedis uses REDIS_URL when it answers, else starts redis-server from PATH
// with its data under dir, else says how to get Redis. The returned child is
// nil when dev uses a Redis it did not start.
func devRedis(ctx context.Context, cfg *config.Config, dir string, log *slog.Logger) (redis.UniversalClient, *devstack.Child, func(), error) {
	conn, err := connect.Redis(cfg)
	if err != nil {
		return nil, nil, nil, err
	}
	rdb := conn.Client()
	if conn.Single == nil {
		// Sentinel or Cluster: dev uses it or stops; it starts only one server.
		if err := rdb.Ping(ctx).Err(); err != nil {
			rdb.Close()
			target, _ := cfg.RedisTarget() // its String has no password
			return nil, nil, nil, fmt.Errorf("redis at %s does not answer: %w", target, err)
		}
		return rdb, nil, func() { rdb.Close() }, nil
	}
	// A plain dial first: go-redis would log each refused connection.
	o := conn.Single
	if c, err := (&net.Dialer{Timeout: o.DialTimeout}).DialContext(ctx, o.Network, o.Addr); err == nil {
		c.Close()
		if rdb.Ping(ctx).Err() == nil {
			return rdb, nil, func() { rdb.Close() }, nil
		}
	}
	path, err := exec.LookPath("redis-server")
	if err != nil {
		rdb.Close()
		return nil, nil, nil, fmt.Errorf("redis at %s does not answer and redis-server is not on PATH: install Redis 7 (apt-get install redis-server, brew install redis) or set REDIS_URL", redactURL(cfg.RedisURL))
	}
	u, _ := url.Parse(cfg.RedisURL)
	port, err := 6379, error(nil)
	if u.Port() != "" {
		port, err = strconv.Atoi(u.Port())
	}
	if err != nil {
		rdb.Close()
		return nil, nil, nil, fmt.Errorf("REDIS_URL port %q: %w", u.Port(), err)
	}
	startCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	// A snapshot a minute after a change, so dedup records survive restarts of dev.
	srv, err := devstack.StartRedis(startCtx, devstack.RedisOptions{Server: path, Port: port, Dir: dir, Save: "60 1"})
	if err != nil {
		rdb.Close()
		return nil, nil, nil, err
	}
	return rdb, srv, func() {
		rdb.Close()
		if err := srv.Stop(); err != nil {
			log.Warn("redis-server stop", "error", err.Error())
		}
	}, nil
}

// redactURL drops any password from a URL before it is printed.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}
