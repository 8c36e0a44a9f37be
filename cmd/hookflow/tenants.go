package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/hookflow/hookflow/config"
	"github.com/hookflow/hookflow/internal/dev/devtools"
	"github.com/hookflow/hookflow/internal/process/health"

	"github.com/hookflow/hookflow/internal/tenantstore"
)

func newTenantsCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "tenants",
		Short: "Add, list and remove runtime tenants (stored in Temporal, secrets sealed with HOOKFLOW_SECRETS_KEY)",
		Long: `Runtime tenants are stores and workspaces added while hookflow runs, without a restart
(contract section 18): each is a Tenant workflow (tenant:<id>) whose secrets are sealed
with AES-256-GCM under HOOKFLOW_SECRETS_KEY before they leave this process. Receivers and
workers take an added, changed or removed tenant within 5 seconds. Tenants of the
configuration file are listed too, and cannot be changed here.`,
	}
	cmd.AddCommand(newTenantsAddCmd(a), newTenantsListCmd(a), newTenantsRemoveCmd(a))
	return cmd
}

func newTenantsAddCmd(a *app) *cobra.Command {
	var secrets, secretFiles, tokens, filters []string
	var replace bool
	cmd := &cobra.Command{
		Use:   "add <tenant>",
		Short: "Add a runtime tenant, or change one: the providers named get the secrets given",
		Example: `  hookflow tenants add demo
  hookflow tenants add wearhumans.myshopify.com --secret-file fenix=/run/secrets/fenix --access-token fenix="$FENIX_TOKEN"`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			change := tenantstore.Change{Replace: replace, Secrets: map[string][]string{}, AccessTokens: map[string]string{}}
			if err := addPairs(secrets, func(p, v string) { change.Secrets[p] = append(change.Secrets[p], v) }); err != nil {
				return fmt.Errorf("--secret: %w", err)
			}
			var readErr error
			err := addPairs(secretFiles, func(p, path string) {
				b, err := os.ReadFile(path)
				readErr = errors.Join(readErr, err)
				change.Secrets[p] = append(change.Secrets[p], strings.TrimSpace(string(b)))
			})
			if err = errors.Join(err, readErr); err != nil {
				return fmt.Errorf("--secret-file: %w", err)
			}
			if err := addPairs(tokens, func(p, v string) { change.AccessTokens[p] = v }); err != nil {
				return fmt.Errorf("--access-token: %w", err)
			}
			change.Filters = map[string]json.RawMessage{}
			if err := addPairs(filters, func(p, v string) { change.Filters[p] = json.RawMessage(v) }); err != nil {
				return fmt.Errorf("--filters: %w", err)
			}
			return a.withTenants(cmd.Context(), cmd.ErrOrStderr(), true, func(ctx context.Context, s *tenantstore.Store) error {
				t, err := s.Apply(ctx, args[0], change)
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "tenant %s stored (revision %d; %s); receivers and workers take it within 5 s\n",
					t.ID, t.Revision, describeProviders(t))
				return nil
			})
		},
	}
	cmd.Flags().StringArrayVar(&secrets, "secret", nil, "provider=secret, a webhook secret of the tenant (repeat for rotation); prefer --secret-file, shells keep history")
	cmd.Flags().StringArrayVar(&secretFiles, "secret-file", nil, "provider=path, a file holding a webhook secret of the tenant")
	cmd.Flags().StringArrayVar(&tokens, "access-token", nil, "provider=token, the tenant's API token there (Fenix's store access token), for connect")
	cmd.Flags().StringArrayVar(&filters, "filters", nil, "provider=JSON, the filters connect registers there (Fenix: [{\"carrier\":\"UPS\",\"sub_filter\":{\"delivery_statuses\":[\"DELIVERED\"]}}])")
	cmd.Flags().BoolVar(&replace, "replace", false, "make the secrets and tokens given the tenant's only ones")
	return cmd
}

func newTenantsListCmd(a *app) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the tenants, the file's and the runtime ones (never a secret)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.withTenants(cmd.Context(), cmd.ErrOrStderr(), false, func(ctx context.Context, s *tenantstore.Store) error {
				ts, err := s.List(ctx)
				if err != nil {
					return err
				}
				if asJSON {
					return writeJSON(cmd.OutOrStdout(), ts)
				}
				return writeTenants(cmd.OutOrStdout(), ts)
			})
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the tenants as JSON")
	return cmd
}

func newTenantsRemoveCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "remove <tenant>",
		Short: "Remove a runtime tenant: its webhooks get 401 within 5 s",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withTenants(cmd.Context(), cmd.ErrOrStderr(), false, func(ctx context.Context, s *tenantstore.Store) error {
				if err := s.Remove(ctx, args[0]); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "tenant %s removed; its webhooks get 401 within 5 s\n", args[0])
				return nil
			})
		},
	}
}

// withTenants dials Temporal and runs f with the tenant store.
func (a *app) withTenants(ctx context.Context, errOut io.Writer, sealing bool, f func(context.Context, *tenantstore.Store) error) error {
	cfg, tc, err := a.dial(discardLogger(), nil, nil)
	if err != nil {
		return err
	}
	defer tc.Close()
	useDevConnections(cfg, errOut, sealing)
	s, err := tenantstore.New(cfg, tc)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	return f(ctx, s)
}

// useDevConnections gives a command that talks to `hookflow dev` (Temporal
// at its default loopback address) dev's development settings of runtime
// tenants and connections, where they are not set, and says so.
func useDevConnections(cfg *config.Config, errOut io.Writer, sealing bool) {
	if cfg.IsSet("TEMPORAL_ADDRESS") {
		return
	}
	base, err := health.LoopbackURL("HOOKFLOW_HTTP_ADDR", cfg.HTTPAddr)
	if err != nil {
		return
	}
	filled := cfg.UseDevConnections(base, base+devtools.UP42SandboxPrefix, base+devtools.FenixSandboxPrefix)
	if sealing && slices.Contains(filled, "HOOKFLOW_SECRETS_KEY") {
		fmt.Fprintln(errOut, "hookflow: HOOKFLOW_SECRETS_KEY is not set: sealing with hookflow dev's public development key (Temporal is the local dev server)")
	}
}

// addPairs parses provider=value flags.
func addPairs(flags []string, add func(provider, value string)) error {
	for _, f := range flags {
		p, v, ok := strings.Cut(f, "=")
		if !ok || p == "" {
			return errors.New("want provider=value")
		}
		add(p, v)
	}
	return nil
}

func describeProviders(t tenantstore.Tenant) string {
	if len(t.Providers) == 0 && len(t.AccessTokens) == 0 {
		return "no secrets yet"
	}
	var parts []string
	for p, n := range t.Providers {
		parts = append(parts, fmt.Sprintf("%s: %d secret(s)", p, n))
	}
	for _, p := range t.AccessTokens {
		parts = append(parts, p+": access token")
	}
	sort.Strings(parts)
	return strings.Join(parts, ", ")
}

func writeTenants(w io.Writer, ts []tenantstore.Tenant) error {
	if len(ts) == 0 {
		_, err := fmt.Fprintln(w, "no tenants")
		return err
	}
	for _, t := range ts {
		if _, err := fmt.Fprintf(w, "%-40s %-8s %s\n", t.ID, t.Source, describeProviders(t)); err != nil {
			return err
		}
	}
	return nil
}
