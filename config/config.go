// Package config loads hookflow's configuration: a YAML file whose every key
// can be overridden by an environment variable, validated once at start-up.
//
// The names, defaults and meanings are the contract's (section 2); they are
// written once, in the fields table below for hookflow's own and in each
// provider's file for the providers', and the YAML keys are the environment
// names in lower case (redis_url, phoenix_api_url), where the HOOKFLOW_
// prefix may be left out (http_addr for HOOKFLOW_HTTP_ADDR). The file may
// also define providers under `providers:` (contract section 12; see
// providers.Spec).
package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/hookflow/hookflow/event"
	"github.com/hookflow/hookflow/providers"
	"github.com/hookflow/hookflow/signature"
	"github.com/hookflow/hookflow/signature/seal"
)

// DefaultUP42APIURL is UP42's production API.
const DefaultUP42APIURL = "https://api.up42.com"

// DefaultPhoenixAPIURL is the Phoenix production orders API.
const DefaultPhoenixAPIURL = "https://prod-phoenix-api-kwr2.encr.app"

// Secrets is a list of accepted values for one provider credential. Several
// values allow rotation without downtime: any one of them is accepted. Its
// String and GoString never reveal the values, so a Config can be logged.
type Secrets []string

// String reports how many secrets are set, never their values.
func (s Secrets) String() string { return fmt.Sprintf("[%d secret(s)]", len(s)) }

// GoString keeps %#v from printing the values.
func (s Secrets) GoString() string { return s.String() }

// MarshalJSON keeps JSON encoders, slog's JSON handler among them, from
// printing the values.
func (s Secrets) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }

// LogValue keeps slog from printing the values.
func (s Secrets) LogValue() slog.Value { return slog.StringValue(s.String()) }

// Enabled reports whether at least one secret is configured.
func (s Secrets) Enabled() bool { return len(s) > 0 }

// Config is hookflow's whole configuration.
type Config struct {
	HTTPAddr          string        // receivers' listen address
	TemporalAddress   string        // Temporal frontend host:port
	TemporalNamespace string        // Temporal namespace
	TaskQueue         string        // Temporal task queue of the worker
	RedisURL          string        // dedup store
	DedupTTL          time.Duration // how long a delivered event is remembered
	PendingTTL        time.Duration // how long an in-flight dedup record lives if its request dies
	MaxBodyBytes      int           // larger bodies get 413
	MaxInFlight       int           // concurrent Temporal starts before 429
	// Each tenant's caps at each receiver, unless its entry sets its own
	// (TenantLimits): deliveries at once, a second (0: off) and at once
	// above that rate (0: one second's worth).
	TenantMaxInFlight int
	TenantRate        float64
	TenantBurst       int
	StartTimeout      time.Duration // how long one SignalWithStart may take before 503
	Linger            time.Duration // how long a workflow stays open after a terminal status
	IdleTimeout       time.Duration // how long a non-terminal entity's workflow stays open without events; 0: for ever
	NotFoundWindow    time.Duration // how long the Phoenix API's 404 is retried before the webhook's status applies

	PhoenixAPIURL string  // Phoenix orders API base URL
	UIURL         string  // Temporal Web UI base URL, for links in CLI output
	MetricsAddr   string  // the operations endpoints' listen address (serve, worker, dev); loopback by default
	AdminTokens   Secrets // Bearer tokens of the admin API on MetricsAddr (contract section 15); none: the API is off

	MaxEventsPerRun int // signals one workflow run handles before it continues as new

	// Runtime tenants and connections (contract section 18).
	// SecretsKeys seal runtime tenants' secrets (the first seals, each
	// opens); none: tenants cannot be added at runtime. PublicURL is where
	// providers reach the receivers, the base of every URL hookflow
	// registers; UP42APIURL and FenixAPIURL are the registration APIs.
	SecretsKeys Secrets
	// DevConnections: `hookflow dev`'s stand-ins are the registration
	// APIs, which take any API token, so a tenant without one connects.
	DevConnections bool
	PublicURL      string
	UP42APIURL     string
	FenixAPIURL    string

	// Reconciling (contract section 13): when an open, non-terminal entity
	// whose provider has an API is re-read after its last event or check,
	// the last step repeating; nil is off. ReconcileRate bounds those reads
	// per provider across all workers, per second.
	ReconcileSchedule []time.Duration
	ReconcileRate     float64
	// Overdue flags entities past their status's deadline (the providers'
	// Overdue); false is HOOKFLOW_OVERDUE=off.
	Overdue bool

	// Providers are the built-in providers and those the file defines
	// under `providers:`.
	Providers *providers.Registry
	// ProviderSecrets are every provider's secrets, by the environment name
	// of its secret setting (PHOENIX_WEBHOOK_SECRET, a configured
	// provider's secret_env); printed as counts only.
	ProviderSecrets map[string]Secrets
	// ProviderSettings are the providers' other settings, by environment
	// name (UP42_SIGNATURE_HEADER).
	ProviderSettings map[string]string

	// Transition delivery (contract sections 10 and 11).
	ForwardURLs     Secrets       // where applied transitions are POSTed; kept out of logs like secrets, since URLs can carry tokens
	ForwardSecrets  Secrets       // whsec_ signing secrets; every one signs
	ForwardHorizon  time.Duration // how long a delivery is retried before it is recorded as failed
	HandlerQueue    string        // the user's task queue for HandlerActivity; empty: no handler
	HandlerActivity string        // the activity each transition is handed to on HandlerQueue
	HandlerFilter   event.Filter  // the transitions the handler takes (the file's handler.filter)
	// FileDestinations are the file's `destinations:` (contract section
	// 14); Destinations adds HOOKFLOW_FORWARD_URL's.
	FileDestinations []Destination

	// Tenants are the file's `tenants:` (contract section 17); none: the
	// provider-level secrets alone, the default tenant.
	Tenants []Tenant

	// ---- Connecting to real clusters (cluster.go): Temporal TLS and API
	// key, Redis credentials and TLS. Keep this block together.
	TemporalTLS           bool    // TLS to Temporal; when not set, on with an API key or any TLS setting (TemporalTLSEnabled)
	TemporalTLSCert       string  // client certificate file (PEM), for mTLS
	TemporalTLSKey        string  // its private key file (PEM)
	TemporalTLSCA         string  // CA file (PEM) that verifies the server; none: the system's roots
	TemporalTLSServerName string  // name the server's certificate must carry, when not the host of TEMPORAL_ADDRESS
	TemporalAPIKey        Secrets // Temporal Cloud API key (one)
	RedisUsername         string  // ACL user, over the URL's
	RedisPassword         Secrets // password (one), over the URL's
	RedisSentinelPassword Secrets // the sentinels' own password (one), redis-sentinel URLs only
	RedisTLSCA            string  // CA file (PEM) that verifies Redis over TLS; none: the system's roots
	// ---- end of connecting to real clusters

	// set records which environment names were given explicitly (file or
	// environment), so callers can tell a default from a choice.
	set map[string]bool
}

