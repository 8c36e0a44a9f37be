package config_test

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/hookflow/hookflow/config"
)

const twoTenants = `
tenants:
  - id: wearhumans.myshopify.com
    providers:
      fenix: {secret_env: WEARHUMANS_FENIX_SECRET}
      phoenix: {secret_file: wearhumans-phoenix.secret}
  - id: store-b
    providers:
      fenix: {secret_env: STORE_B_FENIX_SECRET}
`

// TestLoadTenants: each tenant's secrets come from its variable or its
// file, several comma-separated (and one a line in a file) for rotation.
func TestLoadTenants(t *testing.T) {
	path := writeFile(t, twoTenants)
	if err := os.WriteFile(filepath.Join(filepath.Dir(path), "wearhumans-phoenix.secret"), []byte("p-old, p-new\np-next\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"WEARHUMANS_FENIX_SECRET": "f-a1,f-a2", "STORE_B_FENIX_SECRET": "f-b"}
	c, err := config.Load(path, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	want := []config.Tenant{
		{ID: "wearhumans.myshopify.com", Secrets: map[string]config.Secrets{
			"fenix": {"f-a1", "f-a2"}, "phoenix": {"p-old", "p-new", "p-next"}}},
		{ID: "store-b", Secrets: map[string]config.Secrets{"fenix": {"f-b"}}},
	}
	if !reflect.DeepEqual(c.Tenants, want) {
		t.Errorf("Tenants = %#v, want %#v", c.Tenants, want)
	}
}

// TestLoadNoTenants: without tenants: there are none.
func TestLoadNoTenants(t *testing.T) {
	c, err := config.Load(writeFile(t, "http_addr: \":9090\"\n"), func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	if c.Tenants != nil {
		t.Errorf("Tenants = %#v, want none", c.Tenants)
	}
}

// TestLoadTenantsRefused: every wrong tenant stops start-up with a line
// naming it, and the key; the keys not enforced yet are refused by name.
func TestLoadTenantsRefused(t *testing.T) {
	entry := func(id string) string {
		return "tenants:\n  - id: " + id + "\n    providers: {phoenix: {secret_env: S}}\n"
	}
	tests := []struct{ name, yaml, want string }{
		{"at", entry(`"a@b"`), `tenants[0 "a@b"].id: must match`},
		{"colon", entry(`"a:b"`), `tenants[0 "a:b"].id: must match`},
		{"slash", entry(`"a/b"`), `tenants[0 "a/b"].id: must match`},
		{"dotdot", entry(`"a..b"`), `tenants[0 "a..b"].id: must match`},
		{"percent", entry(`"a%40b"`), `tenants[0 "a%40b"].id: must match`},
		{"upper", entry(`Store`), `tenants[0 "Store"].id: must match`},
		{"leading dash", entry(`"-a"`), `tenants[0 "-a"].id: must match`},
		{"non-ascii", entry(`"müller"`), `.id: must match`},
		{"64 bytes", entry(strings.Repeat("a", 64)), `.id: must match`},
		{"empty", entry(`""`), `tenants[0 ""].id: is required`},
		{"no id", "tenants:\n  - providers: {phoenix: {secret_env: S}}\n", `tenants[0].id: is required`},
		{"duplicate", "tenants:\n  - id: a\n    providers: {phoenix: {secret_env: S}}\n  - id: a\n    providers: {phoenix: {secret_env: S}}\n",
			`tenants[1 "a"].id: is defined twice`},
		{"unknown provider", "tenants:\n  - id: a\n    providers: {shopify: {secret_env: S}}\n", `tenants[0 "a"].providers.shopify: unknown provider`},
		{"missing secret", "tenants:\n  - id: a\n    providers: {phoenix: {secret_env: UNSET}}\n", `tenants[0 "a"].providers.phoenix: secret_env: UNSET is not set`},
		{"blank secret", "tenants:\n  - id: a\n    providers: {phoenix: {secret_env: BLANK}}\n", `tenants[0 "a"].providers.phoenix: holds no secret`},
		{"no secret key", "tenants:\n  - id: a\n    providers: {phoenix: {}}\n", `tenants[0 "a"].providers.phoenix: needs secret_env or secret_file`},
		{"both", "tenants:\n  - id: a\n    providers: {phoenix: {secret_env: S, secret_file: f}}\n", `not both`},
		{"missing file", "tenants:\n  - id: a\n    providers: {phoenix: {secret_file: nowhere.secret}}\n", `tenants[0 "a"].providers.phoenix: secret_file:`},
		{"no providers", "tenants:\n  - id: a\n", `tenants[0 "a"].providers: must map at least one provider`},
		{"destinations not a list", "tenants:\n  - id: a\n    providers: {phoenix: {secret_env: S}}\n    destinations: {warehouse: x}\n", `tenants[0 "a"].destinations: must be a list`},
		{"admin token unset", "tenants:\n  - id: a\n    providers: {phoenix: {secret_env: S}}\n    admin_token_env: UNSET\n", `tenants[0 "a"].admin_token_env: UNSET is not set`},
		{"admin token blank", "tenants:\n  - id: a\n    providers: {phoenix: {secret_env: S}}\n    admin_token_env: BLANK\n", `tenants[0 "a"].admin_token_env: BLANK is not set`},
		{"admin token empty", "tenants:\n  - id: a\n    providers: {phoenix: {secret_env: S}}\n    admin_token_env: \"\"\n", `tenants[0 "a"].admin_token_env: must name the environment variable`},
		{"unknown key", "tenants:\n  - id: a\n    providers: {phoenix: {secret_env: S}}\n    secrets: x\n", `unknown key`},
		{"not a list", "tenants: {id: a}\n", `tenants: must be a list`},
		{"bad phantom token", "tenants:\n  - id: a\n    providers: {phantom: {secret_env: S}}\n", `tenants[0 "a"].providers.phantom:`},
	}
	env := map[string]string{"S": "s3cret-value", "BLANK": " , "}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := config.Load(writeFile(t, tt.yaml), func(k string) string { return env[k] })
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one containing %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "s3cret-value") {
				t.Errorf("the error shows a secret: %v", err)
			}
		})
	}
}

