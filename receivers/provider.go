// Package receivers is hookflow's HTTP edge: one Fiber handler per provider
// that authenticates a delivery over its raw bytes, parses it into an
// event.Event, deduplicates it in Redis and hands it durably to the entity's
// Temporal workflow, answering with the status codes of the contract.
//
// Adding a provider is one Provider value: its routes, its Verifier and its
// Parse function. Everything else is the shared accept path in accept.go.
package receivers

import (
	"errors"
	"strings"

	"github.com/hookflow/hookflow/event"
)

// Parse errors. Parse functions return these (or a *MissingFieldsError) so
// that the accept path can answer with the contract's status and body.
var (
	// ErrInvalidJSON is returned when the body is not a JSON object.
	ErrInvalidJSON = errors.New("invalid JSON body")
	// ErrIgnored is returned for an authenticated event of a type hookflow
	// does not process; the provider gets 200 so it does not retry.
	ErrIgnored = errors.New("event type not processed")
)

// MissingFieldsError is returned when required fields are absent or empty.
type MissingFieldsError struct {
	Required []string // every field the event type requires, as documented to the provider
}

func (e *MissingFieldsError) Error() string {
	return "missing required fields: " + strings.Join(e.Required, ", ")
}

// Provider is one webhook source: how its deliveries are routed, verified and
// parsed. A Provider whose Verifier is nil is disabled and answers 404.
type Provider struct {
	Name     string   // short name: "phoenix"; also the dedup namespace and workflow ID prefix
	Routes   []string // POST paths
	Verifier Verifier // nil when no secret is configured

	// Parse turns a verified body into an event with at least ID, Type,
	// EntityType and EntityID set. The receiver fills Provider, ReceivedAt,
	// RequestID and Body. It returns ErrInvalidJSON, ErrIgnored or a
	// *MissingFieldsError for the contract's answers.
	Parse func(body []byte, header Header) (event.Event, error)

	// Reply, when set, adds provider-specific fields to the accepted body.
	Reply func(base Accepted, ev event.Event) any

	// Unauthorized, when set, is the 401 error message for a credential that
	// does not match (some providers document theirs).
	Unauthorized string
}

// Accepted is the body of a 200 for an accepted or duplicate event.
type Accepted struct {
	Success    bool   `json:"success"`
	Duplicate  bool   `json:"duplicate"`
	EventID    string `json:"eventId"`
	WorkflowID string `json:"workflowId"`
}
