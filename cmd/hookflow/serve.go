package main

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/hookflow/hookflow/internal/process/connect"
	"github.com/hookflow/hookflow/internal/process/searchattr"
)

func newServeCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "serve",
		Short: "Run the webhook receivers (HTTP), with the operations endpoints on HOOKFLOW_METRICS_ADDR",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := a.newProcess(cmd.Context(), "hookflow-serve")
			if err != nil {
				return err
			}
			defer p.close()
			ctx, stop := context.WithCancelCause(cmd.Context())
			defer stop(nil)
			// A late check that fails stops the receivers.
			if err := searchattr.CheckOrLater(ctx, p.tc, p.cfg.TemporalNamespace, p.log.With("temporal", p.cfg.TemporalAddress), stop); err != nil {
				return err
			}
			if p.rdb, err = connect.RedisClient(p.cfg); err != nil {
				return err
			}
			defer p.rdb.Close()
			p.log.Info("receivers listening", "addr", p.cfg.HTTPAddr, "ops", p.cfg.MetricsAddr)
			err = p.serve(ctx, p.receivers(ctx))
			if cause := context.Cause(ctx); ctx.Err() != nil && cmd.Context().Err() == nil {
				return cause // the late search-attribute check failed
			}
			return err
		},
	}
}
