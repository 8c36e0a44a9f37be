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
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/spf13/cobra"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/testsuite"

	"github.com/hookflow/hookflow/config"
	"github.com/hookflow/hookflow/metrics"
)

// devDir holds what hookflow dev keeps between runs: the Temporal SQLite
// file, Redis's data and the children's logs.
const devDir = ".hookflow"

// devUIPort is the Temporal Web UI's port under hookflow dev.
const devUIPort = "8233"

func newDevCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "dev",
		Short: "Run everything in one process: Temporal dev server, Redis, worker, receivers and the Phoenix sandbox",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := config.Load(a.configPath, nil)
			if err != nil {
				return err
			}
			return runDev(cmd.Context(), cmd.OutOrStdout(), cfg)
		},
	}
}

// runDev starts what is missing, runs until ctx ends, then stops what it
// started, in reverse order.
func runDev(ctx context.Context, out io.Writer, cfg *config.Config) error {
	log := newLogger()
	if err := os.MkdirAll(devDir, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", devDir, err)
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
		cfg.PhoenixAPIURL = base + sandboxPrefix
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
	tc, stopTemporal, err := devTemporal(ctx, cfg, log, m)
	if err != nil {
		return err
	}
	stops = append(stops, stopTemporal)
	if _, err := registerSearchAttributes(ctx, tc, cfg.TemporalNamespace); err != nil {
		return err
	}

	rdb, stopRedis, err := devRedis(ctx, cfg)
	if err != nil {
		return err
	}
	stops = append(stops, stopRedis)

	w := newWorker(cfg, tc)
	if err := w.Start(); err != nil {
		return fmt.Errorf("start worker: %w", err)
	}
	stops = append(stops, w.Stop)

	app := newReceiverApp(cfg, tc, rdb, log, m)
	if sandbox {
		mountPhoenixSandbox(app)
	}

	fmt.Fprintf(out, "\nhookflow dev is up\n")
	fmt.Fprintf(out, "  receivers     %s/webhooks/<provider>\n", base)
	fmt.Fprintf(out, "  Temporal UI   http://127.0.0.1:%s/namespaces/%s/workflows\n", devUIPort, cfg.TemporalNamespace)
	fmt.Fprintf(out, "  Temporal      %s (namespace %s, task queue %s)\n", cfg.TemporalAddress, cfg.TemporalNamespace, cfg.TaskQueue)
	fmt.Fprintf(out, "  Redis         %s\n", redactURL(cfg.RedisURL))
	fmt.Fprintf(out, "  operations    %s/metrics  %s/readyz  %s/healthz\n", opsBase, opsBase, opsBase)
	if sandbox {
		fmt.Fprintf(out, "  SANDBOX       Phoenix orders API is the in-process sandbox at %s (set PHOENIX_API_URL to use a real one)\n", cfg.PhoenixAPIURL)
	}
	if len(devSecrets) > 0 {
		fmt.Fprintf(out, "  dev secrets   %s use hookflow's public development secrets\n", strings.Join(devSecrets, ", "))
	}
	fmt.Fprintf(out, "\nTry:\n  bin/hookflow send phoenix --order order-1 --status fulfilled\n  bin/hookflow status phoenix-order:order-1\n"+
		"  bin/hookflow send fenix --entity shipment-1 --status DELIVERED   (also: phosphor, up42, phantom)\n\nCtrl-C stops everything.\n\n")
	return serveAll(ctx,
		listener{"HOOKFLOW_HTTP_ADDR", app, cfg.HTTPAddr},
		listener{"HOOKFLOW_METRICS_ADDR", newOpsApp(log, m, tc, rdb), cfg.MetricsAddr})
}

// devTemporal starts the pinned Temporal CLI's dev server with its SQLite
// file in WAL mode and the Web UI, unless TEMPORAL_ADDRESS was given, in
// which case that server is used as it is.
func devTemporal(ctx context.Context, cfg *config.Config, log *slog.Logger, m *metrics.Metrics) (client.Client, func(), error) {
	opts := temporalOptions(cfg, log, m)
	if cfg.IsSet("TEMPORAL_ADDRESS") {
		tc, err := client.DialContext(ctx, opts)
		if err != nil {
			return nil, nil, fmt.Errorf("connect to Temporal at %s: %w", cfg.TemporalAddress, err)
		}
		return tc, tc.Close, nil
	}
	cli, err := temporalCLI()
	if err != nil {
		return nil, nil, err
	}
	logFile, err := os.OpenFile(filepath.Join(devDir, "temporal.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, nil, fmt.Errorf("open temporal log: %w", err)
	}
	startCtx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	srv, err := testsuite.StartDevServer(startCtx, testsuite.DevServerOptions{
		ExistingPath:  cli,
		ClientOptions: &opts,
		DBFilename:    filepath.Join(devDir, "temporal.db"),
		EnableUI:      true,
		UIPort:        devUIPort,
		LogLevel:      "warn",
		ExtraArgs:     sqlitePragmas,
		Stdout:        logFile,
		Stderr:        logFile,
	})
	if err != nil {
		logFile.Close()
		return nil, nil, fmt.Errorf("start Temporal dev server (%s, log in %s): %w", cli, logFile.Name(), err)
	}
	return srv.Client(), func() {
		srv.Client().Close()
		if err := srv.Stop(); err != nil && !isExitBySignal(err) {
			log.Warn("temporal dev server stop", "error", err.Error())
		}
		logFile.Close()
	}, nil
}

// sqlitePragmas make the dev server's SQLite file about three times faster at
// starting workflows than its defaults.
var sqlitePragmas = []string{"--sqlite-pragma", "journal_mode=wal", "--sqlite-pragma", "synchronous=normal"}

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
// with its data under .hookflow/, else says how to get Redis.
func devRedis(ctx context.Context, cfg *config.Config) (*redis.Client, func(), error) {
	rdb, err := newRedis(cfg)
	if err != nil {
		return nil, nil, err
	}
	if rdb.Ping(ctx).Err() == nil {
		return rdb, func() { rdb.Close() }, nil
	}
	path, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, nil, fmt.Errorf("redis at %s does not answer and redis-server is not on PATH: install Redis 7 (apt-get install redis-server, brew install redis) or set REDIS_URL", redactURL(cfg.RedisURL))
	}
	u, _ := url.Parse(cfg.RedisURL)
	port := u.Port()
	if port == "" {
		port = "6379"
	}
	dir, _ := filepath.Abs(devDir)
	cmd := exec.Command(path, "--port", port, "--bind", "127.0.0.1", "--dir", dir,
		"--save", "60 1", "--appendonly", "no", "--logfile", filepath.Join(dir, "redis.log"))
	if err := cmd.Start(); err != nil {
		return nil, nil, fmt.Errorf("start redis-server: %w", err)
	}
	stop := func() {
		rdb.Close()
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
	}
	deadline := time.Now().Add(10 * time.Second)
	for rdb.Ping(ctx).Err() != nil {
		if time.Now().After(deadline) {
			stop()
			return nil, nil, fmt.Errorf("redis-server on port %s did not answer within 10s (log: %s/redis.log)", port, devDir)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return rdb, stop, nil
}

// redactURL drops any password from a URL before it is printed.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}

func isExitBySignal(err error) bool {
	var ee *exec.ExitError
	return errors.As(err, &ee)
}
