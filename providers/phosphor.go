package providers

import (
	"fmt"
	"strings"
	"time"

	"github.com/hookflow/hookflow/event"
	"github.com/hookflow/hookflow/event/lifecycle"
	"github.com/hookflow/hookflow/signature"
)

// PhosphorSecretHeader carries Phosphor's shared secret, as configured in
// Phosphor's webhook settings.
const PhosphorSecretHeader = "Phosphor-Webhook-Secret"

// phosphorBody is the part of a Phosphor webhook hookflow reads: either a
// TOKEN_TX item event (id, data) or a listing event (listing, no id).
type phosphorBody struct {
	ID   string `json:"id"`
	Type string `json:"type"`
	Data struct {
		Item *struct {
			ID string `json:"id"`
		} `json:"item"`
		ContractAddress string     `json:"contract_address"`
		TokenID         flexString `json:"token_id"`
		TxType          string     `json:"tx_type"`
		TxHash          string     `json:"tx_hash"`
		FromAddr        string     `json:"from_addr"`
		ToAddr          string     `json:"to_addr"`
		BlockNumber     flexString `json:"block_number"`
		BlockTimestamp  string     `json:"block_timestamp"`
		LogIndex        flexString `json:"log_index"`
		Quantity        flexString `json:"quantity"`
	} `json:"data"`
	Listing *struct {
		ID     string `json:"id"`
		ItemID string `json:"item_id"`
	} `json:"listing"`
}

// The listing event types; Phosphor names a listing event by what happened
// to the listing.
var phosphorListingTypes = map[string]bool{"CREATED": true, "CANCELLED": true, "COMPLETED": true}

// PhosphorVerifier accepts Phosphor's shared secret header.
func PhosphorVerifier(secrets []string) *signature.SharedSecret {
	return signature.NewSharedSecret(PhosphorSecretHeader, secrets)
}

// Phosphor is the Phosphor NFT provider: one workflow per item
// (phosphor-item:<item id>) following its token transactions, and one per
// listing (phosphor-listing:<listing id>). verifier is nil when no secret is
// set.
func Phosphor(verifier signature.Verifier) Provider {
	return Provider{
		Name:   "phosphor",
		Doc:    "Phosphor NFT items (TOKEN_TX) and listings: shared secret in Phosphor-Webhook-Secret",
		Routes: []string{"/webhooks/phosphor"},
		Secret: Setting{Env: "PHOSPHOR_WEBHOOK_SECRET", Usage: "Phosphor shared secret(s), comma-separated"},
		NewVerifier: func(secrets []string, _ Settings) (signature.Verifier, error) {
			return PhosphorVerifier(secrets), nil
		},
		DevSecret: "dev-phosphor-secret",
		Verifier:  verifier,
		Parse:     parsePhosphor,
		Overdue:   map[string]time.Duration{"CREATED": 30 * day},
		Tables: map[string]lifecycle.Table{
			// An item's token is minted, transferred any number of times, burnt.
			"item": {
				Rank:     map[string]int{"MINT": 0, "TRANSFER": 1, "BURN": 2},
				Terminal: set("BURN"),
				Repeat:   set("TRANSFER"),
			},
			"listing": {
				Rank:     map[string]int{"CREATED": 0, "COMPLETED": 1, "CANCELLED": 1},
				Terminal: set("COMPLETED", "CANCELLED"),
			},
		},
		Sample: Sample{
			Entity: "item-1", Status: "MINT",
			Statuses:  "MINT|TRANSFER|BURN (item) or CREATED|CANCELLED|COMPLETED (listing)",
			Lifecycle: []string{"MINT", "TRANSFER", "BURN"},
			Body:      phosphorSample,
			Headers: func(_ Delivery, _ []byte, secret string, _ Settings) map[string]string {
				return map[string]string{
					"Content-Type":       JSONType,
					PhosphorSecretHeader: secret,
					"User-Agent":         "phosphor-webhook-bot/0.0.1",
				}
			},
		},
	}
}

