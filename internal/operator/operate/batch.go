package operate

import (
	"context"
	"errors"
	"fmt"
	"io"

	"go.temporal.io/sdk/client"
)

// Batch is one operator's run of a signal over the entities a Selection
// names: `hookflow reprocess` and `redeliver`.
type Batch struct {
	Selection Selection
	Signal    Signal
	DryRun    bool // list the targets and their count, signal nothing
	Yes       bool // do not ask before signalling more than one target
}

// Run resolves the targets; on a dry run it lists them, else it asks before
// more than one (unless Yes), signals each through s at s.Rate with a
// progress bar, and prints a summary with every failure. It fails when any
// signal failed.
func (b Batch) Run(ctx context.Context, in io.Reader, out io.Writer, tc client.Client, namespace string, s Sender) error {
	targets, err := Targets(ctx, tc, namespace, b.Selection, in)
	if err != nil {
		return err
	}
	if b.Selection.File == "-" {
		in = nil // standard input held the IDs: nothing is left to ask with
	}
	if b.DryRun {
		for _, id := range targets {
			fmt.Fprintln(out, id)
		}
		fmt.Fprintf(out, "%d target(s); dry run, nothing %s\n", len(targets), b.Signal.Done)
		return nil
	}
	if len(targets) == 0 {
		fmt.Fprintln(out, "no targets")
		return nil
	}
	if len(targets) > 1 && !b.Yes {
		if err := Confirm(in, out, len(targets)); err != nil {
			return err
		}
	}
	if s.Rate <= 0 {
		return errors.New("--rate must be positive")
	}
	bar := NewProgress(out, len(targets))
	requestID, failed, err := s.Send(ctx, targets, b.Signal, bar.Step)
	if err != nil {
		return err
	}
	bar.Done()
	fmt.Fprintf(out, "%s %d, failed %d (request %s)\n", b.Signal.Done, len(targets)-len(failed), len(failed), requestID)
	for _, f := range failed {
		fmt.Fprintf(out, "  %s: %s\n", f.WorkflowID, f.Err)
	}
	if len(failed) > 0 {
		return fmt.Errorf("%d of %d %s signal(s) failed", len(failed), len(targets), b.Signal.Name)
	}
	return nil
}
