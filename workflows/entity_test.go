package workflows

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/hookflow/hookflow/activities"
	"github.com/hookflow/hookflow/event"
)

const orderID = "o-1"

// t0 is the simulated start of every test workflow, so transition times and
// the end of the linger can be checked exactly. It lies ahead of the wall
// clock: the test environment checks a retried local activity's deadline,
// set in simulated time, against the wall clock.
var t0 = time.Now().UTC().Truncate(time.Hour).Add(48 * time.Hour)

// answer is one reply of the fake Phoenix API, given times times (once
// when 0).
type answer struct {
	status string
	err    error
	times  int
}

func api(status string) answer { return answer{status: status} }

// fakeAPI answers the order API reads (FetchEntityStatus, and
// FetchPhoenixOrder for runs before revision 4) in order from a script and
// counts the calls, retries included. A call beyond the script fails the
// test.
type fakeAPI struct {
	t      *testing.T
	mu     sync.Mutex
	script []answer
	calls  int
	// legacy counts the calls of FetchPhoenixOrder among calls.
	legacy int
	// downUntil, when set, makes every call before that simulated time
	// answer 503 (now reads the simulated clock).
	downUntil time.Time
	now       func() time.Time
	// byTime, when set, answers every call from the simulated time instead
	// of the script.
	byTime func(now time.Time) (string, error)
}

// fetchStatus answers FetchEntityStatus.
func (f *fakeAPI) fetchStatus(ctx context.Context, in activities.FetchStatusInput) (activities.OrderStatus, error) {
	if in.Provider != "phoenix" {
		f.t.Errorf("FetchEntityStatus(%+v), want provider phoenix", in)
	}
	return f.answer(ctx, in.EntityID)
}

// fetch answers FetchPhoenixOrder.
func (f *fakeAPI) fetch(ctx context.Context, in activities.FetchOrderInput) (activities.OrderStatus, error) {
	f.mu.Lock()
	f.legacy++
	f.mu.Unlock()
	return f.answer(ctx, in.OrderID)
}

func (f *fakeAPI) answer(_ context.Context, entityID string) (activities.OrderStatus, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.downUntil.IsZero() && f.now().Before(f.downUntil) {
		return activities.OrderStatus{}, errors.New("fetch phoenix order o-1: 503 Service Unavailable")
	}
	f.calls++
	if entityID != orderID {
		f.t.Errorf("API read of %q, want order %q", entityID, orderID)
	}
	if f.byTime != nil {
		status, err := f.byTime(f.now())
		return activities.OrderStatus{Status: status}, err
	}
	n := f.calls
	for _, a := range f.script {
		if n -= max(a.times, 1); n <= 0 {
			return activities.OrderStatus{Status: a.status}, a.err
		}
	}
	f.t.Errorf("API read %d: beyond the script", f.calls)
	return activities.OrderStatus{}, temporal.NewNonRetryableApplicationError("unscripted call", "Unscripted", nil)
}

func (f *fakeAPI) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

// harness is one simulated run of Entity for the Phoenix order orderID.
type harness struct {
	t   *testing.T
	env *testsuite.TestWorkflowEnvironment
	api *fakeAPI

	mu        sync.Mutex
	memo      *Snapshot // the snapshot the run last left in its memo
	describes int       // DescribeRun calls
}

// newHarness starts an environment whose DescribeRun answers prev (nil: a
// run that left no memo) and whose Phoenix API answers script.
func newHarness(t *testing.T, start time.Time, prev *Snapshot, script ...answer) *harness {
	t.Helper()
	var suite testsuite.WorkflowTestSuite
	h := &harness{t: t, env: suite.NewTestWorkflowEnvironment(), api: &fakeAPI{t: t, script: script}}
	h.env.SetStartTime(start)
	h.env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: event.WorkflowID("phoenix", "order", orderID)})
	h.env.RegisterWorkflow(Entity)
	h.env.RegisterActivity(&activities.Activities{})
	h.env.OnActivity("FetchPhoenixOrder", mock.Anything, mock.Anything).Return(h.api.fetch)
	h.env.OnActivity("FetchEntityStatus", mock.Anything, mock.Anything).Return(h.api.fetchStatus)
	h.env.OnActivity("DescribeRun", mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.DescribeRunInput) (activities.Run, error) {
			if want := event.WorkflowID("phoenix", "order", orderID); in.WorkflowID != want || in.MemoField != MemoKey {
				t.Errorf("DescribeRun(%q, field %q), want %q, %q", in.WorkflowID, in.MemoField, want, MemoKey)
			}
			h.mu.Lock()
			h.describes++
			h.mu.Unlock()
			if prev == nil {
				return activities.Run{}, nil
			}
			b, err := json.Marshal(prev)
			return activities.Run{Memo: b}, err
		})
	h.env.OnUpsertMemo(mock.Anything).Run(func(args mock.Arguments) {
		memo, _ := args.Get(0).(map[string]any)
		if _, ok := memo[MemoSummaryKey]; ok {
			return // revision 3's summary, not the snapshot
		}
		snap, ok := memo[MemoKey].(Snapshot)
		if !ok {
			t.Errorf("memo %v has no %s snapshot", memo, MemoKey)
			return
		}
		h.mu.Lock()
		defer h.mu.Unlock()
		h.memo = &snap
	}).Return(nil)
	return h
}

// signal delivers a signal at simulated offset at from the start.
func (h *harness) signal(at time.Duration, name string, payload any) {
	h.env.RegisterDelayedCallback(func() { h.env.SignalWorkflow(name, payload) }, at)
}

// event delivers a Phoenix webhook event at offset at.
func (h *harness) event(at time.Duration, id, status string) {
	h.signal(at, SignalWebhookEvent, phoenixEvent(id, status))
}

// queryAt returns the state the query reports at offset at, filled in once
// the workflow has run past at.
func (h *harness) queryAt(at time.Duration) *State { return queryStateAt(h.t, h.env, at) }