// IsSet reports whether the setting named by its environment variable was
// given explicitly, in the file or the environment, rather than defaulted.
func (c *Config) IsSet(env string) bool { return c.set[env] }

// Secrets returns the secrets of a provider's secret setting, by its
// environment name.
func (c *Config) Secrets(env string) Secrets { return c.ProviderSecrets[env] }

// Setting returns a provider setting's value by environment name, a secret
// setting's values joined by commas; it is a providers.Settings.
func (c *Config) Setting(env string) string {
	if s, ok := c.ProviderSecrets[env]; ok {
		return strings.Join(s, ",")
	}
	return c.ProviderSettings[env]
}

// Set stores raw as the setting named by its environment variable, as if
// the file or the environment had given it.
func (c *Config) Set(env, raw string) error {
	for _, f := range c.fields() {
		if f.env == env {
			c.set[env] = true
			return f.store(c, raw)
		}
	}
	return fmt.Errorf("unknown setting %s", env)
}

// field is one configuration setting: its environment name, its default and
// how to store a raw value into a Config.
type field struct {
	env   string
	def   string
	usage string
	store func(c *Config, raw string) error
}

// Fields lists every setting's environment name, default and meaning, in the
// order docs/configuration.md documents them: hookflow's own, then the built-in
// providers'.
func Fields() []struct{ Env, Default, Usage string } {
	all := append(slices.Clone(fields), providerFields(providers.Builtins())...)
	out := make([]struct{ Env, Default, Usage string }, 0, len(all))
	for _, f := range all {
		out = append(out, struct{ Env, Default, Usage string }{f.env, f.def, f.usage})
	}
	return out
}

