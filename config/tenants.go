package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/hookflow/hookflow/event"
	"github.com/hookflow/hookflow/providers"
	"github.com/hookflow/hookflow/providers/yamlnode"
)

// Tenant is one store of a deployment that receives for several (contract
// section 17): its own secrets per provider, its own routes
// (/webhooks/<provider>/<id>), workflow IDs and dedup keys. The
// provider-level secrets are the default tenant, which is not listed.
type Tenant struct {
	ID string // event.ValidTenantID
	// Secrets are the tenant's secrets by provider name; each provider
	// listed has at least one.
	Secrets map[string]Secrets
	// Destinations are the names of the file destinations the tenant owns:
	// its transitions go there, and to those for all tenants (see
	// DestinationsFor); nobody else's do.
	Destinations []string
	// AccessTokens are the tenant's API tokens by provider
	// (access_token_env), which a connection registers webhooks with;
	// Filters the provider's filters it registers (Fenix's carriers and
	// delivery statuses), as JSON (contract section 18).
	AccessTokens map[string]Secrets
	Filters      map[string]json.RawMessage
	// AdminTokens are the Bearer tokens (admin_token_env's comma-separated
	// values, several for rotation) with which the admin API reaches this
	// tenant's entity workflows only; none: the tenant has no token.
	AdminTokens Secrets
	// MaxInFlight, Rate and Burst are the tenant's own caps at each
	// receiver (max_in_flight, rate, burst), over HOOKFLOW_TENANT_*; nil:
	// the default. A Rate of 0 is rate: off. Config.TenantLimits gives
	// the caps that apply.
	MaxInFlight *int
	Rate        *float64
	Burst       *int
}

// TenantLimits are the caps a tenant's deliveries meet at each receiver
// process, so that one tenant's burst does not starve the others: past
// either, that tenant alone is answered 429, before its delivery takes
// one of the receiver's HOOKFLOW_MAX_IN_FLIGHT slots.
type TenantLimits struct {
	// MaxInFlight bounds the tenant's deliveries in their dedup claim or
	// Temporal start at once; 0: no cap.
	MaxInFlight int
	// Rate bounds its deliveries a second, of which Burst may come at
	// once; Rate 0: no rate cap.
	Rate  float64
	Burst int
}

// TenantLimits are the caps that apply to tenant t: its own, over the
// HOOKFLOW_TENANT_* defaults. Burst is at least one second's worth of the
// rate unless set, and 0 without a rate.
func (c *Config) TenantLimits(t Tenant) TenantLimits {
	l := TenantLimits{MaxInFlight: c.TenantMaxInFlight, Rate: c.TenantRate, Burst: c.TenantBurst}
	if t.MaxInFlight != nil {
		l.MaxInFlight = *t.MaxInFlight
	}
	if t.Rate != nil {
		l.Rate = *t.Rate
	}
	if t.Burst != nil {
		l.Burst = *t.Burst
	}
	switch {
	case l.Rate <= 0:
		l.Rate, l.Burst = 0, 0
	case l.Burst <= 0:
		l.Burst = max(1, int(math.Ceil(l.Rate)))
	}
	return l
}

var (
	tenantKeys         = []string{"id", "providers", "destinations", "admin_token_env", "max_in_flight", "rate", "burst"}
	tenantProviderKeys = []string{"secret_env", "secret_file", "access_token_env", "filters"}
)

