package providers

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hookflow/hookflow/event"
	"github.com/hookflow/hookflow/event/lifecycle"
	"github.com/hookflow/hookflow/signature"
)

// PhantomTokenHeader carries the first half of a Phantom Core webhook token.
const PhantomTokenHeader = "Authorization"

// phantomTokenLength is the length of a Phantom Core webhook token.
const phantomTokenLength = 64

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
func PhantomVerifier(tokens []string) *signature.SplitToken {
	return signature.NewSplitToken(PhantomTokenHeader, tokens)
}

// PhantomAuthorization is the Authorization value Phantom Core sends for
// token: its first half.
func PhantomAuthorization(token string) string { return token[:len(token)/2] }

// Phantom is the Phantom Core provider: one workflow per transaction
// (phantom-transaction:<id>) and per block (phantom-block:<id>); events
// about anything else (wallets, rounds, forgers) are acknowledged and
// ignored. Phantom nodes never retry and give up after 1.5 s, so parsing
// does nothing slow. verifier is nil when no token is set.
func Phantom(verifier signature.Verifier) Provider {
	return Provider{
		Name:   "phantom",
		Doc:    "Phantom Core transactions and blocks: the token's first half in Authorization",
		Routes: []string{"/webhooks/phantom"},
		Secret: Setting{Env: "PHANTOM_WEBHOOK_TOKEN", Usage: "Phantom Core full 64-character token(s), comma-separated", Check: func(tok string) error {
			if len(tok) != phantomTokenLength {
				// The length is safe to say; the value is not.
				return fmt.Errorf("each token must be %d characters, one is %d", phantomTokenLength, len(tok))
			}
			return nil
		}},
		NewVerifier: func(tokens []string, _ Settings) (signature.Verifier, error) {
			for _, tok := range tokens {
				if len(tok) != phantomTokenLength {
					return nil, errors.New("a token is not 64 characters")
				}
			}
			return PhantomVerifier(tokens), nil
		},
		DevSecret: "devdevdevdevdevdevdevdevdevdevde0123456789abcdef0123456789abcdef",
		Verifier:  verifier,
		Parse:     parsePhantom,
		// The event ID stays "eventId": it is built from the type and data.id.
		EntityIDField: "data.id",
		Tables: map[string]lifecycle.Table{
			// A transaction enters the pool, is forged into a block (on the
			// forging node) and applied; applied is final unless a fork
			// reverts it. Expired and rejected transactions never make it
			// into a block. Phantom event IDs are <event>:<id>, so each
			// status reaches a transaction once.
			"transaction": {
				Rank: map[string]int{
					"pool.added": 0, "forged": 1, "applied": 2, "expired": 3, "pool.rejected": 3, "reverted": 3,
				},
				Terminal: set("applied", "expired", "pool.rejected", "reverted"),
				Retry:    map[string][]string{"applied": {"reverted"}},
			},
			// A block is received from a peer or forged here, then applied
			// or disregarded; a disregarded block may still be applied once
			// the node catches up, and an applied one reverted by a fork.
			"block": {
				Rank: map[string]int{
					"received": 0, "forged": 1, "disregarded": 2, "applied": 3, "reverted": 4,
				},
				Terminal: set("disregarded", "applied", "reverted"),
				Retry:    map[string][]string{"disregarded": {"applied"}, "applied": {"reverted"}},
			},
		},
		Sample: Sample{
			Entity: "tx-1", Status: "transaction.pool.added",
			Statuses:  "transaction.<pool.added|forged|applied|reverted|expired|pool.rejected> or block.<received|forged|applied|disregarded|reverted>",
			Lifecycle: []string{"pool.added", "forged", "applied"},
			Body: func(d Delivery) []byte {
				// Core 3's shape; the status is the event name, or a
				// transaction's status alone.
				name := d.Status
				if !strings.HasPrefix(name, "transaction.") && !strings.HasPrefix(name, "block.") {
					name = "transaction." + name
				}
				return mustJSON(map[string]any{
					"timestamp": time.Now().Unix(),
					"event":     name,
					"data":      map[string]any{"id": d.Entity},
				})
			},
			Headers: func(_ Delivery, _ []byte, token string, _ Settings) map[string]string {
				return map[string]string{"Content-Type": JSONType, PhantomTokenHeader: PhantomAuthorization(token)}
			},
		},
	}
}

func parsePhantom(body []byte, _ signature.Header) (event.Event, error) {
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
	// "transaction.pool.added" is status "pool.added" of a transaction;
	// entity types without a state table are ignored.
	entityType, status, _ := strings.Cut(name, ".")
	if entityType != "transaction" && entityType != "block" || status == "" {
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
		ID:           event.JoinID(name, id),
		Type:         name,
		EntityType:   entityType,
		EntityID:     id,
		Status:       status,
		ProviderTime: string(when),
	}, nil
}
