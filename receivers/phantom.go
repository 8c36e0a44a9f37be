package receivers

import (
	"strings"

	"github.com/hookflow/hookflow/event"
)

// PhantomTokenHeader carries the first half of a Phantom Core webhook token.
const PhantomTokenHeader = "Authorization"

// phantomEntities are the Phantom Core entity types hookflow keeps a state
// table for; events about anything else (wallets, rounds, forgers) are
// acknowledged and ignored.
var phantomEntities = map[string]bool{"transaction": true, "block": true}

// phantomBody is a Phantom Core webhook: {created,data,type} from Core 2,
// {timestamp,data,event} from Core 3.
type phantomBody struct {
	Type      string     `json:"type"`
	Event     string     `json:"event"`
	Created   flexString `json:"created"`
	Timestamp flexString `json:"timestamp"`
	Data      struct {
		ID flexString `json:"id"`
	} `json:"data"`
}

// PhantomVerifier accepts Phantom Core's split token: the Authorization
// header holds a token's first half, and with the stored second half it must
// make one of tokens.
func PhantomVerifier(tokens []string) *SplitToken {
	return NewSplitToken(PhantomTokenHeader, tokens)
}

// PhantomAuthorization is the Authorization value Phantom Core sends for
// token: its first half.
func PhantomAuthorization(token string) string { return token[:len(token)/2] }

// Phantom is the Phantom Core provider: one workflow per transaction
// (phantom-transaction:<id>) and per block (phantom-block:<id>). Phantom
// nodes never retry and give up after 1.5 s, so parsing does nothing slow.
// verifier is nil when no token is set.
func Phantom(verifier Verifier) Provider {
	return Provider{
		Name:     "phantom",
		Routes:   []string{"/webhooks/phantom"},
		Verifier: verifier,
		Parse:    parsePhantom,
		// The event ID stays "eventId": it is built from the type and data.id.
		EntityIDField: "data.id",
	}
}

func parsePhantom(body []byte, _ Header) (event.Event, error) {
	var b phantomBody
	if err := decode(body, &b); err != nil {
		return event.Event{}, err
	}
	name, when := b.Type, b.Created // Core 2
	if name == "" {
		name, when = b.Event, b.Timestamp // Core 3
	}
	if name == "" {
		return event.Event{}, &MissingFieldsError{Required: []string{"type (Core 2) or event (Core 3)", "data.id"}}
	}
	// "transaction.pool.added" is status "pool.added" of a transaction.
	entityType, status, _ := strings.Cut(name, ".")
	if !phantomEntities[entityType] || status == "" {
		return event.Event{Type: name}, ErrIgnored
	}
	if b.Data.ID == "" {
		// Without data.id there is no entity to give the event to, so the
		// contract's body-hash event ID has no workflow to dedup in.
		return event.Event{}, &MissingFieldsError{Required: []string{"type (Core 2) or event (Core 3)", "data.id"}}
	}
	id := string(b.Data.ID)
	return event.Event{
		// Each event happens once to a transaction or block; Phantom sends
		// no delivery ID of its own.
		ID:           name + ":" + id,
		Type:         name,
		EntityType:   entityType,
		EntityID:     id,
		Status:       status,
		ProviderTime: string(when),
	}, nil
}
