package receivers

import (
	"errors"
	"fmt"
	"log/slog"

	"github.com/hookflow/hookflow/config"
	"github.com/hookflow/hookflow/providers"
	"github.com/hookflow/hookflow/signature"
)

// Tenants are the verifiers of every configured tenant (contract section
// 17), built once at start-up by BindTenants, so that resolving a delivery's
// tenant is a map lookup, whatever the number of tenants. A nil *Tenants is
// a deployment without tenants: every delivery is the default tenant's,
// verified with the provider-level secrets, as before tenants existed.
type Tenants struct {
	// byProvider holds each tenant's verifier, by provider name and
	// tenant ID: only that tenant's secrets are ever tried.
	byProvider map[string]map[string]tenantVerifier
	// ids are every tenant's ID, whatever its providers: a tenant header
	// naming one of them is that tenant's delivery.
	ids map[string]bool
	// decoys verify deliveries for a tenant that does not exist, by
	// provider, so that their 401 is the one a wrong secret gets (see
	// resolve).
	decoys map[string]Verifier
}

// tenantVerifier is one tenant's verifier of one provider, with the
// tenant's ID as configured (never the request's bytes, which Fiber reuses).
type tenantVerifier struct {
	id string
	v  Verifier
}

// BindTenants builds the verifiers of tenants for the providers ps, with
// the providers' other settings from s; nil when there are no tenants. A
// tenant's provider whose verifier cannot be built (Config.Validate
// refuses such secrets first) is left out, so its deliveries are refused,
// and named in the error.
func BindTenants(ps []Provider, tenants []config.Tenant, s providers.Settings) (*Tenants, error) {
	if len(tenants) == 0 {
		return nil, nil
	}
	t := &Tenants{byProvider: map[string]map[string]tenantVerifier{}, ids: map[string]bool{}, decoys: map[string]Verifier{}}
	var errs []error
	for _, p := range ps {
		// The development secret is public: the decoy's answer is
		// refused whatever it says. It only makes the refusal the same.
		if v, err := p.BindTenant([]string{p.DevSecret}, s); err == nil {
			t.decoys[p.Name] = v
		}
	}
	known := map[string]Provider{}
	for _, p := range ps {
		known[p.Name] = p
	}
	for _, tenant := range tenants {
		t.ids[tenant.ID] = true
		for name, secrets := range tenant.Secrets {
			p, ok := known[name]
			if !ok {
				errs = append(errs, fmt.Errorf("tenant %s: unknown provider %s", tenant.ID, name))
				continue
			}
			v, err := p.BindTenant(secrets, s)
			if err != nil {
				errs = append(errs, fmt.Errorf("tenant %s: provider %s: %w", tenant.ID, name, err))
				continue
			}
			if t.byProvider[name] == nil {
				t.byProvider[name] = map[string]tenantVerifier{}
			}
			t.byProvider[name][tenant.ID] = tenantVerifier{id: tenant.ID, v: v}
		}
	}
	return t, errors.Join(errs...)
}

// refuseAll is the decoy of a provider whose development secret builds no
// verifier: every credential is wrong.
type refuseAll struct{}

func (refuseAll) Verify([]byte, signature.Header) error { return ErrInvalidCredentials }

// resolve finds the tenant of a delivery before its body is read, and the
// verifier that alone may authenticate it: the route's tenant on
// /webhooks/<provider>/<tenant>; on the provider's own routes, the tenant
// its TenantHeader names, when it names a configured tenant; otherwise the
// default tenant's provider-level verifier, as without tenants.
//
// A tenant that does not exist, or has no secret for the provider, is
// verified by a decoy and refused whatever the decoy says: its 401 and body
// are those of a wrong secret, so an unknown store cannot be told from a
// known one by the answer.
func (r *Receiver) resolve(d *delivery) answer {
	d.verifier = d.p.Verifier
	t := r.opts.Tenants
	if t == nil {
		return proceed
	}
	var name string
	switch {
	case d.tenantRoute:
		name = d.c.Params("tenant")
	case d.p.TenantHeader != "":
		name = d.header(d.p.TenantHeader)
		if !t.ids[name] {
			return proceed // no tenant of ours: the default tenant
		}
	default:
		return proceed
	}
	if tv, ok := t.byProvider[d.p.Name][name]; ok {
		d.tenant, d.verifier = tv.id, tv.v
		return proceed
	}
	d.unknownTenant = true
	d.verifier = t.decoys[d.p.Name]
	if d.verifier == nil {
		d.verifier = refuseAll{}
	}
	d.logWarn("webhook for an unknown tenant", slog.String("tenant", clip(name, maxLogValueBytes)))
	return proceed
}
