package providers

import (
	"reflect"
	"sort"
	"testing"

	"github.com/hookflow/hookflow/event/lifecycle"
)

// Kind is a state table, as the tests name it.
type Kind = lifecycle.Table

// Verdicts, as the tests name them.
const (
	Apply     = lifecycle.Apply
	Same      = lifecycle.Same
	Backwards = lifecycle.Backwards
	Unknown   = lifecycle.Unknown
)

type Verdict = lifecycle.Verdict

// kinds are the built-in tables by provider-entityType.
var kinds = func() map[string]Kind {
	m := map[string]Kind{}
	for _, p := range Builtins() {
		for et, t := range p.Tables {
			m[p.Name+"-"+et] = t
		}
	}
	return m
}()

// KindOf returns a built-in provider's table of an entity type.
func KindOf(provider, entityType string) (Kind, bool) {
	k, ok := kinds[provider+"-"+entityType]
	return k, ok
}

// kindOf3 returns a Kind the test needs, failing when there is none.
func kindOf3(t *testing.T, provider, entityType string) Kind {
	t.Helper()
	k, ok := KindOf(provider, entityType)
	if !ok {
		t.Fatalf("no state table for %s-%s", provider, entityType)
	}
	return k
}

// allowCase is one status change and the verdict the table must give.
type allowCase struct {
	from, to string
	want     Verdict
}

func checkAllows(t *testing.T, k Kind, tests []allowCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.from+"→"+tt.to, func(t *testing.T) {
			if got := k.Allows(tt.from, tt.to); got != tt.want {
				t.Errorf("Allows(%q, %q): got %s, want %s", tt.from, tt.to, got, tt.want)
			}
		})
	}
}

// deliver runs statuses through the table in arrival order, as the entity
// workflow does for events with distinct IDs, and returns the verdicts and
// the status the entity ends in.
func deliver(k Kind, statuses ...string) ([]Verdict, string) {
	status := ""
	verdicts := make([]Verdict, 0, len(statuses))
	for _, to := range statuses {
		v := k.Allows(status, to)
		if v == Apply {
			status = to
		}
		verdicts = append(verdicts, v)
	}
	return verdicts, status
}

// deliveryCase is an arrival order of statuses and what must come of it.
type deliveryCase struct {
	name     string
	statuses []string
	want     []Verdict
	final    string
}

func checkDeliveries(t *testing.T, k Kind, tests []deliveryCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, final := deliver(k, tt.statuses...)
			if !reflect.DeepEqual(got, tt.want) || final != tt.final {
				t.Errorf("deliver %v: got %v ending %q, want %v ending %q", tt.statuses, got, final, tt.want, tt.final)
			}
		})
	}
}

// TestKindTables checks every table is well formed: each status it names
// has a rank, and each lifecycle can end.
func TestKindTables(t *testing.T) {
	names := make([]string, 0, len(kinds))
	for name := range kinds {
		names = append(names, name)
	}
	sort.Strings(names)
	want := []string{
		"fenix-shipment", "phantom-block", "phantom-transaction", "phoenix-order",
		"phosphor-item", "phosphor-listing", "up42-order",
	}
	if !reflect.DeepEqual(names, want) {
		t.Errorf("tables: got %v, want %v", names, want)
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			k := kinds[name]
			var named []string
			for _, m := range []map[string]bool{k.Terminal, k.Repeat, k.Anytime} {
				for s := range m {
					named = append(named, s)
				}
			}
			for from, tos := range k.Retry {
				named = append(named, from)
				named = append(named, tos...)
			}
			for _, s := range named {
				if _, ok := k.Rank[s]; !ok {
					t.Errorf("status %q has no rank", s)
				}
			}
			if len(k.Terminal) == 0 {
				t.Error("no terminal status")
			}
		})
	}
}

