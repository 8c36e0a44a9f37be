package signature

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// The Standard Webhooks headers (https://www.standardwebhooks.com).
const (
	StandardID        = "webhook-id"        // the message ID, the same on every retry
	StandardTimestamp = "webhook-timestamp" // Unix seconds when the message was signed
	StandardSignature = "webhook-signature" // space-separated "v1,<base64>" signatures
)

// DefaultTolerance is how far webhook-timestamp may be from now, either
// way, unless a provider sets its own.
const DefaultTolerance = 5 * time.Minute

// ErrTimestamp is returned for a webhook-timestamp outside the tolerance, a
// replay or a sender with a wrong clock; it is an ErrInvalidCredentials.
var ErrTimestamp = fmt.Errorf("%w: webhook-timestamp outside the tolerance", ErrInvalidCredentials)

// secretPrefix starts every Standard Webhooks secret; the rest is the key,
// in base64.
const secretPrefix = "whsec_"

// StandardWebhooks accepts the Standard Webhooks scheme: an HMAC-SHA256 of
// "<webhook-id>.<webhook-timestamp>.<body>" keyed with one of the secrets,
// as one of the v1 signatures in webhook-signature, with a timestamp within
// the tolerance.
//
// The scheme's own Go library (standard-webhooks/libraries) computes the
// signatures, the same library the delivery of transitions signs with.
// Around it, what its verifier does not offer: several secrets, a tolerance
// of the provider's choosing, and every secret tried against every
// signature in constant time, with no early exit.
type StandardWebhooks struct {
	keys      [][]byte
	tolerance time.Duration
	// Now is the clock timestamps are judged by; time.Now when nil.
	Now func() time.Time
}

// StandardKey returns the signing key of a "whsec_<base64>" secret. Its
// error never holds the secret.
func StandardKey(secret string) ([]byte, error) {
	raw, ok := strings.CutPrefix(secret, secretPrefix)
	if !ok {
		return nil, errors.New("a standard-webhooks secret starts with whsec_")
	}
	key, err := base64.StdEncoding.DecodeString(raw)
	if err != nil || len(key) == 0 {
		return nil, errors.New("a standard-webhooks secret is whsec_ and then base64")
	}
	return key, nil
}

// NewStandardWebhooks returns a verifier accepting any of secrets (each
// "whsec_<base64>") with timestamps within tolerance of now; tolerance 0
// means DefaultTolerance.
func NewStandardWebhooks(secrets []string, tolerance time.Duration) (*StandardWebhooks, error) {
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	s := &StandardWebhooks{tolerance: tolerance}
	for i, secret := range secrets {
		key, err := StandardKey(secret)
		if err != nil {
			return nil, fmt.Errorf("secret %d: %w", i+1, err)
		}
		s.keys = append(s.keys, key)
	}
	return s, nil
}

// Verify implements Verifier.
func (s *StandardWebhooks) Verify(body []byte, header Header) error {
	id, ts, sigs := header(StandardID), header(StandardTimestamp), header(StandardSignature)
	if id == "" || ts == "" || sigs == "" {
		return ErrMissingCredentials
	}
	sent, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return ErrMissingCredentials
	}
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	if d := now().Sub(time.Unix(sent, 0)); d > s.tolerance || d < -s.tolerance {
		return ErrTimestamp
	}
	var got [][]byte
	for _, sig := range strings.Fields(sigs) {
		version, b64, ok := strings.Cut(sig, ",")
		if !ok || version != "v1" {
			continue // other versions are for other receivers
		}
		if mac, err := base64.StdEncoding.DecodeString(b64); err == nil && len(mac) == sha256.Size {
			got = append(got, mac)
		}
	}
	if len(got) == 0 {
		return ErrInvalidCredentials
	}
	ok := 0
	for _, key := range s.keys {
		want := standardMAC(key, id, ts, body)
		for _, mac := range got {
			ok |= subtle.ConstantTimeCompare(mac, want)
		}
	}
	if ok != 1 {
		return ErrInvalidCredentials
	}
	return nil
}

// StandardSign returns the webhook-signature value for a message: "v1,"
// and the base64 HMAC-SHA256 of "id.timestamp.body" keyed with key.
func StandardSign(key []byte, id string, timestamp int64, body []byte) string {
	return "v1," + base64.StdEncoding.EncodeToString(standardMAC(key, id, strconv.FormatInt(timestamp, 10), body))
}

// standardMAC is the raw signature of a message, as the scheme's library
// computes it.
func standardMAC(key []byte, id, timestamp string, body []byte) []byte {
	ts, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return nil
	}
	wh, err := standardwebhooks.NewWebhookRaw(key)
	if err != nil {
		return nil
	}
	sig, err := wh.Sign(id, time.Unix(ts, 0), body)
	if err != nil {
		return nil
	}
	mac, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(sig, "v1,"))
	if err != nil {
		return nil
	}
	return mac
}