// providerFields are the settings of ps, each once.
func providerFields(ps []providers.Provider) []field {
	var out []field
	seen := map[string]bool{}
	for _, p := range ps {
		for i, s := range p.Settings() {
			if seen[s.Env] {
				continue
			}
			seen[s.Env] = true
			env := s.Env
			store := func(c *Config, raw string) error { c.ProviderSettings[env] = raw; return nil }
			if i == 0 { // the secret setting
				store = func(c *Config, raw string) error {
					c.ProviderSecrets[env] = Secrets(providers.SplitSecrets(raw))
					return nil
				}
			}
			out = append(out, field{env: s.Env, def: s.Default, usage: s.Usage, store: store})
		}
	}
	return out
}

// fields are the settings of this configuration: hookflow's own, then its
// providers'.
func (c *Config) fields() []field {
	return append(slices.Clone(fields), providerFields(c.Providers.All())...)
}

var fields = []field{
	{"HOOKFLOW_HTTP_ADDR", ":8080", "receivers' listen address", str(func(c *Config) *string { return &c.HTTPAddr })},
	{"TEMPORAL_ADDRESS", "127.0.0.1:7233", "Temporal frontend", str(func(c *Config) *string { return &c.TemporalAddress })},
	{"TEMPORAL_NAMESPACE", "default", "Temporal namespace", str(func(c *Config) *string { return &c.TemporalNamespace })},
	{"HOOKFLOW_TASK_QUEUE", "hookflow", "Temporal task queue", str(func(c *Config) *string { return &c.TaskQueue })},
	{"REDIS_URL", "redis://127.0.0.1:6379/0", "dedup store", str(func(c *Config) *string { return &c.RedisURL })},
	{"HOOKFLOW_DEDUP_TTL", "72h", "how long a delivered event is remembered", dur(func(c *Config) *time.Duration { return &c.DedupTTL })},
	{"HOOKFLOW_PENDING_TTL", "30s", "how long an in-flight dedup record outlives a dead request", dur(func(c *Config) *time.Duration { return &c.PendingTTL })},
	{"HOOKFLOW_MAX_BODY_BYTES", "262144", "larger bodies get 413", integer(func(c *Config) *int { return &c.MaxBodyBytes })},
	{"HOOKFLOW_MAX_IN_FLIGHT", "512", "concurrent Temporal starts before 429", integer(func(c *Config) *int { return &c.MaxInFlight })},
	{"HOOKFLOW_TENANT_MAX_IN_FLIGHT", "128", "each tenant's deliveries per receiver in their Redis claim or Temporal start at once, before that tenant alone gets 429; a tenant's max_in_flight overrides it", integer(func(c *Config) *int { return &c.TenantMaxInFlight })},
	{"HOOKFLOW_TENANT_RATE", "off", "each tenant's deliveries per receiver per second (N/s or N/m), before that tenant alone gets 429; off: no rate cap; a tenant's rate overrides it", rateOrOff(func(c *Config) *float64 { return &c.TenantRate })},
	{"HOOKFLOW_TENANT_BURST", "0", "deliveries a tenant may send at once above its rate; 0: one second's worth; a tenant's burst overrides it", integer(func(c *Config) *int { return &c.TenantBurst })},
	{"HOOKFLOW_START_TIMEOUT", "5s", "how long handing an event to Temporal may take before 503", dur(func(c *Config) *time.Duration { return &c.StartTimeout })},
	{"HOOKFLOW_LINGER", "1h", "how long a workflow stays open after a terminal status", dur(func(c *Config) *time.Duration { return &c.Linger })},
	{"HOOKFLOW_IDLE_TIMEOUT", "720h", "how long a workflow whose entity never reaches a terminal status stays open after its last event (0: for ever); a later event reopens it with its state", dur(func(c *Config) *time.Duration { return &c.IdleTimeout })},
	{"HOOKFLOW_PHOENIX_NOT_FOUND_WINDOW", "2m", "how long the Phoenix API's 404 for an order is retried (it may not have caught up with the webhook) before the webhook's own status applies", dur(func(c *Config) *time.Duration { return &c.NotFoundWindow })},
	{"HOOKFLOW_MAX_EVENTS_PER_RUN", "1000", "webhook events one workflow run handles before it continues as new (a fresh history); the state and event-ID memory carry over", integer(func(c *Config) *int { return &c.MaxEventsPerRun })},
	{"HOOKFLOW_RECONCILE_SCHEDULE", "5m,30m,2h,12h,24h", "when an open entity whose provider has an API is re-read after its last event or check, the last step repeating (each jittered by up to 10%); off: never", schedule(func(c *Config) *[]time.Duration { return &c.ReconcileSchedule })},
	{"HOOKFLOW_RECONCILE_RATE", "5/s", "reconcile reads per provider per second, across all workers (N/s or N/m)", rate(func(c *Config) *float64 { return &c.ReconcileRate })},
	{"HOOKFLOW_OVERDUE", "on", "flag entities still in a status past its deadline (search attribute Overdue, an entity.overdue delivery); off: never", onOff(func(c *Config) *bool { return &c.Overdue })},
	{"HOOKFLOW_METRICS_ADDR", "127.0.0.1:9090", "operations endpoints (/metrics, /readyz, /healthz) of serve, worker and dev, off the webhook port", str(func(c *Config) *string { return &c.MetricsAddr })},
	{"HOOKFLOW_ADMIN_TOKEN", "", "Bearer token(s), comma-separated, of the admin API (/v1/…) on HOOKFLOW_METRICS_ADDR, reaching every tenant; none (and no tenant admin_token_env): the API is off", secrets(func(c *Config) *Secrets { return &c.AdminTokens })},
	{"HOOKFLOW_UI_URL", "http://127.0.0.1:8233", "Temporal Web UI, for the links hookflow status prints", str(func(c *Config) *string { return &c.UIURL })},
	{"PHOENIX_API_URL", DefaultPhoenixAPIURL, "Phoenix orders API (GET /orders/:orderId)", str(func(c *Config) *string { return &c.PhoenixAPIURL })},
	{"HOOKFLOW_SECRETS_KEY", "", "key(s) sealing runtime tenants' secrets with AES-256-GCM, comma-separated (32 bytes, base64 or hex: openssl rand -base64 32); the first seals, each opens (rotation); none: tenants cannot be added at runtime", secrets(func(c *Config) *Secrets { return &c.SecretsKeys })},
	{"HOOKFLOW_PUBLIC_URL", "", "the base URL providers reach the receivers at (https://hooks.example.com); a connection registers it plus the tenant's route; none: connect refuses", str(func(c *Config) *string { return &c.PublicURL })},
	{"UP42_API_URL", DefaultUP42APIURL, "UP42 API, where connect registers UP42 webhooks", str(func(c *Config) *string { return &c.UP42APIURL })},
	{"FENIX_API_URL", "", "Fenix API (its /admin/api/2024-07/webhooks), where connect registers Fenix webhooks; none: connect fenix refuses", str(func(c *Config) *string { return &c.FenixAPIURL })},
	{"HOOKFLOW_FORWARD_URL", "", "URL(s), comma-separated, that every applied transition is POSTed to, signed (Standard Webhooks); none: no HTTP delivery", secrets(func(c *Config) *Secrets { return &c.ForwardURLs })},
	{"HOOKFLOW_FORWARD_SECRET", "", "Standard Webhooks signing secret(s) `whsec_<base64>`, comma-separated; each signs every delivery (rotation)", secrets(func(c *Config) *Secrets { return &c.ForwardSecrets })},
	{"HOOKFLOW_FORWARD_HORIZON", "72h", "how long a transition's delivery is retried (5xx, 429, timeouts) before it is recorded as failed", dur(func(c *Config) *time.Duration { return &c.ForwardHorizon })},
	{"HOOKFLOW_HANDLER_TASK_QUEUE", "", "your task queue: every applied transition is also handed, in order, to your activity there; none: no handler", str(func(c *Config) *string { return &c.HandlerQueue })},
	{"HOOKFLOW_HANDLER_ACTIVITY", "HandleTransition", "the name of that activity", str(func(c *Config) *string { return &c.HandlerActivity })},

	// ---- Connecting to real clusters (cluster.go). Keep this block together.
	{"TEMPORAL_TLS", "", "TLS to Temporal (true or false); when not set, on as soon as TEMPORAL_API_KEY or any TEMPORAL_TLS_* setting is", boolean(func(c *Config) *bool { return &c.TemporalTLS })},
	{"TEMPORAL_TLS_CERT", "", "client certificate file (PEM) for mTLS; with TEMPORAL_TLS_KEY", str(func(c *Config) *string { return &c.TemporalTLSCert })},
	{"TEMPORAL_TLS_KEY", "", "the client certificate's private key file (PEM)", str(func(c *Config) *string { return &c.TemporalTLSKey })},
	{"TEMPORAL_TLS_CA", "", "CA certificate file (PEM) that verifies the Temporal server; none: the system's roots", str(func(c *Config) *string { return &c.TemporalTLSCA })},
	{"TEMPORAL_TLS_SERVER_NAME", "", "the name the server's certificate must carry, when not the host of TEMPORAL_ADDRESS", str(func(c *Config) *string { return &c.TemporalTLSServerName })},
	{"TEMPORAL_API_KEY", "", "Temporal Cloud API key (turns TLS on unless TEMPORAL_TLS=false)", secrets(func(c *Config) *Secrets { return &c.TemporalAPIKey })},
	{"REDIS_USERNAME", "", "Redis ACL user, over the one in REDIS_URL", str(func(c *Config) *string { return &c.RedisUsername })},
	{"REDIS_PASSWORD", "", "Redis password, over the one in REDIS_URL", secrets(func(c *Config) *Secrets { return &c.RedisPassword })},
	{"REDIS_SENTINEL_PASSWORD", "", "the sentinels' own password (redis-sentinel URLs), when they require one", secrets(func(c *Config) *Secrets { return &c.RedisSentinelPassword })},
	{"REDIS_TLS_CA", "", "CA certificate file (PEM) that verifies Redis over TLS (rediss schemes); none: the system's roots", str(func(c *Config) *string { return &c.RedisTLSCA })},
	// ---- end of connecting to real clusters
}

