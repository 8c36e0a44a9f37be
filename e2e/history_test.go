package e2e

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/hookflow/hookflow/workflows"
)

// history is what an entity's Temporal history says, read through the
// client, a witness that does not ask the workflow: the event IDs it was
// signalled with, and the EntityStatus values it upserted (one per applied
// transition), in order, over every run of the entity.
type history struct {
	signalled map[string]int
	statuses  []string
}

// readHistory reads the latest run of workflowID and, through each run's
// first event, the runs it continued or reopened from.
func readHistory(ctx context.Context, tc client.Client, workflowID string) (history, error) {
	h := history{signalled: map[string]int{}}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var runs [][]string // each run's statuses, latest run first
	runID := ""
	for range 20 {
		var statuses []string
		previous := ""
		it := tc.GetWorkflowHistory(ctx, workflowID, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		for it.HasNext() {
			ev, err := it.Next()
			if err != nil {
				return h, fmt.Errorf("history of %s: %w", workflowID, err)
			}
			switch ev.GetEventType() {
			case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
				previous = ev.GetWorkflowExecutionStartedEventAttributes().GetContinuedExecutionRunId()
				if in := ev.GetWorkflowExecutionStartedEventAttributes().GetInput(); previous == "" && in != nil {
					var input []workflows.EntityInput
					_ = converter.GetDefaultDataConverter().FromPayloads(in, &input)
					if len(input) == 1 {
						previous = input[0].PreviousRunID // a run reopened after a close
					}
				}
			case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
				a := ev.GetWorkflowExecutionSignaledEventAttributes()
				if a.GetSignalName() != workflows.SignalWebhookEvent {
					continue
				}
				var e struct {
					ID string `json:"eventId"`
				}
				if err := converter.GetDefaultDataConverter().FromPayloads(a.GetInput(), &e); err == nil {
					h.signalled[e.ID]++
				}
			case enumspb.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES:
				p := ev.GetUpsertWorkflowSearchAttributesEventAttributes().GetSearchAttributes().GetIndexedFields()[workflows.EntityStatusKey.GetName()]
				var s string
				if p != nil && converter.GetDefaultDataConverter().FromPayload(p, &s) == nil && s != "" {
					statuses = append(statuses, s)
				}
			}
		}
		runs = append(runs, statuses)
		if previous == "" {
			break
		}
		runID = previous
	}
	for i := len(runs) - 1; i >= 0; i-- {
		h.statuses = append(h.statuses, runs[i]...)
	}
	return h, nil
}

// witness holds an entity's history against what the sender was told and
// what the plan says: every accepted event signalled at least once, and
// the statuses it upserted the plan's transitions' statuses, in order,
// ending with the last.
func (t *tally) witness(ctx context.Context, tc client.Client, p entityPlan, accepted []string, wantStatuses []string) {
	h, err := readHistory(ctx, tc, p.workflowID)
	if err != nil {
		t.problems = append(t.problems, err.Error())
		t.mismatched++
		return
	}
	var why []string
	for _, id := range accepted {
		if h.signalled[id] == 0 {
			why = append(why, fmt.Sprintf("accepted event %s never signalled", id))
		}
	}
	// A run that reopens an entity publishes its current status again; a
	// repeating status (a TRANSFER after a TRANSFER) changes nothing to
	// publish; and a run publishes once per workflow task, so statuses
	// passed within one task are never upserted (revision 3). What was
	// upserted must be the plan's statuses in order, some perhaps skipped,
	// ending with the plan's last.
	got := slices.Compact(slices.Clone(h.statuses))
	want := slices.Compact(slices.Clone(wantStatuses))
	if !publishedInOrder(got, want) {
		why = append(why, fmt.Sprintf("history upserted statuses %q, the plan says %q", got, wantStatuses))
	}
	if len(why) > 0 {
		t.mismatched++
		t.problems = append(t.problems, p.workflowID+": history: "+fmt.Sprint(why))
	}
}

// publishedInOrder reports whether got is want with some statuses left
// out, in want's order, and ends where want ends.
func publishedInOrder(got, want []string) bool {
	if len(want) == 0 || len(got) == 0 {
		return len(got) == len(want)
	}
	if got[len(got)-1] != want[len(want)-1] {
		return false
	}
	i := 0
	for _, s := range got {
		for i < len(want) && want[i] != s {
			i++
		}
		if i == len(want) {
			return false
		}
		i++
	}
	return true
}

func TestPublishedInOrder(t *testing.T) {
	plan := []string{"LABEL_CREATED", "PICKED_BY_CARRIER", "IN_TRANSIT", "DELIVERED"}
	for _, tt := range []struct {
		got  []string
		want bool
	}{
		{plan, true},
		{[]string{"PICKED_BY_CARRIER", "DELIVERED"}, true},
		{[]string{"DELIVERED"}, true},
		{[]string{"IN_TRANSIT", "PICKED_BY_CARRIER", "DELIVERED"}, false},
		{[]string{"LABEL_CREATED", "IN_TRANSIT"}, false},
		{[]string{"LABEL_CREATED", "EXCEPTION", "DELIVERED"}, false},
		{nil, false},
	} {
		if got := publishedInOrder(tt.got, plan); got != tt.want {
			t.Errorf("publishedInOrder(%q) = %v, want %v", tt.got, got, tt.want)
		}
	}
}
