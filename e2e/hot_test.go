package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"
)

// Issue #25: a 200 is a promise the entity workflow keeps, also for an
// entity that gets a burst of events and for a destination that is slow.

// hotItem is one Phosphor item's n events: a MINT, then transfers all
// stamped alike one second later (sent concurrently, they arrive in any
// order, and one stamped earlier than the current status's would be
// judged stale). Every one applies its own transition.
func hotItem(id string, n int) entityPlan {
	wid := "phosphor-item:" + id
	t0 := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	p := entityPlan{workflowID: wid, final: "TRANSFER"}
	for i := range n {
		status, at := "TRANSFER", t0.Add(time.Second)
		if i == 0 {
			status, at = "MINT", t0
		}
		d := phosphorTx(id, i, status, at)
		d.key, d.workflowID, d.status = fmt.Sprintf("%s#%d", wid, i), wid, status
		d.want = expectation{to: status, source: "webhook"}
		p.deliveries = append(p.deliveries, d)
	}
	return p
}

// hotEntity sends 100*size events (1,000 at full size) to one Phosphor
// item, the MINT first and then 16 at a time, and holds them against an
// oracle of their own (reconcileHot): the state keeps only its latest
// transitions and events, so the witness of each event is the forward
// sink.
func hotEntity(ctx context.Context, t *testing.T, tp *topology, prefix string, size int) tally {
	p := hotItem(prefix+"-item", 100*size)
	s := newSender(tp.tc, tp.receiverURLs...)
	start := time.Now()
	if err := s.deliver(ctx, p.deliveries[0]); err != nil {
		t.Errorf("MINT: %v", err)
	}
	work := make(chan delivery)
	var wg sync.WaitGroup
	var once sync.Once
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for d := range work {
				if err := s.deliver(ctx, d); err != nil {
					once.Do(func() { t.Errorf("load: %v", err) })
				}
			}
		}()
	}
	for _, d := range p.deliveries[1:] {
		work <- d
	}
	close(work)
	wg.Wait()
	t.Logf("%d events accepted in %s; answers:%s", len(p.deliveries), time.Since(start).Round(time.Millisecond), s.codeSummary())
	got := reconcileHot(ctx, tp, s, p, 3*time.Minute, "hot-entity")
	reportRate(t, got, start)
	return got
}

// reconcileHot is reconcile for one entity with more events than its state
// keeps: the workflow's counts say every accepted event was handled once
// (processed, duplicates) and applied (sequence); the forward sink, the
// witness outside the workflow, says which: each accepted event's
// transition delivered once, under one webhook-id, seqs 1..n in order, the
// MINT first.
func reconcileHot(ctx context.Context, tp *topology, s *sender, p entityPlan, within time.Duration, scenario string) tally {
	t := tally{scenario: scenario, sent: s.sent.Load(), retried: s.retried.Load()}
	acc := s.snapshot()
	t.accepted = len(acc)
	t.problems = append(t.problems, s.permanent...)
	var ids []string
	signals := 0
	for id, a := range acc {
		if a.workflowID != p.workflowID {
			t.problems = append(t.problems, fmt.Sprintf("event %s: receiver named workflow %s, want %s", id, a.workflowID, p.workflowID))
			continue
		}
		ids = append(ids, id)
		signals += a.signals
	}
	sort.Strings(ids)
	if len(ids) != len(p.deliveries) {
		t.problems = append(t.problems, fmt.Sprintf("%d of %d events accepted", len(ids), len(p.deliveries)))
	}

	var st entityState
	err := eventually(ctx, within, func() (bool, string) {
		var err error
		if st, err = queryState(ctx, tp.tc, p.workflowID); err != nil {
			return false, err.Error()
		}
		return st.Processed+st.Duplicates >= signals, fmt.Sprintf("processed %d + duplicates %d of %d signalled, sequence %d, last error %q",
			st.Processed, st.Duplicates, signals, st.Sequence, st.LastError)
	})
	t.handledAt = time.Now()
	if err != nil {
		t.problems = append(t.problems, "waiting for the workflow: "+err.Error())
	}
	t.duplicates = st.Duplicates
	switch {
	case st.Processed < len(ids):
		t.lost += len(ids) - st.Processed
	case st.Processed > len(ids):
		t.doubled += st.Processed - len(ids)
	}
	t.applied = st.Sequence
	if st.Sequence != len(ids) || st.Status != p.final {
		t.mismatched++
		t.problems = append(t.problems, fmt.Sprintf("%s: sequence %d, status %q; the plan says %d transitions ending %q", p.workflowID, st.Sequence, st.Status, len(ids), p.final))
	}
	if want := signals - len(ids); st.Duplicates != want {
		t.problems = append(t.problems, fmt.Sprintf("%s: %d duplicates recorded, %d redeliveries signalled", p.workflowID, st.Duplicates, want))
	}
	for _, e := range st.Events {
		if e.Outcome != "applied" && e.Outcome != "duplicate" {
			t.stale++
			t.problems = append(t.problems, fmt.Sprintf("%s: event %s %s, want applied", p.workflowID, e.EventID, e.Outcome))
		}
	}

	if err != nil {
		within = 10 * time.Second // a wedged workflow delivers nothing more: judge what came
	}
	err = eventually(ctx, within, func() (bool, string) {
		seqs, _, _ := tp.sink.delivered(p.workflowID)
		return len(seqs) >= len(ids), fmt.Sprintf("%d of %d transitions delivered", len(seqs), len(ids))
	})
	if err != nil {
		t.problems = append(t.problems, "waiting for the deliveries: "+err.Error())
	}
	seqs, events, renamed := tp.sink.delivered(p.workflowID)
	want := make([]int, len(ids))
	for i := range want {
		want[i] = i + 1
	}
	delivered := slices.Clone(events)
	sort.Strings(delivered)
	var why []string
	if !slices.Equal(seqs, want) {
		why = append(why, fmt.Sprintf("delivered %d seqs, want 1..%d in order", len(seqs), len(ids)))
	}
	if !slices.Equal(delivered, ids) {
		missing, twice := 0, 0
		for _, id := range ids {
			switch n := countOf(events, id); {
			case n == 0:
				missing++
			case n > 1:
				twice++
			}
		}
		// Lost by the workflow's count or by the witness's, not both.
		t.lost = max(t.lost, missing)
		t.doubled = max(t.doubled, twice)
		why = append(why, fmt.Sprintf("delivered transitions of %d events: %d accepted ones missing, %d under two seqs", len(events), missing, twice))
	}
	if len(events) > 0 && events[0] != eventIDOf(p.deliveries[0]) {
		why = append(why, fmt.Sprintf("seq 1 is event %s, want the MINT", events[0]))
	}
	if len(renamed) > 0 {
		why = append(why, fmt.Sprintf("%d transitions delivered under two webhook-ids, e.g. %s", len(renamed), renamed[0]))
	}
	why = append(why, droppedDeliveries(st)...)
	if len(why) > 0 {
		t.misdelivered++
		t.problems = append(t.problems, fmt.Sprintf("%s: %v", p.workflowID, why))
	}
	t.problems = append(t.problems, tp.sink.problems()...)
	sort.Strings(t.problems)
	return t
}

