package signature

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// Verification errors. A Verifier returns one of them, never a detail that
// would help a caller guess a secret.
var (
	// ErrMissingCredentials is returned when the request carries no
	// credential where the provider puts it, or one of the wrong form.
	ErrMissingCredentials = errors.New("missing or malformed credentials")
	// ErrInvalidCredentials is returned when a credential is present but
	// matches none of the configured secrets.
	ErrInvalidCredentials = errors.New("invalid credentials")
)

// Header looks up a request header by name, case-insensitively, returning ""
// when it is absent. The value is the field value as RFC 9110 (section 5.5)
// defines it, without the spaces and tabs around it: see FieldValue.
type Header func(name string) string

// FieldValue returns a header field's value as it arrived, without the
// spaces and horizontal tabs around it, which RFC 9110 says are not part of
// it (a proxy may pad them). The receivers read every header through it, so
// every verifier and parser sees the same value.
func FieldValue(raw []byte) string { return string(bytes.Trim(raw, " \t")) }

// A Verifier authenticates one delivery from its raw body bytes and headers,
// before anything is parsed. Implementations compare in constant time and
// accept any one of several secrets, so secrets can be rotated.
type Verifier interface {
	Verify(body []byte, header Header) error
}

// Bearer accepts "Authorization: Bearer <secret>".
type Bearer struct {
	secrets [][sha256.Size]byte
}

// NewBearer returns a Bearer verifier accepting any of secrets.
func NewBearer(secrets []string) *Bearer { return &Bearer{secrets: digests(secrets)} }

// Verify implements Verifier.
func (b *Bearer) Verify(_ []byte, header Header) error {
	const prefix = "bearer "
	auth := header("Authorization")
	if len(auth) <= len(prefix) || !strings.EqualFold(auth[:len(prefix)], prefix) {
		return ErrMissingCredentials
	}
	return matchDigest(b.secrets, strings.TrimSpace(auth[len(prefix):]))
}

// SharedSecret accepts a header whose value is one of the secrets.
type SharedSecret struct {
	header  string
	secrets [][sha256.Size]byte
}

// NewSharedSecret returns a verifier of a secret sent as-is in header.
func NewSharedSecret(header string, secrets []string) *SharedSecret {
	return &SharedSecret{header: header, secrets: digests(secrets)}
}

// Verify implements Verifier.
func (s *SharedSecret) Verify(_ []byte, header Header) error {
	got := header(s.header)
	if got == "" {
		return ErrMissingCredentials
	}
	return matchDigest(s.secrets, got)
}

// Encoding is how an HMAC signature is written in its header.
type Encoding int

// The signature encodings providers use.
const (
	Hex    Encoding = iota // lowercase or uppercase hexadecimal
	Base64                 // standard base64 with padding
)

// ParseEncoding maps "hex" and "base64" to an Encoding.
func ParseEncoding(s string) (Encoding, error) {
	switch s {
	case "hex":
		return Hex, nil
	case "base64":
		return Base64, nil
	}
	return 0, fmt.Errorf("unknown signature encoding %q", s)
}

// HMAC accepts an HMAC-SHA256 of the raw body, keyed with one of the secrets,
// written in a header with an optional prefix such as "sha256=".
type HMAC struct {
	Header   string   // header carrying the signature
	Encoding Encoding // how the signature is written
	Prefix   string   // optional prefix before the signature, matched case-insensitively
	secrets  [][]byte
}

// NewHMAC returns an HMAC-SHA256 verifier.
func NewHMAC(header string, enc Encoding, prefix string, secrets []string) *HMAC {
	h := &HMAC{Header: header, Encoding: enc, Prefix: prefix}
	for _, s := range secrets {
		h.secrets = append(h.secrets, []byte(s))
	}
	return h
}

// Verify implements Verifier.
func (h *HMAC) Verify(body []byte, header Header) error {
	sig := header(h.Header)
	if h.Prefix != "" && len(sig) >= len(h.Prefix) && strings.EqualFold(sig[:len(h.Prefix)], h.Prefix) {
		sig = sig[len(h.Prefix):]
	}
	if sig == "" {
		return ErrMissingCredentials
	}
	var got []byte
	var err error
	switch h.Encoding {
	case Base64:
		got, err = base64.StdEncoding.DecodeString(sig)
	default:
		got, err = hex.DecodeString(sig)
	}
	if err != nil || len(got) != sha256.Size {
		return ErrInvalidCredentials
	}
	ok := 0
	for _, secret := range h.secrets {
		ok |= subtle.ConstantTimeCompare(got, Sign(secret, body))
	}
	if ok != 1 {
		return ErrInvalidCredentials
	}
	return nil
}

// Sign returns the HMAC-SHA256 of body keyed with secret.
func Sign(secret, body []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return m.Sum(nil)
}

// SplitToken accepts a header holding a token's first half: valid when that
// half followed by the stored second half is one of the configured tokens.
// Phantom Core sends its tokens this way.
type SplitToken struct {
	header string
	tokens [][sha256.Size]byte
	halves []string // the second halves, to rebuild candidate tokens
}

// NewSplitToken returns a split-token verifier reading header.
func NewSplitToken(header string, tokens []string) *SplitToken {
	s := &SplitToken{header: header, tokens: digests(tokens)}
	for _, t := range tokens {
		s.halves = append(s.halves, t[len(t)/2:])
	}
	return s
}

// Verify implements Verifier.
func (s *SplitToken) Verify(_ []byte, header Header) error {
	first := header(s.header)
	if first == "" {
		return ErrMissingCredentials
	}
	ok := 0
	for i, half := range s.halves {
		d := sha256.Sum256([]byte(first + half))
		ok |= subtle.ConstantTimeCompare(d[:], s.tokens[i][:])
	}
	if ok != 1 {
		return ErrInvalidCredentials
	}
	return nil
}

// digests hashes secrets so comparisons run over equal-length values and
// take the same time whatever the lengths of the secret and the guess.
func digests(secrets []string) [][sha256.Size]byte {
	out := make([][sha256.Size]byte, 0, len(secrets))
	for _, s := range secrets {
		out = append(out, sha256.Sum256([]byte(s)))
	}
	return out
}

// matchDigest compares got with every digest, without stopping at a match.
func matchDigest(digests [][sha256.Size]byte, got string) error {
	d := sha256.Sum256([]byte(got))
	ok := 0
	for i := range digests {
		ok |= subtle.ConstantTimeCompare(d[:], digests[i][:])
	}
	if ok != 1 {
		return ErrInvalidCredentials
	}
	return nil
}
