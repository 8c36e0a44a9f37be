package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/hookflow/hookflow/workflows"
)

func newStatusCmd(a *app) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "status <workflow-id>",
		Short: "Show an entity's current state and transition history",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := a.config()
			if err != nil {
				return err
			}
			tc, err := dialTemporal(cfg, discardLogger())
			if err != nil {
				return err
			}
			defer tc.Close()
			v, err := tc.QueryWorkflow(cmd.Context(), args[0], "", workflows.QueryState)
			if err != nil {
				return fmt.Errorf("query %s: %w", args[0], err)
			}
			var st workflows.State
			if err := v.Get(&st); err != nil {
				return fmt.Errorf("decode state of %s: %w", args[0], err)
			}
			if asJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(st)
			}
			printState(cmd.OutOrStdout(), args[0], st)
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the state as JSON")
	return cmd
}

// printState writes the state for a person to read.
func printState(w io.Writer, workflowID string, st workflows.State) {
	status := st.Status
	if status == "" {
		status = "(unknown)"
	}
	if st.Terminal {
		status += " (terminal)"
	}
	fmt.Fprintf(w, "workflow:   %s\n", workflowID)
	fmt.Fprintf(w, "entity:     %s %s %s\n", st.Provider, st.EntityType, st.EntityID)
	fmt.Fprintf(w, "status:     %s\n", status)
	fmt.Fprintf(w, "events:     %d processed, %d duplicate(s) ignored\n", st.Processed, st.Duplicates)
	if st.LastError != "" {
		fmt.Fprintf(w, "last error: %s\n", st.LastError)
	}
	if len(st.Transitions) == 0 {
		fmt.Fprintln(w, "transitions: none")
		return
	}
	fmt.Fprintln(w, "transitions:")
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  #\tat\tfrom\tto\tsource\tevent")
	for _, t := range st.Transitions {
		from := t.From
		if from == "" {
			from = "-"
		}
		fmt.Fprintf(tw, "  %d\t%s\t%s\t%s\t%s\t%s\n", t.Seq, t.At.UTC().Format(time.RFC3339), from, t.To, t.Source, strings.TrimSpace(t.EventID))
	}
	tw.Flush()
}
