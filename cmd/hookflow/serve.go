package main

import (
	"github.com/spf13/cobra"

	"github.com/hookflow/hookflow/metrics"
)

func newServeCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "serve",
		Short: "Run the webhook receivers (HTTP)",
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
			rdb, err := newRedis(cfg)
			if err != nil {
				return err
			}
			defer rdb.Close()
			app := newReceiverApp(cfg, tc, rdb, log, m)
			log.Info("receivers listening", "addr", cfg.HTTPAddr)
			return serveUntilDone(cmd.Context(), app, cfg.HTTPAddr)
		},
	}
}
