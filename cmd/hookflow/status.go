package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"

	"github.com/hookflow/hookflow/config"
	"github.com/hookflow/hookflow/lifecycle"
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
	// Source is sourceLive when the workflow answered its state query, or
	// sourcePublished when State is what the workflow last published (its
	// snapshot memo and search attributes) because it did not answer.
	Source string `json:"source"`
	// PublishedAt is when the published snapshot was saved: zero for a live
	// state, or when the run has published none yet.
	PublishedAt time.Time `json:"publishedAt,omitzero"`
	// LiveQuery says why the live query gave no state, for a published one.
	LiveQuery string `json:"liveQuery,omitempty"`
}

// Where an entityReport's State comes from.
const (
	sourceLive      = "live"
	sourcePublished = "published"
)

// liveQueryWait is how long status and events wait for the workflow to
// answer its state query. During a workflow-task backlog the query waits
// behind the backlog and would time out; past this wait the report shows the
// state the workflow last published instead, which costs no worker.
const liveQueryWait = 2 * time.Second

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
	return describeEntity(ctx, tc, cfg, workflowID, liveQueryWait)
}

// writeJSON prints v as indented JSON, for --json.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// describeEntity describes the latest run of an entity workflow and queries
// its state, waiting at most wait for the answer; when none comes, the state
// is the one the run last published.
func describeEntity(ctx context.Context, tc client.Client, cfg *config.Config, workflowID string, wait time.Duration) (entityReport, error) {
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

	qctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	v, qerr := tc.QueryWorkflow(qctx, workflowID, rep.RunID, workflows.QueryState)
	if qerr == nil {
		rep.Source = sourceLive
		if err := v.Get(&rep.State); err != nil {
			return rep, fmt.Errorf("decode state of %s: %w", workflowID, err)
		}
		return rep, nil
	}
	if ctx.Err() != nil {
		return rep, fmt.Errorf("query %s: %w", workflowID, qerr)
	}
	// No worker answered: a backlog, no worker running, or a closed run
	// that no worker replays. What the run published is current as of its
	// last applied transition.
	st, savedAt, err := publishedState(info, cfg.Providers.Table)
	if err != nil {
		return rep, fmt.Errorf("query %s: %w; published state: %w", workflowID, qerr, err)
	}
	if st.Provider == "" && savedAt.IsZero() {
		return rep, fmt.Errorf("query %s: %w (and it has published no state)", workflowID, qerr)
	}
	rep.State, rep.PublishedAt, rep.Source = st, savedAt, sourcePublished
	var deadline *serviceerror.DeadlineExceeded
	if qctx.Err() != nil || errors.As(qerr, &deadline) {
		rep.LiveQuery = fmt.Sprintf("did not answer within %s (workflow task backlog?)", wait)
	} else {
		rep.LiveQuery = "failed: " + qerr.Error()
	}
	return rep, nil
}

// publishedState is the entity's state as its run last published it: the
// search attributes, kept current at every change, and the snapshot memo
// (workflows.MemoKey) for the history, saved at every applied transition.
// savedAt is the snapshot's time, zero when the run has saved none yet (its
// first event still queued). The live-only LastError is not published;
// whether the status is terminal is read from the provider's table.
func publishedState(info *workflowpb.WorkflowExecutionInfo, tables func(provider, entityType string) (lifecycle.Table, bool)) (st workflows.State, savedAt time.Time, err error) {
	attrs := info.GetSearchAttributes().GetIndexedFields()
	keyword := func(key temporal.SearchAttributeKeyKeyword) (string, error) {
		var s string
		p, ok := attrs[key.GetName()]
		if !ok {
			return "", nil
		}
		if err := converter.GetDefaultDataConverter().FromPayload(p, &s); err != nil {
			return "", fmt.Errorf("search attribute %s: %w", key.GetName(), err)
		}
		return s, nil
	}
	for _, f := range []struct {
		key temporal.SearchAttributeKeyKeyword
		to  *string
	}{
		{workflows.ProviderKey, &st.Provider},
		{workflows.EntityTypeKey, &st.EntityType},
		{workflows.EntityIDKey, &st.EntityID},
		{workflows.EntityStatusKey, &st.Status},
	} {
		if *f.to, err = keyword(f.key); err != nil {
			return workflows.State{}, time.Time{}, err
		}
	}
	if p, ok := info.GetMemo().GetFields()[workflows.MemoKey]; ok {
		snap, err := workflows.DecodeSnapshot(p)
		if err != nil {
			return workflows.State{}, time.Time{}, err
		}
		if st.Status == "" {
			st.Status = snap.Status
		}
		st.ResumeFrom, st.Sequence, st.Transitions = snap.ResumeFrom, snap.Sequence, snap.Transitions
		st.Processed, st.Duplicates, st.Events = snap.Processed, snap.Duplicates, snap.Events
		st.Deliveries = snap.Deliveries
		savedAt = snap.SavedAt
	}
	if kind, ok := tables(st.Provider, st.EntityType); ok {
		st.Terminal = kind.Terminal[st.Status]
	}
	return st, savedAt, nil
}

// fallbackNote is the line that says a report's state is not live, or ""
// when it is.
func fallbackNote(rep entityReport) string {
	if rep.Source != sourcePublished {
		return ""
	}
	if rep.PublishedAt.IsZero() {
		return "live query " + rep.LiveQuery + "; showing the search attributes only (no state published yet)"
	}
	return "live query " + rep.LiveQuery + "; showing the state last published at " + rep.PublishedAt.UTC().Format(time.RFC3339)
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
	if note := fallbackNote(rep); note != "" {
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
