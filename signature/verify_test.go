package signature_test

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/hookflow/hookflow/signature"
)

// verifyCase is one request against a Verifier and the error it must give
// (nil for accepted).
type verifyCase struct {
	name    string
	body    []byte
	headers map[string]string
	want    error
}

func runVerify(t *testing.T, v signature.Verifier, tests []verifyCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := v.Verify(tt.body, headerOf(tt.headers))
			if !errors.Is(got, tt.want) { // errors.Is(err, nil) is err == nil
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestBearer(t *testing.T) {
	body, vec := loadVector(t, "phoenix-order-status-fulfilled.json")
	const rotated = "whsec_phoenix_next_9d1e"
	v := signature.NewBearer([]string{vec.Secret, rotated})
	auth := func(v string) map[string]string { return map[string]string{"Authorization": v} }

	runVerify(t, v, []verifyCase{
		{"fixture header", body, vec.Headers, nil},
		{"right secret", body, auth("Bearer " + vec.Secret), nil},
		{"surrounding spaces and tabs", body, auth("\t Bearer " + vec.Secret + " \t"), nil},
		{"rotated second secret", body, auth("Bearer " + rotated), nil},
		{"scheme is case-insensitive lowercase", body, auth("bearer " + vec.Secret), nil},
		{"scheme is case-insensitive uppercase", body, auth("BEARER " + vec.Secret), nil},
		{"wrong secret", body, auth("Bearer wrong"), signature.ErrInvalidCredentials},
		{"secret prefix only", body, auth("Bearer " + vec.Secret[:len(vec.Secret)-1]), signature.ErrInvalidCredentials},
		{"secret with suffix", body, auth("Bearer " + vec.Secret + "x"), signature.ErrInvalidCredentials},
		{"both secrets joined", body, auth("Bearer " + vec.Secret + "," + rotated), signature.ErrInvalidCredentials},
		{"missing header", body, nil, signature.ErrMissingCredentials},
		{"empty header", body, auth(""), signature.ErrMissingCredentials},
		{"basic scheme", body, auth("Basic x"), signature.ErrMissingCredentials},
		{"basic scheme with the secret", body, auth("Basic " + vec.Secret), signature.ErrMissingCredentials},
		{"bare secret", body, auth(vec.Secret), signature.ErrMissingCredentials},
		{"Bearer without token", body, auth("Bearer"), signature.ErrMissingCredentials},
		{"Bearer with empty token", body, auth("Bearer "), signature.ErrMissingCredentials},
		{"Bearer without space", body, auth("Bearer" + vec.Secret), signature.ErrMissingCredentials},
	})

	t.Run("first secret still accepted after rotation", func(t *testing.T) {
		v := signature.NewBearer([]string{rotated, vec.Secret})
		if err := v.Verify(body, headerOf(auth("Bearer "+vec.Secret))); err != nil {
			t.Errorf("got %v, want nil", err)
		}
	})
	t.Run("no secrets accept nothing", func(t *testing.T) {
		v := signature.NewBearer(nil)
		for _, h := range []string{"Bearer " + vec.Secret, "Bearer x"} {
			if err := v.Verify(body, headerOf(auth(h))); !errors.Is(err, signature.ErrInvalidCredentials) {
				t.Errorf("%q: got %v, want %v", h, err, signature.ErrInvalidCredentials)
			}
		}
	})
}

func TestSharedSecret(t *testing.T) {
	body, vec := loadVector(t, "phosphor-token-tx.json")
	const header = "Phosphor-Webhook-Secret"
	const rotated = "next-secret-key"
	v := signature.NewSharedSecret(header, []string{vec.Secret, rotated})
	h := func(v string) map[string]string { return map[string]string{header: v} }

	runVerify(t, v, []verifyCase{
		{"fixture header", body, vec.Headers, nil},
		{"rotated second secret", body, h(rotated), nil},
		{"surrounding spaces and tabs", body, h(" \t" + vec.Secret + "\t "), nil},
		{"inner space", body, h(vec.Secret[:4] + " " + vec.Secret[4:]), signature.ErrInvalidCredentials},
		{"header name case-insensitive", body, map[string]string{"phosphor-webhook-secret": vec.Secret}, nil},
		{"wrong secret", body, h("not-the-secret"), signature.ErrInvalidCredentials},
		{"secret prefix only", body, h(vec.Secret[:4]), signature.ErrInvalidCredentials},
		{"missing header", body, nil, signature.ErrMissingCredentials},
		{"secret in another header", body, map[string]string{"Authorization": vec.Secret}, signature.ErrMissingCredentials},
	})
}

func TestSignMatchesVectors(t *testing.T) {
	tests := []struct {
		file   string
		header string
		encode func([]byte) string
	}{
		{"up42-order-status-fulfilled.json", "X-Up42-Signature", hex.EncodeToString},
		{"fenix-tracking-updated.json", "X-Fenix-Hmac-Sha256", base64.StdEncoding.EncodeToString},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			body, vec := loadVector(t, tt.file)
			if !bytes.HasSuffix(body, []byte("\n")) {
				t.Fatalf("fixture lost its trailing newline; signatures are over the exact bytes")
			}
			want := vec.Headers[tt.header]
			if want == "" {
				t.Fatalf("vectors.json has no %s for %s", tt.header, tt.file)
			}
			if got := tt.encode(signature.Sign([]byte(vec.Secret), body)); got != want {
				t.Errorf("got %s, want %s", got, want)
			}
		})
	}
}

