package receivers

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sync/atomic"

	"golang.org/x/time/rate"

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
// tenant's ID as configured (never the request's bytes, which Fiber reuses)
// and its caps, so that the lookup that finds the verifier finds them too.
type tenantVerifier struct {
	id   string
	v    Verifier
	caps *tenantCaps // nil: none
}

// tenantCaps are one tenant's caps at this receiver process
// (config.TenantLimits), shared by all its providers' routes. take and
// leave are allocation-free: an atomic counter and a token bucket.
type tenantCaps struct {
	id          string // as configured: the only tenant label a metric gets
	maxInFlight int64  // 0: no cap
	inFlight    atomic.Int64
	rate        *rate.Limiter // nil: no rate cap
}

// newTenantCaps are the caps l of tenant id; nil when l caps nothing.
func newTenantCaps(id string, l config.TenantLimits) *tenantCaps {
	if l.MaxInFlight <= 0 && l.Rate <= 0 {
		return nil
	}
	c := &tenantCaps{id: id, maxInFlight: int64(max(l.MaxInFlight, 0))}
	if l.Rate > 0 {
		c.rate = rate.NewLimiter(rate.Limit(l.Rate), max(l.Burst, 1))
	}
	return c
}

// take admits one delivery of the tenant: a slot of its in-flight cap,
// then a token of its rate. The slot is taken first because it can be
// given back (leave) when the rate refuses; a token cannot. It returns the
// refusing row, and for the rate the seconds until the next token.
func (c *tenantCaps) take() (row, int) {
	if c.maxInFlight > 0 && c.inFlight.Add(1) > c.maxInFlight {
		c.inFlight.Add(-1)
		return rowTenantBusy, 0
	}
	if c.rate != nil && !c.rate.Allow() {
		c.leave()
		// Allow took nothing, so fewer than one token is left: the next
		// one comes in (1 - tokens) / rate seconds.
		wait := (1 - c.rate.Tokens()) / float64(c.rate.Limit())
		return rowTenantRate, max(1, int(math.Ceil(wait)))
	}
	return rowProceed, 0
}

// leave gives back the slot take took; nil caps took none.
func (c *tenantCaps) leave() {
	if c != nil && c.maxInFlight > 0 {
		c.inFlight.Add(-1)
	}
}

// Reasons a tenant's delivery was throttled, for Metrics.Throttled.
const (
	throttledInFlight = "in_flight" // past its in-flight cap
	throttledRate     = "rate"      // past its rate
)

// admitTenant takes the delivery's tenant caps, or answers 429 to that
// tenant alone: before the receiver's own in-flight slot (admit), so a
// throttled tenant never holds one that another tenant could have, and
// before any Redis or Temporal call. The default tenant has no caps.
func (r *Receiver) admitTenant(d *delivery) answer {
	if d.caps == nil {
		return proceed
	}
	refused, wait := d.caps.take()
	if refused == rowProceed {
		return proceed
	}
	reason := throttledInFlight
	if refused == rowTenantRate {
		reason = throttledRate
	}
	r.opts.Metrics.Throttled(d.caps.id, reason)
	// At debug, like duplicates: a throttled burst would otherwise write a
	// line per delivery; hookflow_tenant_throttled_total counts them.
	d.logDebug("webhook throttled: over the tenant's cap", slog.String("cap", reason))
	return answer{row: refused, retryAfter: wait}
}

// BindTenants builds the verifiers of tenants for the providers ps, with
// the providers' other settings from s, and each tenant's caps from limits
// (config.Config.TenantLimits; nil: none); nil when there are no tenants.
// A tenant's provider whose verifier cannot be built (Config.Validate
// refuses such secrets first) is left out, so its deliveries are refused,
// and named in the error.
func BindTenants(ps []Provider, tenants []config.Tenant, s providers.Settings, limits func(config.Tenant) config.TenantLimits) (*Tenants, error) {
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
		var caps *tenantCaps
		if limits != nil {
			caps = newTenantCaps(tenant.ID, limits(tenant))
		}
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
			t.byProvider[name][tenant.ID] = tenantVerifier{id: tenant.ID, v: v, caps: caps}
		}
	}
	return t, errors.Join(errs...)
}

// carryCaps gives t's tenants the caps prev had for them, where their
// limits are unchanged: their in-flight slots and rate tokens carry over.
func (t *Tenants) carryCaps(prev *Tenants) {
	if t == nil || prev == nil {
		return
	}
	old := map[string]*tenantCaps{}
	for _, byTenant := range prev.byProvider {
		for id, tv := range byTenant {
			if tv.caps != nil {
				old[id] = tv.caps
			}
		}
	}
	for _, byTenant := range t.byProvider {
		for id, tv := range byTenant {
			if c, ok := old[id]; ok && tv.caps != nil && c.sameLimits(tv.caps) {
				tv.caps = c
				byTenant[id] = tv
			}
		}
	}
}

// sameLimits says whether c and o cap alike.
func (c *tenantCaps) sameLimits(o *tenantCaps) bool {
	if c.maxInFlight != o.maxInFlight || (c.rate == nil) != (o.rate == nil) {
		return false
	}
	return c.rate == nil || (c.rate.Limit() == o.rate.Limit() && c.rate.Burst() == o.rate.Burst())
}

// notLoaded answers a delivery for a tenant that may exist but is not
// known yet, runtime tenants not having been listed since start-up: 503,
// so the provider retries, rather than a 401 it may not.
var notLoaded = answer{row: rowUnavailable, detail: "tenants not loaded yet"}

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
	t := r.tenants.Load()
	loaded := r.tenantsLoaded.Load()
	if t == nil {
		switch {
		case d.tenantRoute && !loaded:
			return notLoaded
		case d.tenantRoute: // runtime tenants, none yet: as an unknown one
			d.unknownTenant, d.verifier = true, refuseAll{}
			d.logWarn("webhook for an unknown tenant", slog.String("tenant", clip(d.c.Params("tenant"), maxLogValueBytes)))
		case d.p.TenantHeader != "" && !loaded && d.header(d.p.TenantHeader) != "":
			return notLoaded
		}
		return proceed
	}
	var name string
	switch {
	case d.tenantRoute:
		name = d.c.Params("tenant")
	case d.p.TenantHeader != "":
		name = d.header(d.p.TenantHeader)
		if !t.ids[name] {
			if name != "" && !loaded {
				return notLoaded
			}
			return proceed // no tenant of ours: the default tenant
		}
	default:
		return proceed
	}
	if tv, ok := t.byProvider[d.p.Name][name]; ok {
		d.tenant, d.verifier, d.caps = tv.id, tv.v, tv.caps
		return proceed
	}
	if !loaded {
		return notLoaded
	}
	d.unknownTenant = true
	d.verifier = t.decoys[d.p.Name]
	if d.verifier == nil {
		d.verifier = refuseAll{}
	}
	d.logWarn("webhook for an unknown tenant", slog.String("tenant", clip(name, maxLogValueBytes)))
	return proceed
}
