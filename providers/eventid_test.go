package providers_test

import (
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
		t.Run(p.Name, func(t *testing.T) {
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
			a := providers.Delivery{Entity: p.Sample.Entity, Status: p.Sample.Status, EventID: "evt-a", WebhookID: "w-1"}
			b := a
			b.EventID = "evt-b"
			body := p.Sample.Body(a)
			ids := map[string]bool{}
			for _, d := range []providers.Delivery{a, b} {
				header := headerOf(p.Sample.Headers(d, body, secret, settings))
				if err := p.Verifier.Verify(body, header); err != nil {
					t.Fatalf("delivery %s: Verify: %v", d.EventID, err)
				}
				ev, err := p.Parse(body, header)
				if err != nil {
					t.Fatalf("delivery %s: Parse: %v", d.EventID, err)
				}
				ids[ev.ID] = true
			}
			if unsigned := len(ids) == 2; p.UnsignedEventID != unsigned {
				t.Errorf("UnsignedEventID = %v, but one signed body carries %d event ID(s)", p.UnsignedEventID, len(ids))
			}
		})
	}
}
