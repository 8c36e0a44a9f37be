package workflows

import (
	"errors"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/hookflow/hookflow/activities"
)

// reconcileInput is phoenixInput reconciled on steps.
func reconcileInput(steps ...time.Duration) EntityInput {
	in := phoenixInput()
	in.Reconcile, in.ReconcileQueue = steps, "hookflow-reconcile-phoenix"
	return in
}

// apiFrom answers before until t0+at, after from it on.
func apiFrom(at time.Duration, before, after string) func(time.Time) (string, error) {
	return func(now time.Time) (string, error) {
		if now.Sub(t0) >= at {
			return after, nil
		}
		return before, nil
	}
}

// TestReconcileConvergesWithoutWebhook: the webhook said pending and the
// fulfilled one never came; the API says fulfilled from minute 20. The
// second check (5m, then 30m after it) applies it with source reconcile,
// and no check follows the terminal status, though the linger outlasts
// the next step.
func TestReconcileConvergesWithoutWebhook(t *testing.T) {
	h := newHarness(t, t0, nil)
	h.api.now, h.api.byTime = h.env.Now, apiFrom(20*time.Minute, "pending", "fulfilled")
	h.event(time.Second, "e1", "pending")
	in := reconcileInput(5*time.Minute, 30*time.Minute, 2*time.Hour)
	in.Linger = 6 * time.Hour
	got := h.complete(in)

	checkStatus(t, got, "fulfilled", true)
	if len(got.Transitions) != 2 {
		t.Fatalf("transitions %v, want pending by the webhook's read, then fulfilled by reconcile", transitions(got.Transitions, t0))
	}
	last := got.Transitions[1]
	if last.From != "pending" || last.To != "fulfilled" || last.Source != "reconcile" || !strings.HasPrefix(last.EventID, "reconcile:") {
		t.Errorf("transition %+v, want pending→fulfilled by reconcile", last)
	}
	// The second check: 1s + 5m and 30m, each lengthened by up to 10%.
	if at := last.At.Sub(t0); at < 35*time.Minute+time.Second || at > 38*time.Minute+30*time.Second {
		t.Errorf("reconciled at +%s, want the second check, between +35m1s and +38m31s", at)
	}
	if !got.LastReconciledAt.Equal(last.At) {
		t.Errorf("lastReconciledAt %s, want the check's %s", got.LastReconciledAt, last.At)
	}
	checkCounts(t, got, 1, 0, 2) // the checks used up no event ID
	checkCalls(t, h, 3)          // the webhook's read and two checks; none after fulfilled
}

// TestReconcileUnchangedRecordsOnlyTheCheck: an API that keeps saying what
// the entity says moves nothing; each check records its time, the last
// step repeats until the idle timeout closes the run, and one snapshot is
// left for the one transition.
func TestReconcileUnchangedRecordsOnlyTheCheck(t *testing.T) {
	h := newHarness(t, t0, nil)
	h.api.now, h.api.byTime = h.env.Now, apiFrom(0, "pending", "pending")
	h.event(time.Second, "e1", "pending")
	mid := h.queryAt(12 * time.Minute)
	in := reconcileInput(5 * time.Minute)
	in.IdleTimeout = 31 * time.Minute
	got := h.complete(in)

	checkStatus(t, got, "pending", false)
	checkCounts(t, got, 1, 0, 1)
	if mid.LastReconciledAt.IsZero() || mid.LastReconciledAt.Sub(t0) < 5*time.Minute || mid.Sequence != 1 {
		t.Errorf("at +12m: lastReconciledAt %s, sequence %d; want a check after +5m and still one transition", mid.LastReconciledAt, mid.Sequence)
	}
	// Checks every 5m to 5m30s from +1s until the idle close at +31m1s.
	if calls := h.api.count() - 1; calls < 5 || calls > 6 {
		t.Errorf("%d checks in 31 minutes of a 5m schedule, want 5 or 6", calls)
	}
}

// TestReconcileOffAndOldRevisions: no schedule, or a revision 1 run with
// one, never checks.
func TestReconcileOffAndOldRevisions(t *testing.T) {
	for name, in := range map[string]EntityInput{
		"no schedule": reconcileInput(),
		"revision 1": func() EntityInput {
			in := reconcileInput(time.Minute)
			in.Revision = 1
			return in
		}(),
	} {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, t0, nil)
			h.api.now, h.api.byTime = h.env.Now, apiFrom(2*time.Minute, "pending", "fulfilled")
			h.event(time.Second, "e1", "pending")
			in.IdleTimeout = time.Hour
			got := h.complete(in)
			checkStatus(t, got, "pending", false)
			checkCalls(t, h, 1)
		})
	}
}