func TestHMACHex(t *testing.T) {
	body, vec := loadVector(t, "up42-order-status-fulfilled.json")
	const header = "X-Up42-Signature"
	sig := vec.Headers[header]
	const rotated = "rotated-up42-secret"
	v := signature.NewHMAC(header, signature.Hex, "sha256=", []string{rotated, vec.Secret})
	h := func(v string) map[string]string { return map[string]string{header: v} }
	tampered := bytes.Replace(body, []byte("FULFILLED"), []byte("FAILED_PERMANENTLY"), 1)
	if bytes.Equal(tampered, body) {
		t.Fatal("tampering did not change the fixture")
	}
	otherSig := hex.EncodeToString(signature.Sign([]byte("some-other-secret"), body))
	rotatedSig := hex.EncodeToString(signature.Sign([]byte(rotated), body))

	runVerify(t, v, []verifyCase{
		{"fixture header", body, vec.Headers, nil},
		{"sha256= prefix", body, h("sha256=" + sig), nil},
		{"SHA256= prefix", body, h("SHA256=" + sig), nil},
		{"uppercase hex", body, h(strings.ToUpper(sig)), nil},
		{"surrounding spaces", body, h(" " + sig + " "), nil},
		{"signed with rotated secret", body, h(rotatedSig), nil},
		{"tampered body", tampered, vec.Headers, signature.ErrInvalidCredentials},
		{"body without trailing newline", bytes.TrimSuffix(body, []byte("\n")), vec.Headers, signature.ErrInvalidCredentials},
		{"wrong secret", body, h(otherSig), signature.ErrInvalidCredentials},
		{"not hex", body, h(strings.Repeat("zz", 32)), signature.ErrInvalidCredentials},
		{"truncated", body, h(sig[:62]), signature.ErrInvalidCredentials},
		{"base64 instead of hex", body, h(base64.StdEncoding.EncodeToString(signature.Sign([]byte(vec.Secret), body))), signature.ErrInvalidCredentials},
		{"other prefix", body, h("sha1=" + sig), signature.ErrInvalidCredentials},
		{"missing header", body, nil, signature.ErrMissingCredentials},
		{"prefix only", body, h("sha256="), signature.ErrMissingCredentials},
	})

	t.Run("wrong secret configured", func(t *testing.T) {
		v := signature.NewHMAC(header, signature.Hex, "sha256=", []string{"QWZTFnMEXhqZKNmv"})
		if err := v.Verify(body, headerOf(vec.Headers)); !errors.Is(err, signature.ErrInvalidCredentials) {
			t.Errorf("got %v, want %v", err, signature.ErrInvalidCredentials)
		}
	})
}

