package workflows

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hookflow/hookflow/event"
)

// TestReplayedBodyIsDuplicate: with Redis bypassed (the signals go
// straight to the run), a Fenix body replayed under a new event ID is a
// duplicate in a revision 5 run: its EXCEPTION, which a shipment takes
// again and again, is applied and delivered once. A revision 4 run still
// takes it for a new event, as it always did.
func TestReplayedBodyIsDuplicate(t *testing.T) {
	at := func(min int) string { return t0.Add(time.Duration(min) * time.Minute).Format(time.RFC3339) }
	steps := []event.Event{
		{ID: "evt-1", Status: "IN_TRANSIT", ProviderTime: at(1), BodyDigest: strings.Repeat("1", 64)},
		{ID: "evt-2", Status: "EXCEPTION", ProviderTime: at(2), BodyDigest: strings.Repeat("2", 64)},
		// The captured EXCEPTION, under a fresh X-Fenix-Event-Id.
		{ID: "evt-replayed", Status: "EXCEPTION", ProviderTime: at(2), BodyDigest: strings.Repeat("2", 64)},
		// Fenix's own redelivery of the first, which its ID tells.
		{ID: "evt-1", Status: "IN_TRANSIT", ProviderTime: at(1), BodyDigest: strings.Repeat("1", 64)},
		{ID: "evt-3", Status: "DELIVERED", ProviderTime: at(3), BodyDigest: strings.Repeat("3", 64)},
	}
	tests := []struct {
		revision   int
		outcomes   []string
		duplicates int
		delivered  []string // per target
	}{
		{Revision, []string{"evt-1 applied", "evt-2 applied", "evt-replayed duplicate", "evt-1 duplicate", "evt-3 applied"}, 2,
			[]string{"1", "2", "3"}},
		{4, []string{"evt-1 applied", "evt-2 applied", "evt-replayed applied", "evt-1 duplicate", "evt-3 applied"}, 1,
			[]string{"1", "2", "3", "4"}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("revision %d", tt.revision), func(t *testing.T) {
			h := newDeliveryHarness(t, func(string, int, int) error { return nil })
			for i, ev := range steps {
				ev.Provider, ev.EntityType, ev.EntityID, ev.Type = "fenix", "shipment", "s1", "tracking/updated"
				ev.Body = []byte(`{"status":"` + ev.Status + `"}`)
				h.env.RegisterDelayedCallback(func() { h.env.SignalWorkflow(SignalWebhookEvent, ev) }, time.Duration(i+1)*time.Second)
			}
			in := h.input()
			in.Revision = tt.revision
			st := h.run(in)
			checkStrings(t, "outcomes", outcomes(st.Events), tt.outcomes)
			if st.Duplicates != tt.duplicates || st.Sequence != len(tt.delivered) || st.Status != "DELIVERED" {
				t.Errorf("duplicates %d, sequence %d, status %s; want %d, %d, DELIVERED", st.Duplicates, st.Sequence, st.Status, tt.duplicates, len(tt.delivered))
			}
			for _, target := range []string{"a", "b"} {
				var seqs []string
				for _, c := range h.callsTo(target) {
					seqs = append(seqs, strings.TrimPrefix(c[:strings.Index(c, "@")], target+":"))
				}
				checkStrings(t, "deliveries to "+target, seqs, tt.delivered)
			}
		})
	}
}

// TestMemoryBoundWithBodies: events remembered by ID and body take two
// entries each, and the memory still holds at most maxRemembered, so what
// a run carries keeps its size; the newest events are remembered by both.
func TestMemoryBoundWithBodies(t *testing.T) {
	in := EntityInput{Provider: "fenix", EntityType: "shipment", EntityID: "s1", Revision: Revision}
	e := newEntity(in)
	ev := func(i int) event.Event {
		return event.Event{ID: fmt.Sprintf("evt-%06d", i), BodyDigest: fmt.Sprintf("%064d", i), ProviderTime: t0.Add(time.Duration(i) * time.Second).Format(time.RFC3339)}
	}
	const n = maxRemembered // twice the entries the memory holds
	for i := range n {
		e.remember(ev(i))
	}
	if got := len(e.memory.order); got > maxRemembered {
		t.Errorf("memory holds %d entries, over its bound %d", got, maxRemembered)
	}
	if got, bound := len(e.memory.packed()), maxRemembered*idHashSize; got > bound {
		t.Errorf("packed memory is %d bytes, over %d", got, bound)
	}
	if e.state.Processed != n {
		t.Errorf("processed %d, want %d", e.state.Processed, n)
	}
	// The newest maxRemembered/2 - memoryChunk events are known by each key
	// alone; the oldest by neither.
	for _, i := range []int{n - 1, n / 2, n/2 + memoryChunk} {
		byID, byBody := ev(i), ev(i)
		byID.BodyDigest, byBody.ID = "", "another"
		if !e.holds(byID) || !e.holds(byBody) {
			t.Errorf("event %d: held by ID %v, by body %v; want both", i, e.holds(byID), e.holds(byBody))
		}
	}
	if e.holds(ev(0)) {
		t.Error("the oldest event is still held, past the bound")
	}
	if !slices.Equal(e.memory.order[len(e.memory.order)-2:], []idHash{hashID(ev(n - 1).ID), hashID(bodyKey(ev(n - 1).BodyDigest))}) {
		t.Error("the newest entries are not the last event's ID and body")
	}
}

// TestBodyKeyIsNoEventID: no event ID the receivers take is a body's
// memory key, however it is spelt.
func TestBodyKeyIsNoEventID(t *testing.T) {
	digest := strings.Repeat("a", 64)
	e := newEntity(EntityInput{Provider: "fenix", EntityType: "shipment", EntityID: "s1", Revision: Revision})
	for _, id := range []string{digest, "sha256:" + digest, "fenix#sha256:" + digest, " sha256:" + digest} {
		e.remember(event.Event{ID: id})
	}
	if e.holds(event.Event{ID: "evt-new", BodyDigest: digest}) {
		t.Error("an event ID spelt like a body's key is taken for the body")
	}
}
