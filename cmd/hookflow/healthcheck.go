package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/hookflow/hookflow/config"
	"github.com/hookflow/hookflow/internal/process/health"
)

// newHealthcheckCmd checks the running process's /healthz, for container
// health checks: a distroless image has no curl. It reads only the
// configuration file and environment, never Temporal or Redis, so it says
// whether this process is up, not whether its dependencies are (/readyz).
func newHealthcheckCmd(a *app) *cobra.Command {
	var target string
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "healthcheck",
		Short: "GET this process's /healthz on HOOKFLOW_METRICS_ADDR (or --url); exit 0 when it answers 200",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if target == "" {
				cfg, err := config.Load(a.configPath, nil)
				if err != nil {
					return err
				}
				if target, err = health.HealthzURL(cfg.MetricsAddr); err != nil {
					return err
				}
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			if err := health.Healthcheck(ctx, target); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "ok: %s answered 200\n", target)
			return nil
		},
	}
	cmd.Flags().StringVar(&target, "url", "", "URL to GET instead of http://<HOOKFLOW_METRICS_ADDR>/healthz")
	cmd.Flags().DurationVar(&timeout, "timeout", 2*time.Second, "how long to wait for the answer")
	return cmd
}
