package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/hookflow/hookflow/config"
	"github.com/hookflow/hookflow/internal/connect"
	"github.com/hookflow/hookflow/internal/devstack"
	"github.com/hookflow/hookflow/internal/devtools"
	"github.com/hookflow/hookflow/internal/listen"
	"github.com/hookflow/hookflow/internal/metrics"
	"github.com/hookflow/hookflow/internal/ops"
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

	m, err := metrics.New(log)
	if err != nil {
		return err
	}
	stack, err := connect.Dev(ctx, cfg, connect.DevOptions{Dir: opts.dir, UIPort: opts.uiPort, Log: log, Metrics: m})
	if err != nil {
		return err
	}
	defer stack.Stop()
	tc, rdb, temporal, redisServer := stack.Temporal, stack.Redis, stack.TemporalServer, stack.RedisServer
	if _, err := ops.RegisterSearchAttributes(ctx, tc, cfg.TemporalNamespace); err != nil {
		return err
	}
	ctx, stopWatching := stack.Watch(ctx)
	defer stopWatching()

	w := newWorker(cfg, tc)
	if err := w.Start(); err != nil {
		return fmt.Errorf("start worker: %w", err)
	}
	defer w.Stop()

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
	fmt.Fprintf(out, "  Redis         %s%s\n", stack.RedisURL, startedBy(redisServer))
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
	err = listen.Serve(ctx,
		listen.App{Setting: "HOOKFLOW_HTTP_ADDR", App: app, Addr: cfg.HTTPAddr},
		listen.App{Setting: "HOOKFLOW_METRICS_ADDR", App: newOpsApp(log, m, tc, rdb), Addr: cfg.MetricsAddr})
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
