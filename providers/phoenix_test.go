package providers_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/hookflow/hookflow/event"
	"github.com/hookflow/hookflow/providers"
)

// parsePhoenix parses body the way the receiver does, filling Provider as the
// accept path does before it asks for the workflow ID.
func parsePhoenix(body []byte) (event.Event, error) {
	p := providers.Phoenix(nil)
	ev, err := p.Parse(body, headerOf(nil))
	ev.Provider = p.Name
	return ev, err
}

func TestPhoenixProvider(t *testing.T) {
	p := providers.Phoenix(nil)
	if got, want := p.Name, "phoenix"; got != want {
		t.Errorf("Name: got %q, want %q", got, want)
	}
	if got, want := p.Routes, []string{"/webhooks/phoenix", "/phoenix-order-status-updated"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Routes: got %q, want %q", got, want)
	}
	if p.Verifier != nil {
		t.Errorf("Verifier: got %v, want nil for a disabled provider", p.Verifier)
	}
}

func TestPhoenixParseFixtures(t *testing.T) {
	tests := []struct {
		file string
		want event.Event // Provider, ID, Type, EntityType, EntityID, Status, ProviderTime
		wfID string
	}{
		{
			file: "phoenix-order-status-fulfilled.json",
			want: event.Event{
				Provider: "phoenix", ID: "evt_7Yq2mK1pW3xZ9aB4", Type: "order.status.change",
				EntityType: "order", EntityID: "tpT9KpKVyHU1P24RjZcW1o", Status: "fulfilled",
				ProviderTime: "2026-11-20T10:15:30.000Z",
			},
			wfID: "phoenix-order:tpT9KpKVyHU1P24RjZcW1o",
		},
		{
			file: "phoenix-order-status-pending-noid.json",
			want: event.Event{
				Provider: "phoenix", ID: "tpT9KpKVyHU1P24RjZcW1o:pending:2026-11-20T10:01:02.000Z", Type: "order.status.change",
				EntityType: "order", EntityID: "tpT9KpKVyHU1P24RjZcW1o", Status: "pending",
				ProviderTime: "2026-11-20T10:01:02.000Z",
			},
			wfID: "phoenix-order:tpT9KpKVyHU1P24RjZcW1o",
		},
	}
	vectors := loadVectors(t)
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			vec := vectors[tt.file]
			// vectors.json is the reference where it gives a value.
			if vec.EventID != "" && vec.EventID != tt.want.ID {
				t.Fatalf("test table event ID %q disagrees with vectors.json %q", tt.want.ID, vec.EventID)
			}
			if vec.WorkflowID != "" && vec.WorkflowID != tt.wfID {
				t.Fatalf("test table workflow ID %q disagrees with vectors.json %q", tt.wfID, vec.WorkflowID)
			}
			got, err := parsePhoenix(fixture(t, tt.file))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v\nwant %+v", got, tt.want)
			}
			if got := got.WorkflowID(); got != tt.wfID {
				t.Errorf("WorkflowID: got %q, want %q", got, tt.wfID)
			}
		})
	}
}

func TestPhoenixParseMissingFields(t *testing.T) {
	wantRequired := []string{"event", "data.orderId", "data.orderStatus"}
	tests := []struct {
		name string
		body []byte
	}{
		{"fixture", fixture(t, "phoenix-missing-fields.json")},
		{"empty object", []byte(`{}`)},
		{"no event", []byte(`{"data":{"orderId":"o1","orderStatus":"pending"}}`)},
		{"empty event", []byte(`{"event":"","data":{"orderId":"o1","orderStatus":"pending"}}`)},
		{"no orderStatus", []byte(`{"event":"order.status.change","data":{"orderId":"o1"}}`)},
		{"orderId a number", []byte(`{"event":"order.status.change","data":{"orderId":12345,"orderStatus":"pending"}}`)},
		{"orderStatus an object", []byte(`{"event":"order.status.change","data":{"orderId":"o1","orderStatus":{"v":"pending"}}}`)},
		{"event a number", []byte(`{"event":7,"data":{"orderId":"o1","orderStatus":"pending"}}`)},
		{"data a string", []byte(`{"event":"order.status.change","data":"o1"}`)},
		{"data null", []byte(`{"event":"order.status.change","data":null}`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parsePhoenix(tt.body)
			var missing *providers.MissingFieldsError
			if !errors.As(err, &missing) {
				t.Fatalf("got %v, want a *MissingFieldsError", err)
			}
			if !reflect.DeepEqual(missing.Required, wantRequired) {
				t.Errorf("Required: got %q, want %q", missing.Required, wantRequired)
			}
			if !strings.Contains(err.Error(), "data.orderId") {
				t.Errorf("Error() = %q does not name the fields", err)
			}
		})
	}
}

func TestPhoenixParseInvalidJSON(t *testing.T) {
	tests := []struct {
		name string
		body string
	}{
		{"not JSON", "not json"},
		{"empty body", ""},
		{"truncated object", `{"event":"order.status.change","data":{"orderId":"o1"`},
		{"array", `[{"event":"order.status.change","data":{"orderId":"o1","orderStatus":"pending"}}]`},
		{"empty array", `[]`},
		{"string", `"order.status.change"`},
		{"number", `42`},
		{"trailing garbage", `{"event":"e","data":{"orderId":"o1","orderStatus":"pending"}} x`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parsePhoenix([]byte(tt.body))
			if !errors.Is(err, providers.ErrInvalidJSON) {
				t.Errorf("got %v, want %v", err, providers.ErrInvalidJSON)
			}
		})
	}
}

// TestPhoenixParseNull: decode's doc says a body that is "not an object" is
// ErrInvalidJSON.
func TestPhoenixParseNull(t *testing.T) {
	_, err := parsePhoenix([]byte("null"))
	if !errors.Is(err, providers.ErrInvalidJSON) {
		t.Errorf("got %v, want %v", err, providers.ErrInvalidJSON)
	}
}

func TestPhoenixParseStatus(t *testing.T) {
	tests := []struct {
		name       string
		body       string
		wantID     string
		wantStatus string
	}{
		{
			name:       "status lower-cased",
			body:       `{"id":"e1","event":"order.status.change","data":{"orderId":"o1","orderStatus":"FULFILLED"}}`,
			wantID:     "e1",
			wantStatus: "fulfilled",
		},
		{
			name:       "unknown fields ignored",
			body:       `{"id":"e2","event":"order.status.change","extra":[1,2],"data":{"orderId":"o1","orderStatus":"expired","more":{}}}`,
			wantID:     "e2",
			wantStatus: "expired",
		},
		{
			name:       "ID from order, status and timestamp",
			body:       `{"event":"order.status.change","timestamp":"t1","data":{"orderId":"o1","orderStatus":"pending"}}`,
			wantID:     "o1:pending:t1",
			wantStatus: "pending",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, err := parsePhoenix([]byte(tt.body))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if ev.ID != tt.wantID {
				t.Errorf("ID: got %q, want %q", ev.ID, tt.wantID)
			}
			if ev.Status != tt.wantStatus {
				t.Errorf("Status: got %q, want %q", ev.Status, tt.wantStatus)
			}
			if got, want := ev.WorkflowID(), "phoenix-order:o1"; got != want {
				t.Errorf("WorkflowID: got %q, want %q", got, want)
			}
		})
	}
}
