package providers

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/hookflow/hookflow/event"
	"github.com/hookflow/hookflow/event/lifecycle"
	"github.com/hookflow/hookflow/signature"
)

// UP42SignatureHeader is where UP42 signatures are read by default; UP42
// documents only that the secret "is used to generate webhook signatures",
// so the header and its encoding are configurable.
const UP42SignatureHeader = "X-Up42-Signature"

// UP42OrderStatus is the one UP42 webhook event hookflow processes and
// registers for.
const UP42OrderStatus = "order.status"

// UP42's settings besides its secret.
const (
	up42HeaderEnv   = "UP42_SIGNATURE_HEADER"
	up42EncodingEnv = "UP42_SIGNATURE_ENCODING"
)

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
func UP42Verifier(header string, enc signature.Encoding, secrets []string) *signature.HMAC {
	return signature.NewHMAC(header, enc, up42SignaturePrefix, secrets)
}

// UP42Signature is the header value UP42 sends for body: the HMAC-SHA256
// keyed with secret, written with enc.
func UP42Signature(secret, body []byte, enc signature.Encoding) string {
	sig := signature.Sign(secret, body)
	if enc == signature.Base64 {
		return base64.StdEncoding.EncodeToString(sig)
	}
	return hex.EncodeToString(sig)
}

// UP42 is the UP42 orders provider: one workflow per order
// (up42-order:<orderId>) following order.status events; job.status events
// are acknowledged and ignored. verifier is nil when no secret is set.
func UP42(verifier signature.Verifier) Provider {
	return Provider{
		Name:   "up42",
		Doc:    "UP42 orders: HMAC-SHA256 of the body in X-Up42-Signature (header and encoding configurable)",
		Routes: []string{"/webhooks/up42"},
		Secret: Setting{Env: "UP42_WEBHOOK_SECRET", Usage: "UP42 HMAC secret(s), comma-separated"},
		Options: []Setting{
			{Env: up42HeaderEnv, Default: UP42SignatureHeader, Usage: "header carrying UP42's HMAC signature", Check: func(v string) error {
				if v == "" {
					return fmt.Errorf("must not be empty")
				}
				return nil
			}},
			{Env: up42EncodingEnv, Default: "hex", Usage: "encoding of UP42's HMAC signature: hex or base64", Check: func(v string) error {
				if _, err := signature.ParseEncoding(v); err != nil {
					return fmt.Errorf("must be hex or base64, not %q", v)
				}
				return nil
			}},
		},
		NewVerifier: func(secrets []string, s Settings) (signature.Verifier, error) {
			enc, err := signature.ParseEncoding(s(up42EncodingEnv))
			if err != nil {
				return nil, err
			}
			return UP42Verifier(s(up42HeaderEnv), enc, secrets), nil
		},
		DevSecret: "dev-up42-secret",
		Verifier:  verifier,
		Parse:     parseUP42,

		EntityIDField: "data.orderId",
		EventIDField:  "id",
		Overdue:       map[string]time.Duration{"PLACED": 24 * time.Hour, "BEING_FULFILLED": 72 * time.Hour},
		Tables: map[string]lifecycle.Table{
			// A FAILED order may be retried (back to PLACED or
			// BEING_FULFILLED) or end; FAILED ranks below both ends so
			// either can follow it.
			"order": {
				Rank: map[string]int{
					"PLACED": 0, "BEING_FULFILLED": 1, "FAILED": 2, "FULFILLED": 3, "FAILED_PERMANENTLY": 3,
				},
				Terminal: set("FULFILLED", "FAILED_PERMANENTLY"),
				Retry:    map[string][]string{"FAILED": {"PLACED", "BEING_FULFILLED"}},
			},
		},
		Sample: Sample{
			Entity: "order-1", Status: "PLACED", Statuses: "PLACED|BEING_FULFILLED|FAILED|FULFILLED|FAILED_PERMANENTLY",
			Lifecycle: []string{"PLACED", "BEING_FULFILLED", "FULFILLED"},
			Body: func(d Delivery) []byte {
				return mustJSON(map[string]any{
					"id":        d.EventID,
					"event":     UP42OrderStatus,
					"timestamp": time.Now().UTC().Format("2006-01-02T15:04:05.000Z"),
					"data":      map[string]any{"orderId": d.Entity, "status": d.Status},
				})
			},
			Headers: func(_ Delivery, body []byte, secret string, s Settings) map[string]string {
				// Sign as the receiver is configured to read; validation
				// has allowed only hex and base64, and hex is Encoding's zero.
				enc, _ := signature.ParseEncoding(s(up42EncodingEnv))
				return map[string]string{
					"Content-Type":   JSONType,
					s(up42HeaderEnv): UP42Signature([]byte(secret), body, enc),
				}
			},
		},
	}
}

func parseUP42(body []byte, _ signature.Header) (event.Event, error) {
	var b up42Body
	if err := decode(body, &b); err != nil {
		return event.Event{}, err
	}
	required := []string{"id", "event", "data.orderId", "data.status"}
	switch b.Event {
	case UP42OrderStatus:
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