func TestKindPhosphorItem(t *testing.T) {
	k := kindOf3(t, "phosphor", "item")
	checkAllows(t, k, []allowCase{
		{"", "MINT", Apply},
		{"", "TRANSFER", Apply}, // first seen mid-life
		{"MINT", "TRANSFER", Apply},
		{"TRANSFER", "TRANSFER", Apply}, // every transfer is recorded
		{"TRANSFER", "BURN", Apply},
		{"MINT", "BURN", Apply},
		{"MINT", "MINT", Same},
		{"TRANSFER", "MINT", Backwards},
		{"BURN", "TRANSFER", Backwards},
		{"BURN", "BURN", Same},
		{"MINT", "SALE", Unknown},
	})
	checkDeliveries(t, k, []deliveryCase{
		{"lifecycle", []string{"MINT", "TRANSFER", "TRANSFER", "BURN"}, []Verdict{Apply, Apply, Apply, Apply}, "BURN"},
		{"mint arrives after a transfer", []string{"TRANSFER", "MINT", "TRANSFER"}, []Verdict{Apply, Backwards, Apply}, "TRANSFER"},
		{"transfer after burn", []string{"MINT", "BURN", "TRANSFER"}, []Verdict{Apply, Apply, Backwards}, "BURN"},
	})
	if !k.Terminal["BURN"] || k.Terminal["TRANSFER"] {
		t.Error("want BURN, and only BURN, terminal")
	}
}

func TestKindPhosphorListing(t *testing.T) {
	k := kindOf3(t, "phosphor", "listing")
	checkAllows(t, k, []allowCase{
		{"", "CREATED", Apply},
		{"CREATED", "COMPLETED", Apply},
		{"CREATED", "CANCELLED", Apply},
		{"CREATED", "CREATED", Same},
		{"COMPLETED", "CANCELLED", Backwards},
		{"CANCELLED", "COMPLETED", Backwards},
		{"COMPLETED", "CREATED", Backwards},
		{"CANCELLED", "CREATED", Backwards},
		{"CREATED", "ACTIVE", Unknown},
	})
	checkDeliveries(t, k, []deliveryCase{
		{"created arrives after completed", []string{"COMPLETED", "CREATED"}, []Verdict{Apply, Backwards}, "COMPLETED"},
	})
}

func TestKindUP42Order(t *testing.T) {
	k := kindOf3(t, "up42", "order")
	checkAllows(t, k, []allowCase{
		{"", "PLACED", Apply},
		{"PLACED", "BEING_FULFILLED", Apply},
		{"BEING_FULFILLED", "FULFILLED", Apply},
		{"PLACED", "FULFILLED", Apply}, // a status skipped
		{"BEING_FULFILLED", "FAILED", Apply},
		{"FAILED", "PLACED", Apply}, // a retry
		{"FAILED", "BEING_FULFILLED", Apply},
		{"FAILED", "FULFILLED", Apply}, // the retry's own updates missed
		{"FAILED", "FAILED_PERMANENTLY", Apply},
		{"FAILED", "FAILED", Same},
		{"BEING_FULFILLED", "PLACED", Backwards},
		{"FULFILLED", "BEING_FULFILLED", Backwards},
		{"FULFILLED", "FAILED", Backwards},
		{"FULFILLED", "FAILED_PERMANENTLY", Backwards},
		{"FAILED_PERMANENTLY", "PLACED", Backwards},
		{"FAILED_PERMANENTLY", "FULFILLED", Backwards},
		{"FULFILLED", "FULFILLED", Same},
		{"PLACED", "CANCELLED", Unknown},
	})
	checkDeliveries(t, k, []deliveryCase{
		{"retried after a failure", []string{"PLACED", "BEING_FULFILLED", "FAILED", "BEING_FULFILLED", "FULFILLED"},
			[]Verdict{Apply, Apply, Apply, Apply, Apply}, "FULFILLED"},
		{"failed twice, then for good", []string{"PLACED", "FAILED", "PLACED", "FAILED", "FAILED_PERMANENTLY"},
			[]Verdict{Apply, Apply, Apply, Apply, Apply}, "FAILED_PERMANENTLY"},
		{"placed arrives after fulfilled", []string{"BEING_FULFILLED", "FULFILLED", "PLACED"},
			[]Verdict{Apply, Apply, Backwards}, "FULFILLED"},
		{"same status twice", []string{"PLACED", "PLACED"}, []Verdict{Apply, Same}, "PLACED"},
	})
}

