package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"go.temporal.io/sdk/client"

	"github.com/hookflow/hookflow/config"
	"github.com/hookflow/hookflow/workflows"
)

// entityReport is what `hookflow status` shows of one entity workflow.
type entityReport struct {
	WorkflowID string            `json:"workflowId"`
	RunID      string            `json:"runId"`
	RunStatus  string            `json:"runStatus"` // Running, Completed, …
	UIURL      string            `json:"uiUrl"`
	State      workflows.State   `json:"state"`
	Pending    []pendingActivity `json:"pendingActivities,omitempty"`
}

// pendingActivity is an activity the workflow waits on, with its retries.
type pendingActivity struct {
	Type      string    `json:"type"`
	State     string    `json:"state"`
	Attempt   int32     `json:"attempt"`
	LastError string    `json:"lastError,omitempty"`
	NextRetry time.Time `json:"nextRetry,omitzero"`
}

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
func (a *app) report(ctx context.Context, workflowID string) (entityReport, error) {
	cfg, tc, err := a.dial(discardLogger(), nil)
	if err != nil {
		return entityReport{}, err
	}
	defer tc.Close()
	return describeEntity(ctx, tc, cfg, workflowID)
}

// writeJSON prints v as indented JSON, for --json.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// describeEntity queries the workflow's state and describes its latest run.
func describeEntity(ctx context.Context, tc client.Client, cfg *config.Config, workflowID string) (entityReport, error) {
	rep := entityReport{WorkflowID: workflowID}
	d, err := tc.DescribeWorkflowExecution(ctx, workflowID, "")
	if err != nil {
		return rep, fmt.Errorf("describe %s: %w", workflowID, err)
	}
	info := d.GetWorkflowExecutionInfo()
	rep.RunID = info.GetExecution().GetRunId()
	rep.RunStatus = info.GetStatus().String()
	rep.UIURL = strings.TrimRight(cfg.UIURL, "/") + "/namespaces/" + url.PathEscape(cfg.TemporalNamespace) +
		"/workflows/" + url.PathEscape(workflowID) + "/" + url.PathEscape(rep.RunID)
	for _, pa := range d.GetPendingActivities() {
		p := pendingActivity{
			Type:    pa.GetActivityType().GetName(),
			State:   strings.ToLower(strings.TrimPrefix(pa.GetState().String(), "PENDING_ACTIVITY_STATE_")),
			Attempt: pa.GetAttempt(),
		}
		if f := pa.GetLastFailure(); f != nil {
			p.LastError = f.GetMessage()
		}
		if t := pa.GetScheduledTime(); t != nil && p.Attempt > 1 {
			p.NextRetry = t.AsTime()
		}
		rep.Pending = append(rep.Pending, p)
	}
	v, err := tc.QueryWorkflow(ctx, workflowID, "", workflows.QueryState)
	if err != nil {
		return rep, fmt.Errorf("query %s: %w", workflowID, err)
	}
	if err := v.Get(&rep.State); err != nil {
		return rep, fmt.Errorf("decode state of %s: %w", workflowID, err)
	}
	return rep, nil
}

// printReport writes the report for a person to read.
func printReport(w io.Writer, rep entityReport) {
	st := rep.State
	status := st.Status
	if status == "" {
		status = "(unknown)"
	}
	if st.Terminal {
		status += " (terminal)"
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
}