// TestReconcileCheckDuringEvent: a check is in flight, retrying through an
// API outage, when the fulfilled webhook arrives. The event is handled at
// once (its own read waits out the same outage), the check's answer is
// judged against what the event did, and fulfilled is applied once.
func TestReconcileCheckDuringEvent(t *testing.T) {
	h := newHarness(t, t0, nil)
	h.api.now = h.env.Now
	h.api.byTime = func(now time.Time) (string, error) {
		switch at := now.Sub(t0); {
		case at >= 5*time.Minute && at < 7*time.Minute:
			return "", errors.New("fetch phoenix order o-1: 503 Service Unavailable")
		case at >= 6*time.Minute:
			return "fulfilled", nil
		}
		return "pending", nil
	}
	h.event(time.Second, "e1", "pending")
	h.event(6*time.Minute, "e2", "fulfilled") // the check started by +5m31s and is retrying
	got := h.complete(reconcileInput(5 * time.Minute))

	checkStatus(t, got, "fulfilled", true)
	checkCounts(t, got, 2, 0, 2)
	if len(got.Transitions) != 2 || got.Transitions[1].To != "fulfilled" {
		t.Fatalf("transitions %v, want one to fulfilled", transitions(got.Transitions, t0))
	}
	if src := got.Transitions[1].Source; src != "api" && src != "reconcile" {
		t.Errorf("fulfilled by %q, want the event (api) or the check (reconcile)", src)
	}
	checkStrings(t, "events", outcomes(got.Events), []string{"e1 applied", "e2 " + map[string]string{"api": "applied", "reconcile": "unchanged"}[got.Transitions[1].Source]})
}

// TestReconcileBadAnswers: an answer that is not JSON, and a status the
// table does not know, never move or stall the entity: each is recorded in
// lastError and the schedule goes on, and the next good answer applies and
// clears it.
func TestReconcileBadAnswers(t *testing.T) {
	h := newHarness(t, t0, nil)
	h.api.now = h.env.Now
	h.api.byTime = func(now time.Time) (string, error) {
		switch at := now.Sub(t0); {
		case at < 4*time.Minute:
			return "pending", nil
		case at < 8*time.Minute: // the first check: HTML from a proxy
			return "", temporal.NewNonRetryableApplicationError("phoenix order o-1: no status in the API response", activities.ErrUnrecognizedResponse, nil)
		case at < 14*time.Minute: // the second: a status the table does not know
			return "on_hold", nil
		}
		return "fulfilled", nil
	}
	h.event(time.Second, "e1", "pending")
	first, second := h.queryAt(7*time.Minute), h.queryAt(13*time.Minute)
	got := h.complete(reconcileInput(5 * time.Minute))

	if first.Status != "pending" || !strings.Contains(first.LastError, "reconcile: phoenix order o-1: no status") {
		t.Errorf("after the HTML answer: status %q, last error %q; want pending and the error", first.Status, first.LastError)
	}
	if second.Status != "pending" || !strings.Contains(second.LastError, "on_hold, unknown to the state table") {
		t.Errorf("after the unknown status: status %q, last error %q; want pending and the error", second.Status, second.LastError)
	}
	checkStatus(t, got, "fulfilled", true)
	if got.LastError != "" || got.Transitions[len(got.Transitions)-1].Source != "reconcile" {
		t.Errorf("last error %q, transitions %v; want fulfilled by reconcile and the error cleared", got.LastError, transitions(got.Transitions, t0))
	}
}

// TestReconcileEventBringsCheckEarlier: after the first check the schedule
// is at its 2h step; an event then restarts it at 5m, and the timer armed
// for the 2h step is replaced, so the next check comes 5m after the event.
func TestReconcileEventBringsCheckEarlier(t *testing.T) {
	h := newHarness(t, t0, nil)
	h.api.now, h.api.byTime = h.env.Now, apiFrom(12*time.Minute, "pending", "fulfilled")
	h.event(time.Second, "e1", "pending")
	h.event(10*time.Minute, "e2", "pending") // a redelivered status, read: still pending
	got := h.complete(reconcileInput(5*time.Minute, 2*time.Hour))

	checkStatus(t, got, "fulfilled", true)
	last := got.Transitions[len(got.Transitions)-1]
	if at := last.At.Sub(t0); last.Source != "reconcile" || at < 15*time.Minute || at > 15*time.Minute+30*time.Second {
		t.Errorf("fulfilled by %s at +%s, want by reconcile 5m (up to 5m30s) after the event at +10m", last.Source, at)
	}
}
