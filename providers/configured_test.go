package providers_test

import (
	"errors"
	"reflect"
	"testing"

	"github.com/hookflow/hookflow/internal/dev/testenv"
	"github.com/hookflow/hookflow/providers"
)

// acme is a configured provider with body and header fields and accepted
// types.
func acme(t *testing.T, scheme string) providers.Provider {
	t.Helper()
	spec := providers.Spec{
		Name: "acme", Route: "/webhooks/acme", EntityType: "order",
		Auth:        providers.AuthSpec{Scheme: scheme, Header: "X-Acme-Signature", Encoding: "base64", Prefix: "sha256=", SecretEnv: "ACME_SECRET"},
		Fields:      providers.FieldsSpec{EntityID: "data.order.id", Status: "data.order.status", EventID: "header:X-Acme-Delivery", Time: "created_at", Type: "type"},
		AcceptTypes: []string{"order.updated"},
		States:      [][]string{{"created"}, {"paid"}, {"delivered", "cancelled"}},
		Terminal:    []string{"delivered", "cancelled"},
	}
	if scheme != providers.SchemeHMAC {
		spec.Auth.Encoding, spec.Auth.Prefix = "", ""
	}
	if scheme != providers.SchemeHMAC && scheme != providers.SchemeHeader {
		spec.Auth.Header = ""
	}
	ps, err := providers.FromSpecs([]providers.Spec{spec})
	if err != nil {
		t.Fatal(err)
	}
	return ps[0]
}

func TestConfiguredParse(t *testing.T) {
	p := acme(t, providers.SchemeHMAC)
	required := []string{"data.order.id", "data.order.status", "header:X-Acme-Delivery", "created_at", "type"}
	delivery := map[string]string{"X-Acme-Delivery": "d-1"}
	tests := []struct {
		name    string
		body    string
		headers map[string]string
		want    error // nil: parsed
		status  string
	}{
		{"parsed", `{"type":"order.updated","created_at":"2026-01-01T00:00:00Z","data":{"order":{"id":"o-1","status":"paid"}}}`, delivery, nil, "paid"},
		{"numeric id", `{"type":"order.updated","created_at":1767225600,"data":{"order":{"id":12345678901234567890,"status":"paid"}}}`, delivery, nil, "paid"},
		{"other type ignored", `{"type":"customer.created"}`, delivery, providers.ErrIgnored, ""},
		{"no type", `{"data":{"order":{"id":"o-1","status":"paid"}}}`, delivery, &providers.MissingFieldsError{}, ""},
		{"no event id header", `{"type":"order.updated","created_at":"t","data":{"order":{"id":"o-1","status":"paid"}}}`, nil, &providers.MissingFieldsError{}, ""},
		{"status an object", `{"type":"order.updated","created_at":"t","data":{"order":{"id":"o-1","status":{"a":1}}}}`, delivery, &providers.MissingFieldsError{}, ""},
		{"not json", `order=o-1`, delivery, providers.ErrInvalidJSON, ""},
		{"trailing garbage", `{"type":"order.updated"} x`, delivery, providers.ErrInvalidJSON, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, err := p.Parse([]byte(tt.body), testenv.Lookup(tt.headers))
			var missing *providers.MissingFieldsError
			switch want := tt.want.(type) {
			case nil:
				if err != nil || ev.Status != tt.status || ev.ID != "d-1" || ev.EntityType != "order" || ev.Type != "order.updated" {
					t.Errorf("got %+v, %v", ev, err)
				}
			case *providers.MissingFieldsError:
				if !errors.As(err, &missing) || !reflect.DeepEqual(missing.Required, required) {
					t.Errorf("got %v, want missing %v", err, required)
				}
			default:
				if !errors.Is(err, want) {
					t.Errorf("got %v, want %v", err, want)
				}
			}
		})
	}
	if ev, _ := p.Parse([]byte(tests[1].body), testenv.Lookup(delivery)); ev.EntityID != "12345678901234567890" {
		t.Errorf("a numeric ID becomes %q, want its digits as sent", ev.EntityID)
	}
}

// TestConfiguredPresets: each preset's sample is signed as its verifier
// checks, with either of two secrets, and a wrong secret is refused.
func TestConfiguredPresets(t *testing.T) {
	for _, scheme := range []string{providers.SchemeBearer, providers.SchemeHeader, providers.SchemeHMAC, providers.SchemeStandardWebhooks} {
		t.Run(scheme, func(t *testing.T) {
			p := acme(t, scheme)
			secrets := []string{"first-secret", "second-secret", "other-secret"}
			if scheme == providers.SchemeStandardWebhooks {
				secrets = []string{"whsec_Zmlyc3Qtc2VjcmV0", "whsec_c2Vjb25kLXNlY3JldA==", "whsec_b3RoZXItc2VjcmV0"}
			}
			settings := func(env string) string { return secrets[0] + "," + secrets[1] }
			bound, err := p.Bind(settings)
			if err != nil || bound.Verifier == nil {
				t.Fatalf("bind: %v", err)
			}
			d := providers.Delivery{Entity: "o-1", Status: "paid", EventID: "d-1"}
			body := p.Sample.Body(d)
			for i, secret := range secrets {
				h := p.Sample.Headers(d, body, secret, settings)
				err := bound.Verifier.Verify(body, testenv.Lookup(h))
				if (err == nil) != (i < 2) {
					t.Errorf("secret %d: %v", i, err)
				}
				if i == 0 {
					if ev, err := p.Parse(body, testenv.Lookup(h)); err != nil || ev.Status != "paid" || ev.EntityID != "o-1" {
						t.Errorf("sample parses to %+v, %v", ev, err)
					}
				}
			}
		})
	}
}
