package providers

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/hookflow/hookflow/event"
	"github.com/hookflow/hookflow/event/lifecycle"
	"github.com/hookflow/hookflow/signature"
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
// order (phoenix-order:<orderId>), whose status the Phoenix orders API
// confirms at each event. verifier is nil when no secret is set.
func Phoenix(verifier signature.Verifier) Provider {
	return Provider{
		Name:   "phoenix",
		Doc:    "Phoenix orders: Authorization: Bearer <secret>; the orders API's status is authoritative",
		Routes: []string{"/webhooks/phoenix", "/phoenix-order-status-updated"},
		Secret: Setting{Env: "PHOENIX_WEBHOOK_SECRET", Usage: "Phoenix Bearer secret(s), comma-separated"},
		NewVerifier: func(secrets []string, _ Settings) (signature.Verifier, error) {
			return signature.NewBearer(secrets), nil
		},
		DevSecret: "dev-phoenix-secret",
		Verifier:  verifier,
		Parse:     parsePhoenix,
		Reply:     phoenixReply,
		// The event ID stays "eventId": without a body id it is built
		// from orderId, orderStatus and timestamp.
		EntityIDField: "data.orderId",
		Overdue:       map[string]time.Duration{"pending": 24 * time.Hour},
		// GET {PHOENIX_API_URL}/orders/{orderId}, without credential.
		API: &API{url: "{base}/orders/{entity_id}", BaseSetting: "PHOENIX_API_URL", statusOf: orderStatusOf},
		Tables: map[string]lifecycle.Table{
			"order": {
				Rank:     map[string]int{"pending": 0, "fulfilled": 1, "expired": 1},
				Terminal: set("fulfilled", "expired"),
				API:      true,
			},
		},
		Sample: Sample{
			Entity: "order-1", Status: "fulfilled", Statuses: "pending|fulfilled|expired",
			Lifecycle: []string{"pending", "fulfilled"},
			Body: func(d Delivery) []byte {
				return mustJSON(map[string]any{
					"event":     "order.status.change",
					"id":        d.EventID,
					"timestamp": time.Now().UTC().Format("2006-01-02T15:04:05.000Z"),
					"data":      map[string]any{"orderId": d.Entity, "orderStatus": d.Status},
				})
			},
			Headers: func(_ Delivery, _ []byte, secret string, _ Settings) map[string]string {
				return map[string]string{"Content-Type": JSONType, "Authorization": "Bearer " + secret}
			},
			Sandbox: "/orders/",
		},
	}
}

func parsePhoenix(body []byte, _ signature.Header) (event.Event, error) {
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
		id = event.JoinID(b.Data.OrderID, b.Data.OrderStatus, b.Timestamp)
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

// orderStatusOf finds the order status, in lower case as the webhooks
// carry it, in the shapes the Phoenix API is known or likely to answer
// with: status or orderStatus, at the top level or under order or data.
func orderStatusOf(body []byte) (string, bool) {
	type statuses struct {
		Status      string `json:"status"`
		OrderStatus string `json:"orderStatus"`
	}
	var doc struct {
		statuses
		Order *statuses `json:"order"`
		Data  *statuses `json:"data"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return "", false
	}
	for _, s := range []*statuses{&doc.statuses, doc.Order, doc.Data} {
		switch {
		case s == nil:
		case s.Status != "":
			return strings.ToLower(s.Status), true
		case s.OrderStatus != "":
			return strings.ToLower(s.OrderStatus), true
		}
	}
	return "", false
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
