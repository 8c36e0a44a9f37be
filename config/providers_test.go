package config_test

import (
	"strings"
	"testing"
	"time"

	"github.com/hookflow/hookflow/config"
)

// acme is a valid configured provider; each case below breaks one key.
const acme = `
  - name: acme
    route: /webhooks/acme
    entity_type: order
    auth:
      scheme: hmac
      header: X-Acme-Signature
      encoding: hex
      prefix: "sha256="
      secret_env: ACME_WEBHOOK_SECRET
    fields:
      entity_id: data.order.id
      status: data.order.status
      event_id: id
      time: created_at
      type: type
    accept_types: [order.updated]
    states:
      - [created]
      - [paid]
      - [delivered, cancelled]
    terminal: [delivered, cancelled]
    anytime: [on_hold]
`

// TestConfiguredProviderErrors: each mistake in a configured provider is
// one error naming the provider and the key.
func TestConfiguredProviderErrors(t *testing.T) {
	tests := []struct {
		name    string
		old     string // in acme, replaced by new
		new     string
		extra   string // another provider, appended
		want    string // the error's start
		wantMsg string // and a part of its message
	}{
		{name: "valid"},
		{name: "scheme", old: "scheme: hmac", new: "scheme: hmac-sha1", want: "providers[acme].auth.scheme: ", wantMsg: "must be one of bearer, header, hmac, standard-webhooks"},
		{name: "built-in name", old: "name: acme", new: "name: fenix", want: "providers[fenix].name: ", wantMsg: "built-in"},
		{name: "name form", old: "name: acme", new: "name: Acme_Corp", want: "providers[Acme_Corp].name: ", wantMsg: "[a-z0-9-]+"},
		{name: "no name", old: "name: acme", new: "doc: nameless", want: "providers[0].name: ", wantMsg: "required"},
		{name: "route of a built-in", old: "route: /webhooks/acme", new: "route: /webhooks/phoenix", want: "providers[acme].route: ", wantMsg: "phoenix"},
		{name: "route form", old: "route: /webhooks/acme", new: "route: webhooks", want: "providers[acme].route: "},
		{name: "entity type with a hyphen", old: "entity_type: order", new: "entity_type: sales-order", want: "providers[acme].entity_type: "},
		{name: "hmac without header", old: "header: X-Acme-Signature", new: "", want: "providers[acme].auth.header: ", wantMsg: "required"},
		{name: "encoding", old: "encoding: hex", new: "encoding: base32", want: "providers[acme].auth.encoding: ", wantMsg: "hex or base64"},
		{name: "tolerance outside standard-webhooks", old: "prefix: \"sha256=\"", new: "prefix: \"sha256=\"\n      tolerance: 5m", want: "providers[acme].auth.tolerance: "},
		{name: "secret in secret_env", old: "secret_env: ACME_WEBHOOK_SECRET", new: "secret_env: s3cr3t-value", want: "providers[acme].auth.secret_env: ", wantMsg: "environment variable"},
		{name: "secret_env of a hookflow setting", old: "secret_env: ACME_WEBHOOK_SECRET", new: "secret_env: PHOENIX_WEBHOOK_SECRET", want: "providers[acme].auth.secret_env: "},
		{name: "missing status field", old: "status: data.order.status", new: "", want: "providers[acme].fields.status: ", wantMsg: "required"},
		{name: "bad path", old: "entity_id: data.order.id", new: "entity_id: data..id", want: "providers[acme].fields.entity_id: "},
		{name: "accept_types without type", old: "type: type", new: "", want: "providers[acme].accept_types: "},
		{name: "terminal not a state", old: "terminal: [delivered, cancelled]", new: "terminal: [done]", want: "providers[acme].terminal: ", wantMsg: "done"},
		{name: "state twice", old: "- [paid]", new: "- [paid, created]", want: "providers[acme].states[1]: ", wantMsg: "created"},
		{name: "anytime ranked", old: "anytime: [on_hold]", new: "anytime: [paid]", want: "providers[acme].anytime: "},
		{name: "unknown key", old: "entity_type: order", new: "entity_type: order\n    colour: blue", want: "providers[acme].colour: ", wantMsg: "unknown key"},
		{name: "unknown auth key", old: "scheme: hmac", new: "scheme: hmac\n      algorithm: sha256", want: "providers[acme].auth.algorithm: ", wantMsg: "unknown key"},
		{name: "defined twice", extra: acme, want: "providers[acme].", wantMsg: "twice"},
		{name: "api secret not set", old: "anytime: [on_hold]", new: "anytime: [on_hold]\n    api:\n      url: https://api.acme.example/orders/{entity_id}\n      status: data.order.status\n      auth: {header: Authorization, prefix: \"Bearer \", secret_env: ACME_API_TOKEN}", want: "ACME_API_TOKEN: ", wantMsg: "is not set: the acme provider's api.auth"},
		{name: "api url without entity_id", old: "anytime: [on_hold]", new: "anytime: [on_hold]\n    api:\n      url: https://api.acme.example/orders\n      status: data.status", want: "providers[acme].api.url: ", wantMsg: "{entity_id}"},
		{name: "api url scheme", old: "anytime: [on_hold]", new: "anytime: [on_hold]\n    api:\n      url: ftp://api.acme.example/{entity_id}\n      status: data.status", want: "providers[acme].api.url: ", wantMsg: "http"},
		{name: "api status path", old: "anytime: [on_hold]", new: "anytime: [on_hold]\n    api:\n      url: https://a.example/{entity_id}\n      status: data..status", want: "providers[acme].api.status: ", wantMsg: "dotted path"},
		{name: "api auth header", old: "anytime: [on_hold]", new: "anytime: [on_hold]\n    api:\n      url: https://a.example/{entity_id}\n      status: status\n      auth: {header: \"Bad Header\", secret_env: ACME_API_TOKEN}", want: "providers[acme].api.auth.header: ", wantMsg: "header name"},
		{name: "api auth secret_env", old: "anytime: [on_hold]", new: "anytime: [on_hold]\n    api:\n      url: https://a.example/{entity_id}\n      status: status\n      auth: {header: Authorization, secret_env: s3cr3t-value}", want: "providers[acme].api.auth.secret_env: ", wantMsg: "environment variable"},
		{name: "api auth hookflow setting", old: "anytime: [on_hold]", new: "anytime: [on_hold]\n    api:\n      url: https://a.example/{entity_id}\n      status: status\n      auth: {header: Authorization, secret_env: REDIS_PASSWORD}", want: "providers[acme].api.auth.secret_env: ", wantMsg: "hookflow setting"},
		{name: "api unknown key", old: "anytime: [on_hold]", new: "anytime: [on_hold]\n    api:\n      url: https://a.example/{entity_id}\n      status: status\n      method: POST", want: "providers[acme].api.method: ", wantMsg: "unknown key"},
		{name: "api auth unknown key", old: "anytime: [on_hold]", new: "anytime: [on_hold]\n    api:\n      url: https://a.example/{entity_id}\n      status: status\n      auth: {header: Authorization, secret_env: ACME_API_TOKEN, scheme: bearer}", want: "providers[acme].api.auth.scheme: ", wantMsg: "unknown key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := acme
			if tt.old != "" {
				if !strings.Contains(spec, tt.old) {
					t.Fatalf("%q is not in the spec", tt.old)
				}
				spec = strings.Replace(spec, tt.old, tt.new, 1)
			}
			path := writeFile(t, "providers:"+spec+tt.extra)
			c, err := config.Load(path, env(nil))
			if err == nil {
				err = c.Validate()
			}
			if tt.want == "" {
				if err != nil {
					t.Fatalf("valid provider refused: %v", err)
				}
				if _, ok := c.Providers.Get("acme"); !ok {
					t.Fatal("acme is not in the registry")
				}
				return
			}
			if err == nil {
				t.Fatalf("accepted, want an error starting %q", tt.want)
			}
			var found bool
			for _, line := range strings.Split(err.Error(), "\n") {
				if i := strings.Index(line, "providers["); i >= 0 {
					line = line[i:] // after "config <path>: "
				}
				if strings.HasPrefix(line, tt.want) && strings.Contains(line, tt.wantMsg) {
					found = true
				}
			}
			if !found {
				t.Errorf("got %q, want a line starting %q with %q", err, tt.want, tt.wantMsg)
			}
			if strings.Contains(err.Error(), "s3cr3t-value") {
				t.Errorf("the error repeats what may be a secret: %q", err)
			}
		})
	}
}

