package providers

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"strings"
	"time"

	"github.com/hookflow/hookflow/event"
	"github.com/hookflow/hookflow/event/lifecycle"
	"github.com/hookflow/hookflow/signature"
)

// Fenix's request headers.
const (
	FenixSignatureHeader = "X-Fenix-Hmac-Sha256" // base64 HMAC-SHA256 of the raw body
	FenixTopicHeader     = "X-Fenix-Topic"       // what happened: tracking/updated, ...
	FenixEventIDHeader   = "X-Fenix-Event-Id"    // the delivery's event ID, kept across retries
)

// FenixTrackingUpdated is the one Fenix topic hookflow processes.
const FenixTrackingUpdated = "tracking/updated"

// fenixUnauthorized is the 401 message Fenix's guide documents.
const fenixUnauthorized = "Invalid Source: Unmatched HMAC code"

// fenixAPIVersion is the X-Fenix-API-Version `hookflow send fenix` claims.
const fenixAPIVersion = "2024-07"

// FenixStoreHeader names the store a Fenix delivery is from: the tenant,
// when tenants are configured (contract section 17).
const FenixStoreHeader = "X-Client-Storename"

// fenixKept are the headers kept with each event: which store and
// subscription sent it, when, and in which API version.
var fenixKept = []string{
	FenixStoreHeader, "X-Fenix-Webhook-Id", "X-Fenix-Triggered-Dttm", "X-Fenix-API-Version", FenixTopicHeader,
}

// fenixBody is the part of a Fenix tracking update hookflow reads.
type fenixBody struct {
	TrackingNumber string `json:"tracking_number"`
	Status         string `json:"status"`
	StatusDetail   string `json:"status_detail"`
	Carrier        string `json:"carrier"`
	EventTime      string `json:"event_time"`
}

// FenixVerifier accepts Fenix's base64 HMAC-SHA256 of the raw body keyed
// with the client secret.
func FenixVerifier(secrets []string) *signature.HMAC {
	return signature.NewHMAC(FenixSignatureHeader, signature.Base64, "", secrets)
}

// FenixSignature is the X-Fenix-Hmac-Sha256 value Fenix sends for body.
func FenixSignature(secret, body []byte) string {
	return base64.StdEncoding.EncodeToString(signature.Sign(secret, body))
}

// Fenix is the Fenix shipment tracking provider: one workflow per shipment
// (fenix-shipment:<tracking_number>) following tracking/updated events; other
// topics are acknowledged and ignored. verifier is nil when no secret is set.
func Fenix(verifier signature.Verifier) Provider {
	return Provider{
		Name:   "fenix",
		Doc:    "Fenix shipment tracking: base64 HMAC-SHA256 of the body in X-Fenix-Hmac-Sha256",
		Routes: []string{"/webhooks/fenix", "/shipment-track-status"},
		Secret: Setting{Env: "FENIX_CLIENT_SECRET", Usage: "Fenix HMAC client secret(s), comma-separated"},
		NewVerifier: func(secrets []string, _ Settings) (signature.Verifier, error) {
			return FenixVerifier(secrets), nil
		},
		DevSecret:    "dev-fenix-secret",
		Verifier:     verifier,
		Parse:        parseFenix,
		Unauthorized: fenixUnauthorized,
		TenantHeader: FenixStoreHeader,
		// The signature covers the body alone, not X-Fenix-Event-Id.
		UnsignedEventID: true,

		EntityIDField: "tracking_number",
		EventIDField:  FenixEventIDHeader,
		Overdue:       map[string]time.Duration{"LABEL_CREATED": 72 * time.Hour, "PICKED_BY_CARRIER": 7 * day, "IN_TRANSIT": 7 * day, "OUT_FOR_DELIVERY": 48 * time.Hour},
		Tables: map[string]lifecycle.Table{
			// A shipment moves forward through the carrier's scans. An
			// EXCEPTION can happen at any point before the end, and each
			// one is recorded; after it the shipment resumes from where it
			// stood before the exception (the workflow remembers that),
			// never further back. RETURNED ends it like DELIVERED.
			"shipment": {
				Rank: map[string]int{
					"LABEL_CREATED": 0, "EXCEPTION": 1, "PICKED_BY_CARRIER": 2, "IN_TRANSIT": 3,
					"OUT_FOR_DELIVERY": 4, "DELIVERED": 5, "RETURNED": 5,
				},
				Terminal: set("DELIVERED", "RETURNED"),
				Repeat:   set("EXCEPTION"),
				Anytime:  set("EXCEPTION"),
			},
		},
		Sample: Sample{
			Entity: "shipment-1", Status: "LABEL_CREATED",
			Statuses:  "LABEL_CREATED|PICKED_BY_CARRIER|IN_TRANSIT|OUT_FOR_DELIVERY|DELIVERED|EXCEPTION|RETURNED",
			Lifecycle: []string{"LABEL_CREATED", "PICKED_BY_CARRIER", "IN_TRANSIT", "OUT_FOR_DELIVERY", "DELIVERED"},
			Body: func(d Delivery) []byte {
				store := d.Tenant
				if store == "" {
					store = "hookflow-dev.myshopify.com"
				}
				return mustJSON(map[string]any{
					"store_name":      store,
					"tracking_number": d.Entity,
					"carrier":         "FEDEX",
					"status":          d.Status,
					"event_time":      time.Now().Format(time.RFC3339),
				})
			},
			Headers: fenixHeaders,
		},
	}
}

