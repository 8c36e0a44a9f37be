package main

import (
	"fmt"

	"github.com/gofiber/fiber/v2"
	"github.com/spf13/cobra"

	"github.com/hookflow/hookflow/metrics"
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
			w := newWorker(cfg, tc)
			if err := w.Start(); err != nil {
				return fmt.Errorf("start worker on task queue %s: %w", cfg.TaskQueue, err)
			}
			// Stop after the ops endpoints: in-flight tasks finish first.
			defer w.Stop()
			log.Info("worker started", "task_queue", cfg.TaskQueue, "temporal", cfg.TemporalAddress, "metrics", cfg.MetricsAddr)
			ops := fiber.New(fiber.Config{DisableStartupMessage: true})
			mountOps(ops, m, tc, nil)
			return serveUntilDone(cmd.Context(), ops, cfg.MetricsAddr)
		},
	}
}
