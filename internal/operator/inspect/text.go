package inspect

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/hookflow/hookflow/workflows"
)

// WriteText writes the report for a person to read: `hookflow status`.
func (rep Report) WriteText(w io.Writer) error {
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
	if f := rep.WorkflowTaskFailure; f != nil {
		// First after the note: nothing below changes until it is fixed.
		fmt.Fprintf(w, "workflow task failing: %s\n", strings.Join(strings.Fields(f.String()), " "))
	}
	fmt.Fprintf(w, "workflow:   %s (%s)\n", rep.WorkflowID, strings.ToLower(rep.RunStatus))
	fmt.Fprintf(w, "entity:     %s %s %s\n", st.Provider, st.EntityType, st.EntityID)
	if st.Tenant != "" {
		fmt.Fprintf(w, "tenant:     %s\n", st.Tenant)
	}
	fmt.Fprintf(w, "status:     %s\n", status)
	fmt.Fprintf(w, "events:     %d processed, %d duplicate(s) ignored\n", st.Processed, st.Duplicates)
	if st.Overdue {
		fmt.Fprintf(w, "overdue:    in %s since %s\n", st.Status, st.OverdueSince.UTC().Format(time.RFC3339))
	}
	if !st.LastReconciledAt.IsZero() {
		fmt.Fprintf(w, "reconciled: %s (the provider API last read)\n", st.LastReconciledAt.UTC().Format(time.RFC3339))
	}
	if st.LastError != "" {
		fmt.Fprintf(w, "last error: %s\n", st.LastError)
	}
	if st.Waiting {
		fmt.Fprintln(w, "waiting:    events wait for a slow destination to take the transitions held for it")
	}
	if !st.ForgottenUpTo.IsZero() {
		fmt.Fprintf(w, "memory:     events stamped at or before %s and no longer remembered are judged stale\n", st.ForgottenUpTo.UTC().Format(time.RFC3339Nano))
	}
	if st.Rejected > 0 {
		fmt.Fprintf(w, "rejected:   %d malformed signal(s)", st.Rejected)
		if n := len(st.Rejections); n > 0 {
			r := st.Rejections[n-1]
			fmt.Fprintf(w, ", the latest %s at %s: %s", r.Signal, r.At.UTC().Format(time.RFC3339), r.Reason)
		}
		fmt.Fprintln(w)
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
		_, err := fmt.Fprintln(w, "transitions: none")
		return err
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
	if err := tw.Flush(); err != nil {
		return err
	}
	return writeDeliveries(w, st.Deliveries)
}

// writeDeliveries lists each transition's delivery to each target: pending,
// delivered (when, attempts), failed (the last answer; `hookflow
// redeliver` retries it), stopped by a 410, or skipped.
func writeDeliveries(w io.Writer, ds []workflows.Delivery) error {
	if len(ds) == 0 {
		return nil
	}
	sorted := slices.Clone(ds)
	slices.SortStableFunc(sorted, func(a, b workflows.Delivery) int { return cmp.Compare(a.Seq, b.Seq) })
	fmt.Fprintln(w, "deliveries:")
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  #\tdestination\tstate\tat\tanswer")
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
	return tw.Flush()
}

// WriteEvents writes the events the workflow received, one line each, and
// what became of each: `hookflow events`.
func (rep Report) WriteEvents(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "received\tevent\ttype\tstatus\toutcome")
	for _, e := range rep.State.Events {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", e.ReceivedAt.UTC().Format(time.RFC3339), e.EventID, e.Type, e.Status, e.Outcome)
	}
	return tw.Flush()
}