// queryStateAt queries the state at simulated offset at; the State it
// returns is filled in then.
func queryStateAt(t *testing.T, env *testsuite.TestWorkflowEnvironment, at time.Duration) *State {
	var s State
	env.RegisterDelayedCallback(func() {
		v, err := env.QueryWorkflow(QueryState)
		if err != nil {
			t.Errorf("query %s at +%s: %v", QueryState, at, err)
			return
		}
		if err := v.Get(&s); err != nil {
			t.Errorf("decode %s at +%s: %v", QueryState, at, err)
		}
	}, at)
	return &s
}

// complete runs the workflow and returns its result; it must complete
// without error.
func (h *harness) complete(in EntityInput) State {
	h.t.Helper()
	h.env.ExecuteWorkflow(Entity, in)
	if !h.env.IsWorkflowCompleted() {
		h.t.Fatal("workflow did not complete")
	}
	if err := h.env.GetWorkflowError(); err != nil {
		h.t.Fatalf("workflow error: %v", err)
	}
	var s State
	if err := h.env.GetWorkflowResult(&s); err != nil {
		h.t.Fatalf("decode result: %v", err)
	}
	return s
}

// continueAsNew runs the workflow, which must continue as new, and returns
// the input of its continuation.
func (h *harness) continueAsNew(in EntityInput) EntityInput {
	h.t.Helper()
	h.env.ExecuteWorkflow(Entity, in)
	var can *workflow.ContinueAsNewError
	if err := h.env.GetWorkflowError(); !errors.As(err, &can) {
		h.t.Fatalf("workflow error = %v, want a ContinueAsNewError", err)
	}
	if got := can.WorkflowType.Name; got != "Entity" {
		h.t.Errorf("continues as %q, want Entity", got)
	}
	var next EntityInput
	if err := converter.GetDefaultDataConverter().FromPayloads(can.Input, &next); err != nil {
		h.t.Fatalf("decode continuation input: %v", err)
	}
	if next.Carry == nil {
		h.t.Fatal("continuation input has no Carry")
	}
	return next
}

// snapshot is what the run leaves for the next: revision 3 answers
// QuerySnapshot (also once closed); earlier runs left it in the memo.
func (h *harness) snapshot() *Snapshot {
	h.mu.Lock()
	memo := h.memo
	h.mu.Unlock()
	if memo != nil {
		return memo
	}
	v, err := h.env.QueryWorkflow(QuerySnapshot)
	if err != nil {
		h.t.Errorf("query %s: %v", QuerySnapshot, err)
		return nil
	}
	var s Snapshot
	if err := v.Get(&s); err != nil {
		h.t.Errorf("decode snapshot: %v", err)
		return nil
	}
	return &s
}

func phoenixEvent(id, status string) event.Event {
	return event.Event{
		Provider: "phoenix", ID: id, Type: "order.status.change", EntityType: "order", EntityID: orderID,
		Status: status, ProviderTime: t0.Add(-time.Minute).Format(time.RFC3339), ReceivedAt: t0, RequestID: "req-" + id,
	}
}

func phoenixInput() EntityInput {
	return EntityInput{Provider: "phoenix", EntityType: "order", EntityID: orderID, Revision: Revision}
}

// reopenInput is the input of a run started to follow closed run run-1.
func reopenInput() EntityInput {
	in := phoenixInput()
	in.PreviousRunID = "run-1"
	return in
}

// checkRemembers checks which IDs a packed memory holds.
func checkRemembers(t *testing.T, what string, packed []byte, in []string, out ...string) {
	t.Helper()
	m := newMemory()
	m.load(packed, nil, nil)
	if got := len(m.order); got != len(in) {
		t.Errorf("%s holds %d IDs, want %d", what, got, len(in))
	}
	for _, id := range in {
		if !m.has(id) {
			t.Errorf("%s does not hold %q", what, id)
		}
	}
	for _, id := range out {
		if m.has(id) {
			t.Errorf("%s holds %q, want not", what, id)
		}
	}
}

// transitions summarizes transitions as "seq from→to eventID source +offset".
func transitions(ts []event.Transition, start time.Time) []string {
	out := make([]string, 0, len(ts))
	for _, t := range ts {
		from := t.From
		if from == "" {
			from = "∅"
		}
		out = append(out, fmt.Sprintf("%d %s→%s %s %s +%s", t.Seq, from, t.To, t.EventID, t.Source, t.At.Sub(start)))
	}
	return out
}

// outcomes summarizes the received events as "eventID outcome".
func outcomes(rs []event.Received) []string {
	out := make([]string, 0, len(rs))
	for _, r := range rs {
		out = append(out, r.EventID+" "+r.Outcome)
	}
	return out
}

func checkStrings(t *testing.T, what string, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("%s:\n got  %q\n want %q", what, got, want)
	}
}

func checkCounts(t *testing.T, s State, processed, duplicates, sequence int) {
	t.Helper()
	if s.Processed != processed || s.Duplicates != duplicates || s.Sequence != sequence {
		t.Errorf("processed, duplicates, sequence = %d, %d, %d; want %d, %d, %d",
			s.Processed, s.Duplicates, s.Sequence, processed, duplicates, sequence)
	}
}

func checkStatus(t *testing.T, s State, status string, terminal bool) {
	t.Helper()
	if s.Status != status || s.Terminal != terminal {
		t.Errorf("status, terminal = %q, %v; want %q, %v", s.Status, s.Terminal, status, terminal)
	}
}

func checkCalls(t *testing.T, h *harness, want int) {
	t.Helper()
	if got := h.api.count(); got != want {
		t.Errorf("API reads = %d, want %d", got, want)
	}
}

