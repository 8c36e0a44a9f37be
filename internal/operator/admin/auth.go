package admin

import (
	"github.com/hookflow/hookflow/config"
	"github.com/hookflow/hookflow/signature"
)

// scope is whom a request's token reaches: every entity workflow (a
// HOOKFLOW_ADMIN_TOKEN token, tenant "") or one tenant's (contract
// section 17).
type scope struct {
	tenant string
}

// tokens resolves a Bearer token to its scope: owner 0 is the global
// tokens, owner i+1 tenant i's.
type tokens struct {
	keys    signature.Keyring
	tenants []string
}

func newTokens(cfg *config.Config) tokens {
	var t tokens
	t.keys.Add(0, cfg.AdminTokens)
	for i, tenant := range cfg.Tenants {
		t.tenants = append(t.tenants, tenant.ID)
		t.keys.Add(i+1, tenant.AdminTokens)
	}
	return t
}

// resolve returns the scope of the Authorization header's Bearer token,
// compared with every configured token, global and tenant alike, in
// constant time (signature.Keyring), so the time taken says neither
// whether nor whose it is. (config.Validate refuses a token that two
// owners share.)
func (t tokens) resolve(authorization string) (scope, bool) {
	token, ok := signature.BearerToken(authorization)
	if !ok || token == "" {
		return scope{}, false
	}
	owner, ok := t.keys.Owner(token)
	switch {
	case !ok:
		return scope{}, false
	case owner == 0:
		return scope{}, true
	}
	return scope{tenant: t.tenants[owner-1]}, true
}
