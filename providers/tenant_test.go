package providers_test

import (
	"strings"
	"testing"

	"github.com/hookflow/hookflow/providers"
)

// TestRegistryTenantWorkflowIDs: the registry reads a tenant's workflow
// IDs back with their tenant, and keeps the tenant when it normalizes one
// (status, events, reprocess and the admin API go through it); the default
// tenant's read as they always did.
func TestRegistryTenantWorkflowIDs(t *testing.T) {
	acmeEU := providers.Spec{
		Name: "acme-eu", Route: "/webhooks/acme-eu", EntityType: "order",
		Auth:   providers.AuthSpec{Scheme: providers.SchemeBearer, SecretEnv: "ACME_EU_SECRET"},
		Fields: providers.FieldsSpec{EntityID: "id", Status: "status", EventID: "event", Time: "at"},
		States: [][]string{{"created"}, {"done"}}, Terminal: []string{"done"},
	}
	reg, err := providers.NewRegistry([]providers.Spec{acmeEU})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		id, normalized                         string
		tenant, provider, entityType, entityID string
		ok                                     bool
	}{
		{"phoenix-order:1", "phoenix-order:1", "", "phoenix", "order", "1", true},
		{"phoenix-order@store-a:1", "phoenix-order@store-a:1", "store-a", "phoenix", "order", "1", true},
		{"phoenix-order@store-a:Müller", "phoenix-order@store-a%:M%C3%BCller", "store-a", "phoenix", "order", "Müller", true},
		{"phoenix-order@store-a%:M%C3%BCller", "phoenix-order@store-a%:M%C3%BCller", "store-a", "phoenix", "order", "Müller", true},
		{"acme-eu-order@shop.example.com:x:y", "acme-eu-order@shop.example.com:x:y", "shop.example.com", "acme-eu", "order", "x:y", true},
		{"fenix-shipment@wearhumans.myshopify.com:TRK1", "fenix-shipment@wearhumans.myshopify.com:TRK1", "wearhumans.myshopify.com", "fenix", "shipment", "TRK1", true},
		{"phoenix-order@Store:1", "phoenix-order@Store:1", "", "", "", "", false},
		{"phoenix-order@a..b:1", "phoenix-order@a..b:1", "", "", "", "", false},
		{"phoenix-item@store-a:1", "phoenix-item@store-a:1", "", "", "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			tenant, p, et, eid, ok := reg.ParseTenantWorkflowID(tt.id)
			if tenant != tt.tenant || p != tt.provider || et != tt.entityType || eid != tt.entityID || ok != tt.ok {
				t.Errorf("ParseTenantWorkflowID = %q %q %q %q %v, want %q %q %q %q %v",
					tenant, p, et, eid, ok, tt.tenant, tt.provider, tt.entityType, tt.entityID, tt.ok)
			}
			if got := reg.WorkflowID(tt.id); got != tt.normalized {
				t.Errorf("WorkflowID(%q) = %q, want %q", tt.id, got, tt.normalized)
			}
			// The default-tenant parse refuses a tenant's ID rather than
			// drop its tenant.
			_, _, _, defaultOK := reg.ParseWorkflowID(tt.id)
			if want := tt.ok && tt.tenant == ""; defaultOK != want {
				t.Errorf("ParseWorkflowID ok = %v, want %v", defaultOK, want)
			}
		})
	}
}

// TestTenantHeader: Fenix names the store in X-Client-Storename; a
// configured provider may name its own header, which must be a header name.
func TestTenantHeader(t *testing.T) {
	if got := providers.Fenix(nil).TenantHeader; got != "X-Client-Storename" {
		t.Errorf("Fenix TenantHeader = %q", got)
	}
	spec := providers.Spec{
		Name: "acme", Route: "/webhooks/acme", EntityType: "order", TenantHeader: "X-Acme-Store",
		Auth:   providers.AuthSpec{Scheme: providers.SchemeBearer, SecretEnv: "ACME_SECRET"},
		Fields: providers.FieldsSpec{EntityID: "id", Status: "status", EventID: "event", Time: "at"},
		States: [][]string{{"created"}, {"done"}}, Terminal: []string{"done"},
	}
	ps, err := providers.FromSpecs([]providers.Spec{spec})
	if err != nil {
		t.Fatal(err)
	}
	if ps[0].TenantHeader != "X-Acme-Store" {
		t.Errorf("configured TenantHeader = %q", ps[0].TenantHeader)
	}
	spec.TenantHeader = "X Acme: Store"
	_, err = providers.FromSpecs([]providers.Spec{spec})
	if err == nil || !strings.Contains(err.Error(), "providers[acme].tenant_header") {
		t.Errorf("a bad tenant_header: err = %v, want one naming providers[acme].tenant_header", err)
	}
}
