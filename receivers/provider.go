// Package receivers is hookflow's HTTP edge: one Fiber handler per provider
// that authenticates a delivery over its raw bytes, parses it into an
// event.Event, deduplicates it in Redis and hands it durably to the entity's
// Temporal workflow, answering with the status codes of the contract.
//
// A provider is one providers.Provider value; everything here is the shared
// accept path in accept.go, the same for every provider, built in or
// configured.
package receivers

import (
	"cmp"

	"github.com/hookflow/hookflow/event"
	"github.com/hookflow/hookflow/providers"
	"github.com/hookflow/hookflow/receivers/starter"
	"github.com/hookflow/hookflow/signature"
)

// The receive side of a provider, as the accept path reads it. Providers,
// their parse errors and the 200 body live in package providers;
// verification in package signature.
type (
	// Provider is one webhook source; see providers.Provider.
	Provider = providers.Provider
	// Header looks up a request header; see signature.Header.
	Header = signature.Header
	// Verifier authenticates a delivery; see signature.Verifier.
	Verifier = signature.Verifier
	// MissingFieldsError is a parse's "Missing required fields".
	MissingFieldsError = providers.MissingFieldsError
	// Accepted is the body of a 200 for an accepted or duplicate event.
	Accepted = providers.Accepted
)

// The errors the accept path answers by their contract status.
var (
	ErrInvalidJSON        = providers.ErrInvalidJSON
	ErrIgnored            = providers.ErrIgnored
	ErrInvalidCredentials = signature.ErrInvalidCredentials
)

// unusableIDField returns the field to name in the 400 when ev's entity or
// event ID is unusable, and "" when both are fine. The entity ID is checked
// first: some event IDs are built from it.
func unusableIDField(p *Provider, ev event.Event) string {
	switch {
	case !event.UsableID(ev.EntityID, event.MaxEntityIDBytes):
		return cmp.Or(p.EntityIDField, "entityId")
	case !event.UsableID(ev.ID, event.MaxEventIDBytes):
		return cmp.Or(p.EventIDField, "eventId")
	}
	return ""
}

// refusedField is the field to name in the 400 when Temporal refuses part
// of p's event for good (see starter.Refused).
func refusedField(p *Provider, part starter.Part) string {
	switch part {
	case starter.PartEntity:
		return cmp.Or(p.EntityIDField, "entityId")
	case starter.PartBody:
		return "body"
	}
	return "event"
}
