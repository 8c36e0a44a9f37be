package event

import (
	"strings"
	"testing"
)

// TestTenantWorkflowID: a tenant's entity has its own workflow ID, which
// reads back as the tenant and the entity; the default tenant keeps the
// workflow ID it always had, to the byte.
func TestTenantWorkflowID(t *testing.T) {
	tests := []struct{ tenant, entityID, want string }{
		{"", "order-1", "phoenix-order:order-1"},
		{"", "Müller-42", "phoenix-order%:M%C3%BCller-42"},
		{"store-a", "order-1", "phoenix-order@store-a:order-1"},
		{"wearhumans.myshopify.com", "a:b", "phoenix-order@wearhumans.myshopify.com:a:b"},
		{"store-a", "Müller-42", "phoenix-order@store-a%:M%C3%BCller-42"},
		{"store-a", "x@y:z", "phoenix-order@store-a:x@y:z"},
	}
	for _, tt := range tests {
		t.Run(tt.tenant+"/"+tt.entityID, func(t *testing.T) {
			got := TenantWorkflowID(tt.tenant, "phoenix", "order", tt.entityID)
			if got != tt.want {
				t.Errorf("TenantWorkflowID(%q, %q) = %q, want %q", tt.tenant, tt.entityID, got, tt.want)
			}
			if ev := (Event{Tenant: tt.tenant, Provider: "phoenix", EntityType: "order", EntityID: tt.entityID}); ev.WorkflowID() != tt.want {
				t.Errorf("Event.WorkflowID() = %q, want %q", ev.WorkflowID(), tt.want)
			}
			tenant, p, et, eid, ok := ParseTenantWorkflowID(got)
			if !ok || tenant != tt.tenant || p != "phoenix" || et != "order" || eid != tt.entityID {
				t.Errorf("ParseTenantWorkflowID(%q) = %q %q %q %q %v, want the original back", got, tenant, p, et, eid, ok)
			}
		})
	}
	if TenantWorkflowID("a", "phoenix", "order", "1") == TenantWorkflowID("b", "phoenix", "order", "1") {
		t.Error("two tenants share a workflow ID")
	}
	for _, id := range []string{"phoenix-order@:1", "phoenix-order@Store:1", "phoenix-order@a..b:1", "phoenix-order@a@b:1", "phoenix@a:1"} {
		if tenant, p, et, eid, ok := ParseTenantWorkflowID(id); ok {
			t.Errorf("ParseTenantWorkflowID(%q) = %q %q %q %q, want refused", id, tenant, p, et, eid)
		}
	}
}

func TestValidTenantID(t *testing.T) {
	valid := []string{"a", "0", "store-a", "wearhumans.myshopify.com", "a-b.c-d", strings.Repeat("a", 63)}
	invalid := []string{"", "-a", "a-", ".a", "a.", "A", "store_a", "a@b", "a:b", "a/b", "a%40b", "a..b", "a b",
		"müller", "a\x00", strings.Repeat("a", 64)}
	for _, id := range valid {
		if !ValidTenantID(id) {
			t.Errorf("ValidTenantID(%q) = false, want true", id)
		}
	}
	for _, id := range invalid {
		if ValidTenantID(id) {
			t.Errorf("ValidTenantID(%q) = true, want false", id)
		}
	}
}