// droppedDeliveries describes the state's delivery records that were
// skipped or failed: a transition the destination will never get without
// an operator.
func droppedDeliveries(st entityState) []string {
	var out []string
	for _, d := range st.Deliveries {
		if d.Status == "skipped" || d.Status == "failed" {
			out = append(out, fmt.Sprintf("delivery of seq %d %s (%s)", d.Seq, d.Status, d.LastAnswer))
		}
	}
	return out
}

func countOf(list []string, s string) int {
	n := 0
	for _, x := range list {
		if x == s {
			n++
		}
	}
	return n
}

// eventIDOf is a planned Phosphor delivery's event ID (its body's id).
func eventIDOf(d delivery) string {
	var b struct{ ID string }
	_ = json.Unmarshal(d.body, &b)
	return b.ID
}

// slowDestination holds the forward sink at about a second per answer
// while two Phosphor items go through 30 transitions each (a MINT, 28
// transfers, a BURN): every event is applied, every transition delivered
// once and in order, and no delivery skipped or failed.
func slowDestination(ctx context.Context, t *testing.T, tp *topology, prefix string, _ int) tally {
	statuses := []string{"MINT"}
	for range 28 {
		statuses = append(statuses, "TRANSFER")
	}
	statuses = append(statuses, "BURN")
	var plans []entityPlan
	for i := range 2 {
		id := fmt.Sprintf("%s-item-%d", prefix, i)
		plans = append(plans, lifecycle("phosphor-item:"+id, statuses, func(i int, status string, at time.Time) delivery {
			return phosphorTx(id, i, status, at)
		}))
	}
	tp.sink.delay.Store(int64(time.Second))
	defer tp.sink.delay.Store(0)
	s := newSender(tp.tc, tp.receiverURLs...)
	start := time.Now()
	if err := s.run(ctx, plans, 2); err != nil {
		t.Errorf("load: %v", err)
	}
	got := reconcile(ctx, tp, s, plans, 3*time.Minute, "slow-destination")
	t.Logf("%d transitions delivered through a destination a second per answer in %s", deliveriesOf(plans), time.Since(start).Round(time.Millisecond))
	for _, p := range plans {
		st, err := queryState(ctx, tp.tc, p.workflowID)
		if err != nil {
			got.problems = append(got.problems, fmt.Sprintf("%s: %v", p.workflowID, err))
			continue
		}
		if dropped := droppedDeliveries(st); len(dropped) > 0 {
			got.misdelivered++
			got.problems = append(got.problems, fmt.Sprintf("%s: %v", p.workflowID, clip(dropped, 5)))
		}
	}
	return got
}