func TestKindFenixShipment(t *testing.T) {
	k := kindOf3(t, "fenix", "shipment")
	checkAllows(t, k, []allowCase{
		{"", "LABEL_CREATED", Apply},
		{"", "EXCEPTION", Apply},
		{"LABEL_CREATED", "PICKED_BY_CARRIER", Apply},
		{"PICKED_BY_CARRIER", "IN_TRANSIT", Apply},
		{"IN_TRANSIT", "OUT_FOR_DELIVERY", Apply},
		{"OUT_FOR_DELIVERY", "DELIVERED", Apply},
		{"IN_TRANSIT", "DELIVERED", Apply},
		{"IN_TRANSIT", "PICKED_BY_CARRIER", Backwards},
		{"OUT_FOR_DELIVERY", "LABEL_CREATED", Backwards},
		{"IN_TRANSIT", "IN_TRANSIT", Same},
		// EXCEPTION from any status before the end, and again.
		{"LABEL_CREATED", "EXCEPTION", Apply},
		{"OUT_FOR_DELIVERY", "EXCEPTION", Apply},
		{"EXCEPTION", "EXCEPTION", Apply},
		{"DELIVERED", "EXCEPTION", Backwards},
		{"RETURNED", "EXCEPTION", Backwards},
		// After one the shipment goes on from pickup, not from the label.
		{"EXCEPTION", "IN_TRANSIT", Apply},
		{"EXCEPTION", "OUT_FOR_DELIVERY", Apply},
		{"EXCEPTION", "DELIVERED", Apply},
		{"EXCEPTION", "RETURNED", Apply},
		{"EXCEPTION", "LABEL_CREATED", Backwards},
		{"IN_TRANSIT", "RETURNED", Apply},
		{"RETURNED", "DELIVERED", Backwards},
		{"DELIVERED", "RETURNED", Backwards},
		{"DELIVERED", "OUT_FOR_DELIVERY", Backwards},
		{"IN_TRANSIT", "LOST", Unknown},
	})
	checkDeliveries(t, k, []deliveryCase{
		{"lifecycle", []string{"LABEL_CREATED", "PICKED_BY_CARRIER", "IN_TRANSIT", "OUT_FOR_DELIVERY", "DELIVERED"},
			[]Verdict{Apply, Apply, Apply, Apply, Apply}, "DELIVERED"},
		{"out of order", []string{"LABEL_CREATED", "IN_TRANSIT", "PICKED_BY_CARRIER", "OUT_FOR_DELIVERY"},
			[]Verdict{Apply, Apply, Backwards, Apply}, "OUT_FOR_DELIVERY"},
		{"exception on the way", []string{"IN_TRANSIT", "EXCEPTION", "EXCEPTION", "OUT_FOR_DELIVERY", "DELIVERED"},
			[]Verdict{Apply, Apply, Apply, Apply, Apply}, "DELIVERED"},
		{"returned after an exception", []string{"OUT_FOR_DELIVERY", "EXCEPTION", "RETURNED", "DELIVERED"},
			[]Verdict{Apply, Apply, Apply, Backwards}, "RETURNED"},
		{"late scans after delivery", []string{"DELIVERED", "OUT_FOR_DELIVERY", "EXCEPTION", "DELIVERED"},
			[]Verdict{Apply, Backwards, Backwards, Same}, "DELIVERED"},
	})
	for _, s := range []string{"DELIVERED", "RETURNED"} {
		if !k.Terminal[s] {
			t.Errorf("%s is not terminal", s)
		}
	}
}

func TestKindPhantomTransaction(t *testing.T) {
	k := kindOf3(t, "phantom", "transaction")
	checkAllows(t, k, []allowCase{
		{"", "pool.added", Apply},
		{"pool.added", "forged", Apply},
		{"pool.added", "applied", Apply},
		{"forged", "applied", Apply},
		{"applied", "reverted", Apply}, // a fork, even after the end
		{"forged", "reverted", Apply},
		{"pool.added", "expired", Apply},
		{"pool.added", "pool.rejected", Apply},
		{"applied", "forged", Backwards}, // the forging node's two events crossed
		{"applied", "pool.added", Backwards},
		{"applied", "expired", Backwards},
		{"expired", "applied", Backwards},
		{"reverted", "applied", Backwards},
		{"reverted", "pool.added", Backwards},
		{"applied", "applied", Same},
		{"pool.added", "pool.removed", Unknown},
	})
	checkDeliveries(t, k, []deliveryCase{
		{"forging node", []string{"pool.added", "forged", "applied"}, []Verdict{Apply, Apply, Apply}, "applied"},
		{"reverted by a fork", []string{"pool.added", "applied", "reverted"}, []Verdict{Apply, Apply, Apply}, "reverted"},
		{"pool event arrives last", []string{"applied", "pool.added"}, []Verdict{Apply, Backwards}, "applied"},
		{"revert arrives before apply", []string{"reverted", "applied"}, []Verdict{Apply, Backwards}, "reverted"},
	})
}