// TestOrderAPIReadByRevision: a revision 4 run reads the built-in order
// API with FetchEntityStatus, like every provider's; a revision 3 run
// still reads it with FetchPhoenixOrder, as its history recorded.
func TestOrderAPIReadByRevision(t *testing.T) {
	for _, tt := range []struct {
		rev        int
		wantLegacy int
	}{
		{rev: 4, wantLegacy: 0},
		{rev: 3, wantLegacy: 2},
	} {
		t.Run(fmt.Sprintf("revision %d", tt.rev), func(t *testing.T) {
			h := newHarness(t, t0, nil, api("pending"), api("fulfilled"))
			h.event(time.Second, "e1", "pending")
			h.event(2*time.Second, "e2", "fulfilled")
			in := phoenixInput()
			in.Revision = tt.rev
			got := h.complete(in)
			checkStatus(t, got, "fulfilled", true)
			checkCalls(t, h, 2)
			h.api.mu.Lock()
			defer h.api.mu.Unlock()
			if h.api.legacy != tt.wantLegacy {
				t.Errorf("FetchPhoenixOrder calls = %d, want %d (the rest FetchEntityStatus)", h.api.legacy, tt.wantLegacy)
			}
		})
	}
}

func TestEntityAppliesTransitionsOnce(t *testing.T) {
	h := newHarness(t, t0, nil, api("pending"), api("fulfilled"))
	h.event(time.Second, "e1", "pending")
	h.event(2*time.Second, "e2", "fulfilled")
	got := h.complete(phoenixInput())

	checkStatus(t, got, "fulfilled", true)
	checkCounts(t, got, 2, 0, 2)
	checkStrings(t, "transitions", transitions(got.Transitions, t0), []string{
		"1 ∅→pending e1 api +1s",
		"2 pending→fulfilled e2 api +2s",
	})
	checkStrings(t, "events", outcomes(got.Events), []string{"e1 applied", "e2 applied"})
	if pt := got.Transitions[1].ProviderTime; pt != t0.Add(-time.Minute).Format(time.RFC3339) {
		t.Errorf("transition provider time = %q, want the event's", pt)
	}
	if got.LastError != "" {
		t.Errorf("last error = %q, want none", got.LastError)
	}
	checkCalls(t, h, 2)
}

func TestEntityIgnoresDuplicateEventIDs(t *testing.T) {
	tests := []struct {
		name  string
		dupAt time.Duration
	}{
		{"same instant", time.Second},
		{"later, while lingering", 10 * time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, t0, nil, api("fulfilled"))
			h.event(time.Second, "e1", "fulfilled")
			h.event(tt.dupAt, "e1", "fulfilled")
			got := h.complete(phoenixInput())

			checkStatus(t, got, "fulfilled", true)
			checkCounts(t, got, 1, 1, 1)
			checkStrings(t, "transitions", transitions(got.Transitions, t0), []string{"1 ∅→fulfilled e1 api +1s"})
			checkStrings(t, "events", outcomes(got.Events), []string{"e1 applied", "e1 duplicate"})
			checkCalls(t, h, 1)
		})
	}
}

func TestEntityNeverMovesBackFromFulfilled(t *testing.T) {
	tests := []struct {
		name        string
		lateAPI     string // the API's answer for the late event
		wantOutcome string
	}{
		{"API answers the current status", "fulfilled", "e2 unchanged"},
		{"API answers pending for the late event", "pending", "e2 ignored-backwards"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, t0, nil, api("fulfilled"), api(tt.lateAPI))
			h.event(time.Second, "e1", "fulfilled")
			h.event(time.Minute, "e2", "pending")
			got := h.complete(phoenixInput())

			checkStatus(t, got, "fulfilled", true)
			checkCounts(t, got, 2, 0, 1)
			checkStrings(t, "transitions", transitions(got.Transitions, t0), []string{"1 ∅→fulfilled e1 api +1s"})
			checkStrings(t, "events", outcomes(got.Events), []string{"e1 applied", tt.wantOutcome})
			checkCalls(t, h, 2)
		})
	}
}

func TestEntityAPIStatusWins(t *testing.T) {
	h := newHarness(t, t0, nil, api("fulfilled"))
	h.event(time.Second, "e1", "pending")
	got := h.complete(phoenixInput())

	checkStatus(t, got, "fulfilled", true)
	checkStrings(t, "transitions", transitions(got.Transitions, t0), []string{"1 ∅→fulfilled e1 api +1s"})
	if len(got.Events) != 1 || got.Events[0].Status != "pending" {
		t.Errorf("events = %+v, want one recording the webhook's status pending", got.Events)
	}
}

func TestEntityAPIErrors(t *testing.T) {
	notFound := temporal.NewNonRetryableApplicationError("phoenix order o-1: not found (404)", activities.ErrOrderNotFound, nil)
	rejected := temporal.NewNonRetryableApplicationError("phoenix order o-1: 403 Forbidden", activities.ErrProviderRejected, nil)
	// Typed as non-retryable by the workflow's retry policy, not by the error.
	unreadable := temporal.NewApplicationError("phoenix order o-1: no status in the API response", activities.ErrUnrecognizedResponse)
	unavailable := errors.New("fetch phoenix order o-1: 503 Service Unavailable")

	// e1 makes the order pending, e2 (webhook status fulfilled) meets the
	// error, the state is queried at +5m, then e3 comes at +6m.
	tests := []struct {
		name       string
		script     []answer
		wantStatus string // at +5m
		wantSource string // of e2's transition
		wantError  string // in LastError at +5m; "" for none
		wantCalls  int
	}{
		{
			name:       "404 then 200: applied once, from the API",
			script:     []answer{api("pending"), {err: notFound, times: 3}, api("fulfilled"), api("fulfilled")},
			wantStatus: "fulfilled", wantSource: "api", wantCalls: 6,
		},
		{
			name: "404 through the window: the webhook's status, the error recorded",
			// Attempts at +0, 1, 3, 7, 15, 31, 63, 95 and 120 seconds.
			script:     []answer{api("pending"), {err: notFound, times: 9}, api("fulfilled")},
			wantStatus: "fulfilled", wantSource: "webhook", wantError: "not found (404) for 2m0s", wantCalls: 11,
		},
		{
			name:       "other 4xx: the webhook's status at once, the error recorded",
			script:     []answer{api("pending"), {err: rejected}, api("fulfilled")},
			wantStatus: "fulfilled", wantSource: "webhook", wantError: "403 Forbidden", wantCalls: 3,
		},
		{
			name:       "unreadable response: the webhook's status at once, the error recorded",
			script:     []answer{api("pending"), {err: unreadable}, api("fulfilled")},
			wantStatus: "fulfilled", wantSource: "webhook", wantError: "no status", wantCalls: 3,
		},
		{
			name:       "5xx is retried until the API answers",
			script:     []answer{api("pending"), {err: unavailable, times: 2}, api("fulfilled"), api("fulfilled")},
			wantStatus: "fulfilled", wantSource: "api", wantCalls: 5,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, t0, nil, tt.script...)
			h.event(time.Second, "e1", "pending")
			h.event(2*time.Second, "e2", "fulfilled")
			mid := h.queryAt(5 * time.Minute)
			h.event(6*time.Minute, "e3", "fulfilled")
			got := h.complete(phoenixInput())

			checkStatus(t, *mid, tt.wantStatus, tt.wantStatus == "fulfilled")
			switch {
			case tt.wantError == "" && mid.LastError != "":
				t.Errorf("last error = %q, want none", mid.LastError)
			case tt.wantError != "" && !strings.Contains(mid.LastError, tt.wantError):
				t.Errorf("last error = %q, want it to mention %q", mid.LastError, tt.wantError)
			}
			checkCounts(t, *mid, 2, 0, 2)
			checkStrings(t, "events", outcomes(mid.Events), []string{"e1 applied", "e2 applied"})
			if len(mid.Transitions) == 2 && mid.Transitions[1].Source != tt.wantSource {
				t.Errorf("e2's transition source = %q, want %q", mid.Transitions[1].Source, tt.wantSource)
			}
			checkStatus(t, got, "fulfilled", true)
			checkCalls(t, h, tt.wantCalls)
		})
	}
}

