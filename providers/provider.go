// Package providers is hookflow's registry of webhook providers. A Provider
// is one value that owns both sides of a provider: on the receiving side
// its routes, verifier and parser; on the sending side (`hookflow send` and
// `hookflow bench`) its sample bodies and signing; its settings and
// development secret; the state tables of its entities; and a line of
// documentation.
//
// The five built-in providers each live in one file here. Providers defined
// in configuration (Spec, contract section 12) become the same value, built
// from data. The rest of hookflow iterates over a Registry.
//
// This package imports no other part of hookflow but event, webhook and
// lifecycle, so that the receivers, the workflows, config and cmd may all
// import it.
package providers

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/hookflow/hookflow/event"
	"github.com/hookflow/hookflow/event/lifecycle"
	"github.com/hookflow/hookflow/signature"
)

// Provider is one webhook source, both sides of it. A Provider whose
// Verifier is nil is disabled: its routes answer 404.
type Provider struct {
	Name   string   // short name: "phoenix"; also the dedup namespace and workflow ID prefix
	Doc    string   // one line: what it is and how it authenticates
	Routes []string // POST paths; the first is where `hookflow send` posts

	// Secret is the setting holding the provider's secret(s),
	// comma-separated; Options are its other settings.
	Secret  Setting
	Options []Setting
	// DevSecret is the publicly known secret `hookflow dev` gives the
	// provider when none is configured, and `hookflow send` signs with then.
	DevSecret string
	// NewVerifier builds the verifier from the configured secrets (at least
	// one) and settings.
	NewVerifier func(secrets []string, s Settings) (signature.Verifier, error)
	// Verifier is nil until Bind finds a secret.
	Verifier signature.Verifier
	// TenantHeader, when set, is the request header that names the tenant
	// a delivery on the provider's own routes is for (Fenix's
	// X-Client-Storename; a configured provider's tenant_header), read
	// only when tenants are configured (contract section 17).
	TenantHeader string

	// Parse turns a verified body into an event with at least ID, Type,
	// EntityType and EntityID set. The receiver fills Provider, ReceivedAt,
	// RequestID and Body. It returns ErrInvalidJSON,
	// ErrIgnored or a *MissingFieldsError for the
	// contract's answers.
	Parse func(body []byte, header signature.Header) (event.Event, error)
	// Reply, when set, adds provider-specific fields to the accepted body.
	Reply func(base Accepted, ev event.Event) any
	// Unauthorized, when set, is the 401 error message for a credential that
	// does not match (some providers document theirs).
	Unauthorized string
	// EntityIDField and EventIDField name the entity and event IDs as the
	// provider's engineers know them, for the 400 "invalid <field>" of an
	// unusable one; "entityId" and "eventId" when empty. A provider whose ID
	// is built from several fields leaves its name generic.
	EntityIDField string
	EventIDField  string
	// UnsignedEventID says the event ID is outside what the signature
	// covers (Fenix's X-Fenix-Event-Id header): a captured, signed body
	// could come back under a fresh event ID. For such a provider the
	// receiver keys the event by the SHA-256 of its signed body too
	// (event.Event.BodyDigest), so a signed body seen before is a
	// duplicate whatever its event ID (contract section 17). Other
	// providers pay nothing for it.
	UnsignedEventID bool

	// Tables are the state tables of the provider's entity types, by
	// entity type. New workflow runs carry theirs in their input.
	Tables map[string]lifecycle.Table
	// Overdue are the per-status deadlines past which an entity that is
	// still in that status is flagged overdue (contract section 13): the
	// built-in defaults, overridden by the configuration.
	Overdue map[string]time.Duration
	// API is where its entities' status is read: Phoenix's, or a
	// configured provider's api: block; nil for a provider without one.
	API *API

	// Sample is how `hookflow send` and `hookflow bench` deliver as the
	// provider does.
	Sample Sample
}

// Setting is one configuration value a provider reads, by its environment
// name (its YAML key is the name in lower case).
type Setting struct {
	Env     string
	Default string
	Usage   string
	// Check, when set, says what is wrong with a value (each one of a
	// secret setting) without repeating it.
	Check func(value string) error
}

// Settings looks up a setting's configured value, or its default, by
// environment name; config.Config's Setting method is one.
type Settings func(env string) string

