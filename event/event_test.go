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

// TestWorkflowIDEncoding: an entity ID of printable ASCII keeps the workflow
// ID it always had; any other is encoded into printable ASCII, and reads
// back as the original.
func TestWorkflowIDEncoding(t *testing.T) {
	tests := []struct{ entityID, want string }{
		{"tpT9KpKVyHU1P24RjZcW1o", "phoenix-order:tpT9KpKVyHU1P24RjZcW1o"},
		{"a b:c%d~", "phoenix-order:a b:c%d~"},
		{"Müller-42", "phoenix-order%:M%C3%BCller-42"},
		{"📦", "phoenix-order%:%F0%9F%93%A6"},
		{"a b%ü", "phoenix-order%:a%20b%25%C3%BC"},
		{"M%C3%BCller-42", "phoenix-order:M%C3%BCller-42"}, // the naive encoding of the one above: its own workflow
	}
	for _, tt := range tests {
		t.Run(tt.entityID, func(t *testing.T) {
			got := WorkflowID("phoenix", "order", tt.entityID)
			if got != tt.want {
				t.Errorf("WorkflowID(%q) = %q, want %q", tt.entityID, got, tt.want)
			}
			p, et, eid, ok := ParseWorkflowID(got)
			if !ok || p != "phoenix" || et != "order" || eid != tt.entityID {
				t.Errorf("ParseWorkflowID(%q) = %q %q %q %v, want the original back", got, p, et, eid, ok)
			}
		})
	}
	for _, id := range []string{"phoenix-order%:abc", "phoenix-order%:%c3%bc", "phoenix-order%:%C", "phoenix-order%:%ZZ", "%:%C3%BC"} {
		if _, _, _, ok := ParseWorkflowID(id); ok {
			t.Errorf("ParseWorkflowID(%q) accepted an encoding WorkflowID never writes", id)
		}
	}
}

// FuzzWorkflowID: every workflow ID is printable ASCII, and reads back as
// the entity ID it was made of, so no two entity IDs share one.
func FuzzWorkflowID(f *testing.F) {
	for _, s := range []string{"order-1", "Müller", "📦", "\x00", "\xff\xfe", "%", "a:b", "M%C3%BCller"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, entityID string) {
		if entityID == "" {
			return
		}
		id := WorkflowID("fenix", "shipment", entityID)
		for i := 0; i < len(id); i++ {
			if id[i] < 0x20 || id[i] > 0x7e {
				t.Fatalf("WorkflowID(%q) = %q holds byte %#x", entityID, id, id[i])
			}
		}
		p, et, eid, ok := ParseWorkflowID(id)
		if !ok || p != "fenix" || et != "shipment" || eid != entityID {
			t.Fatalf("ParseWorkflowID(%q) = %q %q %q %v, want %q back", id, p, et, eid, ok, entityID)
		}
	})
}

// TestJoinID: parts without ':' before the last join as they always did;
// otherwise the parts are escaped into a form without ':'.
func TestJoinID(t *testing.T) {
	tests := []struct {
		parts []string
		want  string
	}{
		{[]string{"o1", "pending", "2026-11-20T10:01:02.000Z"}, "o1:pending:2026-11-20T10:01:02.000Z"},
		{[]string{"transaction.applied", "b0bc:1"}, "transaction.applied:b0bc:1"},
		{[]string{"a:b", "pending", "t:1"}, "a%3Ab%%pending%%t%3A1"},
		{[]string{"a%b:", "%%"}, "a%25b%3A%%%25%25"},
	}
	for _, tt := range tests {
		if got := JoinID(tt.parts...); got != tt.want {
			t.Errorf("JoinID(%q) = %q, want %q", tt.parts, got, tt.want)
		}
	}
}