func str(p func(*Config) *string) func(*Config, string) error {
	return func(c *Config, raw string) error { *p(c) = raw; return nil }
}

func dur(p func(*Config) *time.Duration) func(*Config, string) error {
	return func(c *Config, raw string) error {
		d, err := time.ParseDuration(raw)
		if err != nil {
			return fmt.Errorf("not a duration (like 72h or 30s): %q", raw)
		}
		*p(c) = d
		return nil
	}
}

// schedule parses a comma-separated list of positive durations, or off.
func schedule(p func(*Config) *[]time.Duration) func(*Config, string) error {
	return func(c *Config, raw string) error {
		*p(c) = nil
		if strings.TrimSpace(raw) == "off" {
			return nil
		}
		for _, part := range strings.Split(raw, ",") {
			d, err := time.ParseDuration(strings.TrimSpace(part))
			if err != nil || d <= 0 {
				return fmt.Errorf("not off or a list of positive durations (like 5m,30m,2h): %q", raw)
			}
			*p(c) = append(*p(c), d)
		}
		return nil
	}
}

// onOff parses on or off.
func onOff(p func(*Config) *bool) func(*Config, string) error {
	return func(c *Config, raw string) error {
		switch strings.TrimSpace(raw) {
		case "on":
			*p(c) = true
		case "off":
			*p(c) = false
		default:
			return fmt.Errorf("not on or off: %q", raw)
		}
		return nil
	}
}