// TestConfiguredProviderSecret: a configured provider's secret comes from
// its secret_env, several comma-separated, and hookflow dev gives it a
// development secret when none is set.
func TestConfiguredProviderSecret(t *testing.T) {
	path := writeFile(t, "providers:"+acme)
	c := mustLoad(t, path, map[string]string{"ACME_WEBHOOK_SECRET": "one, two"})
	if got := strings.Join(c.Secrets("ACME_WEBHOOK_SECRET"), "|"); got != "one|two" {
		t.Errorf("secrets %q, want one|two", got)
	}
	c = mustLoad(t, path, nil)
	filled := c.UseDevSecrets()
	if !strings.Contains(strings.Join(filled, ","), "ACME_WEBHOOK_SECRET") || c.Secrets("ACME_WEBHOOK_SECRET")[0] != "dev-acme-secret" {
		t.Errorf("dev secrets filled %v, acme's %q", filled, c.Secrets("ACME_WEBHOOK_SECRET"))
	}
}

// TestOverdueDeadlines: the built-in defaults, a top-level override for a
// built-in provider, a configured provider's own, HOOKFLOW_OVERDUE=off, and
// each mistake named by provider and key.
func TestOverdueDeadlines(t *testing.T) {
	path := writeFile(t, "overdue:\n  fenix: {IN_TRANSIT: 5d, OUT_FOR_DELIVERY: 36h}\nproviders:"+acme+"    overdue: {paid: 2d}\n")
	cfg, err := config.Load(path, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	const day = 24 * time.Hour
	for _, c := range []struct {
		provider, status string
		want             time.Duration
	}{
		{"fenix", "IN_TRANSIT", 5 * day}, {"fenix", "OUT_FOR_DELIVERY", 36 * time.Hour}, {"fenix", "LABEL_CREATED", 3 * day},
		{"phoenix", "pending", day}, {"up42", "BEING_FULFILLED", 3 * day}, {"phosphor", "CREATED", 30 * day}, {"acme", "paid", 2 * day},
	} {
		if got := cfg.Providers.Overdue(c.provider)[c.status]; got != c.want {
			t.Errorf("%s %s: deadline %s, want %s", c.provider, c.status, got, c.want)
		}
	}
	if !cfg.Overdue {
		t.Error("HOOKFLOW_OVERDUE is not on by default")
	}
	if cfg, err := config.Load("", env(map[string]string{"HOOKFLOW_OVERDUE": "off"})); err != nil || cfg.Overdue {
		t.Errorf("HOOKFLOW_OVERDUE=off: %v, overdue %v", err, cfg != nil && cfg.Overdue)
	}

	for yaml, want := range map[string]string{
		"overdue:\n  fenix: {IN_TRANSIT: soon}\n":              "overdue.fenix.IN_TRANSIT: not a positive duration",
		"overdue:\n  fenix: {SHIPPED: 5d}\n":                   "overdue.fenix.SHIPPED: fenix has no status SHIPPED",
		"overdue:\n  fedex: {IN_TRANSIT: 5d}\n":                "overdue.fedex: no provider fedex",
		"providers:" + acme + "overdue:\n  acme: {paid: 2d}\n": "overdue.acme: a configured provider's deadlines go in its own entry",
		"providers:" + acme + "    overdue: {shipped: 2d}\n":   "providers[acme].overdue.shipped: acme has no status shipped",
		"providers:" + acme + "    overdue: {paid: -2d}\n":     "providers[acme].overdue.paid: not a positive duration",
		"overdue: [fenix]\n":                                   "overdue: must map providers",
	} {
		_, err := config.Load(writeFile(t, yaml), env(nil))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: got %v, want an error with %q", yaml, err, want)
		}
	}
}