// Sample builds and signs deliveries as the provider sends them.
type Sample struct {
	// Entity and Status are the defaults of `hookflow send`: an entity at
	// the start of its lifecycle.
	Entity, Status string
	// Statuses says, for `hookflow send --help`, which --status values the
	// sample understands.
	Statuses string
	// Lifecycle is the forward path `hookflow bench --mode existing` sends
	// each entity, in `hookflow send`'s spelling of the statuses; it ends
	// in a terminal status.
	Lifecycle []string
	// Body builds a body for d.
	Body func(d Delivery) []byte
	// Headers returns every header the provider sends with body, signed
	// with secret exactly as the provider does; d and s supply what the
	// body does not say.
	Headers func(d Delivery, body []byte, secret string, s Settings) map[string]string
	// Sandbox, when set, is the dev sandbox's path of the entity's API
	// resource, whose status `hookflow send` sets first (Phoenix orders).
	Sandbox string
}

// Delivery is what one sample delivery is about: `hookflow send`'s flags.
type Delivery struct {
	Entity    string
	Status    string
	EventID   string // where the provider sends one
	Topic     string // Fenix's X-Fenix-Topic; empty for tracking/updated
	WebhookID string // Fenix's X-Fenix-Webhook-Id, the subscription
	// Tenant is the tenant the delivery is for (contract section 17), ""
	// for the default tenant. A sample whose body names the store it comes
	// from (Fenix's store_name) names this one; the sender sets the route
	// or the TenantHeader that tells the receiver.
	Tenant string
}

// JSONType is the Content-Type every provider sends.
const JSONType = "application/json"

// SetHeaders sets a sample's headers on req, and JSONType, in the
// provider's spelling (X-Fenix-API-Version) rather than Go's canonical form,
// so the request is the provider's to the byte.
func SetHeaders(req *http.Request, headers map[string]string) {
	req.Header.Set("Content-Type", JSONType)
	for k, v := range headers {
		req.Header.Del(k)
		req.Header[k] = []string{v}
	}
}

// Builtins are the providers compiled into hookflow, disabled.
func Builtins() []Provider {
	return []Provider{Phoenix(nil), Phosphor(nil), UP42(nil), Fenix(nil), Phantom(nil)}
}

// SendHelp lists, for `hookflow send --help`, the built-in providers' names
// and a line each of the --status values its sample understands.
func SendHelp() (names []string, statuses string) {
	var b strings.Builder
	for _, p := range Builtins() {
		names = append(names, p.Name)
		fmt.Fprintf(&b, "  %-9s --status %s\n", p.Name, p.Sample.Statuses)
	}
	return names, b.String()
}

// Settings returns every setting of the provider, its secret first.
func (p Provider) Settings() []Setting { return append([]Setting{p.Secret}, p.Options...) }

// Secrets are the provider's configured secrets: the comma-separated values
// of its secret setting, or none.
func (p Provider) Secrets(s Settings) []string { return SplitSecrets(s(p.Secret.Env)) }

// SendSecret is the secret `hookflow send` and `bench` sign with: the first
// configured one, or the development secret (what hookflow dev accepts).
func (p Provider) SendSecret(s Settings) string {
	if secrets := p.Secrets(s); len(secrets) > 0 {
		return secrets[0]
	}
	return p.DevSecret
}

// Bind returns p with its verifier built from its configured secrets and
// settings, or p disabled (nil Verifier) when it has no secret.
func (p Provider) Bind(s Settings) (Provider, error) {
	secrets := p.Secrets(s)
	p.Verifier = nil
	if len(secrets) == 0 {
		return p, nil
	}
	v, err := p.NewVerifier(secrets, s)
	if err != nil {
		return p, fmt.Errorf("%s: %w", p.Secret.Env, err)
	}
	p.Verifier = v
	return p, nil
}

// TenantRoute is the route of the provider's deliveries for one tenant,
// with the tenant as the route parameter "tenant": /webhooks/<name>/:tenant
// (contract section 17).
func (p Provider) TenantRoute() string { return "/webhooks/" + p.Name + "/:tenant" }

// BindTenant builds the verifier of one tenant's secrets (at least one),
// with the provider's other settings from s.
func (p Provider) BindTenant(secrets []string, s Settings) (signature.Verifier, error) {
	if len(secrets) == 0 {
		return nil, errors.New("no secret")
	}
	return p.NewVerifier(secrets, s)
}