// rate parses a positive rate, N/s or N/m, into a per-second value.
func rate(p func(*Config) *float64) func(*Config, string) error {
	return func(c *Config, raw string) error {
		v, err := parseRate(raw)
		if err == nil {
			*p(c) = v
		}
		return err
	}
}

// rateOrOff parses off (0) or a positive rate, N/s or N/m, into a
// per-second value.
func rateOrOff(p func(*Config) *float64) func(*Config, string) error {
	return func(c *Config, raw string) error {
		v, err := parseRateOrOff(raw)
		if err == nil {
			*p(c) = v
		}
		return err
	}
}

// parseRateOrOff reads off as 0, or a rate as parseRate does.
func parseRateOrOff(raw string) (float64, error) {
	if strings.TrimSpace(raw) == "off" {
		return 0, nil
	}
	v, err := parseRate(raw)
	if err != nil {
		return 0, fmt.Errorf("not off or a positive rate (like 50/s or 600/m): %q", raw)
	}
	return v, nil
}

// parseRate reads N/s or N/m, positive, as a per-second value.
func parseRate(raw string) (float64, error) {
	n, unit, _ := strings.Cut(strings.TrimSpace(raw), "/")
	per := map[string]float64{"s": 1, "m": 60}[unit]
	v, err := strconv.ParseFloat(n, 64)
	if err != nil || per == 0 || v <= 0 {
		return 0, fmt.Errorf("not a positive rate (like 5/s or 120/m): %q", raw)
	}
	return v / per, nil
}

func integer(p func(*Config) *int) func(*Config, string) error {
	return func(c *Config, raw string) error {
		n, err := strconv.Atoi(raw)
		if err != nil {
			return fmt.Errorf("not an integer: %q", raw)
		}
		*p(c) = n
		return nil
	}
}

func boolean(p func(*Config) *bool) func(*Config, string) error {
	return func(c *Config, raw string) error {
		if raw == "" { // the default: not set
			return nil
		}
		b, err := strconv.ParseBool(raw)
		if err != nil {
			return fmt.Errorf("not true or false: %q", raw)
		}
		*p(c) = b
		return nil
	}
}

