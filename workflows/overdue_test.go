package workflows

import (
	"slices"
	"testing"
	"time"

	"github.com/hookflow/hookflow/event"
)

// TestOverdue: a shipment left IN_TRANSIT past its 2h deadline is flagged
// at the deadline (search attribute, state, one entity.overdue delivery
// with its own seq to each target), flagged once however long it stays,
// and a later event clears it.
func TestOverdue(t *testing.T) {
	h := newDeliveryHarness(t, func(string, int, int) error { return nil })
	h.event(time.Second, "e1", "IN_TRANSIT")
	h.event(5*time.Hour, "e2", "DELIVERED")
	mid := &State{}
	h.env.RegisterDelayedCallback(func() {
		v, err := h.env.QueryWorkflow(QueryState)
		if err == nil {
			err = v.Get(mid)
		}
		if err != nil {
			t.Error(err)
		}
	}, 4*time.Hour)
	in := h.input()
	in.Overdue = map[string]time.Duration{"IN_TRANSIT": 2 * time.Hour, "OUT_FOR_DELIVERY": time.Hour}
	got := h.run(in)

	if !mid.Overdue || !mid.OverdueSince.Equal(t0.Add(time.Second+2*time.Hour)) {
		t.Errorf("at +4h: overdue %v since %s; want true since +2h1s", mid.Overdue, mid.OverdueSince.Sub(t0))
	}
	if got.Overdue {
		t.Error("still overdue after DELIVERED")
	}
	if !slices.Equal(h.od, []bool{true, false}) {
		t.Errorf("Overdue upserts %v, want true at the deadline, false at the next transition", h.od)
	}
	// Seq 1 the transition, 2 the notice, 3 the next transition; each to a and b.
	var overdue []string
	for i, c := range h.calls {
		if h.types[i] == event.OverdueType {
			overdue = append(overdue, c)
		}
	}
	slices.Sort(overdue) // parallel across targets
	checkStrings(t, "overdue deliveries", overdue, []string{"a:2@2h0m1s", "b:2@2h0m1s"})
	if len(got.Transitions) != 2 || got.Transitions[1].Seq != 3 || got.Sequence != 3 {
		t.Errorf("transitions %+v, sequence %d; want the next transition at seq 3", got.Transitions, got.Sequence)
	}
}

// TestOverdueOffWithoutDeadlines: no deadlines, or a revision 1 run, flag
// nothing.
func TestOverdueOffWithoutDeadlines(t *testing.T) {
	for name, rev := range map[string]int{"no deadlines": Revision, "revision 1": 1} {
		t.Run(name, func(t *testing.T) {
			h := newDeliveryHarness(t, func(string, int, int) error { return nil })
			h.event(time.Second, "e1", "IN_TRANSIT")
			h.event(5*time.Hour, "e2", "DELIVERED")
			in := h.input()
			in.Revision = rev
			if rev == 1 {
				in.Overdue = map[string]time.Duration{"IN_TRANSIT": time.Hour}
			}
			got := h.run(in)
			if len(h.od) != 0 || got.Sequence != 2 || slices.Contains(h.types, event.OverdueType) {
				t.Errorf("overdue upserts %v, sequence %d, types %v; want none", h.od, got.Sequence, h.types)
			}
		})
	}
}