func TestKindPhantomBlock(t *testing.T) {
	k := kindOf3(t, "phantom", "block")
	checkAllows(t, k, []allowCase{
		{"", "forged", Apply},
		{"received", "applied", Apply},
		{"forged", "applied", Apply},
		{"received", "disregarded", Apply},
		{"disregarded", "applied", Apply}, // applied once the node caught up
		{"applied", "reverted", Apply},
		{"applied", "disregarded", Backwards}, // a copy from another peer
		{"applied", "received", Backwards},
		{"forged", "received", Backwards},
		{"reverted", "applied", Backwards},
		{"disregarded", "received", Backwards},
		{"applied", "applied", Same},
		{"applied", "missed", Unknown},
	})
	checkDeliveries(t, k, []deliveryCase{
		{"received and applied", []string{"received", "applied"}, []Verdict{Apply, Apply}, "applied"},
		{"forged here", []string{"forged", "applied"}, []Verdict{Apply, Apply}, "applied"},
		{"received twice", []string{"received", "applied", "disregarded"}, []Verdict{Apply, Apply, Backwards}, "applied"},
		{"reverted by a fork", []string{"forged", "applied", "reverted"}, []Verdict{Apply, Apply, Apply}, "reverted"},
	})
	for _, s := range []string{"applied", "disregarded", "reverted"} {
		if !k.Terminal[s] {
			t.Errorf("%s is not terminal", s)
		}
	}
}

// TestKindPhoenixUnchanged keeps the Anytime extension from touching the
// table the entity workflow tests rely on.
func TestKindPhoenixUnchanged(t *testing.T) {
	k := kindOf3(t, "phoenix", "order")
	if !k.API || len(k.Anytime) != 0 {
		t.Errorf("phoenix order: API %v, Anytime %v; want API and no Anytime", k.API, k.Anytime)
	}
	checkAllows(t, k, []allowCase{
		{"pending", "fulfilled", Apply},
		{"fulfilled", "expired", Backwards},
		{"fulfilled", "pending", Backwards},
	})
}

// TestRankless: the moves a late delivery could make wrongly are exactly the
// ones rank does not order.
func TestRankless(t *testing.T) {
	tests := []struct {
		kind, from, to string
		want           bool
	}{
		{"up42-order", "FAILED", "BEING_FULFILLED", true},
		{"up42-order", "FAILED", "PLACED", true},
		{"up42-order", "BEING_FULFILLED", "FAILED", false},
		{"up42-order", "", "FAILED", false},
		{"fenix-shipment", "IN_TRANSIT", "EXCEPTION", true},
		{"fenix-shipment", "EXCEPTION", "EXCEPTION", false},
		{"fenix-shipment", "IN_TRANSIT", "DELIVERED", false},
		{"phantom-block", "disregarded", "applied", true},
		{"phosphor-item", "TRANSFER", "TRANSFER", false},
		{"phoenix-order", "pending", "fulfilled", false},
	}
	for _, tt := range tests {
		if got := kinds[tt.kind].Rankless(tt.from, tt.to); got != tt.want {
			t.Errorf("%s Rankless(%q, %q) = %v, want %v", tt.kind, tt.from, tt.to, got, tt.want)
		}
	}
}

func TestPhoenixMachineAllows(t *testing.T) {
	kind, ok := KindOf("phoenix", "order")
	if !ok {
		t.Fatal(`KindOf("phoenix", "order") not found`)
	}
	tests := []struct {
		from, to string
		want     Verdict
	}{
		{"", "pending", Apply},
		{"", "fulfilled", Apply},
		{"pending", "fulfilled", Apply},
		{"pending", "expired", Apply},
		{"fulfilled", "pending", Backwards},
		{"fulfilled", "expired", Backwards},
		{"expired", "fulfilled", Backwards},
		{"pending", "pending", Same},
		{"fulfilled", "fulfilled", Same},
		{"pending", "bogus", Unknown},
		{"", "bogus", Unknown},
	}
	for _, tt := range tests {
		from := tt.from
		if from == "" {
			from = "∅"
		}
		t.Run(from+"→"+tt.to, func(t *testing.T) {
			if got := kind.Allows(tt.from, tt.to); got != tt.want {
				t.Errorf("Allows(%q, %q) = %q, want %q", tt.from, tt.to, got, tt.want)
			}
		})
	}
}

func TestKindOfUnknown(t *testing.T) {
	if _, ok := KindOf("phoenix", "shipment"); ok {
		t.Error(`KindOf("phoenix", "shipment") found, want not found`)
	}
}