// Load reads the YAML file at path (none when path is empty), then the
// environment through getenv (os.Getenv when nil), over the defaults. It
// fails on unreadable files, unknown keys, malformed values and providers
// defined wrongly, naming each; call Validate for the checks that span
// settings.
func Load(path string, getenv func(string) string) (*Config, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	var doc map[string]yaml.Node
	var specs []providers.Spec
	if path != "" {
		var err error
		if doc, err = readDoc(path); err != nil {
			return nil, err
		}
		if node, ok := doc["providers"]; ok {
			delete(doc, "providers")
			if specs, err = providers.DecodeSpecs(&node); err != nil {
				return nil, fmt.Errorf("config %s: %w", path, err)
			}
		}
	}
	reg, err := newRegistry(specs)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	if node, ok := doc["overdue"]; ok {
		delete(doc, "overdue")
		if err := setOverdue(reg, &node); err != nil {
			return nil, fmt.Errorf("config %s: %w", path, err)
		}
	}
	var dests []Destination
	if node, ok := doc["destinations"]; ok {
		delete(doc, "destinations")
		if dests, err = decodeDestinations(&node, getenv); err != nil {
			return nil, fmt.Errorf("config %s: %w", path, err)
		}
	}
	var tenants []Tenant
	if node, ok := doc["tenants"]; ok {
		delete(doc, "tenants")
		if tenants, err = decodeTenants(&node, reg, path, getenv); err != nil {
			return nil, fmt.Errorf("config %s: %w", path, err)
		}
	}
	handler, hasHandler := doc["handler"]
	delete(doc, "handler")
	raw, err := fileValues(path, doc, reg)
	if err != nil {
		return nil, err
	}
	c := &Config{
		set: map[string]bool{}, Providers: reg, FileDestinations: dests, Tenants: tenants,
		ProviderSecrets: map[string]Secrets{}, ProviderSettings: map[string]string{},
	}
	if hasHandler {
		if c.HandlerFilter, err = decodeHandler(&handler, raw); err != nil {
			return nil, fmt.Errorf("config %s: %w", path, err)
		}
	}
	var errs []error
	for _, f := range c.fields() {
		v, ok := raw[f.env]
		if env := getenv(f.env); env != "" {
			v, ok = env, true
		}
		c.set[f.env] = ok
		if !ok {
			v = f.def
		}
		if err := f.store(c, v); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", f.env, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return c, nil
}

// setOverdue applies the file's top-level overdue: {<provider>: {<status>:
// <deadline>}} to the built-in providers; a configured provider sets its
// own in its entry.
func setOverdue(reg *providers.Registry, node *yaml.Node) error {
	var byProvider map[string]map[string]string
	if err := node.Decode(&byProvider); err != nil {
		return fmt.Errorf("overdue: must map providers to {status: deadline}: %w", err)
	}
	builtin := map[string]bool{}
	for _, p := range providers.Builtins() {
		builtin[p.Name] = true
	}
	var errs []error
	for _, name := range slices.Sorted(maps.Keys(byProvider)) {
		if _, known := reg.Get(name); known && !builtin[name] {
			errs = append(errs, fmt.Errorf("overdue.%s: a configured provider's deadlines go in its own entry (providers[%s].overdue)", name, name))
			continue
		}
		errs = append(errs, reg.SetOverdue(name, byProvider[name], "overdue."+name))
	}
	return errors.Join(errs...)
}

// newRegistry builds the providers, refusing a configured provider whose
// secret_env names one of hookflow's own settings.
func newRegistry(specs []providers.Spec) (*providers.Registry, error) {
	own := map[string]bool{}
	for _, f := range fields {
		own[f.env] = true
	}
	for _, p := range providers.Builtins() {
		for _, s := range p.Settings() {
			own[s.Env] = true
		}
	}
	var errs []error
	for _, s := range specs {
		if own[s.Auth.SecretEnv] {
			errs = append(errs, fmt.Errorf("providers[%s].auth.secret_env: %s is a hookflow setting; name a variable of this provider's own", s.Name, s.Auth.SecretEnv))
		}
		if s.API != nil && own[s.API.Auth.SecretEnv] {
			errs = append(errs, fmt.Errorf("providers[%s].api.auth.secret_env: %s is a hookflow setting; name a variable of this provider's own", s.Name, s.API.Auth.SecretEnv))
		}
	}
	reg, err := providers.NewRegistry(specs)
	if err := errors.Join(append(errs, err)...); err != nil {
		return nil, err
	}
	return reg, nil
}

// readDoc parses the YAML file's top level.
func readDoc(path string) (map[string]yaml.Node, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	var doc map[string]yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("parse config %s: %w", path, err)
	}
	return doc, nil
}

