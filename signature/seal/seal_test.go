package seal

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

func testKey(b byte) string {
	return base64.StdEncoding.EncodeToString([]byte(strings.Repeat(string(rune(b)), KeySize)))
}

func TestSealOpens(t *testing.T) {
	r, err := ParseKeys([]string{testKey('a')})
	if err != nil {
		t.Fatal(err)
	}
	const secret = "whsec_the-tenants-secret"
	s1, err := r.Seal(secret, "tenant:demo/up42")
	if err != nil {
		t.Fatal(err)
	}
	s2, _ := r.Seal(secret, "tenant:demo/up42")
	if s1 == s2 {
		t.Error("two seals of one secret are equal: the nonce is not fresh")
	}
	if strings.Contains(s1, secret) || strings.Contains(s1, base64.RawURLEncoding.EncodeToString([]byte(secret))) {
		t.Errorf("sealed value %q shows the secret", s1)
	}
	got, err := r.Open(s1, "tenant:demo/up42")
	if err != nil || got != secret {
		t.Fatalf("Open = %q, %v; want the secret", got, err)
	}
}

func TestOpenRefuses(t *testing.T) {
	r, _ := ParseKeys([]string{testKey('a')})
	other, _ := ParseKeys([]string{testKey('b')})
	sealed, _ := r.Seal("secret", "tenant:a/fenix")
	flipped := []byte(sealed)
	flipped[len(flipped)-3] ^= 1
	for _, c := range []struct {
		name, value, context string
		ring                 Keyring
	}{
		{"another tenant's context", sealed, "tenant:b/fenix", r},
		{"another key", sealed, "tenant:a/fenix", other},
		{"altered", string(flipped), "tenant:a/fenix", r},
		{"clear text", "secret", "tenant:a/fenix", r},
		{"no key", sealed, "tenant:a/fenix", Keyring{}},
		{"too long", "v1." + strings.Repeat("a", MaxSealed), "tenant:a/fenix", r},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got, err := c.ring.Open(c.value, c.context); !errors.Is(err, ErrNotSealed) {
				t.Errorf("Open = %q, %v; want ErrNotSealed", got, err)
			}
		})
	}
}

// TestRotation: a ring of new and old keys seals with the new one and
// still opens what the old one sealed.
func TestRotation(t *testing.T) {
	old, _ := ParseKeys([]string{testKey('o')})
	both, err := ParseKeys([]string{testKey('n'), testKey('o')})
	if err != nil {
		t.Fatal(err)
	}
	byOld, _ := old.Seal("s", "ctx")
	if got, err := both.Open(byOld, "ctx"); err != nil || got != "s" {
		t.Fatalf("the rotated ring opens the old key's value: %q, %v", got, err)
	}
	if both.Current(byOld) {
		t.Error("a value of the old key counts as current")
	}
	byNew, _ := both.Seal("s", "ctx")
	if !both.Current(byNew) {
		t.Error("a value of the first key is not current")
	}
	if _, err := old.Open(byNew, "ctx"); err == nil {
		t.Error("the old ring opens a value of the new key")
	}
}

func TestParseKeys(t *testing.T) {
	raw := []byte(strings.Repeat("k", KeySize))
	for _, c := range []struct {
		name string
		keys []string
		ok   bool
	}{
		{"base64", []string{base64.StdEncoding.EncodeToString(raw)}, true},
		{"url-safe unpadded", []string{base64.RawURLEncoding.EncodeToString(raw)}, true},
		{"hex", []string{hex.EncodeToString(raw)}, true},
		{"short", []string{base64.StdEncoding.EncodeToString(raw[:16])}, false},
		{"not encoded", []string{"correct horse battery staple"}, false},
		{"twice the same", []string{testKey('a'), testKey('a')}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseKeys(c.keys)
			if (err == nil) != c.ok {
				t.Errorf("ParseKeys: %v, want ok %v", err, c.ok)
			}
			if err != nil && strings.Contains(err.Error(), c.keys[0]) {
				t.Errorf("the error %q shows the key", err)
			}
		})
	}
}
