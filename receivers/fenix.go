package receivers

import (
	"encoding/base64"
	"strings"

	"github.com/hookflow/hookflow/event"
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

// fenixKept are the headers kept with each event: which store and
// subscription sent it, when, and in which API version.
var fenixKept = []string{
	"X-Client-Storename", "X-Fenix-Webhook-Id", "X-Fenix-Triggered-Dttm", "X-Fenix-API-Version", FenixTopicHeader,
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
func FenixVerifier(secrets []string) *HMAC {
	return NewHMAC(FenixSignatureHeader, Base64, "", secrets)
}

// FenixSignature is the X-Fenix-Hmac-Sha256 value Fenix sends for body.
func FenixSignature(secret, body []byte) string {
	return base64.StdEncoding.EncodeToString(Sign(secret, body))
}

// Fenix is the Fenix shipment tracking provider: one workflow per shipment
// (fenix-shipment:<tracking_number>) following tracking/updated events; other
// topics are acknowledged and ignored. verifier is nil when no secret is set.
func Fenix(verifier Verifier) Provider {
	return Provider{
		Name:         "fenix",
		Routes:       []string{"/webhooks/fenix", "/shipment-track-status"},
		Verifier:     verifier,
		Parse:        parseFenix,
		Unauthorized: fenixUnauthorized,

		EntityIDField: "tracking_number",
		EventIDField:  FenixEventIDHeader,
	}
}

func parseFenix(body []byte, header Header) (event.Event, error) {
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
