package loadgen

import (
	"fmt"
	"slices"
	"strings"

	"github.com/hookflow/hookflow/config"
	"github.com/hookflow/hookflow/providers"
)

// sender is who deliveries of one provider are sent as, and where: the
// default tenant (the provider-level secret, on the provider's first
// route), or a configured tenant (contract section 17), signed with that
// tenant's secret and named as the receiver resolves it: in the provider's
// TenantHeader where it has one (Fenix's X-Client-Storename), else by the
// route /webhooks/<provider>/<tenant>.
type sender struct {
	p        providers.Provider
	settings providers.Settings
	tenant   string // "" for the default tenant
	secret   string
	route    string
}

// senderFor is p's sender as tenant ("" for the default tenant). A tenant
// the configuration does not list, or that has no secret for p, is an
// error naming it.
func senderFor(cfg *config.Config, p providers.Provider, tenant string) (sender, error) {
	s := sender{p: p, settings: cfg.Setting, tenant: tenant, route: p.Routes[0]}
	if tenant == "" {
		s.secret = p.SendSecret(cfg.Setting)
		return s, nil
	}
	var ids []string
	for _, t := range cfg.Tenants {
		ids = append(ids, t.ID)
		if t.ID != tenant {
			continue
		}
		secrets := t.Secrets[p.Name]
		if len(secrets) == 0 {
			return sender{}, fmt.Errorf("tenant %q has no %s secret in the configuration's tenants: (its providers: %s)", tenant, p.Name, providerNames(t))
		}
		s.secret = secrets[0]
		if p.TenantHeader == "" {
			s.route = strings.Replace(p.TenantRoute(), ":tenant", tenant, 1)
		}
		return s, nil
	}
	if len(ids) == 0 {
		return sender{}, fmt.Errorf("tenant %q is not configured: the configuration has no tenants: (give --config)", tenant)
	}
	return sender{}, fmt.Errorf("tenant %q is not configured (tenants: %s)", tenant, strings.Join(ids, ", "))
}

// providerNames lists a tenant's providers, sorted.
func providerNames(t config.Tenant) string {
	var names []string
	for name := range t.Secrets {
		names = append(names, name)
	}
	if len(names) == 0 {
		return "none"
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}

// sign returns the body for d (the sample's, when body is nil) and every
// header the provider sends with it, signed as s.
func (s sender) sign(d providers.Delivery, body []byte) ([]byte, map[string]string) {
	d.Tenant = s.tenant
	if body == nil {
		body = s.p.Sample.Body(d)
	}
	headers := s.p.Sample.Headers(d, body, s.secret, s.settings)
	if s.tenant != "" && s.p.TenantHeader != "" {
		for k := range headers {
			if strings.EqualFold(k, s.p.TenantHeader) {
				delete(headers, k)
			}
		}
		headers[s.p.TenantHeader] = s.tenant
	}
	return body, headers
}

// benchTenants are the first n of the configuration's tenants that have a
// secret for p, as senders; none for n 0 (the default tenant alone).
func benchTenants(cfg *config.Config, p providers.Provider, n int) ([]sender, error) {
	if n == 0 {
		s, err := senderFor(cfg, p, "")
		return []sender{s}, err
	}
	var out []sender
	for _, t := range cfg.Tenants {
		if len(t.Secrets[p.Name]) == 0 {
			continue
		}
		s, err := senderFor(cfg, p, t.ID)
		if err != nil {
			return nil, err
		}
		if out = append(out, s); len(out) == n {
			return out, nil
		}
	}
	return nil, fmt.Errorf("--tenants %d: the configuration's tenants: has %d with a %s secret; declare at least %d", n, len(out), p.Name, n)
}
