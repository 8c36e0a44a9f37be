package signature_test

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hookflow/hookflow/signature"
)

// The Standard Webhooks specification's published example.
const (
	specSecret    = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	specID        = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	specTimestamp = 1614265330
	specBody      = `{"test": 2432232314}`
	specSignature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
)

func TestStandardWebhooksPublishedVector(t *testing.T) {
	key, err := signature.StandardKey(specSecret)
	if err != nil {
		t.Fatal(err)
	}
	if got := signature.StandardSign(key, specID, specTimestamp, []byte(specBody)); got != specSignature {
		t.Errorf("StandardSign: got %q, want the specification's %q", got, specSignature)
	}
	v := standardVerifier(t, time.Unix(specTimestamp, 0), specSecret)
	h := map[string]string{
		signature.StandardID: specID, signature.StandardTimestamp: strconv.Itoa(specTimestamp), signature.StandardSignature: specSignature,
	}
	if err := v.Verify([]byte(specBody), headerOf(h)); err != nil {
		t.Errorf("Verify of the specification's example: %v", err)
	}
}

// standardVerifier is a verifier whose clock stands at now.
func standardVerifier(t *testing.T, now time.Time, secrets ...string) *signature.StandardWebhooks {
	t.Helper()
	v, err := signature.NewStandardWebhooks(secrets, 0)
	if err != nil {
		t.Fatal(err)
	}
	v.Now = func() time.Time { return now }
	return v
}

func TestStandardWebhooks(t *testing.T) {
	const (
		current = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
		next    = "whsec_bmV4dC1zZWNyZXQtZm9yLXJvdGF0aW9uLTAx" // "next-secret-for-rotation-01"
		other   = "whsec_b3RoZXItc2VjcmV0LW5vdC1jb25maWd1cmVk" // "other-secret-not-configured"
	)
	now := time.Unix(1_800_000_000, 0)
	body := []byte(`{"type":"order.updated","data":{"id":"o-1","status":"paid"}}`)
	sign := func(secret string, at time.Time, body []byte) string {
		key, err := signature.StandardKey(secret)
		if err != nil {
			t.Fatal(err)
		}
		return signature.StandardSign(key, "msg_1", at.Unix(), body)
	}
	headers := func(at time.Time, sig string) map[string]string {
		return map[string]string{
			signature.StandardID: "msg_1", signature.StandardTimestamp: strconv.FormatInt(at.Unix(), 10), signature.StandardSignature: sig,
		}
	}
	v := standardVerifier(t, now, current, next)
	runVerify(t, v, []verifyCase{
		{"valid", body, headers(now, sign(current, now, body)), nil},
		{"rotated: the second secret", body, headers(now, sign(next, now, body)), nil},
		{"several signatures, the matching one last", body, headers(now, sign(other, now, body)+" "+sign(next, now, body)), nil},
		{"several signatures, the matching one first", body, headers(now, sign(current, now, body)+" "+sign(other, now, body)), nil},
		{"an unknown version beside a valid one", body, headers(now, "v1a,AAAA "+sign(current, now, body)), nil},
		{"within the tolerance, old", body, headers(now.Add(-4*time.Minute), sign(current, now.Add(-4*time.Minute), body)), nil},
		{"within the tolerance, ahead", body, headers(now.Add(4*time.Minute), sign(current, now.Add(4*time.Minute), body)), nil},
		{"stale timestamp", body, headers(now.Add(-6*time.Minute), sign(current, now.Add(-6*time.Minute), body)), signature.ErrTimestamp},
		{"future timestamp", body, headers(now.Add(6*time.Minute), sign(current, now.Add(6*time.Minute), body)), signature.ErrTimestamp},
		{"tampered body", []byte(`{"type":"order.updated","data":{"id":"o-1","status":"shipped"}}`), headers(now, sign(current, now, body)), signature.ErrInvalidCredentials},
		{"timestamp changed after signing", body, headers(now.Add(time.Second), sign(current, now, body)), signature.ErrInvalidCredentials},
		{"secret not configured", body, headers(now, sign(other, now, body)), signature.ErrInvalidCredentials},
		{"signature without version", body, headers(now, sign(current, now, body)[3:]), signature.ErrInvalidCredentials},
		{"v2 signature", body, headers(now, "v2,"+sign(current, now, body)[3:]), signature.ErrInvalidCredentials},
		{"missing signature", body, headers(now, ""), signature.ErrMissingCredentials},
		{"missing id", body, map[string]string{signature.StandardTimestamp: strconv.FormatInt(now.Unix(), 10), signature.StandardSignature: sign(current, now, body)}, signature.ErrMissingCredentials},
		{"timestamp not a number", body, map[string]string{signature.StandardID: "msg_1", signature.StandardTimestamp: "soon", signature.StandardSignature: sign(current, now, body)}, signature.ErrMissingCredentials},
	})
	if !errors.Is(signature.ErrTimestamp, signature.ErrInvalidCredentials) {
		t.Error("ErrTimestamp is not an ErrInvalidCredentials: the receiver would answer it as a missing credential")
	}
}

func TestStandardWebhooksTolerance(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	v, err := signature.NewStandardWebhooks([]string{specSecret}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	v.Now = func() time.Time { return now }
	key, _ := signature.StandardKey(specSecret)
	at := now.Add(-30 * time.Minute)
	h := map[string]string{
		signature.StandardID: "m", signature.StandardTimestamp: strconv.FormatInt(at.Unix(), 10),
		signature.StandardSignature: signature.StandardSign(key, "m", at.Unix(), []byte("{}")),
	}
	if err := v.Verify([]byte("{}"), headerOf(h)); err != nil {
		t.Errorf("30 minutes old within a 1h tolerance: %v", err)
	}
}

func TestStandardWebhooksSecrets(t *testing.T) {
	for _, secret := range []string{"MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_", "whsec_not base64!"} {
		_, err := signature.NewStandardWebhooks([]string{specSecret, secret}, 0)
		if err == nil {
			t.Errorf("secret %q accepted", secret)
			continue
		}
		if secret != "whsec_" && len(secret) > 6 && strings.Contains(err.Error(), secret) {
			t.Errorf("error %q holds the secret", err)
		}
	}
}
