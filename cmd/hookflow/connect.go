package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/hookflow/hookflow/internal/operator/connections"
	"github.com/hookflow/hookflow/internal/process/connect"
	"github.com/hookflow/hookflow/internal/tenantstore"
	"github.com/hookflow/hookflow/receivers/verified"
	"github.com/hookflow/hookflow/workflows"
)

// connectOptions are connect's flags.
type connectOptions struct {
	tenant     string
	check      bool
	wait       time.Duration
	policy     string
	checkEvery time.Duration
	overlap    time.Duration
	filters    string
}

func newConnectCmd(a *app) *cobra.Command {
	var o connectOptions
	cmd := &cobra.Command{
		Use:   "connect <provider> --tenant T",
		Short: "Register hookflow's webhook for a tenant at the provider, test it and keep it there",
		Long: `Connect registers HOOKFLOW_PUBLIC_URL/webhooks/<provider>/<tenant> at the provider through its
API, durably, in the Connection workflow connection:<provider>@<tenant> (contract section 18):
UP42 gets the order.status event with a secret hookflow generates, then the provider's test,
and connect waits until the test event has arrived and verified; Fenix gets tracking/updated
for the store, with the store's access token. The workflow then checks the webhook on a schedule
(it still exists, is active, points at us with our events and filters) and repairs it, or with
--policy raise leaves it drifted for the alert. A provider without a registration API is refused
with what to do by hand; --check then waits for the tenant's first verified event.`,
		Example: `  hookflow connect up42 --tenant demo
  hookflow connect fenix --tenant wearhumans.myshopify.com --filters '[{"carrier":"UPS","sub_filter":{"delivery_statuses":["DELIVERED"]}}]'
  hookflow connect phoenix --tenant demo --check`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withConnections(cmd, o.tenant, o.wait, func(ctx context.Context, s *connections.Service) error {
				return runConnect(ctx, cmd.OutOrStdout(), s, args[0], o)
			})
		},
	}
	addConnectionFlags(cmd, &o.tenant, &o.wait)
	cmd.Flags().BoolVar(&o.check, "check", false, "wait for the tenant's first verified event from the provider (after registering by hand)")
	cmd.Flags().StringVar(&o.policy, "policy", "", "on drift: repair (the default) or raise (leave it drifted, the alert fires)")
	cmd.Flags().DurationVar(&o.checkEvery, "check-every", 0, "how often the webhook is checked at the provider (default 15m)")
	cmd.Flags().DurationVar(&o.overlap, "overlap", 0, "how long a rotated-out secret still verifies (default 24h)")
	cmd.Flags().StringVar(&o.filters, "filters", "", "the provider's filters as JSON, or @file (Fenix: carriers and their delivery statuses)")
	cmd.AddCommand(newConnectRotateCmd(a), newConnectDisconnectCmd(a))
	return cmd
}

func addConnectionFlags(cmd *cobra.Command, tenant *string, wait *time.Duration) {
	cmd.Flags().StringVar(tenant, "tenant", "", "the tenant (required)")
	cmd.Flags().DurationVar(wait, "wait", 3*time.Minute, "how long to wait for the outcome")
	_ = cmd.MarkFlagRequired("tenant")
}

func runConnect(ctx context.Context, out io.Writer, s *connections.Service, provider string, o connectOptions) error {
	opts := connections.Options{Policy: o.policy, CheckEvery: o.checkEvery, Overlap: o.overlap}
	if o.filters != "" {
		raw := []byte(o.filters)
		if path, ok := strings.CutPrefix(o.filters, "@"); ok {
			var err error
			if raw, err = os.ReadFile(path); err != nil {
				return fmt.Errorf("--filters: %w", err)
			}
		}
		if !json.Valid(raw) {
			return errors.New("--filters: not JSON")
		}
		opts.Filters = raw
	}
	since := time.Now()
	if o.check {
		url, err := s.URL(provider, o.tenant)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "waiting for the first verified %s event for tenant %s at %s …\n", provider, o.tenant, url)
		at, err := s.AwaitVerified(ctx, provider, o.tenant, since)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "verified: a %s event for tenant %s passed verification at %s\n", provider, o.tenant, at.UTC().Format(time.RFC3339))
		return nil
	}
	if err := s.Connect(ctx, provider, o.tenant, opts); err != nil {
		return err
	}
	fmt.Fprintf(out, "registering %s for tenant %s (workflow %s) …\n", provider, o.tenant, workflows.ConnectionWorkflowID(provider, o.tenant))
	// Done once the workflow has taken this connect (it was seen
	// registering, or registered since) and has come to active or failing.
	taken := false
	st, err := s.Await(ctx, provider, o.tenant, func(st workflows.ConnectionState) bool {
		taken = taken || st.State == workflows.ConnectionRegistering || st.Registered.After(since)
		return taken && (st.State == workflows.ConnectionActive || st.State == workflows.ConnectionFailing)
	})
	if err != nil {
		return fmt.Errorf("connect %s for tenant %s: not done yet (%w); follow it with hookflow connections", provider, o.tenant, err)
	}
	writeConnection(out, st)
	if st.State != workflows.ConnectionActive {
		return fmt.Errorf("connect %s for tenant %s: %s", provider, o.tenant, st.State)
	}
	return nil
}