// tenantDestinations: store a owns a-sink, store b owns b-sink, audit
// takes every tenant's, and legacy (listed by nobody) is the default
// tenant's; HOOKFLOW_FORWARD_URL's default is the deployment's own.
const tenantDestinations = `
destinations:
  - {name: a-sink, url_env: A_URL, secret_env: WHSEC}
  - {name: b-sink, url_env: B_URL, secret_env: WHSEC}
  - {name: audit, url_env: AUDIT_URL, secret_env: WHSEC, tenants: all}
  - {name: legacy, url_env: LEGACY_URL, secret_env: WHSEC}
  - {name: b-delivered, url_env: B_URL, secret_env: WHSEC, tenants: all, filter: {tenants: [b], to: DELIVERED}}
tenants:
  - id: a
    providers: {fenix: {secret_env: S}}
    destinations: [a-sink]
  - id: b
    providers: {fenix: {secret_env: S}}
    destinations: [b-sink]
`

var tenantDestinationsEnv = map[string]string{
	"S": "s", "WHSEC": "whsec_c2VjcmV0", "A_URL": "https://a.example/hook", "B_URL": "https://b.example/hook",
	"AUDIT_URL": "https://audit.example/hook", "LEGACY_URL": "https://legacy.example/hook",
	"HOOKFLOW_FORWARD_URL": "https://ops.example/hook", "HOOKFLOW_FORWARD_SECRET": "whsec_c2VjcmV0",
}

// TestDestinationsFor: a tenant's transitions go to the destinations it
// owns and to every tenant's; the default tenant keeps those nobody owns.
func TestDestinationsFor(t *testing.T) {
	c, err := config.Load(writeFile(t, tenantDestinations), func(k string) string { return tenantDestinationsEnv[k] })
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	names := func(tenant string) []string {
		var out []string
		for _, d := range c.DestinationsFor(tenant) {
			out = append(out, d.Name)
		}
		return out
	}
	for tenant, want := range map[string][]string{
		"a":       {"default", "a-sink", "audit", "b-delivered"},
		"b":       {"default", "b-sink", "audit", "b-delivered"},
		"":        {"default", "audit", "legacy", "b-delivered"},
		"unknown": {"default", "audit", "b-delivered"},
	} {
		if got := names(tenant); !reflect.DeepEqual(got, want) {
			t.Errorf("DestinationsFor(%q) = %q, want %q", tenant, got, want)
		}
	}
	if got := c.FileDestinations[4].Filter.Tenants; !reflect.DeepEqual(got, []string{"b"}) {
		t.Errorf("b-delivered's filter tenants = %q, want [b]", got)
	}
}