// decodeTenants reads the file's `tenants:` list, taking secrets from
// getenv or from files (a relative secret_file is relative to the
// configuration file's folder). Every error names the tenant and the key.
func decodeTenants(node *yaml.Node, reg *providers.Registry, configPath string, getenv func(string) string) ([]Tenant, error) {
	if node.Kind != yaml.SequenceNode {
		return nil, errors.New("tenants: must be a list of tenants (id: …, providers: …)")
	}
	var out []Tenant
	var errs []error
	seen := map[string]bool{}
	for i, item := range node.Content {
		// The label names the tenant by position and, quoted, by its id,
		// which may be anything until it is checked.
		label := fmt.Sprint(i)
		if item.Kind != yaml.MappingNode {
			errs = append(errs, fmt.Errorf("tenants[%s]: must be a mapping (id: …, providers: …)", label))
			continue
		}
		id := ""
		if n := yamlnode.Get(item, "id"); n != nil && n.Kind == yaml.ScalarNode {
			id = n.Value // as written: " a" is not a valid id, nor is it "a"
			label = fmt.Sprintf("%d %q", i, id)
		}
		bad := func(key, format string, args ...any) {
			errs = append(errs, fmt.Errorf("tenants[%s].%s: "+format, append([]any{label, key}, args...)...))
		}
		errs = append(errs, yamlnode.UnknownKeys("tenants["+label+"]", item, tenantKeys)...)
		switch {
		case id == "":
			bad("id", "is required")
		case !event.ValidTenantID(id):
			bad("id", "must match [a-z0-9]([a-z0-9.-]{0,61}[a-z0-9])? without \"..\" (lower-case ASCII, at most %d bytes), like wearhumans.myshopify.com", event.MaxTenantIDBytes)
		case seen[id]:
			bad("id", "is defined twice")
		}
		seen[id] = true
		t := Tenant{ID: id, Secrets: map[string]Secrets{}}
		if n := yamlnode.Get(item, "destinations"); n != nil {
			names, ok := stringList(n)
			if !ok {
				bad("destinations", "must be a list of destination names")
			}
			t.Destinations = names
		}
		if n := yamlnode.Get(item, "admin_token_env"); n != nil {
			tokens, err := tenantTokens(n, getenv)
			if err != nil {
				bad("admin_token_env", "%s", err)
			}
			t.AdminTokens = tokens
		}
		if err := decodeTenantLimits(item, &t); err != nil {
			bad(err.key, "%s", err.msg)
		}
		ps := yamlnode.Get(item, "providers")
		if ps == nil || ps.Kind != yaml.MappingNode || len(ps.Content) == 0 {
			bad("providers", "must map at least one provider to its secret (phoenix: {secret_env: …})")
			continue
		}
		for j := 0; j+1 < len(ps.Content); j += 2 {
			name, pn := ps.Content[j].Value, ps.Content[j+1]
			key := "providers." + name
			p, known := reg.Get(name)
			if !known {
				bad(key, "unknown provider (one of %s)", strings.Join(reg.Names(), ", "))
				continue
			}
			if pn.Kind != yaml.MappingNode {
				bad(key, "must be a mapping (secret_env: … or secret_file: …)")
				continue
			}
			errs = append(errs, yamlnode.UnknownKeys("tenants["+label+"]."+key, pn, tenantProviderKeys)...)
			secrets, err := tenantSecrets(pn, configPath, getenv)
			if err != nil {
				bad(key, "%s", err)
				continue
			}
			if p.Secret.Check != nil {
				for _, s := range secrets {
					if err := p.Secret.Check(s); err != nil {
						bad(key, "%s", err)
						break
					}
				}
			}
			t.Secrets[name] = secrets
			if env := scalar(pn, "access_token_env"); env != "" {
				token := strings.TrimSpace(getenv(env))
				if token == "" {
					bad(key+".access_token_env", "%s is not set", env)
				} else {
					if t.AccessTokens == nil {
						t.AccessTokens = map[string]Secrets{}
					}
					t.AccessTokens[name] = Secrets{token}
				}
			}
			if fn := yamlnode.Get(pn, "filters"); fn != nil {
				filters, err := tenantFilters(fn)
				if err != nil {
					bad(key+".filters", "%s", err)
				} else {
					if t.Filters == nil {
						t.Filters = map[string]json.RawMessage{}
					}
					t.Filters[name] = filters
				}
			}
		}
		out = append(out, t)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return out, nil
}

// limitError is a tenant's cap key that is wrong, and why.
type limitError struct{ key, msg string }

// decodeTenantLimits reads the tenant entry item's own caps into t:
// max_in_flight and burst positive integers, rate off or a positive rate
// (N/s or N/m). It reports the first wrong key.
func decodeTenantLimits(item *yaml.Node, t *Tenant) *limitError {
	positive := func(key string) (*int, *limitError) {
		n := yamlnode.Get(item, key)
		if n == nil {
			return nil, nil
		}
		v, err := strconv.Atoi(strings.TrimSpace(n.Value))
		if n.Kind != yaml.ScalarNode || err != nil || v <= 0 {
			return nil, &limitError{key, fmt.Sprintf("must be a positive integer, not %q", n.Value)}
		}
		return &v, nil
	}
	var bad *limitError
	if t.MaxInFlight, bad = positive("max_in_flight"); bad != nil {
		return bad
	}
	if t.Burst, bad = positive("burst"); bad != nil {
		return bad
	}
	if n := yamlnode.Get(item, "rate"); n != nil {
		v, err := parseRateOrOff(n.Value)
		if n.Kind != yaml.ScalarNode || err != nil {
			return &limitError{"rate", fmt.Sprintf("must be off or a positive rate (like 50/s or 600/m), not %q", n.Value)}
		}
		t.Rate = &v
	}
	return nil
}

// MaxTenantFilters bounds a tenant's filters for one provider, as JSON.
const MaxTenantFilters = 16 << 10

// tenantFilters are a provider entry's filters (any YAML value: Fenix's is
// a list of carriers with their delivery statuses) as the JSON a
// connection registers.
func tenantFilters(n *yaml.Node) (json.RawMessage, error) {
	var v any
	if err := n.Decode(&v); err != nil {
		return nil, err
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("not JSON-able: %w", err)
	}
	if len(raw) > MaxTenantFilters {
		return nil, fmt.Errorf("%d bytes as JSON, at most %d", len(raw), MaxTenantFilters)
	}
	return raw, nil
}

// tenantSecrets are the secrets one tenant's provider entry names: the
// comma-separated values of secret_env, or of secret_file's lines, as a
// provider's secret setting holds them (several for rotation).
func tenantSecrets(n *yaml.Node, configPath string, getenv func(string) string) (Secrets, error) {
	env, file := scalar(n, "secret_env"), scalar(n, "secret_file")
	var raw string
	switch {
	case env != "" && file != "":
		return nil, errors.New("give secret_env or secret_file, not both")
	case env != "":
		if raw = getenv(env); strings.TrimSpace(raw) == "" {
			return nil, fmt.Errorf("secret_env: %s is not set", env)
		}
	case file != "":
		if !filepath.IsAbs(file) && configPath != "" {
			file = filepath.Join(filepath.Dir(configPath), file)
		}
		data, err := os.ReadFile(file)
		if err != nil {
			// The error names the file, never its content.
			return nil, fmt.Errorf("secret_file: %w", err)
		}
		raw = strings.ReplaceAll(strings.ReplaceAll(string(data), "\r\n", ","), "\n", ",")
	default:
		return nil, errors.New("needs secret_env or secret_file: where the secret(s) come from, never the secret itself")
	}
	secrets := Secrets(providers.SplitSecrets(raw))
	if len(secrets) == 0 {
		return nil, errors.New("holds no secret")
	}
	return secrets, nil
}

// tenantTokens are the admin tokens admin_token_env names: the
// comma-separated values of that variable, as HOOKFLOW_ADMIN_TOKEN holds
// them.
func tenantTokens(n *yaml.Node, getenv func(string) string) (Secrets, error) {
	env := ""
	if n.Kind == yaml.ScalarNode {
		env = strings.TrimSpace(n.Value)
	}
	if env == "" {
		return nil, errors.New("must name the environment variable that holds the tenant's admin token(s), never a token itself")
	}
	tokens := Secrets(providers.SplitSecrets(getenv(env)))
	if len(tokens) == 0 {
		return nil, fmt.Errorf("%s is not set", env)
	}
	return tokens, nil
}

// validateAdminTokens refuses a tenant admin token that is also another
// tenant's or a global one (HOOKFLOW_ADMIN_TOKEN): the admin API could not
// tell whose it is. Each error names the tenant, never the token.
func (c *Config) validateAdminTokens() []error {
	owner := map[string]string{} // token → "HOOKFLOW_ADMIN_TOKEN" or `tenant "id"`
	for _, tok := range c.AdminTokens {
		owner[tok] = "HOOKFLOW_ADMIN_TOKEN"
	}
	var errs []error
	for i, t := range c.Tenants {
		self := fmt.Sprintf("tenant %q", t.ID)
		for _, tok := range t.AdminTokens {
			if o, ok := owner[tok]; ok && o != self {
				errs = append(errs, fmt.Errorf("tenants[%d %q].admin_token_env: a token is also %s's; each tenant needs tokens of its own", i, t.ID, o))
				continue
			}
			owner[tok] = self
		}
	}
	return errs
}

// AdminAPI reports whether the admin API is on: some token, global or a
// tenant's, is configured.
func (c *Config) AdminAPI() bool {
	if c.AdminTokens.Enabled() {
		return true
	}
	for _, t := range c.Tenants {
		if t.AdminTokens.Enabled() {
			return true
		}
	}
	return false
}
