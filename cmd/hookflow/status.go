package main

import (
	"context"
	"encoding/json"
	"io"

	"github.com/spf13/cobra"

	"github.com/hookflow/hookflow/internal/operator/inspect"
)

func newStatusCmd(a *app) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "status <workflow-id>",
		Short: "Show an entity's current state, transition history and pending work",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			rep, err := a.report(cmd.Context(), args[0])
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
	return cmd
}

// report dials Temporal for one command and describes one entity workflow.
func (a *app) report(ctx context.Context, workflowID string) (inspect.Report, error) {
	cfg, tc, err := a.dial(discardLogger(), nil, nil)
	if err != nil {
		return inspect.Report{}, err
	}
	defer tc.Close()
	return inspect.Describe(ctx, tc, cfg, workflowID, inspect.LiveQueryWait)
}

// writeJSON prints v as indented JSON, for --json.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