// TestEntityFailedHandlingIsNotRemembered: an event whose API read failed
// for good (a day of outage) is recorded as an error but not remembered, so
// its redelivery is handled afresh rather than taken for a duplicate.
func TestEntityFailedHandlingIsNotRemembered(t *testing.T) {
	h := newHarness(t, t0, nil, api("fulfilled"))
	h.api.now, h.api.downUntil = h.env.Now, t0.Add(25*time.Hour)
	h.event(time.Second, "e1", "fulfilled")
	h.event(26*time.Hour, "e1", "fulfilled") // the provider's redelivery, after the outage
	mid := h.queryAt(24*time.Hour + time.Minute)
	got := h.complete(phoenixInput())

	if !strings.Contains(mid.LastError, "503") {
		t.Errorf("last error after the outage = %q, want the 503", mid.LastError)
	}
	checkCounts(t, *mid, 0, 0, 0)
	checkStatus(t, got, "fulfilled", true)
	checkCounts(t, got, 1, 0, 1)
	checkStrings(t, "events", outcomes(got.Events), []string{"e1 error", "e1 applied"})
}

func TestEntityContinueAsNewKeepsEventMemory(t *testing.T) {
	in := phoenixInput()
	in.MaxEventsPerRun = 2
	first := newHarness(t, t0, nil, api("pending"), api("fulfilled"))
	first.event(time.Second, "e1", "pending")
	first.event(2*time.Second, "e2", "fulfilled")
	next := first.continueAsNew(in)

	t.Run("carry", func(t *testing.T) {
		c := next.Carry
		checkRemembers(t, "carried memory", c.Seen, []string{"e1", "e2"}, "e3")
		checkStatus(t, c.State, "fulfilled", true)
		checkCounts(t, c.State, 2, 0, 2)
		if want := t0.Add(2 * time.Second); !c.TerminalAt.Equal(want) {
			t.Errorf("terminal at = %s, want %s", c.TerminalAt, want)
		}
		if next.MaxEventsPerRun != 2 || next.EntityID != orderID {
			t.Errorf("continuation input = %+v, want the original's settings", next)
		}
	})

	t.Run("continuation", func(t *testing.T) {
		// A continuation must not load the previous run: were it to, this
		// answer would set the status back to pending.
		second := newHarness(t, first.env.Now(), &Snapshot{Status: "pending"})
		second.event(10*time.Second, "e1", "pending")
		got := second.complete(next)

		checkStatus(t, got, "fulfilled", true)
		checkCounts(t, got, 2, 1, 2)
		checkStrings(t, "transitions", transitions(got.Transitions, t0), []string{
			"1 ∅→pending e1 api +1s",
			"2 pending→fulfilled e2 api +2s",
		})
		checkStrings(t, "events", outcomes(got.Events), []string{"e1 applied", "e2 applied", "e1 duplicate"})
		checkCalls(t, second, 0)
		if second.describes != 0 {
			t.Errorf("a continuation read a previous run %d time(s)", second.describes)
		}
		// The linger goes on from the first run's terminal status.
		if got, want := second.env.Now(), next.Carry.TerminalAt.Add(DefaultLinger); !got.Equal(want) {
			t.Errorf("completed at %s, want %s", got, want)
		}
	})
}

func TestEntityDrainsSignalsBeforeContinueAsNew(t *testing.T) {
	in := phoenixInput()
	in.MaxEventsPerRun = 1
	h := newHarness(t, t0, nil, api("pending"), api("pending"), api("fulfilled"))
	for _, id := range []string{"e1", "e2", "e3"} {
		h.event(time.Second, id, "pending")
	}
	next := h.continueAsNew(in)

	c := next.Carry
	checkCounts(t, c.State, 3, 0, 2)
	checkRemembers(t, "carried memory", c.Seen, []string{"e1", "e2", "e3"})
	checkStrings(t, "events", outcomes(c.State.Events), []string{"e1 applied", "e2 unchanged", "e3 applied"})
	checkStatus(t, c.State, "fulfilled", true)
	checkCalls(t, h, 3)
}