// SplitSecrets splits a secret setting's value at commas, dropping blanks.
func SplitSecrets(raw string) []string {
	var out []string
	for _, s := range strings.Split(raw, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// Registry is the providers of one process: the built-ins, then those its
// configuration defines, in that order.
type Registry struct {
	list []Provider
}

// NewRegistry returns the built-ins and the providers specs define. Its
// error lists every problem of the specs, each naming the provider and the
// key.
func NewRegistry(specs []Spec) (*Registry, error) {
	configured, err := FromSpecs(specs)
	if err != nil {
		return nil, err
	}
	r := &Registry{list: append(Builtins(), configured...)}
	var errs []error
	for _, s := range specs {
		if len(s.Overdue) > 0 {
			errs = append(errs, r.SetOverdue(s.Name, s.Overdue, "providers["+s.Name+"].overdue"))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return r, nil
}

// All returns every provider, built-ins first.
func (r *Registry) All() []Provider { return slices.Clone(r.list) }

// Bound returns every provider bound to s (Bind), built-ins first: each
// with its verifier, or disabled where no secret is set. Config's Validate
// refuses the settings Bind would fail on; should one get here, its
// provider stays disabled rather than guess.
func (r *Registry) Bound(s Settings) []Provider {
	var out []Provider
	for _, p := range r.list {
		bound, err := p.Bind(s)
		if err != nil {
			bound.Verifier = nil
		}
		out = append(out, bound)
	}
	return out
}

// Lookup returns the provider called name, or an error that lists the
// known ones.
func (r *Registry) Lookup(name string) (Provider, error) {
	p, ok := r.Get(name)
	if !ok {
		return Provider{}, fmt.Errorf("unknown provider %q (one of %s)", name, strings.Join(r.Names(), ", "))
	}
	return p, nil
}

// Names returns every provider's name, in registry order.
func (r *Registry) Names() []string {
	names := make([]string, 0, len(r.list))
	for _, p := range r.list {
		names = append(names, p.Name)
	}
	return names
}

// Get returns the provider called name.
func (r *Registry) Get(name string) (Provider, bool) {
	for _, p := range r.list {
		if p.Name == name {
			return p, true
		}
	}
	return Provider{}, false
}

// Table returns the state table of a provider's entity type, and false
// when there is none.
func (r *Registry) Table(provider, entityType string) (lifecycle.Table, bool) {
	p, ok := r.Get(provider)
	if !ok {
		return lifecycle.Table{}, false
	}
	t, ok := p.Tables[entityType]
	return t, ok
}

// ParseWorkflowID splits an entity workflow ID of the default tenant,
// <provider>-<entity type>:<entity ID> (its entity ID decoded, see
// event.WorkflowID), knowing the providers: a configured provider's name
// may hold a hyphen ("acme-eu-order:1"). ok is false when no provider of
// the registry has that entity type, and for a tenant's workflow ID (see
// ParseTenantWorkflowID), so that no caller drops the tenant unawares.
func (r *Registry) ParseWorkflowID(id string) (provider, entityType, entityID string, ok bool) {
	tenant, provider, entityType, entityID, ok := r.ParseTenantWorkflowID(id)
	if !ok || tenant != "" {
		return "", "", "", false
	}
	return provider, entityType, entityID, true
}

// ParseTenantWorkflowID is ParseWorkflowID for every tenant's workflow IDs,
// <provider>-<entity type>[@<tenant>]:<entity ID>: tenant is "" for the
// default tenant.
func (r *Registry) ParseTenantWorkflowID(id string) (tenant, provider, entityType, entityID string, ok bool) {
	kind, entityID, found := event.CutWorkflowID(id)
	if !found {
		return "", "", "", "", false
	}
	if kind, tenant, found = event.CutTenant(kind); !found {
		return "", "", "", "", false
	}
	for _, p := range r.list {
		if et, found := strings.CutPrefix(kind, p.Name+"-"); found {
			if _, known := p.Tables[et]; known {
				return tenant, p.Name, et, entityID, true
			}
		}
	}
	return "", "", "", "", false
}

// WorkflowID returns the workflow ID that id names: id itself when it is
// one, and the entity's workflow ID when id writes an entity ID outside
// printable ASCII as it is ("phoenix-order:Müller" names
// "phoenix-order%:M%C3%BCller", see event.WorkflowID). Operators may give
// either form; an id that names no entity of the registry is returned as it
// is.
func (r *Registry) WorkflowID(id string) string {
	if r == nil {
		return id
	}
	if tenant, provider, entityType, entityID, ok := r.ParseTenantWorkflowID(id); ok {
		return event.TenantWorkflowID(tenant, provider, entityType, entityID)
	}
	return id
}