func parseFenix(body []byte, header signature.Header) (event.Event, error) {
	var b fenixBody
	if err := decode(body, &b); err != nil {
		return event.Event{}, err
	}
	required := []string{FenixEventIDHeader, FenixTopicHeader, "tracking_number", "status"}
	topic := header(FenixTopicHeader)
	switch {
	case topic == "":
		return event.Event{}, &MissingFieldsError{Required: required}
	case !strings.EqualFold(topic, FenixTrackingUpdated):
		return event.Event{Type: topic}, ErrIgnored
	}
	id := header(FenixEventIDHeader)
	if id == "" || b.TrackingNumber == "" || b.Status == "" {
		return event.Event{}, &MissingFieldsError{Required: required}
	}
	attrs := map[string]string{"carrier": b.Carrier, "status_detail": b.StatusDetail}
	for _, name := range fenixKept {
		attrs[name] = header(name)
	}
	when := b.EventTime
	if when == "" {
		when = header("X-Fenix-Triggered-Dttm")
	}
	return event.Event{
		ID:           id,
		Type:         topic,
		EntityType:   "shipment",
		EntityID:     b.TrackingNumber,
		Status:       strings.ToUpper(b.Status),
		ProviderTime: when,
		Attributes:   nonEmpty(attrs),
	}, nil
}

// fenixHeaders are Fenix's: the signature, the event ID and topic from the
// delivery, and the store and trigger time from the body when it has them.
func fenixHeaders(d Delivery, body []byte, secret string, _ Settings) map[string]string {
	var b struct {
		StoreName string `json:"store_name"`
		EventTime string `json:"event_time"`
	}
	_ = json.Unmarshal(body, &b) // a --file that is not JSON is sent as it is, to see the 400
	triggered := b.EventTime
	if triggered == "" {
		triggered = time.Now().Format(time.RFC3339)
	}
	topic := d.Topic
	if topic == "" {
		topic = FenixTrackingUpdated
	}
	webhookID := d.WebhookID
	if webhookID == "" {
		webhookID = randomUUID()
	}
	h := map[string]string{
		"Content-Type":           JSONType,
		FenixSignatureHeader:     FenixSignature([]byte(secret), body),
		FenixTopicHeader:         topic,
		FenixEventIDHeader:       d.EventID,
		"X-Fenix-Webhook-Id":     webhookID,
		"X-Fenix-API-Version":    fenixAPIVersion,
		"X-Fenix-Triggered-Dttm": triggered,
	}
	if b.StoreName != "" {
		h["X-Client-Storename"] = b.StoreName
	}
	return h
}

// randomUUID is a random (version 4) UUID, the form of Fenix's IDs.
func randomUUID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
