package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/hookflow/hookflow/internal/process/searchattr"
)

func newWorkerCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "worker",
		Short: "Run the Temporal worker: entity workflows and their activities",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := a.newProcess(cmd.Context(), "hookflow-worker")
			if err != nil {
				return err
			}
			defer p.close()
			// Unlike the receivers, a worker cannot start without Temporal
			// (the SDK refuses), so an unreachable Temporal stops it here too.
			if err := searchattr.Check(cmd.Context(), p.tc, p.cfg.TemporalNamespace); err != nil {
				if errors.Is(err, searchattr.ErrTemporalUnreachable) {
					return fmt.Errorf("TEMPORAL_ADDRESS %s: %w", p.cfg.TemporalAddress, err)
				}
				return err
			}
			// Stopped after the ops endpoints: in-flight tasks finish first.
			stopWorker, err := p.startWorker()
			if err != nil {
				return err
			}
			defer stopWorker()
			p.log.Info("worker started", "task_queue", p.cfg.TaskQueue, "temporal", p.cfg.TemporalAddress, "ops", p.cfg.MetricsAddr)
			return p.serve(cmd.Context())
		},
	}
}