// TestDestinationsForWithoutTenants: with no tenants every destination is
// the default tenant's, as before tenants.
func TestDestinationsForWithoutTenants(t *testing.T) {
	yaml := "destinations:\n  - {name: a-sink, url_env: A_URL, secret_env: WHSEC}\n"
	c, err := config.Load(writeFile(t, yaml), func(k string) string { return tenantDestinationsEnv[k] })
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(c.DestinationsFor("")), len(c.Destinations()); got != want || got != 2 {
		t.Errorf("DestinationsFor(\"\") has %d destinations, want all %d", got, want)
	}
}

// TestTenantDestinationsRefused: a destination has one owner, exists, and
// a filter names configured tenants; every error names the tenant or the
// destination.
func TestTenantDestinationsRefused(t *testing.T) {
	const dests = "destinations:\n  - {name: a-sink, url_env: A_URL, secret_env: WHSEC}\n  - {name: audit, url_env: AUDIT_URL, secret_env: WHSEC, tenants: all}\n"
	tenant := func(id, destinations string) string {
		return "  - id: " + id + "\n    providers: {fenix: {secret_env: S}}\n    destinations: " + destinations + "\n"
	}
	tests := []struct{ name, yaml, want string }{
		{"unknown", dests + "tenants:\n" + tenant("a", "[nowhere]"), `tenants[0 "a"].destinations: "nowhere" is not one of the file's destinations`},
		{"forward url", dests + "tenants:\n" + tenant("a", "[default]"), `tenants[0 "a"].destinations: "default" is not one of the file's destinations`},
		{"two owners", dests + "tenants:\n" + tenant("a", "[a-sink]") + tenant("b", "[a-sink]"), `tenants[1 "b"].destinations: "a-sink" is tenant "a"'s`},
		{"all already", dests + "tenants:\n" + tenant("a", "[audit]"), `tenants[0 "a"].destinations: "audit" is every tenant's already`},
		{"filter unknown tenant", "destinations:\n  - {name: a-sink, url_env: A_URL, secret_env: WHSEC, filter: {tenants: [c]}}\ntenants:\n" + tenant("a", "[a-sink]"), `destinations[a-sink].filter: tenants: "c" is not a configured tenant`},
		{"tenants not all", "destinations:\n  - {name: a-sink, url_env: A_URL, secret_env: WHSEC, tenants: [a]}\n", `destinations[a-sink].tenants: must be "all"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := config.Load(writeFile(t, tt.yaml), func(k string) string { return tenantDestinationsEnv[k] })
			if err == nil {
				err = c.Validate()
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

// TestTenantAdminTokens: admin_token_env holds one or several
// comma-separated tokens; the admin API is on with tenant tokens alone.
func TestTenantAdminTokens(t *testing.T) {
	path := writeFile(t, "tenants:\n  - id: a\n    providers: {phoenix: {secret_env: S}}\n    admin_token_env: A_TOKEN\n  - id: b\n    providers: {phoenix: {secret_env: S}}\n")
	env := map[string]string{"S": "s", "A_TOKEN": "a-old, a-new"}
	c, err := config.Load(path, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if got, want := c.Tenants[0].AdminTokens, (config.Secrets{"a-old", "a-new"}); !reflect.DeepEqual(got, want) {
		t.Errorf("tenant a's tokens = %q, want %q", []string(got), []string(want))
	}
	if c.Tenants[1].AdminTokens != nil {
		t.Errorf("tenant b's tokens = %q, want none", []string(c.Tenants[1].AdminTokens))
	}
	if !c.AdminAPI() {
		t.Error("AdminAPI() = false with a tenant token, want true")
	}
	c, err = config.Load(writeFile(t, "tenants:\n  - id: a\n    providers: {phoenix: {secret_env: S}}\n"), func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if c.AdminAPI() {
		t.Error("AdminAPI() = true with no token, want false")
	}
}

// TestTenantAdminTokenShared: a tenant token that is also another
// tenant's, or a global one, stops start-up naming the tenant, not the
// token.
func TestTenantAdminTokenShared(t *testing.T) {
	two := "tenants:\n  - id: a\n    providers: {phoenix: {secret_env: S}}\n    admin_token_env: A_TOKEN\n  - id: b\n    providers: {phoenix: {secret_env: S}}\n    admin_token_env: B_TOKEN\n"
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"another tenant's", map[string]string{"A_TOKEN": "tok-a,sh4red-tok", "B_TOKEN": "sh4red-tok"}, `tenants[1 "b"].admin_token_env: a token is also tenant "a"'s`},
		{"a global one", map[string]string{"A_TOKEN": "sh4red-tok", "B_TOKEN": "tok-b", "HOOKFLOW_ADMIN_TOKEN": "g, sh4red-tok"}, `tenants[0 "a"].admin_token_env: a token is also HOOKFLOW_ADMIN_TOKEN's`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.env["S"] = "s"
			c, err := config.Load(writeFile(t, two), func(k string) string { return tt.env[k] })
			if err != nil {
				t.Fatal(err)
			}
			err = c.Validate()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Validate = %v, want an error containing %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "sh4red-tok") {
				t.Errorf("the error shows a token: %v", err)
			}
		})
	}
}

