package main

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hookflow/hookflow/workflows"
)

// A signal is anyone's to send (the UI, the CLI, a script): one the entity
// workflow cannot read must be dropped and counted, never wedge the entity.

// rejection is one dropped signal as the state query reports it.
type rejection struct {
	Signal string    `json:"signal"`
	Reason string    `json:"reason"`
	At     time.Time `json:"at"`
}

// guardedState is the state query's answer with the fields the guarded
// workflow adds: how many signals it dropped and the latest few. Decoded
// here rather than from workflows.State, so the test reads them whether or
// not the Go fields exist yet.
type guardedState struct {
	workflows.State
	Rejected   int         `json:"rejected"`
	Rejections []rejection `json:"rejections"`
}

func (s *stack) guardedState(wfID string) (guardedState, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	v, err := s.tc.QueryWorkflow(ctx, wfID, "", workflows.QueryState)
	if err != nil {
		return guardedState{}, err
	}
	var st guardedState
	return st, v.Get(&st)
}

// malformed is a payload no signal of the name can be read from.
type malformed struct {
	name    string
	payload any
	// surely is false where a reader could take the payload for a valid
	// one (an empty reprocess or redeliver request).
	surely bool
}

// battery is, for every signal the entity workflow listens to, a plain
// string, an object with the wrong types, an empty object and a string of
// about 1.5 MB.
func battery() []malformed {
	huge := strings.Repeat("x", 1_500_000)
	wrong := map[string]any{
		workflows.SignalWebhookEvent: map[string]any{"ID": 5, "eventId": 5, "Status": []any{}},
		workflows.SignalReprocess:    map[string]any{"RequestID": 5, "Reason": []any{}},
		workflows.SignalRedeliver:    map[string]any{"RequestID": 5, "Destination": []any{}},
	}
	var out []malformed
	for _, name := range []string{workflows.SignalWebhookEvent, workflows.SignalReprocess, workflows.SignalRedeliver} {
		out = append(out,
			malformed{name + ` "x"`, "x", true},
			malformed{name + " wrong types", wrong[name], true},
			malformed{name + " {}", map[string]any{}, name == workflows.SignalWebhookEvent},
			malformed{name + " 1.5 MB string", huge, true},
		)
	}
	return out
}

func signalName(m malformed) string { return strings.Fields(m.name)[0] }