func TestEntityLingersThenCompletes(t *testing.T) {
	in := phoenixInput()
	in.Linger = time.Minute
	h := newHarness(t, t0, nil, api("fulfilled"))
	h.event(time.Second, "e1", "fulfilled")
	h.event(31*time.Second, "e1", "fulfilled")
	during := h.queryAt(45 * time.Second)
	got := h.complete(in)

	checkStatus(t, got, "fulfilled", true)
	checkCounts(t, got, 1, 1, 1)
	checkCalls(t, h, 1)
	if during.Duplicates != 1 || !during.Terminal {
		t.Errorf("state while lingering = %+v, want terminal with the late event counted as a duplicate", *during)
	}
	// The late event does not restart the linger.
	if got, want := h.env.Now(), t0.Add(time.Second+time.Minute); !got.Equal(want) {
		t.Errorf("completed at %s, want %s", got, want)
	}
	snap := h.snapshot()
	if snap == nil {
		t.Fatal("no snapshot left in the memo")
	}
	if snap.Status != "fulfilled" || snap.Processed != 1 || snap.Duplicates != 1 || snap.Sequence != 1 {
		t.Errorf("memo snapshot = %+v, want fulfilled, 1 processed, 1 duplicate, 1 transition", *snap)
	}
	checkRemembers(t, "snapshot memory", snap.Seen, []string{"e1"})
	checkStrings(t, "snapshot transitions", transitions(snap.Transitions, t0), []string{"1 ∅→fulfilled e1 api +1s"})
	checkStrings(t, "snapshot events", outcomes(snap.Events), []string{"e1 applied", "e1 duplicate"})
}

// TestEntityIdleCloses: an entity that never reaches a terminal status
// closes IdleTimeout after its last activity, leaving its snapshot; events
// and reprocess requests push the close back.
func TestEntityIdleCloses(t *testing.T) {
	in := phoenixInput()
	in.IdleTimeout = time.Hour
	h := newHarness(t, t0, nil, api("pending"), api("pending"))
	h.event(time.Second, "e1", "pending")
	h.signal(30*time.Minute, SignalReprocess, ReprocessRequest{RequestID: "r1"})
	during := h.queryAt(89 * time.Minute)
	got := h.complete(in)

	checkStatus(t, got, "pending", false)
	if got, want := h.env.Now(), t0.Add(30*time.Minute+time.Hour); !got.Equal(want) {
		t.Errorf("closed at %s, want %s (an hour after the reprocess)", got, want)
	}
	if during.Status != "pending" {
		t.Errorf("state before the idle timeout = %+v, want still open and pending", *during)
	}
	snap := h.snapshot()
	if snap == nil || snap.Status != "pending" {
		t.Fatalf("memo snapshot = %+v, want pending", snap)
	}
	checkRemembers(t, "snapshot memory", snap.Seen, []string{"e1"})
}

// TestEntityIdleTimeoutYieldsToLinger: once terminal, the linger alone
// decides when the workflow completes.
func TestEntityIdleTimeoutYieldsToLinger(t *testing.T) {
	in := phoenixInput()
	in.IdleTimeout = 10 * time.Minute
	in.Linger = time.Hour
	h := newHarness(t, t0, nil, api("pending"), api("fulfilled"))
	h.event(time.Second, "e1", "pending")
	h.event(5*time.Minute, "e2", "fulfilled")
	got := h.complete(in)

	checkStatus(t, got, "fulfilled", true)
	if got, want := h.env.Now(), t0.Add(5*time.Minute+time.Hour); !got.Equal(want) {
		t.Errorf("completed at %s, want %s (the linger after fulfilled)", got, want)
	}
}

// TestEntityIdleClockCarriedOver: continuing as new does not restart the
// idle clock.
func TestEntityIdleClockCarriedOver(t *testing.T) {
	in := phoenixInput()
	in.IdleTimeout = time.Hour
	in.MaxEventsPerRun = 1
	first := newHarness(t, t0, nil, api("pending"))
	first.event(time.Second, "e1", "pending")
	next := first.continueAsNew(in)
	if want := t0.Add(time.Second); !next.Carry.LastActivity.Equal(want) {
		t.Fatalf("carried last activity = %s, want %s", next.Carry.LastActivity, want)
	}
	if next.IdleTimeout != time.Hour {
		t.Errorf("continuation idle timeout = %s, want 1h", next.IdleTimeout)
	}

	second := newHarness(t, t0.Add(2*time.Minute), nil)
	second.complete(next)
	if got, want := second.env.Now(), t0.Add(time.Second+time.Hour); !got.Equal(want) {
		t.Errorf("closed at %s, want %s (an hour after the first run's event)", got, want)
	}
}

func TestEntityReprocess(t *testing.T) {
	h := newHarness(t, t0, nil, api("pending"), api("fulfilled"), api("fulfilled"))
	h.event(time.Second, "e1", "pending")
	h.signal(time.Minute, SignalReprocess, ReprocessRequest{RequestID: "r1", Reason: "stuck"})
	h.signal(2*time.Minute, SignalReprocess, ReprocessRequest{RequestID: "r2", Reason: "again"})
	got := h.complete(phoenixInput())

	checkStatus(t, got, "fulfilled", true)
	checkStrings(t, "transitions", transitions(got.Transitions, t0), []string{
		"1 ∅→pending e1 api +1s",
		"2 pending→fulfilled reprocess:r1 reprocess +1m0s",
	})
	checkCounts(t, got, 1, 0, 2)
	checkCalls(t, h, 3)
}

func TestEntityContinuesClosedEntity(t *testing.T) {
	prev := &Snapshot{
		Status: "fulfilled", Processed: 1, Sequence: 1, Seen: packed("e1"), SavedAt: t0.Add(-time.Minute),
		Transitions: []event.Transition{{Seq: 1, To: "fulfilled", EventID: "e1", Source: "api", At: t0.Add(-2 * time.Hour)}},
		Events:      []event.Received{{EventID: "e1", Outcome: "applied"}},
	}
	h := newHarness(t, t0, prev, api("pending"))
	h.event(time.Second, "e1", "fulfilled")
	h.event(2*time.Second, "e2", "pending")
	got := h.complete(reopenInput())

	checkStatus(t, got, "fulfilled", true)
	checkCounts(t, got, 2, 1, 1)
	// The history goes on from the previous run's, with nothing new applied.
	checkStrings(t, "events", outcomes(got.Events), []string{"e1 applied", "e1 duplicate", "e2 ignored-backwards"})
	checkStrings(t, "transitions", transitions(got.Transitions, t0), []string{"1 ∅→fulfilled e1 api +-2h0m0s"})
	checkCalls(t, h, 1)
	// A run that loaded a terminal state lingers from its own start.
	if got, want := h.env.Now(), t0.Add(DefaultLinger); !got.Equal(want) {
		t.Errorf("completed at %s, want %s", got, want)
	}
}

