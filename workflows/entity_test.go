package workflows

import (
	"context"
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
// the end of the linger can be checked exactly.
var t0 = time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)

// answer is one reply of the fake Phoenix API.
type answer struct {
	status string
	err    error
}

func api(status string) answer { return answer{status: status} }

// fakeAPI answers FetchPhoenixOrder in order from a script and counts the
// calls, retries included. A call beyond the script fails the test.
type fakeAPI struct {
	t      *testing.T
	mu     sync.Mutex
	script []answer
	calls  int
}

func (f *fakeAPI) fetch(_ context.Context, in activities.FetchOrderInput) (activities.OrderStatus, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if in.OrderID != orderID {
		f.t.Errorf("FetchPhoenixOrder(%q), want order %q", in.OrderID, orderID)
	}
	if f.calls > len(f.script) {
		f.t.Errorf("FetchPhoenixOrder call %d: the script has %d answer(s)", f.calls, len(f.script))
		return activities.OrderStatus{}, temporal.NewNonRetryableApplicationError("unscripted call", "Unscripted", nil)
	}
	a := f.script[f.calls-1]
	return activities.OrderStatus{Status: a.status}, a.err
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

	mu   sync.Mutex
	memo *activities.Snapshot // the snapshot the run left in its memo
}

// newHarness starts an environment whose LoadPreviousRun answers prev and
// whose Phoenix API answers script.
func newHarness(t *testing.T, start time.Time, prev activities.PreviousRun, script ...answer) *harness {
	t.Helper()
	var suite testsuite.WorkflowTestSuite
	h := &harness{t: t, env: suite.NewTestWorkflowEnvironment(), api: &fakeAPI{t: t, script: script}}
	h.env.SetStartTime(start)
	h.env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: event.WorkflowID("phoenix", "order", orderID)})
	h.env.RegisterWorkflow(Entity)
	h.env.RegisterActivity(&activities.Activities{})
	h.env.OnActivity("FetchPhoenixOrder", mock.Anything, mock.Anything).Return(h.api.fetch)
	h.env.OnActivity("LoadPreviousRun", mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.LoadPreviousInput) (activities.PreviousRun, error) {
			if want := event.WorkflowID("phoenix", "order", orderID); in.WorkflowID != want {
				t.Errorf("LoadPreviousRun(%q), want %q", in.WorkflowID, want)
			}
			return prev, nil
		})
	h.env.OnUpsertMemo(mock.Anything).Run(func(args mock.Arguments) {
		memo, _ := args.Get(0).(map[string]any)
		snap, ok := memo[activities.MemoKey].(activities.Snapshot)
		if !ok {
			t.Errorf("memo %v has no %s snapshot", memo, activities.MemoKey)
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
func (h *harness) queryAt(at time.Duration) *State {
	var s State
	h.env.RegisterDelayedCallback(func() {
		v, err := h.env.QueryWorkflow(QueryState)
		if err != nil {
			h.t.Errorf("query %s at +%s: %v", QueryState, at, err)
			return
		}
		if err := v.Get(&s); err != nil {
			h.t.Errorf("decode %s at +%s: %v", QueryState, at, err)
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

func (h *harness) snapshot() *activities.Snapshot {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.memo
}

func phoenixEvent(id, status string) event.Event {
	return event.Event{
		Provider: "phoenix", ID: id, Type: "order.status.change", EntityType: "order", EntityID: orderID,
		Status: status, ProviderTime: "2026-11-23T08:59:00Z", ReceivedAt: t0, RequestID: "req-" + id,
	}
}

func phoenixInput() EntityInput {
	return EntityInput{Provider: "phoenix", EntityType: "order", EntityID: orderID}
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
		t.Errorf("FetchPhoenixOrder calls = %d, want %d", got, want)
	}
}

func TestEntityAppliesTransitionsOnce(t *testing.T) {
	h := newHarness(t, t0, activities.PreviousRun{}, api("pending"), api("fulfilled"))
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
	if pt := got.Transitions[1].ProviderTime; pt != "2026-11-23T08:59:00Z" {
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
			h := newHarness(t, t0, activities.PreviousRun{}, api("fulfilled"))
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
			h := newHarness(t, t0, activities.PreviousRun{}, api("fulfilled"), api(tt.lateAPI))
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
	h := newHarness(t, t0, activities.PreviousRun{}, api("fulfilled"))
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

	// e1 makes the order pending, e2 meets the error, the state is queried,
	// then e3 makes the order fulfilled so the workflow completes.
	tests := []struct {
		name       string
		script     []answer
		wantStatus string // after e2
		wantError  string // in LastError after e2; "" for none
		wantE2     string // e2's outcome
		wantCalls  int
	}{
		{
			name:       "404 is recorded, not retried",
			script:     []answer{api("pending"), {err: notFound}, api("fulfilled")},
			wantStatus: "pending", wantError: "not found", wantE2: "e2 error", wantCalls: 3,
		},
		{
			name:       "other 4xx is recorded, not retried",
			script:     []answer{api("pending"), {err: rejected}, api("fulfilled")},
			wantStatus: "pending", wantError: "403 Forbidden", wantE2: "e2 error", wantCalls: 3,
		},
		{
			name:       "unreadable response is recorded, not retried",
			script:     []answer{api("pending"), {err: unreadable}, api("fulfilled")},
			wantStatus: "pending", wantError: "no status", wantE2: "e2 error", wantCalls: 3,
		},
		{
			name:       "5xx is retried until the API answers",
			script:     []answer{api("pending"), {err: unavailable}, {err: unavailable}, api("fulfilled"), api("fulfilled")},
			wantStatus: "fulfilled", wantE2: "e2 applied", wantCalls: 5,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, t0, activities.PreviousRun{}, tt.script...)
			h.event(time.Second, "e1", "pending")
			h.event(2*time.Second, "e2", "fulfilled")
			mid := h.queryAt(time.Minute)
			h.event(2*time.Minute, "e3", "fulfilled")
			got := h.complete(phoenixInput())

			checkStatus(t, *mid, tt.wantStatus, tt.wantStatus == "fulfilled")
			switch {
			case tt.wantError == "" && mid.LastError != "":
				t.Errorf("last error = %q, want none", mid.LastError)
			case tt.wantError != "" && !strings.Contains(mid.LastError, tt.wantError):
				t.Errorf("last error = %q, want it to mention %q", mid.LastError, tt.wantError)
			}
			if mid.Processed != 2 {
				t.Errorf("processed = %d, want 2", mid.Processed)
			}
			if len(mid.Events) != 2 || outcomes(mid.Events)[1] != tt.wantE2 {
				t.Errorf("events = %q, want e2 %q", outcomes(mid.Events), tt.wantE2)
			}
			checkStatus(t, got, "fulfilled", true)
			if got.LastError != "" {
				t.Errorf("last error after the API answered = %q, want cleared", got.LastError)
			}
			checkCalls(t, h, tt.wantCalls)
		})
	}
}

func TestEntityContinueAsNewKeepsEventMemory(t *testing.T) {
	in := phoenixInput()
	in.MaxEventsPerRun = 2
	first := newHarness(t, t0, activities.PreviousRun{}, api("pending"), api("fulfilled"))
	first.event(time.Second, "e1", "pending")
	first.event(2*time.Second, "e2", "fulfilled")
	next := first.continueAsNew(in)

	t.Run("carry", func(t *testing.T) {
		c := next.Carry
		checkStrings(t, "carried event IDs", c.EventIDs, []string{"e1", "e2"})
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
		second := newHarness(t, first.env.Now(), activities.PreviousRun{Found: true, Snapshot: activities.Snapshot{Status: "pending"}})
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
		// The linger goes on from the first run's terminal status.
		if got, want := second.env.Now(), next.Carry.TerminalAt.Add(DefaultLinger); !got.Equal(want) {
			t.Errorf("completed at %s, want %s", got, want)
		}
	})
}

func TestEntityDrainsSignalsBeforeContinueAsNew(t *testing.T) {
	in := phoenixInput()
	in.MaxEventsPerRun = 1
	h := newHarness(t, t0, activities.PreviousRun{}, api("pending"), api("pending"), api("fulfilled"))
	for _, id := range []string{"e1", "e2", "e3"} {
		h.event(time.Second, id, "pending")
	}
	next := h.continueAsNew(in)

	c := next.Carry
	checkCounts(t, c.State, 3, 0, 2)
	checkStrings(t, "carried event IDs", c.EventIDs, []string{"e1", "e2", "e3"})
	checkStrings(t, "events", outcomes(c.State.Events), []string{"e1 applied", "e2 unchanged", "e3 applied"})
	checkStatus(t, c.State, "fulfilled", true)
	checkCalls(t, h, 3)
}

func TestEntityLingersThenCompletes(t *testing.T) {
	in := phoenixInput()
	in.Linger = time.Minute
	h := newHarness(t, t0, activities.PreviousRun{}, api("fulfilled"))
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
	if snap.Status != "fulfilled" || snap.Processed != 1 || snap.Duplicates != 1 || snap.Sequence != 1 || !slices.Equal(snap.EventIDs, []string{"e1"}) {
		t.Errorf("memo snapshot = %+v, want fulfilled, 1 processed, 1 duplicate, 1 transition, event IDs [e1]", *snap)
	}
	checkStrings(t, "snapshot transitions", transitions(snap.Transitions, t0), []string{"1 ∅→fulfilled e1 api +1s"})
	checkStrings(t, "snapshot events", outcomes(snap.Events), []string{"e1 applied", "e1 duplicate"})
}

// TestEntityIdleCloses: an entity that never reaches a terminal status
// closes IdleTimeout after its last activity, leaving its snapshot; events
// and reprocess requests push the close back.
func TestEntityIdleCloses(t *testing.T) {
	in := phoenixInput()
	in.IdleTimeout = time.Hour
	h := newHarness(t, t0, activities.PreviousRun{}, api("pending"), api("pending"))
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
	if snap == nil || snap.Status != "pending" || !slices.Equal(snap.EventIDs, []string{"e1"}) {
		t.Errorf("memo snapshot = %+v, want pending with event IDs [e1]", snap)
	}
}

// TestEntityIdleTimeoutYieldsToLinger: once terminal, the linger alone
// decides when the workflow completes.
func TestEntityIdleTimeoutYieldsToLinger(t *testing.T) {
	in := phoenixInput()
	in.IdleTimeout = 10 * time.Minute
	in.Linger = time.Hour
	h := newHarness(t, t0, activities.PreviousRun{}, api("pending"), api("fulfilled"))
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
	first := newHarness(t, t0, activities.PreviousRun{}, api("pending"))
	first.event(time.Second, "e1", "pending")
	next := first.continueAsNew(in)
	if want := t0.Add(time.Second); !next.Carry.LastActivity.Equal(want) {
		t.Fatalf("carried last activity = %s, want %s", next.Carry.LastActivity, want)
	}
	if next.IdleTimeout != time.Hour {
		t.Errorf("continuation idle timeout = %s, want 1h", next.IdleTimeout)
	}

	second := newHarness(t, t0.Add(2*time.Minute), activities.PreviousRun{})
	second.complete(next)
	if got, want := second.env.Now(), t0.Add(time.Second+time.Hour); !got.Equal(want) {
		t.Errorf("closed at %s, want %s (an hour after the first run's event)", got, want)
	}
}

func TestEntityReprocess(t *testing.T) {
	h := newHarness(t, t0, activities.PreviousRun{}, api("pending"), api("fulfilled"), api("fulfilled"))
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
	prev := activities.PreviousRun{Found: true, RunID: "run-1", Snapshot: activities.Snapshot{
		Status: "fulfilled", Processed: 1, Sequence: 1, EventIDs: []string{"e1"}, ClosedAt: t0.Add(-time.Minute),
		Transitions: []event.Transition{{Seq: 1, To: "fulfilled", EventID: "e1", Source: "api", At: t0.Add(-2 * time.Hour)}},
		Events:      []event.Received{{EventID: "e1", Outcome: "applied"}},
	}}
	h := newHarness(t, t0, prev, api("pending"))
	h.event(time.Second, "e1", "fulfilled")
	h.event(2*time.Second, "e2", "pending")
	got := h.complete(phoenixInput())

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

func TestRememberForgetsOldest(t *testing.T) {
	e := newEntity(phoenixInput())
	for i := range maxRemembered + 2 {
		e.remember("e" + strconv.Itoa(i))
	}
	e.remember("e5") // already known: not added again
	if got := len(e.eventIDs); got != maxRemembered {
		t.Errorf("remembered %d IDs, want %d", got, maxRemembered)
	}
	for id, want := range map[string]bool{"e0": false, "e1": false, "e2": true, "e5": true, "e" + strconv.Itoa(maxRemembered+1): true} {
		if got := e.seen[id]; got != want {
			t.Errorf("seen[%s] = %v, want %v", id, got, want)
		}
	}
	if got, want := e.eventIDs[len(e.eventIDs)-1], "e"+strconv.Itoa(maxRemembered+1); got != want {
		t.Errorf("newest remembered = %s, want %s", got, want)
	}
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
	env.OnActivity("LoadPreviousRun", mock.Anything, mock.Anything).Return(activities.PreviousRun{}, nil)
	for i, s := range steps {
		ev := event.Event{Provider: provider, ID: s.id, EntityType: entityType, EntityID: entityID, Status: s.status, ProviderTime: s.providerTime}
		env.RegisterDelayedCallback(func() { env.SignalWorkflow(SignalWebhookEvent, ev) }, time.Duration(i+1)*time.Second)
	}
	env.ExecuteWorkflow(Entity, EntityInput{Provider: provider, EntityType: entityType, EntityID: entityID, Linger: time.Minute})
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