func newConnectRotateCmd(a *app) *cobra.Command {
	var tenant string
	var wait time.Duration
	cmd := &cobra.Command{
		Use:   "rotate <provider> --tenant T",
		Short: "Rotate the webhook's secret: the new one at the provider, both accepted for the overlap, then the old refused",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withConnections(cmd, tenant, wait, func(ctx context.Context, s *connections.Service) error {
				before, err := s.Get(ctx, args[0], tenant)
				if err != nil {
					return err
				}
				if err := s.Rotate(ctx, args[0], tenant); err != nil {
					return err
				}
				st, err := s.Await(ctx, args[0], tenant, func(st workflows.ConnectionState) bool {
					return st.SecretID != before.SecretID && !st.RotatingUntil.IsZero() || st.LastError != "" && st.LastError != before.LastError
				})
				if err != nil {
					return fmt.Errorf("rotate: not done yet (%w); follow it with hookflow connections", err)
				}
				writeConnection(cmd.OutOrStdout(), st)
				if st.RotatingUntil.IsZero() {
					return fmt.Errorf("rotate %s for tenant %s: %s", args[0], tenant, st.LastError)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "rotated: the old and new secrets both verify until %s, then the old one is refused\n", st.RotatingUntil.UTC().Format(time.RFC3339))
				return nil
			})
		},
	}
	addConnectionFlags(cmd, &tenant, &wait)
	return cmd
}

func newConnectDisconnectCmd(a *app) *cobra.Command {
	var tenant string
	var wait time.Duration
	cmd := &cobra.Command{
		Use:   "disconnect <provider> --tenant T",
		Short: "Delete hookflow's webhook for the tenant at the provider, and stop watching it",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withConnections(cmd, tenant, wait, func(ctx context.Context, s *connections.Service) error {
				if err := s.Disconnect(ctx, args[0], tenant); err != nil {
					return err
				}
				st, err := s.Await(ctx, args[0], tenant, func(st workflows.ConnectionState) bool {
					return st.State == workflows.ConnectionDisconnected
				})
				if err != nil {
					return fmt.Errorf("disconnect: not done yet (%w); follow it with hookflow connections", err)
				}
				writeConnection(cmd.OutOrStdout(), st)
				return nil
			})
		},
	}
	addConnectionFlags(cmd, &tenant, &wait)
	return cmd
}

func newConnectionsCmd(a *app) *cobra.Command {
	var tenant string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "connections",
		Short: "List the connections: each tenant's webhook at each provider, its state and last check",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.withConnections(cmd, "", 30*time.Second, func(ctx context.Context, s *connections.Service) error {
				list, err := s.List(ctx, tenant)
				if err != nil {
					return err
				}
				if asJSON {
					if list == nil {
						list = []workflows.ConnectionState{}
					}
					return writeJSON(cmd.OutOrStdout(), list)
				}
				if len(list) == 0 {
					fmt.Fprintln(cmd.OutOrStdout(), "no connections")
				}
				for _, st := range list {
					writeConnection(cmd.OutOrStdout(), st)
				}
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&tenant, "tenant", "", "only this tenant's")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print them as JSON")
	return cmd
}

// withConnections dials Temporal (and Redis, for --check) and runs f with
// the connections service, within wait.
func (a *app) withConnections(cmd *cobra.Command, tenant string, wait time.Duration, f func(context.Context, *connections.Service) error) error {
	cfg, tc, err := a.dial(discardLogger(), nil, nil)
	if err != nil {
		return err
	}
	defer tc.Close()
	useDevConnections(cfg, cmd.ErrOrStderr(), false) // the worker seals what connect makes
	store, err := tenantstore.New(cfg, tc)
	if err != nil {
		return err
	}
	s := &connections.Service{Client: tc, Config: cfg, Tenants: store}
	if rdb, err := connect.RedisClient(cfg); err == nil {
		defer rdb.Close()
		s.Verified = &verified.Marks{Client: rdb}
	}
	ctx, cancel := context.WithTimeout(cmd.Context(), wait)
	defer cancel()
	return f(ctx, s)
}

// writeConnection prints one connection, never a secret (the state holds
// none).
func writeConnection(out io.Writer, st workflows.ConnectionState) {
	fmt.Fprintf(out, "%s for tenant %s: %s", st.Provider, st.Tenant, st.State)
	if st.WebhookID != "" {
		fmt.Fprintf(out, ", webhook %s", st.WebhookID)
	}
	if st.URL != "" {
		fmt.Fprintf(out, " → %s", st.URL)
	}
	fmt.Fprintln(out)
	if !st.Verified.IsZero() {
		fmt.Fprintf(out, "  test event verified at %s\n", st.Verified.UTC().Format(time.RFC3339))
	}
	if !st.LastCheck.IsZero() {
		fmt.Fprintf(out, "  last check %s\n", st.LastCheck.UTC().Format(time.RFC3339))
	}
	for _, r := range st.Reasons {
		fmt.Fprintf(out, "  drift: %s\n", r)
	}
	if st.LastError != "" {
		fmt.Fprintf(out, "  error: %s\n", st.LastError)
	}
	if !st.RotatingUntil.IsZero() {
		fmt.Fprintf(out, "  rotating: the old secret verifies until %s\n", st.RotatingUntil.UTC().Format(time.RFC3339))
	}
}
