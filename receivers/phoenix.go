package receivers

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"

	"github.com/hookflow/hookflow/event"
)

// phoenixBody is the part of a Phoenix order-status webhook hookflow reads.
type phoenixBody struct {
	ID        string `json:"id"`
	Event     string `json:"event"`
	Timestamp string `json:"timestamp"`
	Data      struct {
		OrderID     string `json:"orderId"`
		OrderStatus string `json:"orderStatus"`
	} `json:"data"`
}

// Phoenix is the Phoenix orders provider: Bearer secret, one workflow per
// order (phoenix-order:<orderId>). verifier is nil when no secret is set.
func Phoenix(verifier Verifier) Provider {
	return Provider{
		Name:     "phoenix",
		Routes:   []string{"/webhooks/phoenix", "/phoenix-order-status-updated"},
		Verifier: verifier,
		Parse:    parsePhoenix,
		Reply:    phoenixReply,
		// The event ID stays "eventId": without a body id it is built
		// from orderId, orderStatus and timestamp.
		EntityIDField: "data.orderId",
	}
}

func parsePhoenix(body []byte, _ Header) (event.Event, error) {
	var b phoenixBody
	if err := decode(body, &b); err != nil {
		return event.Event{}, err
	}
	if b.Event == "" || b.Data.OrderID == "" || b.Data.OrderStatus == "" {
		return event.Event{}, &MissingFieldsError{Required: []string{"event", "data.orderId", "data.orderStatus"}}
	}
	status := strings.ToLower(b.Data.OrderStatus)
	id := b.ID
	if id == "" {
		// Phoenix retries a delivery with the same body, so these three
		// identify it when the body carries no ID of its own.
		id = b.Data.OrderID + ":" + b.Data.OrderStatus + ":" + b.Timestamp
	}
	return event.Event{
		ID:           id,
		Type:         b.Event,
		EntityType:   "order",
		EntityID:     b.Data.OrderID,
		Status:       status,
		ProviderTime: b.Timestamp,
	}, nil
}

// phoenixReply is the 200 body Phoenix's guide documents, on top of ours.
func phoenixReply(base Accepted, ev event.Event) any {
	return struct {
		Accepted
		Message     string `json:"message"`
		OrderID     string `json:"orderId"`
		OrderStatus string `json:"orderStatus"`
	}{base, "Order status webhook received", ev.EntityID, ev.Status}
}

// decode unmarshals a JSON object into v. A body that is not JSON, or not an
// object, is ErrInvalidJSON; fields of an unexpected type are left empty, so
// the required-field check names them.
func decode(body []byte, v any) error {
	if trimmed := bytes.TrimLeft(body, " \t\r\n"); len(trimmed) == 0 || trimmed[0] != '{' {
		return ErrInvalidJSON
	}
	err := json.Unmarshal(body, v)
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) && typeErr.Field != "" {
		return nil
	}
	if err != nil {
		return ErrInvalidJSON
	}
	return nil
}
