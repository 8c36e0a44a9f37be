package providers_test

import (
	"strings"
	"testing"

	"github.com/hookflow/hookflow/providers"
	"github.com/hookflow/hookflow/signature"
)

func up42Provider(secrets []string) providers.Provider {
	return providers.UP42(providers.UP42Verifier(providers.UP42SignatureHeader, signature.Hex, secrets))
}

func TestUP42Fixtures(t *testing.T) {
	checkFixtures(t, up42Provider, []fixtureCase{{
		file: "up42-order-status-fulfilled.json", eventID: "5b1f3c8e-2d4a-4e7b-9c61-0a8f2e7d3b19",
		entityType: "order", status: "FULFILLED",
		attributes:   map[string]string{"workspace_id": "7e1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"},
		providerTime: "2026-11-20T11:00:00.000Z",
	}})
}

func TestUP42Auth(t *testing.T) {
	checkAuth(t, authCase{
		provider:  up42Provider,
		file:      "up42-order-status-fulfilled.json",
		header:    providers.UP42SignatureHeader,
		signsBody: true,
	})
}

// TestUP42SignatureOptions covers what UP42 leaves open: the prefix, and a
// configured header name and encoding.
func TestUP42SignatureOptions(t *testing.T) {
	body, vec := loadVector(t, "up42-order-status-fulfilled.json")
	secret := []byte(vec.Secret)
	hexSig := providers.UP42Signature(secret, body, signature.Hex)
	b64Sig := providers.UP42Signature(secret, body, signature.Base64)
	if got, want := hexSig, vec.Headers["X-Up42-Signature"]; got != want {
		t.Fatalf("UP42Signature hex: got %q, want the vector's %q", got, want)
	}
	tests := []struct {
		name   string
		header string
		enc    signature.Encoding
		sent   map[string]string
		want   int
	}{
		{"sha256= prefix", providers.UP42SignatureHeader, signature.Hex, map[string]string{"X-Up42-Signature": "sha256=" + hexSig}, 200},
		{"SHA256= prefix", providers.UP42SignatureHeader, signature.Hex, map[string]string{"X-Up42-Signature": "SHA256=" + hexSig}, 200},
		{"other prefix", providers.UP42SignatureHeader, signature.Hex, map[string]string{"X-Up42-Signature": "sha1=" + hexSig}, 401},
		{"upper-case hex", providers.UP42SignatureHeader, signature.Hex, map[string]string{"X-Up42-Signature": strings.ToUpper(hexSig)}, 200},
		{"configured header and base64", "X-Signature", signature.Base64, map[string]string{"x-signature": b64Sig}, 200},
		{"configured base64, hex sent", "X-Signature", signature.Base64, map[string]string{"X-Signature": hexSig}, 401},
		{"configured header, default header sent", "X-Signature", signature.Hex, map[string]string{"X-Up42-Signature": hexSig}, 401},
		{"truncated signature", providers.UP42SignatureHeader, signature.Hex, map[string]string{"X-Up42-Signature": hexSig[:62]}, 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := providers.UP42(providers.UP42Verifier(tt.header, tt.enc, []string{vec.Secret}))
			err := p.Verifier.Verify(body, headerOf(tt.sent))
			if got := map[bool]int{true: 200, false: 401}[err == nil]; got != tt.want {
				t.Errorf("Verify: got %v (the receiver answers %d), want %d", err, got, tt.want)
			}
		})
	}
}

func TestUP42Parse(t *testing.T) {
	runParse(t, up42Provider(nil), []parseCase{
		{
			name:       "order status",
			body:       `{"id":"e1","event":"order.status","data":{"orderId":"o1","status":"BEING_FULFILLED"}}`,
			wantID:     "e1",
			wantEntity: "order:o1",
			wantStatus: "BEING_FULFILLED",
		},
		{
			name:       "status is upper-cased",
			body:       `{"id":"e2","event":"order.status","data":{"orderId":"o1","status":"failed_permanently"}}`,
			wantID:     "e2",
			wantEntity: "order:o1",
			wantStatus: "FAILED_PERMANENTLY",
		},
		{name: "job status", body: `{"id":"e3","event":"job.status","data":{"jobId":"j1","status":"SUCCEEDED"}}`, wantErr: providers.ErrIgnored},
		{name: "other event", body: `{"id":"e4","event":"asset.created","data":{}}`, wantErr: providers.ErrIgnored},
		{name: "no event", body: `{"id":"e5","data":{"orderId":"o1","status":"PLACED"}}`, wantErr: errMissing},
		{name: "no id", body: `{"event":"order.status","data":{"orderId":"o1","status":"PLACED"}}`, wantErr: errMissing},
		{name: "no order ID", body: `{"id":"e6","event":"order.status","data":{"status":"PLACED"}}`, wantErr: errMissing},
		{name: "no status", body: `{"id":"e7","event":"order.status","data":{"orderId":"o1"}}`, wantErr: errMissing},
		{name: "order ID not a string", body: `{"id":"e8","event":"order.status","data":{"orderId":{},"status":"PLACED"}}`, wantErr: errMissing},
		{name: "not JSON", body: `order.status`, wantErr: providers.ErrInvalidJSON},
	})
}
