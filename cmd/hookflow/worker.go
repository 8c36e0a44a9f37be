package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/hookflow/hookflow/internal/listen"
	"github.com/hookflow/hookflow/internal/metrics"
	"github.com/hookflow/hookflow/internal/ops"
)

func newWorkerCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "worker",
		Short: "Run the Temporal worker: entity workflows and their activities",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log := newLogger()
			m, err := metrics.New(log)
			if err != nil {
				return err
			}
			cfg, tc, err := a.dial(log, m)
			if err != nil {
				return err
			}
			defer tc.Close()
			// Unlike the receivers, a worker cannot start without Temporal
			// (the SDK refuses), so an unreachable Temporal stops it here too.
			if err := ops.CheckSearchAttributes(cmd.Context(), tc, cfg.TemporalNamespace); err != nil {
				if errors.Is(err, ops.ErrTemporalUnreachable) {
					return fmt.Errorf("TEMPORAL_ADDRESS %s: %w", cfg.TemporalAddress, err)
				}
				return err
			}
			w := newWorker(cfg, tc)
			if err := w.Start(); err != nil {
				return fmt.Errorf("start worker on task queue %s: %w", cfg.TaskQueue, err)
			}
			// Stop after the ops endpoints: in-flight tasks finish first.
			defer w.Stop()
			log.Info("worker started", "task_queue", cfg.TaskQueue, "temporal", cfg.TemporalAddress, "ops", cfg.MetricsAddr)
			return listen.Serve(cmd.Context(), listen.App{Setting: "HOOKFLOW_METRICS_ADDR", App: newOpsApp(log, m, tc, nil), Addr: cfg.MetricsAddr})
		},
	}
}
