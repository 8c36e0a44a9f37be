// Package seal seals runtime tenants' secrets (contract section 18) with
// AES-256-GCM under the keys of HOOKFLOW_SECRETS_KEY, so that a secret
// stored in Temporal (a Tenant workflow's signals, history and memo) is
// never there in clear. Several keys allow rotation: the first seals,
// every one opens, and each sealed value names the key that sealed it.
package seal

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// KeySize is the size of a key: AES-256.
const KeySize = 32

// MaxSealed bounds a sealed value this package opens; a secret is a few
// hundred bytes at most, so anything longer is not one of ours.
const MaxSealed = 8 << 10

// prefix starts every sealed value: the format's version.
const prefix = "v1."

// ErrNotSealed is returned by Open for a value that no key of the ring
// sealed, that was sealed for another context, or that was altered.
var ErrNotSealed = errors.New("not a value sealed by these keys")

// Keyring is the keys of HOOKFLOW_SECRETS_KEY: the first seals, each
// opens. The zero Keyring has no key: Seal and Open fail.
type Keyring struct {
	keys []key
}

type key struct {
	id   string // the first 4 bytes of the key's digest, in hex
	aead cipher.AEAD
}

// ParseKeys builds a Keyring from keys, each 32 bytes in standard or
// URL-safe base64 (padded or not) or in hex (64 digits), as
// `openssl rand -base64 32` prints them. Its errors name the key by its
// position, never its value.
func ParseKeys(keys []string) (Keyring, error) {
	var r Keyring
	seen := map[string]bool{}
	for i, s := range keys {
		raw, err := decodeKey(strings.TrimSpace(s))
		if err != nil {
			return Keyring{}, fmt.Errorf("key %d: %w", i+1, err)
		}
		block, err := aes.NewCipher(raw)
		if err != nil {
			return Keyring{}, fmt.Errorf("key %d: %w", i+1, err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return Keyring{}, fmt.Errorf("key %d: %w", i+1, err)
		}
		sum := sha256.Sum256(append([]byte("hookflow seal key id\x00"), raw...))
		k := key{id: hex.EncodeToString(sum[:4]), aead: aead}
		if seen[k.id] {
			return Keyring{}, fmt.Errorf("key %d: the same key as an earlier one", i+1)
		}
		seen[k.id] = true
		r.keys = append(r.keys, k)
	}
	return r, nil
}

func decodeKey(s string) ([]byte, error) {
	if len(s) == 2*KeySize {
		if b, err := hex.DecodeString(s); err == nil {
			return b, nil
		}
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			if len(b) != KeySize {
				return nil, fmt.Errorf("%d bytes, want %d (openssl rand -base64 32)", len(b), KeySize)
			}
			return b, nil
		}
	}
	return nil, fmt.Errorf("neither base64 nor hex of %d bytes (openssl rand -base64 32)", KeySize)
}

// Empty says whether the ring has no key, so nothing can be sealed.
func (r Keyring) Empty() bool { return len(r.keys) == 0 }

// Seal encrypts plaintext with the first key, bound to context (a tenant
// and a field, say), so that the sealed value opens for that context
// only: a secret sealed for one tenant cannot be moved to another's.
func (r Keyring) Seal(plaintext, context string) (string, error) {
	if r.Empty() {
		return "", errors.New("seal: no key (set HOOKFLOW_SECRETS_KEY)")
	}
	k := r.keys[0]
	nonce := make([]byte, k.aead.NonceSize(), k.aead.NonceSize()+len(plaintext)+k.aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("seal: %w", err)
	}
	sealed := k.aead.Seal(nonce, nonce, []byte(plaintext), []byte(context))
	return prefix + k.id + "." + base64.RawURLEncoding.EncodeToString(sealed), nil
}

// Open decrypts a value Seal returned for the same context, with whichever
// key of the ring sealed it.
func (r Keyring) Open(sealed, context string) (string, error) {
	if len(sealed) > MaxSealed || !strings.HasPrefix(sealed, prefix) {
		return "", ErrNotSealed
	}
	id, body, ok := strings.Cut(sealed[len(prefix):], ".")
	if !ok {
		return "", ErrNotSealed
	}
	raw, err := base64.RawURLEncoding.DecodeString(body)
	if err != nil {
		return "", ErrNotSealed
	}
	for _, k := range r.keys {
		if k.id != id || len(raw) < k.aead.NonceSize() {
			continue
		}
		plain, err := k.aead.Open(nil, raw[:k.aead.NonceSize()], raw[k.aead.NonceSize():], []byte(context))
		if err != nil {
			return "", ErrNotSealed
		}
		return string(plain), nil
	}
	return "", ErrNotSealed
}

// Current says whether sealed was sealed by the ring's first key, so that
// a value sealed by an older one can be sealed again after a rotation.
func (r Keyring) Current(sealed string) bool {
	return !r.Empty() && strings.HasPrefix(sealed, prefix+r.keys[0].id+".")
}
