package main

import (
	"context"
	"io"

	"github.com/spf13/cobra"
	"go.temporal.io/sdk/client"

	"github.com/hookflow/hookflow/config"
	"github.com/hookflow/hookflow/internal/operator/operate"
	"github.com/hookflow/hookflow/receivers/starter"
)

// reprocessOptions are the flags of `hookflow reprocess`.
type reprocessOptions struct {
	provider string
	entity   string
	file     string // reprocess: entity IDs to backfill, "-" for standard input
	query    string
	tenant   string // keeps the targets to one tenant's entities
	dryRun   bool
	yes      bool
	rate     float64
	reason   string
}

func newReprocessCmd(a *app) *cobra.Command {
	var o reprocessOptions
	cmd := &cobra.Command{
		Use:   "reprocess [workflow-id...]",
		Short: "Re-query the provider and re-apply the current state's handling of entities, running or closed",
		Long: `Reprocess signals each target workflow with "reprocess" (SignalWithStart, so a closed
entity gets a new run that loads its final state): the provider API is queried again where
one exists and the current state's handling re-applied, idempotently. Targets are workflow
IDs, --provider with --entity, a Temporal visibility --query, or (a backfill, started where
new) --provider with --file, one entity ID a line ("-" for standard input).

--tenant keeps them to one tenant's entities: --provider with --entity and --query find
only workflows whose search attribute Tenant is that tenant (the query is sent as
WorkflowType = "Entity" AND Tenant = "<tenant>" AND (<query>)), --file names the tenant's
workflow IDs, and a workflow ID of the default tenant is taken as the tenant's
(fenix-shipment:1 as fenix-shipment@<tenant>:1). A tenant's workflow ID needs no --tenant.`,
		Example: `  hookflow reprocess phoenix-order:order-1
  hookflow reprocess --provider phoenix --entity order-1
  hookflow reprocess --query 'WebhookProvider="phoenix" AND EntityStatus="pending"' --dry-run
  hookflow reprocess --query 'EntityStatus="pending"' --yes --rate 5
  hookflow reprocess --provider phoenix --file open-orders.txt --yes --rate 5
  hookflow reprocess --tenant wearhumans.myshopify.com --query 'EntityStatus="pending"' --dry-run`,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, tc, err := a.dial(discardLogger(), nil, nil)
			if err != nil {
				return err
			}
			defer tc.Close()
			return reprocess(cmd.Context(), cmd.InOrStdin(), cmd.OutOrStdout(), tc, cfg, args, o)
		},
	}
	addTargetFlags(cmd, &o, `'EntityStatus="pending"'`)
	cmd.Flags().StringVar(&o.reason, "reason", "manual reprocess", "reason recorded with the request")
	cmd.Flags().StringVar(&o.file, "file", "", "backfill, with --provider: a file of entity IDs, one a line (- for standard input)")
	return cmd
}

// addTargetFlags adds the flags that choose and pace the entities a command
// signals (reprocess, redeliver).
func addTargetFlags(cmd *cobra.Command, o *reprocessOptions, queryExample string) {
	f := cmd.Flags()
	f.StringVar(&o.provider, "provider", "", "provider of --entity (phoenix, phosphor, up42, fenix, phantom, or one the configuration defines)")
	f.StringVar(&o.entity, "entity", "", "entity ID, with --provider")
	f.StringVar(&o.query, "query", "", "Temporal visibility query, e.g. "+queryExample)
	f.StringVar(&o.tenant, "tenant", "", "only this tenant's entities (with --provider and --entity, --file, --query, or default-tenant workflow IDs)")
	f.BoolVar(&o.dryRun, "dry-run", false, "list the targets and their count, change nothing")
	f.BoolVarP(&o.yes, "yes", "y", false, "do not ask for confirmation of more than one target")
	f.Float64Var(&o.rate, "rate", 10, "signals per second")
}

// reprocess signals each target entity's workflow with "reprocess".
func reprocess(ctx context.Context, in io.Reader, out io.Writer, tc client.Client, cfg *config.Config, args []string, o reprocessOptions) error {
	return signalEntities(ctx, in, out, tc, cfg, args, o, operate.Reprocess(o.reason))
}

// signalEntities sends sig to each target entity's workflow (SignalWithStart,
// so a closed entity gets a new run), rate-limited, with progress and a
// summary.
func signalEntities(ctx context.Context, in io.Reader, out io.Writer, tc client.Client, cfg *config.Config, args []string, o reprocessOptions, sig operate.Signal) error {
	b := operate.Batch{
		Selection: operate.Selection{IDs: args, Providers: cfg.Providers, Provider: o.provider, Entity: o.entity, File: o.file, Query: o.query, Tenant: o.tenant},
		Signal:    sig, DryRun: o.dryRun, Yes: o.yes,
	}
	return b.Run(ctx, in, out, tc, cfg.TemporalNamespace, operate.Sender{Starter: starter.New(cfg, tc), Providers: cfg.Providers, Rate: o.rate})
}