// TestConfiguredProviderAPI: an api: block makes the provider's entities
// read their status from it (table API), with its credential from the
// named variable, the ID path-escaped into the URL and the status found at
// the dotted path.
func TestConfiguredProviderAPI(t *testing.T) {
	spec := strings.Replace(acme, "anytime: [on_hold]", "anytime: [on_hold]\n    api:\n      url: https://api.acme.example/orders/{entity_id}?v=2\n      status: data.order.status\n      auth: {header: Authorization, prefix: \"Bearer \", secret_env: ACME_API_TOKEN}", 1)
	c := mustLoad(t, writeFile(t, "providers:"+spec), map[string]string{"ACME_API_TOKEN": "tok"})
	p, _ := c.Providers.Get("acme")
	if p.API == nil || !p.Tables["order"].API {
		t.Fatalf("acme API %v, table API %v; want both", p.API, p.Tables["order"].API)
	}
	if got := p.API.URLFor("o 1/ü"); got != "https://api.acme.example/orders/o%201%2F%C3%BC?v=2" {
		t.Errorf("URL %s", got)
	}
	if p.API.Header != "Authorization" || p.API.Prefix+c.Setting(p.API.SecretEnv) != "Bearer tok" {
		t.Errorf("credential %s: %s%s", p.API.Header, p.API.Prefix, c.Setting(p.API.SecretEnv))
	}
	for body, want := range map[string]string{
		`{"data":{"order":{"status":"paid"}}}`: "paid",
		`{"data":{"order":{"status":3}}}`:      "3",
		`<html>`:                               "",
		`{"data":{"order":{"status":{}}}}`:     "",
	} {
		if got, ok := p.API.StatusOf([]byte(body)); got != want || ok != (want != "") {
			t.Errorf("StatusOf(%s) = %q, %v; want %q", body, got, ok, want)
		}
	}
}
