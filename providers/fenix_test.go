package providers_test

import (
	"testing"

	"github.com/hookflow/hookflow/providers"
)

func fenixProvider(secrets []string) providers.Provider {
	return providers.Fenix(providers.FenixVerifier(secrets))
}

func TestFenixFixtures(t *testing.T) {
	checkFixtures(t, fenixProvider, []fixtureCase{{
		file: "fenix-tracking-updated.json", eventID: "evt-fenix-000123",
		entityType: "shipment", status: "OUT_FOR_DELIVERY",
		attributes: map[string]string{
			"X-Client-Storename":     "wearhumans.myshopify.com",
			"X-Fenix-Webhook-Id":     "77a56e05-dbc0-476d-8665-f33f34e963a1",
			"X-Fenix-Triggered-Dttm": "2024-07-06T01:12:34-05:00",
			"X-Fenix-API-Version":    "2024-07",
			"X-Fenix-Topic":          "tracking/updated",
			"carrier":                "FEDEX",
			"status_detail":          "On FedEx vehicle for delivery",
		},
		providerTime: "2024-07-06T01:12:34-05:00",
	}})
}

func TestFenixAuth(t *testing.T) {
	checkAuth(t, authCase{
		provider:     fenixProvider,
		file:         "fenix-tracking-updated.json",
		header:       providers.FenixSignatureHeader,
		signsBody:    true,
		unauthorized: "Invalid Source: Unmatched HMAC code",
	})
}

func TestFenixSignature(t *testing.T) {
	body, vec := loadVector(t, "fenix-tracking-updated.json")
	if got, want := providers.FenixSignature([]byte(vec.Secret), body), vec.Headers["X-Fenix-Hmac-Sha256"]; got != want {
		t.Errorf("FenixSignature: got %q, want the vector's %q", got, want)
	}
}

// fenixHeaders are the headers of a tracking update, signed over body.
func fenixHeaders(secret, body string, set ...string) map[string]string {
	h := map[string]string{
		"X-Fenix-Hmac-Sha256": providers.FenixSignature([]byte(secret), []byte(body)),
		"X-Fenix-Topic":       "tracking/updated",
		"X-Fenix-Event-Id":    "evt-1",
	}
	for i := 0; i+1 < len(set); i += 2 {
		h = with(h, set[i], set[i+1])
	}
	return h
}

func TestFenixParse(t *testing.T) {
	const update = `{"tracking_number":"T1","status":"in_transit"}`
	runParse(t, fenixProvider(nil), []parseCase{
		{
			name: "tracking updated", body: update, headers: fenixHeaders("", update),
			wantID: "evt-1", wantEntity: "shipment:T1", wantStatus: "IN_TRANSIT",
			wantAttrs: map[string]string{"X-Fenix-Topic": "tracking/updated"},
		},
		{
			name: "topic is case-insensitive", body: update, headers: fenixHeaders("", update, "X-Fenix-Topic", "Tracking/Updated"),
			wantID: "evt-1", wantEntity: "shipment:T1", wantStatus: "IN_TRANSIT",
		},
		{
			name: "other topic", body: `{"order_number":"#1"}`, headers: fenixHeaders("", "", "X-Fenix-Topic", "orders/created"),
			wantErr: providers.ErrIgnored,
		},
		{
			name: "other topic without event ID", body: `{}`, headers: fenixHeaders("", "", "X-Fenix-Topic", "orders/created", "X-Fenix-Event-Id", ""),
			wantErr: providers.ErrIgnored,
		},
		{name: "no topic", body: update, headers: fenixHeaders("", update, "X-Fenix-Topic", ""), wantErr: errMissing},
		{name: "no event ID", body: update, headers: fenixHeaders("", update, "X-Fenix-Event-Id", ""), wantErr: errMissing},
		{name: "no tracking number", body: `{"status":"IN_TRANSIT"}`, headers: fenixHeaders("", ""), wantErr: errMissing},
		{name: "no status", body: `{"tracking_number":"T1"}`, headers: fenixHeaders("", ""), wantErr: errMissing},
		{name: "not JSON", body: `tracking_number=T1`, headers: fenixHeaders("", ""), wantErr: providers.ErrInvalidJSON},
	})
}
