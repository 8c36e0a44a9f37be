package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/spf13/cobra"

	"github.com/hookflow/hookflow/config"
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
				if target, err = healthzURL(cfg.MetricsAddr); err != nil {
					return err
				}
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
			if err != nil {
				return fmt.Errorf("healthcheck %s: %w", target, err)
			}
			// No proxy: the process checked is this container's own.
			resp, err := (&http.Client{Transport: &http.Transport{Proxy: nil}}).Do(req)
			if err != nil {
				return fmt.Errorf("healthcheck %s: %w", target, err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("healthcheck %s: answered %d", target, resp.StatusCode)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "ok: %s answered 200\n", target)
			return nil
		},
	}
	cmd.Flags().StringVar(&target, "url", "", "URL to GET instead of http://<HOOKFLOW_METRICS_ADDR>/healthz")
	cmd.Flags().DurationVar(&timeout, "timeout", 2*time.Second, "how long to wait for the answer")
	return cmd
}

// healthzURL is /healthz on the operations listener addr, reached over
// loopback when addr listens on every interface (":9090", "0.0.0.0:9090").
func healthzURL(addr string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("HOOKFLOW_METRICS_ADDR %q: must be host:port", addr)
	}
	switch host {
	case "", "0.0.0.0":
		host = "127.0.0.1"
	case "::":
		host = "::1"
	}
	return "http://" + net.JoinHostPort(host, port) + "/healthz", nil
}