// TestTenantLimits: every tenant meets HOOKFLOW_TENANT_* at the receivers
// unless its entry sets its own caps; a burst left unset is one second's
// worth of the rate, and there is none without a rate.
func TestTenantLimits(t *testing.T) {
	const yaml = `
tenants:
  - id: plain
    providers: {phoenix: {secret_env: S}}
  - id: own
    providers: {phoenix: {secret_env: S}}
    max_in_flight: 8
    rate: 600/m
  - id: bursty
    providers: {phoenix: {secret_env: S}}
    rate: 2.5/s
    burst: 40
  - id: unmetered
    providers: {phoenix: {secret_env: S}}
    rate: off
`
	tests := []struct {
		name string
		env  map[string]string
		want map[string]config.TenantLimits
	}{
		{"defaults", nil, map[string]config.TenantLimits{
			"plain":     {MaxInFlight: 128},
			"own":       {MaxInFlight: 8, Rate: 10, Burst: 10},
			"bursty":    {MaxInFlight: 128, Rate: 2.5, Burst: 40},
			"unmetered": {MaxInFlight: 128},
		}},
		{"environment", map[string]string{"HOOKFLOW_TENANT_MAX_IN_FLIGHT": "32", "HOOKFLOW_TENANT_RATE": "5/s", "HOOKFLOW_TENANT_BURST": "20"}, map[string]config.TenantLimits{
			"plain":     {MaxInFlight: 32, Rate: 5, Burst: 20},
			"own":       {MaxInFlight: 8, Rate: 10, Burst: 20},
			"bursty":    {MaxInFlight: 32, Rate: 2.5, Burst: 40},
			"unmetered": {MaxInFlight: 32},
		}},
		{"a fraction of one a second", map[string]string{"HOOKFLOW_TENANT_RATE": "30/m"}, map[string]config.TenantLimits{
			"plain": {MaxInFlight: 128, Rate: 0.5, Burst: 1},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{"S": "s"}
			for k, v := range tt.env {
				env[k] = v
			}
			c, err := config.Load(writeFile(t, yaml), func(k string) string { return env[k] })
			if err != nil {
				t.Fatal(err)
			}
			if err := c.Validate(); err != nil {
				t.Fatal(err)
			}
			for _, tenant := range c.Tenants {
				want, ok := tt.want[tenant.ID]
				if !ok {
					continue
				}
				if got := c.TenantLimits(tenant); got != want {
					t.Errorf("%s: TenantLimits = %+v, want %+v", tenant.ID, got, want)
				}
			}
		})
	}
}