func TestHMACBase64(t *testing.T) {
	body, vec := loadVector(t, "fenix-tracking-updated.json")
	const header = "X-Fenix-Hmac-Sha256"
	sig := vec.Headers[header]
	const rotated = "rotated-fenix-secret"
	v := signature.NewHMAC(header, signature.Base64, "", []string{vec.Secret, rotated})
	h := func(v string) map[string]string { return map[string]string{header: v} }
	tampered := bytes.Replace(body, []byte("OUT_FOR_DELIVERY"), []byte("DELIVERED"), 1)
	rotatedSig := base64.StdEncoding.EncodeToString(signature.Sign([]byte(rotated), body))
	hexSig := hex.EncodeToString(signature.Sign([]byte(vec.Secret), body))

	runVerify(t, v, []verifyCase{
		{"fixture header", body, vec.Headers, nil},
		{"signed with rotated secret", body, h(rotatedSig), nil},
		{"surrounding spaces", body, h(" " + sig + " "), nil},
		{"truncated", body, h(sig[:len(sig)-4]), signature.ErrInvalidCredentials},
		{"tampered body", tampered, vec.Headers, signature.ErrInvalidCredentials},
		{"wrong secret", body, h(base64.StdEncoding.EncodeToString(signature.Sign([]byte("x"), body))), signature.ErrInvalidCredentials},
		{"hex instead of base64", body, h(hexSig), signature.ErrInvalidCredentials},
		{"not base64", body, h("!!!not base64!!!"), signature.ErrInvalidCredentials},
		{"missing header", body, nil, signature.ErrMissingCredentials},
	})
}

func TestParseEncoding(t *testing.T) {
	tests := []struct {
		in      string
		want    signature.Encoding
		wantErr bool
	}{
		{"hex", signature.Hex, false},
		{"base64", signature.Base64, false},
		{"HEX", 0, true},
		{"", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := signature.ParseEncoding(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("error: got %v, want error %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestSplitToken(t *testing.T) {
	body, vec := loadVector(t, "phantom-block-forged.json")
	token := vec.Secret
	if len(token) != 64 {
		t.Fatalf("fixture token has %d characters, want 64", len(token))
	}
	rotated := strings.Repeat("0123456789abcdef", 4)
	v := signature.NewSplitToken("Authorization", []string{rotated, token})
	auth := func(v string) map[string]string { return map[string]string{"Authorization": v} }

	runVerify(t, v, []verifyCase{
		{"fixture header", body, vec.Headers, nil},
		{"first half", body, auth(token[:32]), nil},
		{"rotated token's first half", body, auth(rotated[:32]), nil},
		{"whole token", body, auth(token), signature.ErrInvalidCredentials},
		{"second half", body, auth(token[32:]), signature.ErrInvalidCredentials},
		{"first half mixing both tokens", body, auth(rotated[:31] + token[31:32]), signature.ErrInvalidCredentials},
		{"wrong first half", body, auth(strings.Repeat("f", 32)), signature.ErrInvalidCredentials},
		{"first half minus one character", body, auth(token[:31]), signature.ErrInvalidCredentials},
		{"missing header", body, nil, signature.ErrMissingCredentials},
	})
}

// TestKeyringOwner: the owner of the matching secret, whichever secret it
// is, and no owner for a secret nobody holds.
func TestKeyringOwner(t *testing.T) {
	var k signature.Keyring
	k.Add(0, []string{"global-1", "global-2"})
	k.Add(1, []string{"tenant-a"})
	k.Add(2, []string{"tenant-b-1", "tenant-b-2"})
	for _, tt := range []struct {
		got       string
		wantOwner int
		wantOK    bool
	}{
		{"global-2", 0, true},
		{"tenant-a", 1, true},
		{"tenant-b-2", 2, true},
		{"tenant-b", 0, false},
		{"", 0, false},
	} {
		owner, ok := k.Owner(tt.got)
		if ok != tt.wantOK || (ok && owner != tt.wantOwner) {
			t.Errorf("Owner(%q) = %d, %v; want %d, %v", tt.got, owner, ok, tt.wantOwner, tt.wantOK)
		}
	}
}
