package providers_test

import (
	"maps"
	"testing"

	"github.com/hookflow/hookflow/providers"
)

// TestUnsignedEventIDDeclared: a provider declares UnsignedEventID exactly
// when its signature leaves the event ID out. The oracle is the provider's
// own sending side: one body, signed as the provider signs it for two
// deliveries that differ only in their event ID; when both verify and
// parse to different event IDs, the ID is not signed.
func TestUnsignedEventIDDeclared(t *testing.T) {
	for _, p := range providers.Builtins() {
		t.Run(p.Name, func(t *testing.T) { checkUnsignedEventID(t, p) })
	}
	for _, scheme := range []string{providers.SchemeBearer, providers.SchemeHeader, providers.SchemeHMAC, providers.SchemeStandardWebhooks} {
		for _, p := range []providers.Provider{acme(t, scheme), acmeSigned(t, scheme)} {
			t.Run("configured "+scheme+" "+p.EventIDField, func(t *testing.T) { checkUnsignedEventID(t, p) })
		}
	}
}

// acmeSigned is acme with its event ID where its signature covers it: in
// the body, or Standard Webhooks' webhook-id.
func acmeSigned(t *testing.T, scheme string) providers.Provider {
	t.Helper()
	spec := providers.Spec{
		Name: "acme", Route: "/webhooks/acme", EntityType: "order",
		Auth:   providers.AuthSpec{Scheme: scheme, SecretEnv: "ACME_SECRET"},
		Fields: providers.FieldsSpec{EntityID: "data.order.id", Status: "data.order.status", EventID: "id", Time: "created_at"},
		States: [][]string{{"created"}, {"paid"}, {"delivered", "cancelled"}}, Terminal: []string{"delivered", "cancelled"},
	}
	switch scheme {
	case providers.SchemeHMAC, providers.SchemeHeader:
		spec.Auth.Header = "X-Acme-Signature"
	case providers.SchemeStandardWebhooks:
		spec.Fields.EventID = "" // header:webhook-id
	}
	ps, err := providers.FromSpecs([]providers.Spec{spec})
	if err != nil {
		t.Fatal(err)
	}
	return ps[0]
}

func checkUnsignedEventID(t *testing.T, p providers.Provider) {
	secret := p.DevSecret
	settings := func(env string) string { // the defaults, and the development secret
		if env == p.Secret.Env {
			return secret
		}
		for _, s := range p.Settings() {
			if s.Env == env {
				return s.Default
			}
		}
		return ""
	}
	p, err := p.Bind(settings)
	if err != nil || p.Verifier == nil {
		t.Fatalf("bind the development secret: %v", err)
	}
	// Signed as the provider signs delivery a, then each header that the
	// provider would have sent otherwise for delivery b (another event ID)
	// swapped in alone: when one swap still verifies and parses to
	// another event ID, a captured body can come back under a fresh ID.
	a := providers.Delivery{Entity: p.Sample.Entity, Status: p.Sample.Status, EventID: "evt-a", WebhookID: "w-1"}
	b := a
	b.EventID = "evt-b"
	body := p.Sample.Body(a)
	ha, hb := p.Sample.Headers(a, body, secret, settings), p.Sample.Headers(b, body, secret, settings)
	if err := p.Verifier.Verify(body, headerOf(ha)); err != nil {
		t.Fatalf("delivery a: Verify: %v", err)
	}
	unsigned := false
	for key, v := range hb {
		if ha[key] == v {
			continue
		}
		swapped := maps.Clone(ha)
		swapped[key] = v
		if p.Verifier.Verify(body, headerOf(swapped)) != nil {
			continue
		}
		if ev, err := p.Parse(body, headerOf(swapped)); err == nil && ev.ID != "" {
			if ea, _ := p.Parse(body, headerOf(ha)); ea.ID != ev.ID {
				unsigned = true
			}
		}
	}
	if p.UnsignedEventID != unsigned {
		t.Errorf("UnsignedEventID = %v, but a signed body under another event ID verifies: %v", p.UnsignedEventID, unsigned)
	}
}
