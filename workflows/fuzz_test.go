package workflows

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/hookflow/hookflow/activities"
	"github.com/hookflow/hookflow/event"
)

// FuzzEntity drives an entity through an interleaving of valid and
// malformed signals, reprocess and redeliver requests, time passing,
// destination failures and an operator's cancel, read from the input, and
// checks the promises: no panic and no failed workflow task (the run ends
// completed, continued as new or cancelled), each event applied at most
// once, transitions numbered without gaps, and each destination receiving
// transitions in order, each under one webhook-id, twice only when a
// reprocess re-sent the current state. `go test` runs the seeds; `go test
// -fuzz FuzzEntity ./workflows` explores.
func FuzzEntity(f *testing.F) {
	for _, seed := range []string{
		"\x00\x08\x10\x18\x20",
		"\x00\x01\x06\x03#100", // a reprocess of {"eventId":5} is a reprocess
		"\x00\x01\x02\x03\x04\x05\x06\x07",
		"\x00\x08\x08\x08\x0b\x0c\x0d\x08\x08\x0e\x10\x07",
		"\x00\x09\x03\x0b\x13\x04\x05\x08\x10\x0e\x0e\x0e\x0e\x02",
		"\x20\x28\x30\x38\x40\x48\x50\x58\x60\x68\x70\x78\x06\x06\x07",
		strings.Repeat("\x08\x03", 30),
		strings.Repeat("\x08\x10\x05\x06", 12),
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, ops []byte) {
		if len(ops) > 200 {
			ops = ops[:200]
		}
		runInterleaving(t, ops)
	})
}

// TestEntityRandomInterleavings runs FuzzEntity's checks over fixed
// pseudo-random interleavings, so every `go test` explores beyond the seeds.
func TestEntityRandomInterleavings(t *testing.T) {
	r := rand.New(rand.NewPCG(25, 2026))
	for i := 0; i < 40; i++ {
		ops := make([]byte, 10+r.IntN(60))
		for j := range ops {
			ops[j] = byte(r.UintN(256))
		}
		t.Run(fmt.Sprint(i), func(t *testing.T) { runInterleaving(t, ops) })
	}
}

// fuzzStatuses are drawn by the input: mostly TRANSFERs, so entities live
// long enough for the interleavings to matter.
var fuzzStatuses = []string{"MINT", "TRANSFER", "TRANSFER", "TRANSFER", "TRANSFER", "TRANSFER", "BURN", "NOT-A-STATUS"}

