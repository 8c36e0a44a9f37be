package receivers_test

import (
	"testing"

	"github.com/hookflow/hookflow/providers"
	"github.com/hookflow/hookflow/receivers"
)

func fenixProvider3(secrets []string) receivers.Provider {
	return providers.Fenix(providers.FenixVerifier(secrets))
}

func TestFenixFixtures(t *testing.T) {
	checkFixtures3(t, fenixProvider3, []fixtureCase3{{
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
	checkAuth3(t, authCase3{
		provider:     fenixProvider3,
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

// fenixHeaders3 are the headers of a tracking update, signed over body.
func fenixHeaders3(secret, body string, set ...string) map[string]string {
	h := map[string]string{
		"X-Fenix-Hmac-Sha256": providers.FenixSignature([]byte(secret), []byte(body)),
		"X-Fenix-Topic":       "tracking/updated",
		"X-Fenix-Event-Id":    "evt-1",
	}
	for i := 0; i+1 < len(set); i += 2 {
		h = with3(h, set[i], set[i+1])
	}
	return h
}

func TestFenixParse(t *testing.T) {
	const update = `{"tracking_number":"T1","status":"in_transit"}`
	runParse3(t, fenixProvider3(nil), []parseCase3{
		{
			name: "tracking updated", body: update, headers: fenixHeaders3("", update),
			wantID: "evt-1", wantEntity: "shipment:T1", wantStatus: "IN_TRANSIT",
			wantAttrs: map[string]string{"X-Fenix-Topic": "tracking/updated"},
		},
		{
			name: "topic is case-insensitive", body: update, headers: fenixHeaders3("", update, "X-Fenix-Topic", "Tracking/Updated"),
			wantID: "evt-1", wantEntity: "shipment:T1", wantStatus: "IN_TRANSIT",
		},
		{
			name: "other topic", body: `{"order_number":"#1"}`, headers: fenixHeaders3("", "", "X-Fenix-Topic", "orders/created"),
			wantErr: receivers.ErrIgnored,
		},
		{
			name: "other topic without event ID", body: `{}`, headers: fenixHeaders3("", "", "X-Fenix-Topic", "orders/created", "X-Fenix-Event-Id", ""),
			wantErr: receivers.ErrIgnored,
		},
		{name: "no topic", body: update, headers: fenixHeaders3("", update, "X-Fenix-Topic", ""), wantErr: errMissing3},
		{name: "no event ID", body: update, headers: fenixHeaders3("", update, "X-Fenix-Event-Id", ""), wantErr: errMissing3},
		{name: "no tracking number", body: `{"status":"IN_TRANSIT"}`, headers: fenixHeaders3("", ""), wantErr: errMissing3},
		{name: "no status", body: `{"tracking_number":"T1"}`, headers: fenixHeaders3("", ""), wantErr: errMissing3},
		{name: "not JSON", body: `tracking_number=T1`, headers: fenixHeaders3("", ""), wantErr: receivers.ErrInvalidJSON},
	})
}

func TestFenixAnswers(t *testing.T) {
	const secret = "fenix-test-secret"
	const update = `{"tracking_number":"T1","status":"DELIVERED"}`
	const other = `{"order_number":"#1"}`
	checkAnswers3(t, fenixProvider3([]string{secret}), []answerCase3{
		{
			name: "second route", path: "/shipment-track-status", body: update, headers: fenixHeaders3(secret, update),
			want: 200, wantBody: map[string]any{"success": true, "duplicate": false, "eventId": "evt-1", "workflowId": "fenix-shipment:T1"},
		},
		{
			name: "other topic is ignored", body: other, headers: fenixHeaders3(secret, other, "X-Fenix-Topic", "orders/created"),
			want: 200, wantBody: map[string]any{"success": true, "ignored": true},
		},
		{
			name: "missing event ID", body: update, headers: fenixHeaders3(secret, update, "X-Fenix-Event-Id", ""),
			want: 400, wantBody: map[string]any{
				"error":    "Missing required fields",
				"required": []any{"X-Fenix-Event-Id", "X-Fenix-Topic", "tracking_number", "status"},
			},
		},
		{
			name: "signature of another body", body: update, headers: fenixHeaders3(secret, other),
			want: 401, wantBody: map[string]any{"error": "Invalid Source: Unmatched HMAC code"},
		},
		{
			name: "signature not base64", body: update, headers: fenixHeaders3(secret, update, "X-Fenix-Hmac-Sha256", "%%%"),
			want: 401, wantBody: map[string]any{"error": "Invalid Source: Unmatched HMAC code"},
		},
	})
}
