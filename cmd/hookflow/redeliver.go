package main

import (
	"context"
	"io"

	"github.com/spf13/cobra"
	"go.temporal.io/sdk/client"

	"github.com/hookflow/hookflow/config"

	"github.com/hookflow/hookflow/internal/operator/operate"
)

func newRedeliverCmd(a *app) *cobra.Command {
	var o reprocessOptions
	var destination string
	cmd := &cobra.Command{
		Use:   "redeliver [workflow-id...]",
		Short: "Retry entities' failed transition deliveries and release the transitions queued behind them",
		Long: `Redeliver signals each target workflow with "redeliver" (SignalWithStart, so a closed
entity gets a new run that loads its deliveries): every delivery recorded as failed (a 4xx, or
the horizon passed) goes again, in order, and the transitions waiting behind it follow.
Targets are workflow IDs, or --provider with --entity, or a Temporal visibility --query such
as 'DeliveryFailed=true'. --destination limits it to one destination's failed deliveries.
--tenant keeps the targets to one tenant's entities, as for reprocess.`,
		Example: `  hookflow redeliver fenix-shipment:794698751234
  hookflow redeliver --query 'DeliveryFailed=true' --dry-run
  hookflow redeliver --query 'DeliveryFailed=true' --destination warehouse --yes
  hookflow redeliver --query 'DeliveryFailed=true AND WebhookProvider="fenix"' --yes --rate 5
  hookflow redeliver --tenant wearhumans.myshopify.com --query 'DeliveryFailed=true' --yes`,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, tc, err := a.dial(discardLogger(), nil, nil)
			if err != nil {
				return err
			}
			defer tc.Close()
			return redeliver(cmd.Context(), cmd.InOrStdin(), cmd.OutOrStdout(), tc, cfg, args, o, destination)
		},
	}
	addTargetFlags(cmd, &o, `'DeliveryFailed=true'`)
	cmd.Flags().StringVar(&destination, "destination", "", "redeliver only this destination's failed deliveries (a name from destinations:, default, or handler)")
	return cmd
}

// redeliver signals each target entity's workflow with "redeliver", for
// one destination's failed deliveries when destination is set.
func redeliver(ctx context.Context, in io.Reader, out io.Writer, tc client.Client, cfg *config.Config, args []string, o reprocessOptions, destination string) error {
	if err := operate.CheckDestination(cfg, destination); err != nil {
		return err
	}
	return signalEntities(ctx, in, out, tc, cfg, args, o, operate.Redeliver(destination))
}