// fileValues returns the file's settings keyed by environment name. Values
// may be scalars or, for secrets, lists. Scalars are taken as written: a
// secret such as 0123 stays 0123, not the number YAML would read.
func fileValues(path string, doc map[string]yaml.Node, reg *providers.Registry) (map[string]string, error) {
	known := map[string]bool{}
	for _, f := range (&Config{Providers: reg}).fields() {
		known[f.env] = true
	}
	out := map[string]string{}
	var errs []error
	for key, node := range doc {
		env := strings.ToUpper(key)
		if !known[env] && known["HOOKFLOW_"+env] {
			env = "HOOKFLOW_" + env // http_addr for HOOKFLOW_HTTP_ADDR
		}
		if !known[env] {
			errs = append(errs, fmt.Errorf("config %s: unknown key %q", path, key))
			continue
		}
		switch node.Kind {
		case yaml.SequenceNode:
			parts := make([]string, 0, len(node.Content))
			for _, item := range node.Content {
				parts = append(parts, item.Value)
			}
			out[env] = strings.Join(parts, ",")
		case yaml.ScalarNode:
			if node.Tag != "!!null" {
				out[env] = node.Value
			}
		default:
			errs = append(errs, fmt.Errorf("config %s: %s must be a value or a list", path, key))
		}
	}
	return out, errors.Join(errs...)
}

// Validate checks the settings against each other and their ranges and
// returns one error per problem, joined.
func (c *Config) Validate() error {
	var errs []error
	bad := func(env, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: "+format, append([]any{env}, args...)...))
	}
	if c.HTTPAddr == "" {
		bad("HOOKFLOW_HTTP_ADDR", "must not be empty")
	}
	if _, _, err := net.SplitHostPort(c.MetricsAddr); err != nil {
		bad("HOOKFLOW_METRICS_ADDR", "must be host:port, like 127.0.0.1:9090")
	}
	if c.TemporalAddress == "" {
		bad("TEMPORAL_ADDRESS", "must not be empty")
	}
	if c.TemporalNamespace == "" {
		bad("TEMPORAL_NAMESPACE", "must not be empty")
	}
	if c.TaskQueue == "" {
		bad("HOOKFLOW_TASK_QUEUE", "must not be empty")
	}
	if c.DedupTTL <= 0 {
		bad("HOOKFLOW_DEDUP_TTL", "must be positive")
	}
	if c.PendingTTL <= c.StartTimeout {
		bad("HOOKFLOW_PENDING_TTL", "must be longer than HOOKFLOW_START_TIMEOUT (%s)", c.StartTimeout)
	}
	if c.MaxBodyBytes <= 0 {
		bad("HOOKFLOW_MAX_BODY_BYTES", "must be positive")
	}
	if c.MaxInFlight <= 0 {
		bad("HOOKFLOW_MAX_IN_FLIGHT", "must be positive")
	}
	if c.TenantMaxInFlight <= 0 {
		bad("HOOKFLOW_TENANT_MAX_IN_FLIGHT", "must be positive (at HOOKFLOW_MAX_IN_FLIGHT or more, only the receiver's own bound applies)")
	}
	if c.TenantBurst < 0 {
		bad("HOOKFLOW_TENANT_BURST", "must be 0 (one second's worth of the rate) or positive")
	}
	if c.StartTimeout <= 0 {
		bad("HOOKFLOW_START_TIMEOUT", "must be positive")
	}
	if c.Linger <= 0 {
		bad("HOOKFLOW_LINGER", "must be positive")
	}
	for _, u := range c.ForwardURLs {
		if p, err := url.Parse(u); err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			bad("HOOKFLOW_FORWARD_URL", "every URL must be http:// or https:// with a host")
			break
		}
	}
	if len(c.ForwardURLs) > 0 && len(c.ForwardSecrets) == 0 {
		bad("HOOKFLOW_FORWARD_SECRET", "must be set when HOOKFLOW_FORWARD_URL is: deliveries are always signed")
	}
	for _, sec := range c.ForwardSecrets {
		if _, err := signature.StandardKey(sec); err != nil {
			bad("HOOKFLOW_FORWARD_SECRET", "every secret must be whsec_ followed by base64")
			break
		}
	}
	if c.ForwardHorizon <= 0 {
		bad("HOOKFLOW_FORWARD_HORIZON", "must be positive")
	}
	if c.HandlerQueue != "" && c.HandlerActivity == "" {
		bad("HOOKFLOW_HANDLER_ACTIVITY", "must not be empty when HOOKFLOW_HANDLER_TASK_QUEUE is set")
	}
	if c.NotFoundWindow <= 0 {
		bad("HOOKFLOW_PHOENIX_NOT_FOUND_WINDOW", "must be positive")
	}
	if c.IdleTimeout < 0 {
		bad("HOOKFLOW_IDLE_TIMEOUT", "must be 0 (never) or positive")
	}
	if u, err := url.Parse(c.PhoenixAPIURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		bad("PHOENIX_API_URL", "must be an http:// or https:// URL")
	}
	if c.MaxEventsPerRun <= 0 {
		bad("HOOKFLOW_MAX_EVENTS_PER_RUN", "must be positive")
	}
	if _, err := seal.ParseKeys(c.SecretsKeys); err != nil {
		bad("HOOKFLOW_SECRETS_KEY", "%s", err)
	}
	for _, u := range []struct{ env, value string }{{"HOOKFLOW_PUBLIC_URL", c.PublicURL}, {"UP42_API_URL", c.UP42APIURL}, {"FENIX_API_URL", c.FenixAPIURL}} {
		if v, err := url.Parse(u.value); u.value != "" && (err != nil || (v.Scheme != "http" && v.Scheme != "https") || v.Host == "") {
			bad(u.env, "must be an http:// or https:// URL")
		}
	}
	for _, p := range c.Providers.All() {
		for _, setting := range p.Options {
			if setting.Check != nil {
				if err := setting.Check(c.ProviderSettings[setting.Env]); err != nil {
					bad(setting.Env, "%s", err)
				}
			}
		}
		if p.Secret.Check != nil {
			for _, secret := range c.ProviderSecrets[p.Secret.Env] {
				if err := p.Secret.Check(secret); err != nil {
					bad(p.Secret.Env, "%s", err)
				}
			}
		}
	}
	errs = append(errs, c.validateTenantDestinations()...)
	errs = append(errs, c.validateAdminTokens()...)
	errs = append(errs, c.validateCluster()...) // REDIS_URL and the TLS settings
	return errors.Join(errs...)
}

