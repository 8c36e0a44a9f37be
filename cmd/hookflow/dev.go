package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/hookflow/hookflow/config"
	"github.com/hookflow/hookflow/internal/dev/devstack"
	"github.com/hookflow/hookflow/internal/dev/devtools"
	"github.com/hookflow/hookflow/internal/process/searchattr"
	"github.com/hookflow/hookflow/telemetry/metrics"
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
		Short: "Run everything in one process: Temporal dev server, Redis, worker, receivers and the provider sandboxes",
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
	setup, err := devtools.Prepare(cfg, out, opts.forwardToLog)
	if err != nil {
		return err
	}
	m, err := metrics.New(log)
	if err != nil {
		return err
	}
	tr, err := newTracing(ctx, log, "hookflow-dev")
	if err != nil {
		return err
	}
	stack, err := devstack.Up(ctx, cfg, devstack.Options{Dir: opts.dir, UIPort: opts.uiPort, Log: log, Metrics: m, Tracing: tr})
	if err != nil {
		return err
	}
	defer stack.Stop()
	p := &process{cfg: cfg, log: log, metrics: m, tracing: tr, tc: stack.Temporal, rdb: stack.Redis}
	defer p.flushTraces() // the Temporal client is the stack's, closed by stack.Stop
	if _, err := searchattr.Register(ctx, p.tc, cfg.TemporalNamespace); err != nil {
		return err
	}
	ctx, stopWatching := stack.Watch(ctx)
	defer stopWatching()
	stopWorker, err := p.startWorker()
	if err != nil {
		return err
	}
	defer stopWorker()
	receivers := p.receivers(ctx)
	if setup.Sink != nil {
		receivers.App.Post(devtools.LogSinkPath, setup.Sink.Handle)
	}
	if setup.Sandbox {
		devtools.MountPhoenixSandbox(receivers.App)
	}
	devtools.MountRegistrationSandboxes(receivers.App, devtools.SandboxOptions{Settings: cfg.Setting})

	fmt.Fprintf(out, "\nhookflow dev is up\n")
	fmt.Fprintf(out, "  receivers     %s/webhooks/<provider>\n", setup.Base)
	if stack.TemporalServer != nil {
		fmt.Fprintf(out, "  Temporal UI   http://127.0.0.1:%d/namespaces/%s/workflows\n", opts.uiPort, cfg.TemporalNamespace)
	}
	fmt.Fprintf(out, "  Temporal      %s (namespace %s, task queue %s)%s\n", cfg.TemporalAddress, cfg.TemporalNamespace, cfg.TaskQueue, startedBy(stack.TemporalServer))
	fmt.Fprintf(out, "  Redis         %s%s\n", stack.RedisURL, startedBy(stack.RedisServer))
	fmt.Fprintf(out, "  operations    %s/metrics  %s/readyz  %s/healthz\n", setup.OpsBase, setup.OpsBase, setup.OpsBase)
	if setup.Sink != nil {
		fmt.Fprintf(out, "  FORWARD       applied transitions are delivered, signed, to %s%s and printed here\n", setup.Base, devtools.LogSinkPath)
	}
	if setup.Sandbox {
		fmt.Fprintf(out, "  SANDBOX       Phoenix orders API is the in-process sandbox at %s (set PHOENIX_API_URL to use a real one)\n", cfg.PhoenixAPIURL)
	}
	fmt.Fprintf(out, "  SANDBOX       UP42 webhooks API at %s%s/, Fenix registration API at %s%s/ (in memory; they send signed webhooks)\n",
		setup.Base, devtools.UP42SandboxPrefix, setup.Base, devtools.FenixSandboxPrefix)
	if len(setup.DevSecrets) > 0 {
		fmt.Fprintf(out, "  dev secrets   %s use hookflow's public development secrets\n", strings.Join(setup.DevSecrets, ", "))
	}
	if len(setup.DevConnections) > 0 {
		fmt.Fprintf(out, "  connections   %s set for development (runtime tenants sealed with the public development key; connect registers %s at the stand-ins)\n",
			strings.Join(setup.DevConnections, ", "), cfg.PublicURL)
	}
	fmt.Fprintf(out, "\nTry:\n  bin/hookflow send phoenix --order order-1 --status fulfilled\n  bin/hookflow status phoenix-order:order-1\n"+
		"  bin/hookflow send fenix --entity shipment-1 --status DELIVERED   (also: phosphor, up42, phantom)\n"+
		"  bin/hookflow tenants add demo && bin/hookflow connect up42 --tenant demo\n\nCtrl-C stops everything.\n\n")
	err = p.serve(ctx, receivers)
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
