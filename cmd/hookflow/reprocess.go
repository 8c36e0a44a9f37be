package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"
	"go.temporal.io/sdk/client"

	"github.com/hookflow/hookflow/config"
	"github.com/hookflow/hookflow/internal/operate"
	"github.com/hookflow/hookflow/internal/starter"
	"github.com/hookflow/hookflow/workflows"
)

// reprocessOptions are the flags of `hookflow reprocess`.
type reprocessOptions struct {
	provider string
	entity   string
	query    string
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
IDs, or --provider with --entity, or a Temporal visibility --query.`,
		Example: `  hookflow reprocess phoenix-order:order-1
  hookflow reprocess --provider phoenix --entity order-1
  hookflow reprocess --query 'WebhookProvider="phoenix" AND EntityStatus="pending"' --dry-run
  hookflow reprocess --query 'EntityStatus="pending"' --yes --rate 5`,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, tc, err := a.dial(discardLogger(), nil)
			if err != nil {
				return err
			}
			defer tc.Close()
			return reprocess(cmd.Context(), cmd.InOrStdin(), cmd.OutOrStdout(), tc, cfg, args, o)
		},
	}
	addTargetFlags(cmd, &o, `'EntityStatus="pending"'`)
	cmd.Flags().StringVar(&o.reason, "reason", "manual reprocess", "reason recorded with the request")
	return cmd
}

// addTargetFlags adds the flags that choose and pace the entities a command
// signals (reprocess, redeliver).
func addTargetFlags(cmd *cobra.Command, o *reprocessOptions, queryExample string) {
	f := cmd.Flags()
	f.StringVar(&o.provider, "provider", "", "provider of --entity (phoenix, phosphor, up42, fenix, phantom, or one the configuration defines)")
	f.StringVar(&o.entity, "entity", "", "entity ID, with --provider")
	f.StringVar(&o.query, "query", "", "Temporal visibility query, e.g. "+queryExample)
	f.BoolVar(&o.dryRun, "dry-run", false, "list the targets and their count, change nothing")
	f.BoolVarP(&o.yes, "yes", "y", false, "do not ask for confirmation of more than one target")
	f.Float64Var(&o.rate, "rate", 10, "signals per second")
}

// entitySignal is what `reprocess` and `redeliver` send each target.
type entitySignal struct {
	name    string                     // the signal
	done    string                     // the summary's verb: "reprocessed"
	payload func(requestID string) any // the signal's payload
}

// reprocess signals each target entity's workflow with "reprocess".
func reprocess(ctx context.Context, in io.Reader, out io.Writer, tc client.Client, cfg *config.Config, args []string, o reprocessOptions) error {
	sig := entitySignal{name: workflows.SignalReprocess, done: "reprocessed", payload: func(requestID string) any {
		return workflows.ReprocessRequest{RequestID: requestID, Reason: o.reason}
	}}
	return signalEntities(ctx, in, out, tc, cfg, args, o, sig)
}

// signalEntities sends sig to each target entity's workflow (SignalWithStart,
// so a closed entity gets a new run), rate-limited, with progress and a
// summary.
func signalEntities(ctx context.Context, in io.Reader, out io.Writer, tc client.Client, cfg *config.Config, args []string, o reprocessOptions, sig entitySignal) error {
	targets, err := operate.Targets(ctx, tc, cfg.TemporalNamespace, operate.Selection{IDs: args, Providers: cfg.Providers, Provider: o.provider, Entity: o.entity, Query: o.query})
	if err != nil {
		return err
	}
	if o.dryRun {
		for _, id := range targets {
			fmt.Fprintln(out, id)
		}
		fmt.Fprintf(out, "%d target(s); dry run, nothing %s\n", len(targets), sig.done)
		return nil
	}
	if len(targets) == 0 {
		fmt.Fprintln(out, "no targets")
		return nil
	}
	if len(targets) > 1 && !o.yes {
		if err := operate.Confirm(in, out, len(targets)); err != nil {
			return err
		}
	}
	if o.rate <= 0 {
		return errors.New("--rate must be positive")
	}
	bar := operate.NewProgress(out, len(targets))
	sender := operate.Sender{Starter: starter.New(cfg, tc), Providers: cfg.Providers, Rate: o.rate}
	requestID, failed, err := sender.Send(ctx, targets, operate.Signal{Name: sig.name, Payload: sig.payload}, bar.Step)
	if err != nil {
		return err
	}
	bar.Done()
	fmt.Fprintf(out, "%s %d, failed %d (request %s)\n", sig.done, len(targets)-len(failed), len(failed), requestID)
	for _, f := range failed {
		fmt.Fprintf(out, "  %s: %s\n", f.WorkflowID, f.Err)
	}
	if len(failed) > 0 {
		return fmt.Errorf("%d of %d %s signal(s) failed", len(failed), len(targets), sig.name)
	}
	return nil
}