func parsePhosphor(body []byte, _ signature.Header) (event.Event, error) {
	var b phosphorBody
	if err := decode(body, &b); err != nil {
		return event.Event{}, err
	}
	switch {
	case b.Type == "TOKEN_TX":
		return phosphorTokenTx(b)
	case phosphorListingTypes[b.Type] && b.Listing != nil:
		if b.Listing.ID == "" {
			return event.Event{}, &MissingFieldsError{Required: []string{"type", "listing.id"}}
		}
		return event.Event{
			// A listing event carries no ID of its own, and each of its
			// types happens once per listing. Joined as it is: the type
			// is one of phosphorListingTypes, which hold no ':', so the
			// ID reads back one way whatever the listing ID holds.
			ID:         b.Listing.ID + ":" + b.Type,
			Type:       b.Type,
			EntityType: "listing",
			EntityID:   b.Listing.ID,
			Status:     b.Type,
			Attributes: nonEmpty(map[string]string{"item_id": b.Listing.ItemID}),
		}, nil
	case b.Type == "":
		return event.Event{}, &MissingFieldsError{Required: []string{"type"}}
	}
	return event.Event{Type: b.Type}, ErrIgnored
}

// phosphorTokenTx maps a mint, transfer or burn of an item's token.
func phosphorTokenTx(b phosphorBody) (event.Event, error) {
	d := b.Data
	entity := ""
	if d.Item != nil {
		entity = d.Item.ID
	}
	if entity == "" && d.ContractAddress != "" && d.TokenID != "" {
		// A token Phosphor knows no item for is named by its contract.
		entity = event.JoinID(d.ContractAddress, string(d.TokenID))
	}
	if b.ID == "" || entity == "" || d.TxType == "" {
		return event.Event{}, &MissingFieldsError{Required: []string{
			"id", "type", "data.item.id (or data.contract_address and data.token_id)", "data.tx_type",
		}}
	}
	return event.Event{
		ID:           b.ID,
		Type:         b.Type,
		EntityType:   "item",
		EntityID:     entity,
		Status:       strings.ToUpper(d.TxType),
		ProviderTime: d.BlockTimestamp,
		// The workflow keeps these with the transition: who the token went
		// from and to, and where on chain, which the status alone does not say.
		Attributes: nonEmpty(map[string]string{
			"from":         d.FromAddr,
			"to":           d.ToAddr,
			"tx_hash":      d.TxHash,
			"block_number": string(d.BlockNumber),
			"log_index":    string(d.LogIndex),
			"quantity":     string(d.Quantity),
		}),
	}, nil
}

// phosphorSample is a listing event for a listing status (CREATED,
// CANCELLED, COMPLETED) and otherwise a TOKEN_TX of the item with the
// status as its tx_type (MINT, TRANSFER, BURN).
func phosphorSample(d Delivery) []byte {
	status := strings.ToUpper(d.Status)
	switch status {
	case "CREATED", "CANCELLED", "COMPLETED":
		return mustJSON(map[string]any{
			"type":    status,
			"listing": map[string]any{"id": d.Entity, "price": "0", "currency": "ETH"},
		})
	}
	from, to := "0x"+randomHex(20), "0x"+randomHex(20)
	switch status {
	case "MINT":
		from = "0x0000000000000000000000000000000000000000"
	case "BURN":
		to = "0x0000000000000000000000000000000000000000"
	}
	return mustJSON(map[string]any{
		"id":   d.EventID,
		"type": "TOKEN_TX",
		"data": map[string]any{
			"item":             map[string]any{"id": d.Entity},
			"tx_type":          status,
			"tx_hash":          "0x" + randomHex(32),
			"from_addr":        from,
			"to_addr":          to,
			"contract_address": "0xde6afDD5bD30745542cDfabD001916A365Dc4c42",
			"token_id":         "1",
			"quantity":         "1",
			"block_number":     fmt.Sprint(time.Now().Unix()),
			"block_timestamp":  time.Now().UTC().Format(time.RFC3339),
		},
	})
}