func TestMemoryForgetsOldest(t *testing.T) {
	m := newMemory()
	for i := range maxRemembered + 2 {
		m.add("e" + strconv.Itoa(i))
	}
	m.add("e5") // already known: not added again
	if got := len(m.order); got != maxRemembered {
		t.Errorf("remembered %d IDs, want %d", got, maxRemembered)
	}
	for id, want := range map[string]bool{"e0": false, "e1": false, "e2": true, "e5": true, "e" + strconv.Itoa(maxRemembered+1): true} {
		if got := m.has(id); got != want {
			t.Errorf("has(%s) = %v, want %v", id, got, want)
		}
	}
	if got, want := m.order[len(m.order)-1], hashID("e"+strconv.Itoa(maxRemembered+1)); got != want {
		t.Errorf("newest remembered = %x, want %x", got, want)
	}
}

// packed is the memory holding ids, as carried.
func packed(ids ...string) []byte {
	m := newMemory()
	m.add(ids...)
	return m.packed()
}

// step is one webhook delivered to an entity and the outcome it must get.
type step struct{ id, status, providerTime, want string }

// deliverWebhooks runs an entity workflow that receives steps one second
// apart, checks each step's outcome and returns the final state.
func deliverWebhooks(t *testing.T, provider, entityType, entityID string, steps []step) State {
	t.Helper()
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	env.RegisterWorkflow(Entity)
	env.RegisterActivity(&activities.Activities{})
	for i, s := range steps {
		ev := event.Event{Provider: provider, ID: s.id, EntityType: entityType, EntityID: entityID, Status: s.status, ProviderTime: s.providerTime}
		env.RegisterDelayedCallback(func() { env.SignalWorkflow(SignalWebhookEvent, ev) }, time.Duration(i+1)*time.Second)
	}
	env.ExecuteWorkflow(Entity, EntityInput{Provider: provider, EntityType: entityType, EntityID: entityID, Linger: time.Minute, Revision: Revision})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	var st State
	if err := env.GetWorkflowResult(&st); err != nil {
		t.Fatal(err)
	}
	var got, want []string
	for _, e := range st.Events {
		got = append(got, e.EventID+":"+e.Outcome)
	}
	for _, s := range steps {
		want = append(want, s.id+":"+s.want)
	}
	if !slices.Equal(got, want) {
		t.Errorf("outcomes = %v, want %v", got, want)
	}
	return st
}

// TestEntityShipmentResumesAfterException drives a Fenix shipment through an
// exception: it resumes from where it stood, and a stale older scan that
// arrives after the exception still cannot move it back.
func TestEntityShipmentResumesAfterException(t *testing.T) {
	st := deliverWebhooks(t, "fenix", "shipment", "794698751234", []step{
		{"f1", "IN_TRANSIT", "", string(Apply)},
		{"f2", "EXCEPTION", "", string(Apply)},
		{"f3", "PICKED_BY_CARRIER", "", string(Backwards)}, // stale scan
		{"f4", "IN_TRANSIT", "", string(Apply)},            // resumes where it was
		{"f5", "DELIVERED", "", string(Apply)},
	})
	if st.Status != "DELIVERED" || st.ResumeFrom != "" || st.Sequence != 4 {
		t.Errorf("status %s, resumeFrom %q, sequence %d; want DELIVERED, empty, 4", st.Status, st.ResumeFrom, st.Sequence)
	}
}

// TestEntityLateDeliveriesByProviderTime: where rank alone cannot tell a
// late delivery from a new turn (a retry after FAILED, leaving or entering
// an EXCEPTION), an event stamped before the current status's is stale.
func TestEntityLateDeliveriesByProviderTime(t *testing.T) {
	at := func(min int) string { return t0.Add(time.Duration(min) * time.Minute).Format(time.RFC3339Nano) }

	t.Run("up42 retry", func(t *testing.T) {
		st := deliverWebhooks(t, "up42", "order", "o1", []step{
			{"u1", "PLACED", at(1), string(Apply)},
			{"u2", "FAILED", at(4), string(Apply)},
			{"u3", "BEING_FULFILLED", at(2), string(Stale)}, // sent before the failure
			{"u4", "BEING_FULFILLED", at(5), string(Apply)}, // the retry
			{"u5", "FULFILLED", at(6), string(Apply)},
		})
		if st.Status != "FULFILLED" || st.Sequence != 4 {
			t.Errorf("status %s, sequence %d; want FULFILLED, 4", st.Status, st.Sequence)
		}
	})
	t.Run("up42 retry without timestamps", func(t *testing.T) {
		st := deliverWebhooks(t, "up42", "order", "o2", []step{
			{"u1", "FAILED", "", string(Apply)},
			{"u2", "BEING_FULFILLED", "", string(Apply)},
			{"u3", "FAILED_PERMANENTLY", "", string(Apply)},
		})
		if st.Status != "FAILED_PERMANENTLY" {
			t.Errorf("status %s, want FAILED_PERMANENTLY", st.Status)
		}
	})
	t.Run("fenix exception", func(t *testing.T) {
		st := deliverWebhooks(t, "fenix", "shipment", "s1", []step{
			{"f1", "IN_TRANSIT", at(1), string(Apply)},
			{"f2", "EXCEPTION", at(3), string(Apply)},
			{"f3", "OUT_FOR_DELIVERY", at(2), string(Stale)}, // scanned before the exception
			{"f4", "IN_TRANSIT", at(4), string(Apply)},       // resumes
			{"f5", "EXCEPTION", at(2), string(Stale)},        // an older exception, delivered late
			{"f6", "DELIVERED", at(6), string(Apply)},
		})
		if st.Status != "DELIVERED" || st.Sequence != 4 {
			t.Errorf("status %s, sequence %d; want DELIVERED, 4", st.Status, st.Sequence)
		}
	})
	t.Run("phantom unix seconds", func(t *testing.T) {
		st := deliverWebhooks(t, "phantom", "block", "b1", []step{
			{"block.disregarded:b1", "disregarded", "1717783700", string(Apply)},
			{"block.applied:b1", "applied", "1717783695", string(Stale)},
		})
		if st.Status != "disregarded" {
			t.Errorf("status %s, want disregarded", st.Status)
		}
	})
}