func TestMalformedSignals(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	const secret = "malformed-signals-secret"
	s := newStack(t, map[string]string{"PHOENIX_WEBHOOK_SECRET": secret})

	t.Run("the next event applies after every malformed signal", func(t *testing.T) {
		s.t = t
		const order, wfID = "malformed-1", "phoenix-order:malformed-1"
		s.api.set(order, "pending")
		body, headers := phoenixEvent(secret, "evt-malformed-1", order, "pending")
		if r := s.post("/webhooks/phoenix", body, headers); r.status != 200 {
			t.Fatalf("first event: %d %v", r.status, r.body)
		}
		s.waitState(wfID, func(st workflows.State) bool { return st.Sequence == 1 })

		sent, surely, surelyLast := 0, 0, ""
		for _, m := range battery() {
			if err := s.tc.SignalWorkflow(context.Background(), wfID, "", signalName(m), m.payload); err != nil {
				t.Logf("%s: refused by Temporal: %v", m.name, err)
				continue
			}
			sent++
			if m.surely {
				surely++
				surelyLast = signalName(m)
			}
		}
		t.Logf("%d malformed signals sent, %d surely unreadable", sent, surely)

		s.api.set(order, "fulfilled")
		body, headers = phoenixEvent(secret, "evt-malformed-2", order, "fulfilled")
		if r := s.post("/webhooks/phoenix", body, headers); r.status != 200 {
			t.Fatalf("next event: %d %v", r.status, r.body)
		}
		var st guardedState
		ok, why := within(15*time.Second, 100*time.Millisecond, func() (bool, string) {
			var err error
			if st, err = s.guardedState(wfID); err != nil {
				return false, err.Error()
			}
			return st.Status == "fulfilled", describe(st.State)
		})
		if !ok {
			t.Fatalf("the next event did not apply within 15 s: %s; workflow tasks: %q", why, s.allTaskFailures(wfID))
		}
		if st.Sequence != 2 || st.Processed != 2 {
			t.Errorf("state: %s; want sequence 2 and processed 2 (an empty webhook-event is no event)", describe(st.State))
		}
		// The battery's reprocess {} is a valid request: taken after the API
		// moved on, it applies the new status itself, and the event then
		// finds nothing to move. Either way one transition, by a real cause.
		got := transitionEvents(st.State)
		if !slices.Equal(got, []string{"evt-malformed-1", "evt-malformed-2"}) && !slices.Equal(got, []string{"evt-malformed-1", "reprocess:"}) {
			t.Errorf("transitions of events %q, want evt-malformed-1 and then evt-malformed-2 or the reprocess {}", got)
		}
		if st.Rejected < surely || st.Rejected > sent {
			t.Errorf("rejected = %d, want between %d (the surely unreadable) and %d (every malformed one sent)", st.Rejected, surely, sent)
		}
		if len(st.Rejections) == 0 {
			t.Errorf("no rejections reported")
		}
		names := []string{workflows.SignalWebhookEvent, workflows.SignalReprocess, workflows.SignalRedeliver}
		for _, r := range st.Rejections {
			if !slices.Contains(names, r.Signal) || r.Reason == "" || r.At.IsZero() {
				t.Errorf("rejection %+v: want the signal's name, a reason and a time", r)
			}
		}
		if n := len(st.Rejections); n > 0 && st.Rejections[n-1].Signal != surelyLast {
			t.Errorf("latest rejection is of %q, want the last malformed signal sent, %q", st.Rejections[n-1].Signal, surelyLast)
		}
		if f := onlyFailures(s.allTaskFailures(wfID)); len(f) > 0 {
			t.Errorf("workflow task failures: %q", f)
		}
	})

	t.Run("a reprocess right after a malformed one is handled", func(t *testing.T) {
		s.t = t
		const order, wfID = "malformed-2", "phoenix-order:malformed-2"
		s.api.set(order, "pending")
		body, headers := phoenixEvent(secret, "evt-malformed-2-1", order, "pending")
		if r := s.post("/webhooks/phoenix", body, headers); r.status != 200 {
			t.Fatalf("first event: %d %v", r.status, r.body)
		}
		s.waitState(wfID, func(st workflows.State) bool { return st.Sequence == 1 })

		s.api.set(order, "fulfilled") // the API moved on; no webhook says so
		if err := s.tc.SignalWorkflow(context.Background(), wfID, "", workflows.SignalReprocess, "x"); err != nil {
			t.Fatal(err)
		}
		if err := s.tc.SignalWorkflow(context.Background(), wfID, "", workflows.SignalReprocess, workflows.ReprocessRequest{RequestID: "rq-after-malformed", Reason: "test"}); err != nil {
			t.Fatal(err)
		}
		var st guardedState
		ok, why := within(15*time.Second, 100*time.Millisecond, func() (bool, string) {
			var err error
			if st, err = s.guardedState(wfID); err != nil {
				return false, err.Error()
			}
			return st.Status == "fulfilled", describe(st.State)
		})
		if !ok {
			t.Fatalf("the reprocess after a malformed one was not handled within 15 s: %s; workflow tasks: %q", why, s.allTaskFailures(wfID))
		}
		last := st.Transitions[len(st.Transitions)-1]
		if last.Source != "reprocess" || last.EventID != "reprocess:rq-after-malformed" || last.From != "pending" {
			t.Errorf("last transition %+v, want pending→fulfilled by reprocess rq-after-malformed", last)
		}
		if st.Rejected != 1 {
			t.Errorf("rejected = %d, want 1", st.Rejected)
		}
		if f := onlyFailures(s.allTaskFailures(wfID)); len(f) > 0 {
			t.Errorf("workflow task failures: %q", f)
		}
	})
}
