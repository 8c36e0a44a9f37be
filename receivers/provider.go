// Package receivers is hookflow's HTTP edge: one Fiber handler per provider
// that authenticates a delivery over its raw bytes, parses it into an
// event.Event, deduplicates it in Redis and hands it durably to the entity's
// Temporal workflow, answering with the status codes of the contract.
//
// Adding a provider is one Provider value: its routes, its Verifier and its
// Parse function. Everything else is the shared accept path in accept.go.
package receivers

import (
	"cmp"
	"errors"
	"strings"
	"unicode"
	"unicode/utf8"

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

	// EntityIDField and EventIDField name the entity and event IDs as the
	// provider's engineers know them, for the 400 "invalid <field>" of an
	// unusable one; "entityId" and "eventId" when empty. A provider whose ID
	// is built from several fields leaves its name generic.
	EntityIDField string
	EventIDField  string
}

// Limits of the identifiers hookflow accepts. They bound what a provider can
// make us store, log and send to Temporal, and they keep every workflow ID
// under Temporal's own limit (1000 bytes by default): the longest prefix,
// "phantom-transaction:", plus MaxEntityIDBytes fits with room to spare.
const (
	// MaxEntityIDBytes is the longest entity ID, in bytes, that becomes a
	// workflow ID; a longer one is answered 400 "invalid <field>".
	MaxEntityIDBytes = 256
	// MaxEventIDBytes is the longest event ID, in bytes, that becomes a
	// dedup key and the workflow's event-ID memory; a longer one is
	// answered 400 "invalid <field>".
	MaxEventIDBytes = 512
)

// usableID reports whether id may name an entity or event: at most max
// bytes, valid UTF-8, and printable throughout (no control characters, DEL,
// or other runes unicode.IsPrint rejects). Ranging over invalid UTF-8 yields
// U+FFFD, which is refused as well: it is also what encoding/json makes of
// invalid UTF-8 in a string, so two IDs sent that way would become one.
func usableID(id string, max int) bool {
	if len(id) > max {
		return false
	}
	for _, r := range id {
		if r == utf8.RuneError || !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}

// unusableIDField returns the field to name in the 400 when ev's entity or
// event ID is unusable, and "" when both are fine. The entity ID is checked
// first: some event IDs are built from it.
func (p *Provider) unusableIDField(ev event.Event) string {
	switch {
	case !usableID(ev.EntityID, MaxEntityIDBytes):
		return cmp.Or(p.EntityIDField, "entityId")
	case !usableID(ev.ID, MaxEventIDBytes):
		return cmp.Or(p.EventIDField, "eventId")
	}
	return ""
}

// Accepted is the body of a 200 for an accepted or duplicate event.
type Accepted struct {
	Success    bool   `json:"success"`
	Duplicate  bool   `json:"duplicate"`
	EventID    string `json:"eventId"`
	WorkflowID string `json:"workflowId"`
}
