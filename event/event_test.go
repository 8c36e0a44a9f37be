package event

import "testing"

func TestParseWorkflowID(t *testing.T) {
	tests := []struct {
		id                             string
		provider, entityType, entityID string
		ok                             bool
	}{
		{"phoenix-order:tpT9KpKVyHU1P24RjZcW1o", "phoenix", "order", "tpT9KpKVyHU1P24RjZcW1o", true},
		{"phosphor-item:0xde6a:111", "phosphor", "item", "0xde6a:111", true},
		{"phantom-transaction:b0bc", "phantom", "transaction", "b0bc", true},
		{"phoenix-order:", "", "", "", false},
		{"phoenix:abc", "", "", "", false},
		{"no-colon", "", "", "", false},
		{"-order:x", "", "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			p, et, eid, ok := ParseWorkflowID(tt.id)
			if p != tt.provider || et != tt.entityType || eid != tt.entityID || ok != tt.ok {
				t.Errorf("got %q %q %q %v, want %q %q %q %v", p, et, eid, ok, tt.provider, tt.entityType, tt.entityID, tt.ok)
			}
			if ok && WorkflowID(p, et, eid) != tt.id {
				t.Errorf("WorkflowID does not round-trip %s", tt.id)
			}
		})
	}
}
