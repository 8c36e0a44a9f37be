package main

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/hookflow/hookflow/inspect"
	"github.com/hookflow/hookflow/workflows"
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
			printReport(cmd.OutOrStdout(), rep)
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the report as JSON")
	return cmd
}

// report dials Temporal for one command and describes one entity workflow.
func (a *app) report(ctx context.Context, workflowID string) (inspect.Report, error) {
	cfg, tc, err := a.dial(discardLogger(), nil)
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

// printReport writes the report for a person to read.
func printReport(w io.Writer, rep inspect.Report) {
	st := rep.State
	status := st.Status
	if status == "" {
		status = "(unknown)"
	}
	if st.Terminal {
		status += " (terminal)"
	}
	if note := rep.Note(); note != "" {
		fmt.Fprintf(w, "note:       %s\n", note)
	}
	fmt.Fprintf(w, "workflow:   %s (%s)\n", rep.WorkflowID, strings.ToLower(rep.RunStatus))
	fmt.Fprintf(w, "entity:     %s %s %s\n", st.Provider, st.EntityType, st.EntityID)
	fmt.Fprintf(w, "status:     %s\n", status)
	fmt.Fprintf(w, "events:     %d processed, %d duplicate(s) ignored\n", st.Processed, st.Duplicates)
	if st.LastError != "" {
		fmt.Fprintf(w, "last error: %s\n", st.LastError)
	}
	for _, p := range rep.Pending {
		fmt.Fprintf(w, "pending:    %s (%s, attempt %d)", p.Type, p.State, p.Attempt)
		if p.LastError != "" {
			fmt.Fprintf(w, ", last error: %s", p.LastError)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "ui:         %s\n", rep.UIURL)
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
		fmt.Fprintf(tw, "  %d\t%s\t%s\t%s\t%s\t%s\n", t.Seq, t.At.UTC().Format(time.RFC3339), from, t.To, t.Source, t.EventID)
	}
	tw.Flush()
	printDeliveries(w, st.Deliveries)
}

// printDeliveries lists each transition's delivery to each target: pending,
// delivered (when, attempts), failed (the last answer; `hookflow
// redeliver` retries it), stopped by a 410, or skipped.
func printDeliveries(w io.Writer, ds []workflows.Delivery) {
	if len(ds) == 0 {
		return
	}
	sorted := slices.Clone(ds)
	slices.SortStableFunc(sorted, func(a, b workflows.Delivery) int { return cmp.Compare(a.Seq, b.Seq) })
	fmt.Fprintln(w, "deliveries:")
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  #\ttarget\tstate\tat\tanswer")
	for _, d := range sorted {
		at := "-"
		if !d.At.IsZero() {
			at = d.At.UTC().Format(time.RFC3339)
		}
		state := d.Status
		if d.Attempts > 1 {
			state += fmt.Sprintf(" (%d attempts)", d.Attempts)
		}
		fmt.Fprintf(tw, "  %d\t%s\t%s\t%s\t%s\n", d.Seq, d.Label, state, at, d.LastAnswer)
	}
	tw.Flush()
}
