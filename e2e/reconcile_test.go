package e2e

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/hookflow/hookflow/workflows"
)

// entityState is the part of the workflow's `state` query answer
// (workflows.State) the reconciliation reads.
type entityState struct {
	Status      string `json:"status"`
	Terminal    bool   `json:"terminal"`
	Transitions []struct {
		EventID string `json:"eventId"`
		Seq     int    `json:"seq"`
		From    string `json:"from"`
		To      string `json:"to"`
		Source  string `json:"source"`
	} `json:"transitions"`
	Events []struct {
		EventID string `json:"eventId"`
		Outcome string `json:"outcome"`
	} `json:"events"`
	LastError string `json:"lastError"`
	// Counts and deliveries, for the scenarios whose entities see more
	// events than the state keeps (hot-entity) or whose destination is
	// slow (slow-destination).
	Sequence   int `json:"sequence"`
	Processed  int `json:"processed"`
	Duplicates int `json:"duplicates"`
	Deliveries []struct {
		Seq        int    `json:"seq"`
		Status     string `json:"status"`
		LastAnswer string `json:"lastAnswer"`
	} `json:"deliveries"`
}

// seqs are the entity's transitions' seqs, in order: what the forward sink
// must have got.
func (st entityState) seqs() []int {
	out := make([]int, 0, len(st.Transitions))
	for _, tr := range st.Transitions {
		out = append(out, tr.Seq)
	}
	return out
}

// tally is a scenario's reconciliation: what the sender saw next to what
// the workflows recorded.
type tally struct {
	scenario   string
	sent       int64 // deliveries, redeliveries included
	accepted   int   // distinct events a receiver answered 200 for
	retried    int64 // attempts after a non-2xx or connection error
	applied    int   // accepted events whose handling applied a transition
	stale      int   // accepted events handled without a change (unchanged, ignored-stale, -backwards)
	duplicates int   // redeliveries the workflow recognised by event ID
	lost       int   // accepted events no workflow recorded as handled
	doubled    int   // events handled twice, or transitions applied twice
	handledAt  time.Time
	problems   []string
	reconciled *int // entities a reconcile check brought to their final status, where counted
	// misdelivered are entities whose transitions the forward sink did not
	// get each once, signed and in order.
	misdelivered int
	// mismatched are entities whose events or transitions differ from what
	// the plan alone says (expectation); wantStale is how many events the
	// plan says are judged unchanged, which stale must equal.
	mismatched int
	wantStale  int
}

func (t tally) line() string {
	line := fmt.Sprintf("scenario=%s sent=%d accepted=%d retried=%d applied=%d stale=%d duplicates=%d lost=%d doubled=%d mismatched=%d misdelivered=%d",
		t.scenario, t.sent, t.accepted, t.retried, t.applied, t.stale, t.duplicates, t.lost, t.doubled, t.mismatched, t.misdelivered)
	if t.reconciled != nil {
		line += fmt.Sprintf(" reconciled=%d", *t.reconciled)
	}
	return line
}

// ok reports whether nothing was lost, doubled or otherwise wrong.
func (t tally) ok() bool {
	return t.lost == 0 && t.doubled == 0 && t.mismatched == 0 && t.misdelivered == 0 && len(t.problems) == 0
}