func TestProviderInstant(t *testing.T) {
	tests := []struct {
		in   string
		want time.Time
		ok   bool
	}{
		{"2026-11-20T11:00:00.000Z", time.Date(2026, 11, 20, 11, 0, 0, 0, time.UTC), true},
		{"2024-07-06T01:12:34-05:00", time.Date(2024, 7, 6, 6, 12, 34, 0, time.UTC), true},
		{"1717783695", time.Unix(1717783695, 0), true},
		{"1717783695123", time.UnixMilli(1717783695123), true},
		{"", time.Time{}, false},
		{"yesterday", time.Time{}, false},
		{"-5", time.Time{}, false},
	}
	for _, tt := range tests {
		got, ok := providerInstant(tt.in)
		if ok != tt.ok || !got.Equal(tt.want) {
			t.Errorf("providerInstant(%q) = %s, %v; want %s, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

// TestEntityUnknownKindFails: a workflow for an entity hookflow has no state
// table for fails at once instead of staying open forever.
func TestEntityUnknownKindFails(t *testing.T) {
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	env.RegisterWorkflow(Entity)
	env.ExecuteWorkflow(Entity, EntityInput{Provider: "phoenix", EntityType: "ordr", EntityID: "x"})
	var app *temporal.ApplicationError
	if err := env.GetWorkflowError(); !errors.As(err, &app) || app.Type() != "UnknownEntityKind" {
		t.Errorf("error = %v, want UnknownEntityKind", env.GetWorkflowError())
	}
}

// TestEntityLeavesSnapshotAtEveryTransition: the run answers its whole
// state (QuerySnapshot) while it is still open, as the server's replay of a
// terminated run does, so a run that is terminated mid-life leaves it; the
// next run, named after it, continues from there.
func TestEntityLeavesSnapshotAtEveryTransition(t *testing.T) {
	first := newHarness(t, t0, nil, api("pending"), api("pending"))
	first.event(time.Second, "e1", "pending")
	first.event(2*time.Second, "e2", "pending") // unchanged: no transition
	var midLife *Snapshot
	first.env.RegisterDelayedCallback(func() { midLife = first.snapshot() }, time.Minute)
	in := phoenixInput()
	in.IdleTimeout = time.Hour
	first.complete(in)
	if midLife == nil {
		t.Fatal("no snapshot in the memo while the run was open")
	}
	if midLife.Status != "pending" || midLife.Sequence != 1 {
		t.Fatalf("mid-life snapshot = %+v, want pending after 1 transition", *midLife)
	}
	checkRemembers(t, "mid-life snapshot memory", midLife.Seen, []string{"e1", "e2"})

	// The run is terminated at +1m: the next one loads what it left.
	second := newHarness(t, t0.Add(2*time.Minute), midLife, api("fulfilled"), api("fulfilled"))
	second.event(time.Second, "e1", "pending") // redelivered: a duplicate
	second.event(2*time.Second, "e3", "fulfilled")
	got := second.complete(reopenInput())

	checkStatus(t, got, "fulfilled", true)
	checkStrings(t, "events", outcomes(got.Events), []string{"e1 applied", "e2 unchanged", "e1 duplicate", "e3 applied"})
	checkStrings(t, "transitions", transitions(got.Transitions, t0), []string{
		"1 ∅→pending e1 api +1s",
		"2 pending→fulfilled e3 api +2m2s",
	})
	if second.describes != 1 {
		t.Errorf("DescribeRun calls = %d, want 1", second.describes)
	}
}

// TestEntityWaitsForPreviousState: while the previous run cannot be read, the
// run handles no event (it would judge it against an empty state) and says
// why in LastError; once the read succeeds, the waiting event is judged
// against the loaded state and cannot move the entity back.
func TestEntityWaitsForPreviousState(t *testing.T) {
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	env.SetStartTime(t0)
	env.RegisterWorkflow(Entity)
	env.RegisterActivity(&activities.Activities{})
	prev, _ := json.Marshal(Snapshot{Status: "fulfilled", Sequence: 2, Processed: 2, Seen: packed("e1", "e2")})
	var mu sync.Mutex
	describes := 0
	env.OnActivity("DescribeRun", mock.Anything, mock.Anything).Return(
		func(context.Context, activities.DescribeRunInput) (activities.Run, error) {
			mu.Lock()
			defer mu.Unlock()
			if describes++; env.Now().Before(t0.Add(10 * time.Minute)) {
				return activities.Run{}, errors.New("describe run run-1: frontend unavailable")
			}
			return activities.Run{Memo: prev}, nil
		})
	env.OnActivity("FetchEntityStatus", mock.Anything, mock.Anything).Return(activities.OrderStatus{Status: "pending"}, nil)
	env.RegisterDelayedCallback(func() { env.SignalWorkflow(SignalWebhookEvent, phoenixEvent("e0", "pending")) }, time.Second)
	var during State
	env.RegisterDelayedCallback(func() {
		v, err := env.QueryWorkflow(QueryState)
		if err == nil {
			err = v.Get(&during)
		}
		if err != nil {
			t.Errorf("query while loading: %v", err)
		}
	}, 5*time.Minute)
	env.ExecuteWorkflow(Entity, reopenInput())
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	var got State
	if err := env.GetWorkflowResult(&got); err != nil {
		t.Fatal(err)
	}

	if !strings.Contains(during.LastError, "load previous run run-1") || during.Processed != 0 || during.Status != "" {
		t.Errorf("state while loading = %+v, want nothing handled and the load error in LastError", during)
	}
	checkStatus(t, got, "fulfilled", true)
	checkCounts(t, got, 3, 0, 2)
	checkStrings(t, "events", outcomes(got.Events), []string{"e0 ignored-backwards"})
	if got.LastError != "" {
		t.Errorf("last error after loading = %q, want cleared", got.LastError)
	}
	if describes < 2 {
		t.Errorf("DescribeRun calls = %d, want the failures retried", describes)
	}
}

// TestCarriedSizesAtTheBound: with a full event-ID memory of long IDs and
// full histories, the snapshot memo, the ContinueAsNew input and the state
// each stay within MaxPayloadBytes, and deduplication stays exact.
func TestCarriedSizesAtTheBound(t *testing.T) {
	for _, idLen := range []int{64, 200, 512} {
		t.Run(fmt.Sprintf("%d-byte IDs", idLen), func(t *testing.T) {
			id := func(i int) string {
				s := fmt.Sprintf("%0*d", idLen, i)
				return "e" + s[1:]
			}
			e := newEntity(phoenixInput())
			for i := range maxRemembered {
				e.memory.add(id(i))
			}
			details := map[string]string{"X-Fenix-Webhook-Id": strings.Repeat("w", 200), "X-Client-Storename": strings.Repeat("s", 200)}
			for i := range maxKept + 50 {
				e.state.Transitions = keepLast(append(e.state.Transitions, event.Transition{
					Seq: i, From: "IN_TRANSIT", To: "OUT_FOR_DELIVERY", EventID: id(i), Source: "webhook",
					At: t0, ProviderTime: t0.Format(time.RFC3339Nano), Details: details,
				}), transitionBytes)
				e.state.Events = keepLast(append(e.state.Events, event.Received{
					EventID: id(i), Type: "tracking/updated", Status: "OUT_FOR_DELIVERY", ReceivedAt: t0, Outcome: "applied",
				}), receivedBytes)
			}
			e.state.LastError = strings.Repeat("x", 1000)
			// Two delivery targets, each with a full queue behind a failed
			// delivery, the latest finished records, and the bodies held.
			for _, target := range []string{"a1b2c3d4e5f6", "handler:user-transitions"} {
				for seq := 1; seq <= 100; seq++ {
					status := DeliveryDelivered
					if seq > 100-maxQueued {
						status = DeliveryPending
					}
					e.state.Deliveries = append(e.state.Deliveries, Delivery{
						Target: target, Label: "https://sink.example.com", Seq: seq, Status: status, Attempts: 3,
						At: t0, LastAnswer: strings.Repeat("a", 60),
					})
				}
			}
			e.trimDeliveries()
			for seq := 1; e.heldBodyBytes() < bodyBytes-2000; seq++ {
				e.bodies[100-maxQueued+seq] = json.RawMessage(`{"pad":"` + strings.Repeat("b", 1500) + `"}`)
			}
			in := phoenixInput()
			in.Carry = &Carry{State: e.state, Seen: e.memory.packed(), Bodies: e.bodies, TerminalAt: t0, LastActivity: t0}
			dc := converter.GetDefaultDataConverter()
			for what, v := range map[string]any{
				"event-ID memory":     e.memory.packed(),
				"snapshot memo":       map[string]any{MemoKey: Snapshot{Status: "x", Transitions: e.state.Transitions, Events: e.state.Events, Seen: e.memory.packed(), SavedAt: t0}},
				"ContinueAsNew input": in,
				"state":               e.state,
			} {
				p, err := dc.ToPayload(v)
				if err != nil {
					t.Fatal(err)
				}
				t.Logf("%s: %d bytes", what, len(p.GetData()))
				if size := len(p.GetData()); size > MaxPayloadBytes {
					t.Errorf("%s: %d bytes, want at most %d", what, size, MaxPayloadBytes)
				}
			}
			if len(e.state.Transitions) == 0 || e.state.Transitions[len(e.state.Transitions)-1].EventID != id(maxKept+49) {
				t.Error("the newest transition was not kept")
			}
			// Exact: every remembered ID is known, none of 10,000 others is.
			carried := newEntity(in)
			for i := range maxRemembered {
				if !carried.memory.has(id(i)) {
					t.Fatalf("carried memory forgot %q", id(i))
				}
				if carried.memory.has(id(maxRemembered + i)) {
					t.Fatalf("carried memory holds %q, never added", id(maxRemembered+i))
				}
			}
		})
	}
}

// TestContinuationLeavesSnapshot: a revision 2 continuation whose memo
// holds no snapshot (its predecessor was a revision 0 run, which saved one
// only when it closed) leaves one at once. (The test environment does not
// pass a start memo to the workflow, so the carried case, which writes
// nothing, is left to the replayed histories.)
func TestContinuationLeavesSnapshot(t *testing.T) {
	in := phoenixInput()
	in.Revision = 2
	in.Carry = &Carry{State: State{Provider: "phoenix", EntityType: "order", EntityID: orderID, Status: "pending", Sequence: 1}, Seen: packed("e1")}
	h := newHarness(t, t0, nil)
	var early *Snapshot
	h.env.RegisterDelayedCallback(func() { early = h.snapshot() }, time.Second)
	h.env.RegisterDelayedCallback(func() { h.env.CancelWorkflow() }, 2*time.Second)
	h.env.ExecuteWorkflow(Entity, in)
	if early == nil {
		t.Fatal("no snapshot saved at the start of the continuation")
	}
	if early.Status != "pending" || early.Sequence != 1 {
		t.Errorf("saved snapshot = %+v, want the carried state", *early)
	}
	checkRemembers(t, "saved memory", early.Seen, []string{"e1"})
}