// TestTenantLimitsRefused: a wrong cap stops start-up with a line naming
// the tenant and the key, or the variable.
func TestTenantLimitsRefused(t *testing.T) {
	entry := func(extra string) string {
		return "tenants:\n  - id: store-a\n    providers: {phoenix: {secret_env: S}}\n  - id: store-b\n    providers: {phoenix: {secret_env: S}}\n    " + extra + "\n"
	}
	tests := []struct{ name, yaml, want string }{
		{"zero in flight", entry("max_in_flight: 0"), `tenants[1 "store-b"].max_in_flight: must be a positive integer, not "0"`},
		{"negative in flight", entry("max_in_flight: -3"), `tenants[1 "store-b"].max_in_flight: must be a positive integer`},
		{"word in flight", entry("max_in_flight: lots"), `tenants[1 "store-b"].max_in_flight: must be a positive integer, not "lots"`},
		{"list in flight", entry("max_in_flight: [1]"), `tenants[1 "store-b"].max_in_flight: must be a positive integer`},
		{"rate without unit", entry("rate: 50"), `tenants[1 "store-b"].rate: must be off or a positive rate (like 50/s or 600/m), not "50"`},
		{"zero rate", entry("rate: 0/s"), `tenants[1 "store-b"].rate: must be off or a positive rate`},
		{"rate per hour", entry("rate: 5/h"), `tenants[1 "store-b"].rate: must be off or a positive rate`},
		{"zero burst", entry("burst: 0"), `tenants[1 "store-b"].burst: must be a positive integer, not "0"`},
		{"fractional burst", entry("burst: 1.5"), `tenants[1 "store-b"].burst: must be a positive integer, not "1.5"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := config.Load(writeFile(t, tt.yaml), func(k string) string { return map[string]string{"S": "s"}[k] })
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one containing %q", err, tt.want)
			}
		})
	}

	for _, tt := range []struct{ env, value, want string }{
		{"HOOKFLOW_TENANT_MAX_IN_FLIGHT", "0", "HOOKFLOW_TENANT_MAX_IN_FLIGHT: must be positive"},
		{"HOOKFLOW_TENANT_MAX_IN_FLIGHT", "x", "HOOKFLOW_TENANT_MAX_IN_FLIGHT: not an integer"},
		{"HOOKFLOW_TENANT_RATE", "50", "HOOKFLOW_TENANT_RATE: not off or a positive rate"},
		{"HOOKFLOW_TENANT_BURST", "-1", "HOOKFLOW_TENANT_BURST: must be 0"},
	} {
		t.Run(tt.env+"="+tt.value, func(t *testing.T) {
			c, err := config.Load("", func(k string) string { return map[string]string{tt.env: tt.value}[k] })
			if err == nil {
				err = c.Validate()
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

// TestTenantConnectionSettings: a tenant's provider entry may give the API
// token a connection registers with (access_token_env) and the provider's
// filters (any YAML, kept as JSON); a token variable not set and filters
// past their bound stop start-up naming the key.
func TestTenantConnectionSettings(t *testing.T) {
	env := map[string]string{"S": "fenix-secret", "T": "store-token"}
	c, err := config.Load(writeFile(t, "tenants:\n  - id: shop\n    providers:\n      fenix:\n        secret_env: S\n        access_token_env: T\n"+
		"        filters: [{carrier: UPS, sub_filter: {delivery_statuses: [DELIVERED]}}]\n"), func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	got := c.Tenants[0]
	if len(got.AccessTokens["fenix"]) != 1 || got.AccessTokens["fenix"][0] != "store-token" {
		t.Errorf("access tokens %v, want the variable's", got.AccessTokens)
	}
	if want := `[{"carrier":"UPS","sub_filter":{"delivery_statuses":["DELIVERED"]}}]`; string(got.Filters["fenix"]) != want {
		t.Errorf("filters %s, want %s", got.Filters["fenix"], want)
	}
	for _, tt := range []struct{ name, yaml, want string }{
		{"token not set", "tenants:\n  - id: shop\n    providers: {fenix: {secret_env: S, access_token_env: NOPE}}\n", "providers.fenix.access_token_env"},
		{"filters too large", "tenants:\n  - id: shop\n    providers: {fenix: {secret_env: S, filters: \"" + strings.Repeat("x", config.MaxTenantFilters) + "\"}}\n", "providers.fenix.filters"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := config.Load(writeFile(t, tt.yaml), func(k string) string { return env[k] })
			if err == nil || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "store-token") {
				t.Errorf("Load: %v, want an error naming %s", err, tt.want)
			}
		})
	}
}