// reconcile waits until every event the sender was told was accepted has
// been handled by its workflow and every entity is in its final status,
// then checks, from each workflow's state query:
//   - every accepted event is recorded by the workflow the receiver named
//     (the plan's), handled exactly once (applied or judged stale), any
//     other record of it a recognised duplicate;
//   - no transition is applied twice (the same event, or the same status:
//     the plans' lifecycles never revisit one);
//   - every entity ends in its plan's final status;
//   - each event's outcome and each entity's transitions (from, to,
//     source, event) are what the plan alone says (judge), and stale is
//     exactly the plan's count;
//   - the forward sink, a witness outside the workflows, got every
//     transition of every entity, signed, in order, once per webhook-id
//     (a retry of the same id is fine), and nothing else.
func reconcile(ctx context.Context, tp *topology, s *sender, plans []entityPlan, within time.Duration, scenario string) tally {
	tc := tp.tc
	t := tally{scenario: scenario, sent: s.sent.Load(), retried: s.retried.Load()}
	acc := s.snapshot()
	t.accepted = len(acc)
	t.problems = append(t.problems, s.permanent...)

	byKey := map[string]string{} // delivery key → planned workflow ID
	final := map[string]string{}
	planned := map[string]map[string]int{} // workflow ID → status → transitions to it the plan makes
	for _, p := range plans {
		final[p.workflowID] = p.final
		planned[p.workflowID] = map[string]int{}
		for _, d := range p.deliveries {
			byKey[d.key] = p.workflowID
			planned[p.workflowID][d.want.to]++
		}
		for _, r := range p.reconciled {
			planned[p.workflowID][r.to]++
		}
	}
	events := map[string][]accepted{} // workflow ID → its accepted events
	for id, a := range acc {
		if want := byKey[a.key]; want != "" && want != a.workflowID {
			t.problems = append(t.problems, fmt.Sprintf("event %s: receiver named workflow %s, want %s", id, a.workflowID, want))
		}
		events[a.workflowID] = append(events[a.workflowID], a)
	}
	for wid := range final {
		if _, ok := events[wid]; !ok {
			t.problems = append(t.problems, fmt.Sprintf("%s: no event accepted", wid))
		}
	}

	states := map[string]entityState{}
	var mu sync.Mutex
	err := eventually(ctx, within, func() (bool, string) {
		var pending []string
		for wid := range events {
			if _, done := states[wid]; !done {
				pending = append(pending, wid)
			}
		}
		var why []string
		parallel(8, pending, func(wid string) {
			st, err := queryState(ctx, tc, wid)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err != nil:
				why = append(why, fmt.Sprintf("%s: %v", wid, err))
			case !settled(st, events[wid], final[wid]):
				why = append(why, fmt.Sprintf("%s: status %q (want %q), %d events recorded, last error %q", wid, st.Status, final[wid], len(st.Events), st.LastError))
			default:
				states[wid] = st
			}
		})
		sort.Strings(why)
		if len(why) > 3 {
			why = append(why[:3], fmt.Sprintf("and %d more", len(why)-3))
		}
		return len(why) == 0, strings.Join(why, "; ")
	})
	t.handledAt = time.Now()
	if err != nil {
		t.problems = append(t.problems, "waiting for the workflows: "+err.Error())
	}

	for wid, accs := range events {
		st, ok := states[wid]
		if !ok {
			t.lost += len(accs)
			continue
		}
		handled := map[string]string{}
		dups := map[string]int{}
		for _, e := range st.Events {
			switch e.Outcome {
			case "duplicate":
				dups[e.EventID]++
			case "error":
			default:
				if _, twice := handled[e.EventID]; twice {
					t.doubled++
					t.problems = append(t.problems, fmt.Sprintf("%s: event %s handled twice", wid, e.EventID))
				}
				handled[e.EventID] = e.Outcome
			}
		}
		for _, a := range accs {
			id := a.eventID
			switch outcome, ok := handled[id]; {
			case !ok:
				t.lost++
				t.problems = append(t.problems, fmt.Sprintf("%s: accepted event %s not handled", wid, id))
			case outcome == "applied":
				t.applied++
			default:
				t.stale++
			}
			t.duplicates += dups[id]
		}
		// A status is reached as many times as the plan goes there: once,
		// but for a repeating one (a Phosphor TRANSFER).
		seenEvent, seenTo := map[string]bool{}, map[string]int{}
		for _, tr := range st.Transitions {
			seenTo[tr.To]++
			if seenEvent[tr.EventID] || seenTo[tr.To] > max(1, planned[wid][tr.To]) {
				t.doubled++
				t.problems = append(t.problems, fmt.Sprintf("%s: transition %s→%s (event %s) applied twice", wid, tr.From, tr.To, tr.EventID))
			}
			seenEvent[tr.EventID] = true
		}
		if st.Status != final[wid] {
			t.problems = append(t.problems, fmt.Sprintf("%s: ended %q, want %q", wid, st.Status, final[wid]))
		}
	}
	eventOf := map[string]string{} // delivery key → accepted event ID
	for id, a := range acc {
		eventOf[a.key] = id
	}
	for _, p := range plans {
		if st, ok := states[p.workflowID]; ok {
			statuses, accepted := t.judge(p, st, eventOf)
			t.witness(ctx, tc, p, accepted, statuses)
			t.apiWitness(tp.api, p, accepted)
		}
	}
	if t.stale != t.wantStale {
		t.problems = append(t.problems, fmt.Sprintf("stale=%d, the plan says %d", t.stale, t.wantStale))
	}
	// The sink: each entity's transitions delivered, in order, once each.
	err = eventually(ctx, within, func() (bool, string) {
		var why []string
		for wid, st := range states {
			if done, problem := tp.sink.check(wid, st.seqs()); !done {
				why = append(why, problem)
			}
		}
		sort.Strings(why)
		return len(why) == 0, strings.Join(clip(why, 3), "; ")
	})
	if err != nil {
		t.problems = append(t.problems, "waiting for the deliveries: "+err.Error())
	}
	for wid, st := range states {
		if _, problem := tp.sink.check(wid, st.seqs()); problem != "" {
			t.misdelivered++
			t.problems = append(t.problems, problem)
		}
	}
	t.problems = append(t.problems, tp.sink.problems()...)
	sort.Strings(t.problems)
	return t
}

