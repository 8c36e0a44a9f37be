package receivers_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/hookflow/hookflow/event"
	"github.com/hookflow/hookflow/internal/dev/testenv"
	"github.com/hookflow/hookflow/providers"
	"github.com/hookflow/hookflow/receivers"
	"github.com/hookflow/hookflow/signature"
)

// FuzzParse feeds every provider's Parse arbitrary bodies and Fenix headers,
// seeded with the shared fixtures: no input may panic, every error must be
// one the accept path answers 400 or 200-ignored to, and an accepted event
// must name an entity whose workflow ID parses back to it.
func FuzzParse(f *testing.F) {
	for name, v := range testenv.Vectors(f) {
		f.Add(testenv.Fixture(f, name), v.Headers["X-Fenix-Topic"], v.Headers["X-Fenix-Event-Id"])
	}
	f.Add([]byte(`{"type":"TOKEN_TX","data":{"item":null}}`), "", "")
	f.Add([]byte(`{"event":"transaction.applied","data":{"id":12}}`), "", "")
	f.Add([]byte(`null`), "tracking/updated", "e1")
	all := providers.Builtins()
	f.Fuzz(func(t *testing.T, body []byte, topic, eventID string) {
		header := headerOf(map[string]string{providers.FenixTopicHeader: topic, providers.FenixEventIDHeader: eventID})
		for _, p := range all {
			ev, err := p.Parse(body, header)
			var missing *receivers.MissingFieldsError
			switch {
			case errors.Is(err, receivers.ErrIgnored), errors.Is(err, receivers.ErrInvalidJSON), errors.As(err, &missing):
				continue
			case err != nil:
				t.Fatalf("%s: error %v is none the accept path knows", p.Name, err)
			}
			if ev.ID == "" || ev.EntityType == "" || ev.EntityID == "" {
				t.Fatalf("%s: accepted event without ID, entity type or entity ID: %+v", p.Name, ev)
			}
			ev.Provider = p.Name
			prov, typ, id, ok := event.ParseWorkflowID(ev.WorkflowID())
			if !ok || prov != p.Name || typ != ev.EntityType || id != ev.EntityID {
				t.Fatalf("%s: workflow ID %q does not parse back (%q %q %q %v)", p.Name, ev.WorkflowID(), prov, typ, id, ok)
			}
		}
	})
}

// FuzzVerify feeds every verifier preset arbitrary credentials: none may
// panic, and none may accept a credential other than the right one.
func FuzzVerify(f *testing.F) {
	const (
		secret = "whsec_fuzz_secret_0123456789"
		token  = "fe944e318edb02b979d6bf0c87978b640c8e74e1cbfe36404386d33a5bbd8b66"
	)
	f.Add([]byte(`{"id":"x"}`), "Bearer "+secret)
	f.Add([]byte(`{}`), secret)
	f.Add([]byte(`{}`), token[:32])
	f.Add([]byte(`{}`), "sha256="+hex.EncodeToString(signature.Sign([]byte(secret), []byte(`{}`))))
	f.Add([]byte(`{}`), base64.StdEncoding.EncodeToString(signature.Sign([]byte(secret), []byte(`{}`))))
	f.Add([]byte(``), "")

	signed := func(body []byte, sig []byte) bool {
		m := hmac.New(sha256.New, []byte(secret))
		m.Write(body)
		return bytes.Equal(sig, m.Sum(nil))
	}
	tests := []struct {
		name  string
		v     receivers.Verifier
		right func(body []byte, cred string) bool // the oracle, written apart from the verifier
	}{
		{"bearer", signature.NewBearer([]string{secret}), func(_ []byte, cred string) bool {
			return len(cred) > 7 && strings.EqualFold(cred[:7], "bearer ") && strings.TrimSpace(cred[7:]) == secret
		}},
		{"shared secret", signature.NewSharedSecret("X-Cred", []string{secret}), func(_ []byte, cred string) bool {
			return cred == secret
		}},
		{"split token", signature.NewSplitToken("X-Cred", []string{token}), func(_ []byte, cred string) bool {
			return cred == token[:32]
		}},
		{"hmac hex", signature.NewHMAC("X-Cred", signature.Hex, "sha256=", []string{secret}), func(body []byte, cred string) bool {
			cred = strings.TrimSpace(cred)
			if len(cred) >= 7 && strings.EqualFold(cred[:7], "sha256=") {
				cred = cred[7:]
			}
			sig, err := hex.DecodeString(cred)
			return err == nil && signed(body, sig)
		}},
		{"hmac base64", signature.NewHMAC("X-Cred", signature.Base64, "", []string{secret}), func(body []byte, cred string) bool {
			sig, err := base64.StdEncoding.DecodeString(strings.TrimSpace(cred))
			return err == nil && signed(body, sig)
		}},
	}
	f.Fuzz(func(t *testing.T, body []byte, cred string) {
		header := headerOf(map[string]string{"Authorization": cred, "X-Cred": cred})
		for _, tt := range tests {
			if err := tt.v.Verify(body, header); err == nil && !tt.right(body, cred) {
				t.Fatalf("%s accepted %q for body %q", tt.name, cred, body)
			}
		}
	})
}
