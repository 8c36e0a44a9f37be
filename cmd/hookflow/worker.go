package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

func newWorkerCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "worker",
		Short: "Run the Temporal worker: entity workflows and their activities",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := a.config()
			if err != nil {
				return err
			}
			log := newLogger()
			tc, err := dialTemporal(cfg, log)
			if err != nil {
				return err
			}
			defer tc.Close()
			w := newWorker(cfg, tc)
			if err := w.Start(); err != nil {
				return fmt.Errorf("start worker on task queue %s: %w", cfg.TaskQueue, err)
			}
			log.Info("worker started", "task_queue", cfg.TaskQueue, "temporal", cfg.TemporalAddress)
			<-cmd.Context().Done()
			w.Stop()
			return nil
		},
	}
}
