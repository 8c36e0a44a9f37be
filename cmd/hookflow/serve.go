package main

import (
	"context"
	"errors"

	"github.com/spf13/cobra"

	"github.com/hookflow/hookflow/internal/connect"
	"github.com/hookflow/hookflow/internal/listen"
	"github.com/hookflow/hookflow/internal/metrics"
	"github.com/hookflow/hookflow/internal/ops"
)

func newServeCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "serve",
		Short: "Run the webhook receivers (HTTP), with the operations endpoints on HOOKFLOW_METRICS_ADDR",
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
			ctx, stop := context.WithCancelCause(cmd.Context())
			defer stop(nil)
			if err := ops.CheckSearchAttributes(ctx, tc, cfg.TemporalNamespace); err != nil {
				if !errors.Is(err, ops.ErrTemporalUnreachable) {
					return err
				}
				// Receivers start while Temporal is away and answer 503, so
				// providers retry; the check runs once Temporal answers and
				// stops the receivers if it fails then.
				log.Warn("temporal does not answer: receivers answer 503 until it does; search attributes will be checked then",
					"temporal", cfg.TemporalAddress, "error", err.Error())
				go func() {
					if err := ops.AwaitSearchAttributes(ctx, tc, cfg.TemporalNamespace); err != nil {
						stop(err)
					}
				}()
			}
			rdb, err := connect.RedisClient(cfg)
			if err != nil {
				return err
			}
			defer rdb.Close()
			app := newReceiverApp(cfg, tc, rdb, log, m)
			ops := newOpsApp(log, m, tc, rdb)
			log.Info("receivers listening", "addr", cfg.HTTPAddr, "ops", cfg.MetricsAddr)
			err = listen.Serve(ctx,
				listen.App{Setting: "HOOKFLOW_HTTP_ADDR", App: app, Addr: cfg.HTTPAddr},
				listen.App{Setting: "HOOKFLOW_METRICS_ADDR", App: ops, Addr: cfg.MetricsAddr})
			if cause := context.Cause(ctx); ctx.Err() != nil && cmd.Context().Err() == nil {
				return cause // the late search-attribute check failed
			}
			return err
		},
	}
}
