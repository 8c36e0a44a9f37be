package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// publish keeps the search attributes and the UI's details current.
// Revision 1 upserts only what changed: the identifying attributes are set
// by the start and carried over ContinueAsNew.
func (e *entity) publish(ctx workflow.Context) {
	if e.does.publishPerTask {
		return // flush publishes, once per workflow task
	}
	s := e.state
	var updates []temporal.SearchAttributeUpdate
	if !e.does.upsertChanged {
		updates = append(updates, ProviderKey.ValueSet(s.Provider), EntityTypeKey.ValueSet(s.EntityType), EntityIDKey.ValueSet(s.EntityID))
	}
	if s.Status != "" && (!e.does.upsertChanged || s.Status != e.published) {
		updates = append(updates, EntityStatusKey.ValueSet(s.Status))
	}
	if len(updates) > 0 {
		if err := workflow.UpsertTypedSearchAttributes(ctx, updates...); err != nil {
			workflow.GetLogger(ctx).Error("upsert search attributes", "error", err)
		}
		e.published = s.Status
	}
	e.details(ctx)
}

// flush publishes what changed since the last flush to the search
// attributes, in one upsert, and the UI's details (revision 3). The main
// loop flushes once it has handled every signal it can take, so a workflow
// task that applies a thousand buffered events upserts at most once.
func (e *entity) flush(ctx workflow.Context) {
	if !e.does.publishPerTask {
		return
	}
	e.state.Waiting = e.holding() && e.events.Len() > 0
	var updates []temporal.SearchAttributeUpdate
	if s := e.state.Status; s != "" && s != e.published {
		updates = append(updates, EntityStatusKey.ValueSet(s))
	}
	if failed := e.failedDeliveries() > 0; failed != e.deliveryFailed {
		updates = append(updates, DeliveryFailedKey.ValueSet(failed))
	}
	if e.state.Overdue != e.publishedOverdue {
		updates = append(updates, OverdueKey.ValueSet(e.state.Overdue))
	}
	if len(updates) > 0 {
		if err := workflow.UpsertTypedSearchAttributes(ctx, updates...); err != nil {
			workflow.GetLogger(ctx).Error("upsert search attributes", "error", err)
		}
		e.published, e.deliveryFailed, e.publishedOverdue = e.state.Status, e.failedDeliveries() > 0, e.state.Overdue
	}
	if sum := e.summary(); !sameSummary(sum, e.summarized) {
		sum.SavedAt = workflow.Now(ctx)
		if err := workflow.UpsertMemo(ctx, map[string]any{MemoSummaryKey: sum}); err != nil {
			workflow.GetLogger(ctx).Error("upsert memo", "error", err)
		}
		e.summarized = sum
	}
	e.details(ctx)
}

// details sets the readable line the Temporal UI shows for the run.
func (e *entity) details(ctx workflow.Context) {
	s := e.state
	status := s.Status
	if status == "" {
		status = "unknown"
	}
	line := fmt.Sprintf("**%s %s** `%s`\n\nstatus: **%s**, %d transition(s), %d event(s) processed",
		s.Provider, s.EntityType, s.EntityID, status, s.Sequence, s.Processed)
	if s.Overdue {
		line += fmt.Sprintf("\n\noverdue: in %s since %s", s.Status, s.OverdueSince.UTC().Format(time.RFC3339))
	}
	if s.LastError != "" && e.does.detailsLastError {
		line += "\n\nlast error: " + s.LastError
	}
	if s.Waiting {
		line += "\n\nevents waiting for a slow destination to catch up"
	}
	if s.Rejected > 0 && len(s.Rejections) > 0 {
		r := s.Rejections[len(s.Rejections)-1]
		line += fmt.Sprintf("\n\n%d malformed signal(s) rejected, the latest %s: %s", s.Rejected, r.Signal, r.Reason)
	}
	for _, d := range s.Deliveries {
		if d.Status == DeliveryFailed {
			line += fmt.Sprintf("\n\ndelivery failed: %s, transition %d: %s (hookflow redeliver)", d.Label, d.Seq, d.LastAnswer)
			break
		}
	}
	workflow.SetCurrentDetails(ctx, line)
}
