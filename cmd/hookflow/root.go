package main

import (
	"log/slog"
	"os"

	"github.com/mattn/go-isatty"
	"github.com/spf13/cobra"
	"go.temporal.io/sdk/client"

	"github.com/hookflow/hookflow/config"
	"github.com/hookflow/hookflow/internal/process/connect"
	"github.com/hookflow/hookflow/telemetry/metrics"
	"github.com/hookflow/hookflow/telemetry/tracing"
)

// app is what every command shares: where the configuration comes from and
// where output goes.
type app struct {
	configPath string
}

func newRootCmd() *cobra.Command {
	a := &app{}
	root := &cobra.Command{
		Use:           "hookflow",
		Short:         "Webhook gateway: verified, deduplicated provider events, one Temporal workflow per entity",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().StringVar(&a.configPath, "config", os.Getenv("HOOKFLOW_CONFIG"), "YAML configuration file (also HOOKFLOW_CONFIG)")
	root.AddCommand(
		newServeCmd(a),
		newWorkerCmd(a),
		newDevCmd(a),
		newSetupCmd(a),
		newStatusCmd(a),
		newEventsCmd(a),
		newReprocessCmd(a),
		newRedeliverCmd(a),
		newSendCmd(a),
		newBenchCmd(a),
		newHealthcheckCmd(a),
		newTenantsCmd(a),
		newConnectCmd(a),
		newConnectionsCmd(a),
		newVersionCmd(),
	)
	return root
}

// config loads and validates the configuration.
func (a *app) config() (*config.Config, error) {
	cfg, err := config.Load(a.configPath, nil)
	if err != nil {
		return nil, err
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return cfg, nil
}

// dial loads the configuration and connects to Temporal, for the commands
// that talk to it; m and tr are nil where the process exports no metrics and
// no traces. The caller closes the client.
func (a *app) dial(log *slog.Logger, m *metrics.Metrics, tr *tracing.Tracing) (*config.Config, client.Client, error) {
	cfg, err := a.config()
	if err != nil {
		return nil, nil, err
	}
	tc, err := connect.Temporal(cfg, log, m, tr)
	if err != nil {
		return nil, nil, err
	}
	return cfg, tc, nil
}

// newLogger logs JSON, or text on a terminal.
func newLogger() *slog.Logger {
	if isatty.IsTerminal(os.Stderr.Fd()) {
		return slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	return slog.New(slog.NewJSONHandler(os.Stderr, nil))
}

// discardLogger keeps the Temporal SDK quiet in one-shot commands.
func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
