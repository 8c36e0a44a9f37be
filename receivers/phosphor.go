package receivers

import (
	"encoding/json"
	"strings"

	"github.com/hookflow/hookflow/event"
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
func PhosphorVerifier(secrets []string) *SharedSecret {
	return NewSharedSecret(PhosphorSecretHeader, secrets)
}

// Phosphor is the Phosphor NFT provider: one workflow per item
// (phosphor-item:<item id>) following its token transactions, and one per
// listing (phosphor-listing:<listing id>). verifier is nil when no secret is
// set.
func Phosphor(verifier Verifier) Provider {
	return Provider{
		Name:     "phosphor",
		Routes:   []string{"/webhooks/phosphor"},
		Verifier: verifier,
		Parse:    parsePhosphor,
	}
}

func parsePhosphor(body []byte, _ Header) (event.Event, error) {
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
			// types happens once per listing.
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
		entity = d.ContractAddress + ":" + string(d.TokenID)
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

// nonEmpty drops the empty values of m, and returns nil when none is left,
// so events carry only the details the provider sent.
func nonEmpty(m map[string]string) map[string]string {
	for k, v := range m {
		if v == "" {
			delete(m, k)
		}
	}
	if len(m) == 0 {
		return nil
	}
	return m
}

// flexString is a JSON string or number kept as its text: providers send
// token IDs, block numbers and entity IDs either way. Any other JSON value
// leaves it empty, so the required-field check names the field.
type flexString string

// UnmarshalJSON implements json.Unmarshaler.
func (f *flexString) UnmarshalJSON(b []byte) error {
	switch {
	case len(b) == 0:
	case b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = flexString(s)
	case b[0] == '-' || (b[0] >= '0' && b[0] <= '9'):
		*f = flexString(b)
	}
	return nil
}
