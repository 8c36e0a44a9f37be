// Package event defines the normalized webhook event that receivers hand to
// the entity workflows: one shape for every provider, small enough to travel
// as a Temporal signal payload.
package event

import (
	"encoding/json"
	"strconv"
	"time"
)

// Event is one authenticated provider delivery, normalized. Receivers build
// it; the entity workflow applies it once, keyed by ID.
type Event struct {
	Provider     string            `json:"provider"`               // "phoenix", "up42", ...
	Tenant       string            `json:"tenant,omitempty"`       // the tenant (contract section 17); "" for the default tenant
	ID           string            `json:"eventId"`                // dedup key within the provider
	Type         string            `json:"eventType"`              // the provider's event name
	EntityType   string            `json:"entityType"`             // "order", "shipment", ...
	EntityID     string            `json:"entityId"`               // the provider's ID of the entity
	Status       string            `json:"status,omitempty"`       // the status the event reports
	ProviderTime string            `json:"providerTime,omitempty"` // the provider's timestamp, as sent
	ReceivedAt   time.Time         `json:"receivedAt"`             // when the receiver accepted it
	RequestID    string            `json:"requestId"`              // X-Request-Id of the delivery
	Attributes   map[string]string `json:"attributes,omitempty"`   // provider details kept with the event (headers, transfer parties)
	Body         json.RawMessage   `json:"body,omitempty"`         // the raw JSON body
	// BodyDigest is the hex SHA-256 of the signed body as sent, set only
	// for a provider whose event ID is outside its signature (Fenix): a
	// second dedup key, so a signed body seen before is a duplicate
	// whatever its event ID (contract section 17).
	BodyDigest string `json:"bodyDigest,omitempty"`
	// TraceParent is the W3C trace context of the receiver's span, when
	// tracing is on: the workflow's handling of the event joins its trace.
	TraceParent string `json:"traceparent,omitempty"`
}

// WorkflowID is the ID of the entity's workflow: provider-entityType:entityID,
// for example phoenix-order:tpT9KpKVyHU1P24RjZcW1o (see WorkflowID for IDs
// outside printable ASCII), with "@<tenant>" after the entity type for a
// tenant's entity (see TenantWorkflowID).
func (e Event) WorkflowID() string {
	return TenantWorkflowID(e.Tenant, e.Provider, e.EntityType, e.EntityID)
}

// Transition is one status change an entity workflow applied, and its cause.
type Transition struct {
	Seq          int       `json:"seq"`
	From         string    `json:"from"`
	To           string    `json:"to"`
	EventID      string    `json:"eventId"`
	Source       string    `json:"source"` // webhook, api or reprocess
	At           time.Time `json:"at"`
	ProviderTime string    `json:"providerTime,omitempty"`
	// Details are the event's provider details kept with the transition,
	// such as a transfer's parties and transaction hash.
	Details map[string]string `json:"details,omitempty"`
}

// Received is one delivery an entity workflow saw, and what became of it.
type Received struct {
	EventID    string    `json:"eventId"`
	Type       string    `json:"eventType"`
	Status     string    `json:"status,omitempty"`
	ReceivedAt time.Time `json:"receivedAt"`
	Outcome    string    `json:"outcome"` // a Verdict, "duplicate" or "error"
}

// Outbound is the normalized event hookflow delivers for every applied
// transition (and every reprocess of a current state): to the forward URLs,
// signed with the Standard Webhooks scheme, and to the user's
// HandleTransition activity. Its JSON is the contract's (section 10).
type Outbound struct {
	Type         string          `json:"type"` // OutboundType
	Provider     string          `json:"provider"`
	EntityType   string          `json:"entityType"`
	EntityID     string          `json:"entityId"`
	WorkflowID   string          `json:"workflowId"`
	Tenant       string          `json:"tenant,omitempty"` // the entity's tenant (contract section 17); none for the default tenant's
	Seq          int             `json:"seq"`
	From         string          `json:"from"`
	To           string          `json:"to"`
	EventID      string          `json:"eventId"`
	Source       string          `json:"source"`
	ProviderTime string          `json:"providerTime,omitempty"`
	At           time.Time       `json:"at"`
	Body         json.RawMessage `json:"body,omitempty"` // the provider's original body, while it fits what a run may carry
	// BodyOmitted is set when the original body was too large to keep
	// until delivery.
	BodyOmitted bool `json:"bodyOmitted,omitempty"`
	// OverdueSince, in an entity.overdue event, is the deadline the
	// entity's status (From and To) passed.
	OverdueSince time.Time `json:"overdueSince,omitzero"`
}

// The Outbound types: a transition, and an entity past its status's
// deadline (contract section 13).
const (
	OutboundType = "entity.transition"
	OverdueType  = "entity.overdue"
)

// ID is the delivery's webhook-id: <workflowId>:<seq>, the same for every
// attempt, run and target, so a receiver can deduplicate on it.
func (o Outbound) ID() string { return o.WorkflowID + ":" + strconv.Itoa(o.Seq) }
