package main

import (
	"context"
	"encoding/json"
	"io"

	"github.com/spf13/cobra"
	"go.temporal.io/sdk/client"

	"github.com/hookflow/hookflow/config"
	"github.com/hookflow/hookflow/internal/operator/inspect"
	"github.com/hookflow/hookflow/internal/operator/operate"
)

func newStatusCmd(a *app) *cobra.Command {
	var asJSON bool
	var tenant string
	cmd := &cobra.Command{
		Use:   "status <workflow-id>",
		Short: "Show an entity's current state, transition history and pending work",
		Long: `Status shows an entity workflow's state, transitions and pending work. A tenant's
entity has the tenant in its workflow ID (fenix-shipment@<tenant>:<entity>); --tenant T
takes a default-tenant workflow ID as T's (fenix-shipment:1 as fenix-shipment@T:1).`,
		Example: `  hookflow status phoenix-order:order-1
  hookflow status --tenant wearhumans.myshopify.com fenix-shipment:794698751234 --json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			rep, err := a.report(cmd.Context(), args[0], tenant)
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(cmd.OutOrStdout(), rep)
			}
			return rep.WriteText(cmd.OutOrStdout())
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the report as JSON")
	addTenantFlag(cmd, &tenant)
	return cmd
}

// addTenantFlag adds --tenant to a command that reads one entity.
func addTenantFlag(cmd *cobra.Command, tenant *string) {
	cmd.Flags().StringVar(tenant, "tenant", "", "take a default-tenant workflow ID as this tenant's entity")
}

// report dials Temporal for one command and describes one entity workflow.
func (a *app) report(ctx context.Context, workflowID, tenant string) (inspect.Report, error) {
	if err := operate.CheckTenant(tenant); err != nil {
		return inspect.Report{}, err
	}
	cfg, tc, err := a.dial(discardLogger(), nil, nil)
	if err != nil {
		return inspect.Report{}, err
	}
	defer tc.Close()
	return describeEntity(ctx, tc, cfg, workflowID, tenant)
}

// describeEntity describes the entity workflow workflowID names, as
// tenant's when tenant is set (operate.ForTenant).
func describeEntity(ctx context.Context, tc client.Client, cfg *config.Config, workflowID, tenant string) (inspect.Report, error) {
	id, err := operate.ForTenant(cfg.Providers, tenant, workflowID)
	if err != nil {
		return inspect.Report{}, err
	}
	return inspect.Describe(ctx, tc, cfg, id, inspect.LiveQueryWait)
}

// writeJSON prints v as indented JSON, for --json.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
