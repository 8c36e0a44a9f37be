package loadgen

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hookflow/hookflow/config"
	"github.com/hookflow/hookflow/providers"
)

// tenantConfig has tenants a (Fenix and Phoenix), b (Phoenix only) and c
// (Fenix only), each with secrets of its own.
func tenantConfig(t *testing.T) *config.Config {
	t.Helper()
	path := filepath.Join(t.TempDir(), "hookflow.yaml")
	yaml := "tenants:\n" +
		"  - id: a\n    providers: {fenix: {secret_env: A_FENIX}, phoenix: {secret_env: A_PHOENIX}}\n" +
		"  - id: b\n    providers: {phoenix: {secret_env: B_PHOENIX}}\n" +
		"  - id: c\n    providers: {fenix: {secret_env: C_FENIX}}\n"
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"A_FENIX": "a-fenix", "A_PHOENIX": "a-phoenix", "B_PHOENIX": "b-phoenix", "C_FENIX": "c-fenix"}
	cfg, err := config.Load(path, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// tenantVerify verifies r with tenant's secrets for p only, as the
// receiver does once it has resolved the tenant.
func tenantVerify(t *testing.T, cfg *config.Config, p providers.Provider, tenant string, r prepared) error {
	t.Helper()
	for _, ten := range cfg.Tenants {
		if ten.ID == tenant {
			v, err := p.BindTenant(ten.Secrets[p.Name], cfg.Setting)
			if err != nil {
				t.Fatal(err)
			}
			return v.Verify(r.body, func(name string) string { return headerValue(r.headers, name) })
		}
	}
	t.Fatalf("no tenant %q", tenant)
	return nil
}

// TestPlanSpreadsOverTenants: with --tenants, the generator sends each
// entity as one of the first tenants that have a secret for the provider,
// round robin, signed with that tenant's secret and named by its route or
// its tenant header; an entity's later events and its redeliveries stay
// that tenant's. Fewer tenants than asked is an error.
func TestPlanSpreadsOverTenants(t *testing.T) {
	cfg := tenantConfig(t)
	fenix, _ := cfg.Providers.Get("fenix")
	phoenix, _ := cfg.Providers.Get("phoenix")
	tests := []struct {
		name      string
		p         providers.Provider
		o         Options
		tenants   []string          // whom the entities go to, in turn
		wantRoute map[string]string // tenant → route
	}{
		{"fenix unique", fenix, Options{Mode: "unique", Requests: 12, Concurrency: 1, Tenants: 2}, []string{"a", "c"},
			map[string]string{"a": "/webhooks/fenix", "c": "/webhooks/fenix"}},
		{"phoenix unique", phoenix, Options{Mode: "unique", Requests: 12, Concurrency: 1, Tenants: 2}, []string{"a", "b"},
			map[string]string{"a": "/webhooks/phoenix/a", "b": "/webhooks/phoenix/b"}},
		{"fenix existing", fenix, Options{Mode: "existing", Requests: 20, Entities: 4, Concurrency: 1, Tenants: 2}, []string{"a", "c"},
			map[string]string{"a": "/webhooks/fenix", "c": "/webhooks/fenix"}},
		{"phoenix mix", phoenix, Options{Mode: "mix", Requests: 24, Concurrency: 1, Tenants: 2}, []string{"a", "b"},
			map[string]string{"a": "/webhooks/phoenix/a", "b": "/webhooks/phoenix/b"}},
		{"one tenant", fenix, Options{Mode: "unique", Requests: 3, Concurrency: 1, Tenants: 1}, []string{"a"},
			map[string]string{"a": "/webhooks/fenix"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			senders, err := benchTenants(cfg, tt.p, tt.o.Tenants)
			if err != nil {
				t.Fatal(err)
			}
			p := newPlan(senders, tt.o, "run")
			if len(p.reqs) != tt.o.Requests {
				t.Fatalf("%d requests, want %d", len(p.reqs), tt.o.Requests)
			}
			perTenant := map[string]int{}
			entityTenant := map[string]string{}
			bodies := map[string]string{} // body → tenant: a redelivery is the same request
			for i, r := range p.reqs {
				perTenant[r.tenant]++
				if prev, ok := entityTenant[r.entity]; ok && prev != r.tenant {
					t.Errorf("request %d: entity %s sent as %s and as %s", i, r.entity, prev, r.tenant)
				}
				entityTenant[r.entity] = r.tenant
				if prev, ok := bodies[string(r.body)]; ok && prev != r.tenant {
					t.Errorf("request %d: a redelivery of %s's event sent as %s", i, prev, r.tenant)
				}
				bodies[string(r.body)] = r.tenant
				if r.route != tt.wantRoute[r.tenant] {
					t.Errorf("request %d of %s: route %s, want %s", i, r.tenant, r.route, tt.wantRoute[r.tenant])
				}
				if h := tt.p.TenantHeader; h != "" && headerValue(r.headers, h) != r.tenant {
					t.Errorf("request %d of %s: %s is %q", i, r.tenant, h, headerValue(r.headers, h))
				}
				if err := tenantVerify(t, cfg, tt.p, r.tenant, r); err != nil {
					t.Errorf("request %d: %s's receiver refuses it: %v", i, r.tenant, err)
				}
			}
			// Entities go round robin: each tenant holds its share of them.
			counts := map[string]int{}
			for _, tenant := range entityTenant {
				counts[tenant]++
			}
			for _, tenant := range tt.tenants {
				if want := len(entityTenant) / len(tt.tenants); counts[tenant] < want || perTenant[tenant] == 0 {
					t.Errorf("tenant %s has %d entities and %d requests, want at least %d entities (%v)", tenant, counts[tenant], perTenant[tenant], want, counts)
				}
			}
			if len(counts) != len(tt.tenants) {
				t.Errorf("entities went to %v, want %v", counts, tt.tenants)
			}
		})
	}

	t.Run("fewer tenants than asked", func(t *testing.T) {
		o := Options{Provider: "fenix", Mode: "unique", Requests: 1, Concurrency: 1, Duration: 1, Tenants: 3}
		if _, err := o.Check(cfg); err == nil || !strings.Contains(err.Error(), "--tenants 3: the configuration's tenants: has 2 with a fenix secret") {
			t.Errorf("Check: %v, want the count refused", err)
		}
	})
	t.Run("no tenants: the default tenant", func(t *testing.T) {
		senders, err := benchTenants(cfg, fenix, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range newPlan(senders, Options{Mode: "unique", Requests: 3, Concurrency: 1}, "run").reqs {
			if r.tenant != "" || r.route != "/webhooks/fenix" || headerValue(r.headers, "X-Client-Storename") != "hookflow-dev.myshopify.com" {
				t.Errorf("request %+v, want the default tenant's", r)
			}
		}
	})
}
