package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/worker"

	"github.com/hookflow/hookflow/examples/handler-go/handler"
	"github.com/hookflow/hookflow/internal/dev/testenv"
	"github.com/hookflow/hookflow/workflows"
)

// flakySink is a forward target that verifies every delivery's signature,
// fails the first calls with 500, is then down (503) until told to recover,
// and records what it acknowledged, in order.
type flakySink struct {
	mu       sync.Mutex
	failures int  // 500s still to give
	down     bool // 503 until recovered
	calls    int
	downSeen int // calls answered while down
	acked    []string
	bad      []string // deliveries whose signature did not verify
	wh       *standardwebhooks.Webhook
}

func (s *flakySink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	if err := s.wh.Verify(body, r.Header); err != nil {
		s.bad = append(s.bad, r.Header.Get("webhook-id")+": "+err.Error())
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	switch {
	case s.failures > 0:
		s.failures--
		if s.failures == 0 {
			s.down = true
		}
		w.WriteHeader(http.StatusInternalServerError)
	case s.down:
		s.downSeen++
		w.WriteHeader(http.StatusServiceUnavailable)
	default:
		s.acked = append(s.acked, r.Header.Get("webhook-id"))
		w.WriteHeader(http.StatusNoContent)
	}
}

func (s *flakySink) snapshot() (acked []string, downSeen int, bad []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.acked), s.downSeen, slices.Clone(s.bad)
}

// TestTransitionsReachTheUser: a Fenix lifecycle sent through the receiver
// reaches a forward URL that fails, then is down, then recovers, as signed
// transitions, each acknowledged exactly once and in order; the same
// sequence reaches the example Go handler on its own task queue.
func TestTransitionsReachTheUser(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		t.Fatal(err)
	}
	sink := &flakySink{failures: 2, wh: wh}
	srv := httptest.NewServer(sink)
	t.Cleanup(srv.Close)

	const queue = "test-user-handlers"
	s := newStack(t, map[string]string{
		"FENIX_CLIENT_SECRET":         devSecrets()["FENIX_CLIENT_SECRET"],
		"HOOKFLOW_FORWARD_URL":        srv.URL + "/hooks?token=test",
		"HOOKFLOW_FORWARD_SECRET":     "whsec_c2Vjb25kLXNlY3JldC1mb3Itcm90YXRpb24=, " + secret,
		"HOOKFLOW_HANDLER_TASK_QUEUE": queue,
	})
	var mu sync.Mutex
	var handled []string
	hw := worker.New(s.tc, queue, worker.Options{})
	h := &handler.Handler{Log: discardLogger(), OnTransition: func(_ context.Context, tr handler.Transition) error {
		mu.Lock()
		defer mu.Unlock()
		handled = append(handled, fmt.Sprintf("%s:%d %s→%s", tr.WorkflowID, tr.Seq, tr.From, tr.To))
		return nil
	}}
	hw.RegisterActivityWithOptions(h.HandleTransition, activity.RegisterOptions{Name: handler.Name})
	if err := hw.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(hw.Stop)

	const wfID = "fenix-shipment:dl-1"
	statuses := []string{"LABEL_CREATED", "IN_TRANSIT", "OUT_FOR_DELIVERY", "DELIVERED"}
	for i, status := range statuses {
		s.send("fenix", "dl-1", status)
		s.waitState(wfID, func(st workflows.State) bool { return len(st.Events) == i+1 })
	}
	// The sink has failed twice and been down at least once: recover it.
	testenv.Eventually(t, 60*time.Second, func() (bool, string) {
		acked, down, bad := sink.snapshot()
		st, _ := s.state(wfID)
		return down > 0, fmt.Sprintf("the sink has not been retried while down yet (acked %q, bad %q, deliveries %+v)", acked, bad, st.Deliveries)
	})
	sink.mu.Lock()
	sink.down = false
	sink.mu.Unlock()

	want := []string{wfID + ":1", wfID + ":2", wfID + ":3", wfID + ":4"}
	testenv.Eventually(t, 90*time.Second, func() (bool, string) {
		acked, _, _ := sink.snapshot()
		return len(acked) >= len(want), fmt.Sprintf("acknowledged %q", acked)
	})
	acked, _, bad := sink.snapshot()
	if !slices.Equal(acked, want) {
		t.Errorf("acknowledged deliveries = %q, want each transition once, in order: %q", acked, want)
	}
	if len(bad) > 0 {
		t.Errorf("deliveries that did not verify: %q", bad)
	}

	wantHandled := []string{
		wfID + ":1 →LABEL_CREATED", wfID + ":2 LABEL_CREATED→IN_TRANSIT",
		wfID + ":3 IN_TRANSIT→OUT_FOR_DELIVERY", wfID + ":4 OUT_FOR_DELIVERY→DELIVERED",
	}
	testenv.Eventually(t, 30*time.Second, func() (bool, string) {
		mu.Lock()
		defer mu.Unlock()
		return slices.Equal(handled, wantHandled), fmt.Sprintf("handled %q", handled)
	})
	st := s.waitState(wfID, func(st workflows.State) bool {
		n := 0
		for _, d := range st.Deliveries {
			if d.Status == workflows.DeliveryDelivered {
				n++
			}
		}
		return n == 8
	})
	for _, d := range st.Deliveries {
		if d.Label != "default" && d.Label != handler.Name+" on "+queue {
			t.Errorf("delivery target label %q", d.Label)
		}
	}
}