// judge holds an entity's recorded events and transitions against the
// plan's expectations, in order: every accepted delivery applied its
// expected transition (or, where the plan allows it, a reconcile check
// applied it first and the delivery was judged unchanged), then the
// plan's reconcile transitions, and nothing else.
// It returns the statuses the plan's transitions reach, in order, and the
// accepted event IDs: what the entity's history must witness.
func (t *tally) judge(p entityPlan, st entityState, eventOf map[string]string) (statuses, accepted []string) {
	outcome := map[string]string{} // event ID → how its handling ended
	for _, e := range st.Events {
		if e.Outcome != "duplicate" && e.Outcome != "error" {
			outcome[e.EventID] = e.Outcome
		}
	}
	var want, why []string
	for _, d := range p.deliveries {
		id, ok := eventOf[d.key]
		if !ok {
			continue // never accepted: a problem the sender reported
		}
		accepted = append(accepted, id)
		w := d.want
		statuses = append(statuses, w.to)
		switch got := outcome[id]; {
		case got == string(workflows.Apply):
			want = append(want, fmt.Sprintf("%s→%s %s %s", w.from, w.to, w.source, id))
		case got == string(workflows.Same) && w.orReconciled:
			want = append(want, fmt.Sprintf("%s→%s reconcile", w.from, w.to))
			t.wantStale++
		default:
			why = append(why, fmt.Sprintf("event %s (%s) %s, want applied %s→%s", id, d.status, got, w.from, w.to))
		}
	}
	for _, r := range p.reconciled {
		want = append(want, fmt.Sprintf("%s→%s reconcile", r.from, r.to))
		statuses = append(statuses, r.to)
	}
	have := make([]string, 0, len(st.Transitions))
	for _, tr := range st.Transitions {
		if tr.Source == "reconcile" {
			have = append(have, fmt.Sprintf("%s→%s reconcile", tr.From, tr.To))
		} else {
			have = append(have, fmt.Sprintf("%s→%s %s %s", tr.From, tr.To, tr.Source, tr.EventID))
		}
	}
	if !slices.Equal(have, want) {
		why = append(why, fmt.Sprintf("transitions %q, the plan says %q", have, want))
	}
	if len(why) > 0 {
		t.mismatched++
		t.problems = append(t.problems, p.workflowID+": "+strings.Join(why, "; "))
	}
	return statuses, accepted
}

// apiWitness holds the Phoenix stand-in's own count against the plan: an
// order's status comes from its API, so every accepted webhook of it was
// handled with at least one read the API answered (retries and reconcile
// checks add more, never fewer).
func (t *tally) apiWitness(api *phoenixAPI, p entityPlan, accepted []string) {
	if len(p.deliveries) == 0 || p.deliveries[0].provider != "phoenix" {
		return
	}
	if got := api.servedReads(entityOf(p.workflowID)); got < len(accepted) {
		t.mismatched++
		t.problems = append(t.problems, fmt.Sprintf("%s: the Phoenix API answered %d reads, fewer than its %d accepted webhooks", p.workflowID, got, len(accepted)))
	}
}

// settled reports whether the workflow has handled every accepted event,
// recorded every delivery a receiver signalled, and reached its final
// status.
func settled(st entityState, accs []accepted, final string) bool {
	if st.Status != final {
		return false
	}
	handled, records := map[string]bool{}, map[string]int{}
	for _, e := range st.Events {
		if e.Outcome != "error" {
			records[e.EventID]++
		}
		if e.Outcome != "duplicate" && e.Outcome != "error" {
			handled[e.EventID] = true
		}
	}
	for _, a := range accs {
		if !handled[a.eventID] || records[a.eventID] < a.signals {
			return false
		}
	}
	return true
}

func queryState(ctx context.Context, tc client.Client, workflowID string) (entityState, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var st entityState
	v, err := tc.QueryWorkflow(ctx, workflowID, "", workflows.QueryState)
	if err != nil {
		return st, err
	}
	return st, v.Get(&st)
}

// parallel calls f for every item, n at a time.
func parallel(n int, items []string, f func(string)) {
	work := make(chan string)
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for it := range work {
				f(it)
			}
		}()
	}
	for _, it := range items {
		work <- it
	}
	close(work)
	wg.Wait()
}
