package admin

import (
	"crypto/sha256"
	"crypto/subtle"
	"strings"

	"github.com/hookflow/hookflow/config"
)

// scope is whom a request's token reaches: every entity workflow (a
// HOOKFLOW_ADMIN_TOKEN token, tenant "") or one tenant's (contract
// section 17).
type scope struct {
	tenant string
}

// tokens resolves a Bearer token to its scope: the global tokens and
// every tenant's, as SHA-256 digests so that each comparison takes the
// same time whatever the token's length.
type tokens struct {
	digests [][sha256.Size]byte
	owners  []int // owner of each digest: 0 global, i+1 tenant i
	tenants []string
}

func newTokens(cfg *config.Config) tokens {
	var t tokens
	add := func(owner int, secrets config.Secrets) {
		for _, s := range secrets {
			t.digests = append(t.digests, sha256.Sum256([]byte(s)))
			t.owners = append(t.owners, owner)
		}
	}
	add(0, cfg.AdminTokens)
	for i, tenant := range cfg.Tenants {
		t.tenants = append(t.tenants, tenant.ID)
		add(i+1, tenant.AdminTokens)
	}
	return t
}

// resolve returns the scope of the Authorization header's Bearer token.
// Like signature.Bearer, it compares the token with every configured one,
// global and tenant alike, in constant time and without stopping at a
// match, so the time taken says neither whether nor whose it is.
// (config.Validate refuses a token that two owners share.)
func (t tokens) resolve(authorization string) (scope, bool) {
	const prefix = "bearer "
	if len(authorization) <= len(prefix) || !strings.EqualFold(authorization[:len(prefix)], prefix) {
		return scope{}, false
	}
	token := strings.TrimSpace(authorization[len(prefix):])
	if token == "" {
		return scope{}, false
	}
	d := sha256.Sum256([]byte(token))
	found, owner := 0, 0
	for i := range t.digests {
		eq := subtle.ConstantTimeCompare(d[:], t.digests[i][:])
		found |= eq
		owner = subtle.ConstantTimeSelect(eq, t.owners[i], owner)
	}
	if found != 1 {
		return scope{}, false
	}
	if owner == 0 {
		return scope{}, true
	}
	return scope{tenant: t.tenants[owner-1]}, true
}