func runInterleaving(t *testing.T, ops []byte) {
	t.Helper()
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	env.SetStartTime(t0)
	env.RegisterWorkflow(Entity)
	env.RegisterActivity(&activities.Activities{})

	var mu sync.Mutex
	acks := map[string][]event.Outbound{} // by target, in ack order
	calls := map[string]int{}
	env.OnActivity("Deliver", mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.DeliverInput) (activities.Delivered, error) {
			mu.Lock()
			defer mu.Unlock()
			key := fmt.Sprintf("%s:%d", in.Target, in.Message.Seq)
			calls[key]++
			h := fnv.New32a()
			_, _ = fmt.Fprintf(h, "%s:%d:%x", key, calls[key], ops)
			switch h.Sum32() % 10 {
			case 0:
				return activities.Delivered{}, errors.New("503 Service Unavailable")
			case 1:
				return activities.Delivered{}, temporal.NewNonRetryableApplicationError("400 Bad Request", activities.ErrDeliveryRejected, nil)
			case 2:
				if in.Target == "b" {
					return activities.Delivered{}, temporal.NewNonRetryableApplicationError("410 Gone", activities.ErrDeliveryGone, nil)
				}
			}
			acks[in.Target] = append(acks[in.Target], in.Message)
			return activities.Delivered{Attempts: 1}, nil
		})

	in := EntityInput{Provider: "phosphor", EntityType: "item", EntityID: "i1", Revision: Revision,
		Linger: time.Minute, IdleTimeout: time.Hour, Horizon: 10 * time.Minute, MaxHeld: 4, MaxEventsPerRun: 1 << 20,
		Targets: []Target{{ID: "a", Label: "a"}, {ID: "b", Label: "b"}}}
	at := time.Second
	reprocessed := false
	for _, b := range ops {
		op, arg := b%8, int(b/8)
		switch op {
		case 0, 1, 2:
			n := arg % 24
			ev := event.Event{Provider: "phosphor", ID: fmt.Sprintf("e%d", n), Type: "TOKEN_TX", EntityType: "item", EntityID: "i1",
				Status: fuzzStatuses[(int(b)*7+n)%len(fuzzStatuses)], ProviderTime: t0.Format(time.RFC3339)}
			env.RegisterDelayedCallback(func() { env.SignalWorkflow(SignalWebhookEvent, ev) }, at)
		case 3:
			name := []string{SignalWebhookEvent, SignalReprocess, SignalRedeliver}[arg%3]
			kind := (arg / 3) % 4
			payload := []any{"x", map[string]any{"eventId": 5}, map[string]any{}, []int{1}}[kind]
			// An object is a reprocess request, its unknown fields ignored.
			reprocessed = reprocessed || name == SignalReprocess && (kind == 1 || kind == 2)
			env.RegisterDelayedCallback(func() { env.SignalWorkflow(name, payload) }, at)
		case 4:
			reprocessed = true
			env.RegisterDelayedCallback(func() { env.SignalWorkflow(SignalReprocess, ReprocessRequest{RequestID: "r"}) }, at)
		case 5:
			env.RegisterDelayedCallback(func() { env.SignalWorkflow(SignalRedeliver, RedeliverRequest{}) }, at)
		case 6:
			at += time.Duration(1+arg%40) * time.Minute
		case 7:
			if arg%8 == 0 {
				env.RegisterDelayedCallback(env.CancelWorkflow, at)
			}
		}
		at += time.Second
	}
	env.ExecuteWorkflow(Entity, in)

	err := env.GetWorkflowError()
	var can *workflow.ContinueAsNewError
	var canceled *temporal.CanceledError
	if err != nil && !errors.As(err, &can) && !errors.As(err, &canceled) {
		t.Fatalf("ops %x: workflow error %v, want completed, continued as new or cancelled", ops, err)
	}
	v, qerr := env.QueryWorkflow(QueryState)
	if qerr != nil {
		t.Fatalf("ops %x: query: %v", ops, qerr)
	}
	var st State
	if err := v.Get(&st); err != nil {
		t.Fatal(err)
	}

	t.Logf("%d ops: sequence %d, processed %d, rejected %d, deliveries %d, err %v", len(ops), st.Sequence, st.Processed, st.Rejected, len(st.Deliveries), err)
	applied := map[string]int{}
	for i, tr := range st.Transitions {
		if i > 0 && tr.Seq <= st.Transitions[i-1].Seq {
			t.Errorf("ops %x: transition %d follows %d", ops, tr.Seq, st.Transitions[i-1].Seq)
		}
		if tr.Source == "webhook" {
			applied[tr.EventID]++
		}
	}
	if n := len(st.Transitions); n > 0 && st.Transitions[n-1].Seq != st.Sequence {
		t.Errorf("ops %x: latest transition %d, sequence %d", ops, st.Transitions[n-1].Seq, st.Sequence)
	}
	for id, n := range applied {
		if n > 1 {
			t.Errorf("ops %x: event %s applied %d times", ops, id, n)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	for target, msgs := range acks {
		seen := map[int]event.Outbound{}
		last := 0
		for _, m := range msgs {
			if prev, ok := seen[m.Seq]; ok {
				if prev.EventID != m.EventID || prev.To != m.To {
					t.Errorf("ops %x: %s got seq %d as %s→%s and as %s→%s", ops, target, m.Seq, prev.From, prev.To, m.From, m.To)
				}
				if !reprocessed {
					t.Errorf("ops %x: %s got seq %d twice without a reprocess", ops, target, m.Seq)
				}
			}
			if m.Seq < last && !reprocessed {
				t.Errorf("ops %x: %s got seq %d after %d", ops, target, m.Seq, last)
			}
			seen[m.Seq], last = m, max(last, m.Seq)
		}
	}
}
