package receivers

import (
	"encoding/base64"
	"encoding/hex"
	"strings"

	"github.com/hookflow/hookflow/event"
)

// UP42SignatureHeader is where UP42 signatures are read by default; UP42
// documents only that the secret "is used to generate webhook signatures",
// so the header and its encoding are configurable.
const UP42SignatureHeader = "X-Up42-Signature"

// up42SignaturePrefix is accepted before the signature, as some senders of
// GitHub-style signatures write it.
const up42SignaturePrefix = "sha256="

// up42Body is the part of a UP42 webhook hookflow reads.
type up42Body struct {
	ID        string `json:"id"`
	Event     string `json:"event"`
	Timestamp string `json:"timestamp"`
	Data      struct {
		OrderID     string `json:"orderId"`
		Status      string `json:"status"`
		WorkspaceID string `json:"workspaceId"`
	} `json:"data"`
}

// UP42Verifier accepts an HMAC-SHA256 of the raw body in header, written
// with enc, with or without a "sha256=" prefix.
func UP42Verifier(header string, enc Encoding, secrets []string) *HMAC {
	return NewHMAC(header, enc, up42SignaturePrefix, secrets)
}

// UP42Signature is the header value UP42 sends for body: the HMAC-SHA256
// keyed with secret, written with enc.
func UP42Signature(secret, body []byte, enc Encoding) string {
	sig := Sign(secret, body)
	if enc == Base64 {
		return base64.StdEncoding.EncodeToString(sig)
	}
	return hex.EncodeToString(sig)
}

// UP42 is the UP42 orders provider: one workflow per order
// (up42-order:<orderId>) following order.status events; job.status events
// are acknowledged and ignored. verifier is nil when no secret is set.
func UP42(verifier Verifier) Provider {
	return Provider{
		Name:     "up42",
		Routes:   []string{"/webhooks/up42"},
		Verifier: verifier,
		Parse:    parseUP42,

		EntityIDField: "data.orderId",
		EventIDField:  "id",
	}
}

func parseUP42(body []byte, _ Header) (event.Event, error) {
	var b up42Body
	if err := decode(body, &b); err != nil {
		return event.Event{}, err
	}
	required := []string{"id", "event", "data.orderId", "data.status"}
	switch b.Event {
	case "order.status":
	case "":
		return event.Event{}, &MissingFieldsError{Required: required}
	default: // job.status and whatever UP42 adds
		return event.Event{Type: b.Event}, ErrIgnored
	}
	if b.ID == "" || b.Data.OrderID == "" || b.Data.Status == "" {
		return event.Event{}, &MissingFieldsError{Required: required}
	}
	return event.Event{
		ID:           b.ID,
		Type:         b.Event,
		EntityType:   "order",
		EntityID:     b.Data.OrderID,
		Status:       strings.ToUpper(b.Data.Status),
		ProviderTime: b.Timestamp,
		Attributes:   nonEmpty(map[string]string{"workspace_id": b.Data.WorkspaceID}),
	}, nil
}