// UseDevSecrets fills every provider without a secret with its publicly
// known development secret (providers.Provider.DevSecret), as `hookflow
// dev` does so the embedded default works offline with no setup, and
// returns the environment names it filled, in registry order. serve and
// worker never call it.
func (c *Config) UseDevSecrets() []string {
	var filled []string
	for _, p := range c.Providers.All() {
		env := p.Secret.Env
		if c.set[env] || len(c.ProviderSecrets[env]) > 0 || slices.Contains(filled, env) {
			continue
		}
		c.ProviderSecrets[env] = Secrets{p.DevSecret}
		filled = append(filled, env)
	}
	return filled
}

// DevSecretsKey is the development key that seals runtime tenants'
// secrets where HOOKFLOW_SECRETS_KEY is not set, in `hookflow dev` and in
// the commands that talk to it. It is public: what it seals is as good as
// clear text.
const DevSecretsKey = "aG9va2Zsb3ctZGV2LWtleS1wdWJsaWMtbm90LXNhZmU="

// UseDevConnections fits cfg for a development deployment's runtime
// tenants and connections, for each setting not set: the public
// DevSecretsKey, providers reaching the receivers at base, and the
// registration stand-ins under base (devtools' sandboxes). It returns the
// settings it filled.
func (c *Config) UseDevConnections(base, up42API, fenixAPI string) []string {
	var filled []string
	fill := func(env string, p *string, v string) {
		if !c.set[env] {
			*p = v
			filled = append(filled, env)
		}
	}
	c.DevConnections = true
	if !c.set["HOOKFLOW_SECRETS_KEY"] && len(c.SecretsKeys) == 0 {
		c.SecretsKeys = Secrets{DevSecretsKey}
		filled = append(filled, "HOOKFLOW_SECRETS_KEY")
	}
	fill("HOOKFLOW_PUBLIC_URL", &c.PublicURL, base)
	fill("UP42_API_URL", &c.UP42APIURL, up42API)
	fill("FENIX_API_URL", &c.FenixAPIURL, fenixAPI)
	return filled
}

func secrets(p func(*Config) *Secrets) func(*Config, string) error {
	return func(c *Config, raw string) error {
		*p(c) = Secrets(providers.SplitSecrets(raw))
		return nil
	}
}
