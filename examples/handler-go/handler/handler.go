// Package handler is an example of a Temporal activity that receives
// hookflow's transitions (contract section 11): register Handler.HandleTransition
// under the name "HandleTransition" on your task queue, set
// HOOKFLOW_HANDLER_TASK_QUEUE to that queue, and every transition hookflow
// applies is handed to it, in order per entity.
//
// It depends on nothing of hookflow's: the transition is plain JSON, and any
// Temporal SDK can receive it.
package handler

import (
	"context"
	"encoding/json"
	"log/slog"
	"time"
)

// Name is the activity name hookflow schedules (HOOKFLOW_HANDLER_ACTIVITY).
const Name = "HandleTransition"

// Transition is hookflow's normalized transition event.
type Transition struct {
	Type         string          `json:"type"` // "entity.transition"
	Provider     string          `json:"provider"`
	EntityType   string          `json:"entityType"`
	EntityID     string          `json:"entityId"`
	WorkflowID   string          `json:"workflowId"`
	Seq          int             `json:"seq"` // with WorkflowID, the idempotency key
	From         string          `json:"from"`
	To           string          `json:"to"`
	EventID      string          `json:"eventId"`
	Source       string          `json:"source"` // webhook, api or reprocess
	ProviderTime string          `json:"providerTime,omitempty"`
	At           time.Time       `json:"at"`
	Body         json.RawMessage `json:"body,omitempty"` // the provider's original body
}

// Handler logs each transition and passes it to OnTransition, when set.
// Return an error to have hookflow retry (with backoff, up to its horizon);
// a non-retryable application error counts as a rejection: hookflow records
// the delivery as failed and holds the entity's later transitions until an
// operator runs `hookflow redeliver`.
type Handler struct {
	Log          *slog.Logger
	OnTransition func(context.Context, Transition) error
}

// HandleTransition is the activity.
func (h *Handler) HandleTransition(ctx context.Context, t Transition) error {
	log := h.Log
	if log == nil {
		log = slog.Default()
	}
	log.Info("transition", "workflow_id", t.WorkflowID, "seq", t.Seq, "from", t.From, "to", t.To, "event_id", t.EventID, "source", t.Source)
	if h.OnTransition != nil {
		return h.OnTransition(ctx, t)
	}
	return nil
}
