package main

import (
	"github.com/spf13/cobra"
)

func newServeCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "serve",
		Short: "Run the webhook receivers (HTTP)",
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
			rdb, err := newRedis(cfg)
			if err != nil {
				return err
			}
			defer rdb.Close()
			app := newReceiverApp(cfg, tc, rdb, log)
			log.Info("receivers listening", "addr", cfg.HTTPAddr)
			return serveUntilDone(cmd.Context(), app, cfg.HTTPAddr)
		},
	}
}
