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
	token, ok := BearerToken(header("Authorization"))
	if !ok {
		return ErrMissingCredentials
	}
	return matchDigest(b.secrets, token)
}

// BearerToken returns the token of an Authorization value
// "Bearer <token>" (the scheme in any case), and false when it is not one.
func BearerToken(authorization string) (string, bool) {
	const prefix = "bearer "
	if len(authorization) <= len(prefix) || !strings.EqualFold(authorization[:len(prefix)], prefix) {
		return "", false
	}
	return strings.TrimSpace(authorization[len(prefix):]), true
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
	if _, ok := (Keyring{digests: digests}).Owner(got); !ok {
		return ErrInvalidCredentials
	}
	return nil
}

// Keyring holds secrets, each with the index of its owner, for a caller
// that must learn whose secret matched (the admin API's global and tenant
// tokens) as well as whether one did.
type Keyring struct {
	digests [][sha256.Size]byte
	owners  []int // nil: every secret is owner 0's
}

// Add adds owner's secrets.
func (k *Keyring) Add(owner int, secrets []string) {
	for _, s := range secrets {
		k.digests = append(k.digests, sha256.Sum256([]byte(s)))
		k.owners = append(k.owners, owner)
	}
}

// Owner returns the owner of the secret got is, comparing it with every
// secret in constant time and without stopping at a match, so that the time
// taken says neither whether it matched nor whose it is; false when it
// matches none.
func (k Keyring) Owner(got string) (int, bool) {
	d := sha256.Sum256([]byte(got))
	found, owner := 0, 0
	for i := range k.digests {
		eq := subtle.ConstantTimeCompare(d[:], k.digests[i][:])
		found |= eq
		if k.owners != nil { // the same branch for every secret
			owner = subtle.ConstantTimeSelect(eq, k.owners[i], owner)
		}
	}
	return owner, found == 1
}
