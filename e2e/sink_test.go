package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// forwardSecret signs the deliveries to the suite's sink.
const forwardSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

// forwardSink is the delivery target of every scenario: a witness outside
// the workflows. It verifies each delivery's Standard Webhooks signature
// and keeps, per entity, the seqs in the order they first arrived.
type forwardSink struct {
	srv *httptest.Server
	wh  *standardwebhooks.Webhook
	// delay is how long the sink takes to answer (a time.Duration): a
	// scenario holds the destination slow with it.
	delay atomic.Int64

	mu       sync.Mutex
	arrivals map[string][]int // workflow ID → seqs, first arrivals, in order
	// events are the event IDs of the first arrivals, in the same order;
	// idsOf is every webhook-id a transition (workflow ID and event ID)
	// came under, which must be one.
	events  map[string][]string
	idsOf   map[string]map[string]bool
	seen    map[string]bool // webhook-id → delivered once already
	repeats int             // deliveries of an id already delivered (retries: fine)
	bad     []string        // deliveries that failed verification or did not parse
}

func newForwardSink(t testing.TB) *forwardSink {
	wh, err := standardwebhooks.NewWebhook(forwardSecret)
	if err != nil {
		t.Fatal(err)
	}
	s := &forwardSink{wh: wh, arrivals: map[string][]int{}, seen: map[string]bool{}, events: map[string][]string{}, idsOf: map[string]map[string]bool{}}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *forwardSink) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var msg struct {
		WorkflowID string `json:"workflowId"`
		Seq        int    `json:"seq"`
		EventID    string `json:"eventId"`
	}
	id := r.Header.Get("webhook-id")
	// The destination's own latency, not a synchronisation.
	select {
	case <-time.After(time.Duration(s.delay.Load())):
	case <-r.Context().Done():
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.wh.Verify(body, r.Header) != nil:
		s.bad = append(s.bad, "signature of "+id)
	case json.Unmarshal(body, &msg) != nil || id != fmt.Sprintf("%s:%d", msg.WorkflowID, msg.Seq):
		s.bad = append(s.bad, "body of "+id)
	case s.seen[id]:
		s.repeats++
	default:
		s.seen[id] = true
		s.arrivals[msg.WorkflowID] = append(s.arrivals[msg.WorkflowID], msg.Seq)
		s.events[msg.WorkflowID] = append(s.events[msg.WorkflowID], msg.EventID)
		key := msg.WorkflowID + " " + msg.EventID
		if s.idsOf[key] == nil {
			s.idsOf[key] = map[string]bool{}
		}
		s.idsOf[key][id] = true
	}
	w.WriteHeader(http.StatusNoContent)
}

// env is what points a hookflow process at the sink.
func (s *forwardSink) env() []string {
	return []string{"HOOKFLOW_FORWARD_URL=" + s.srv.URL + "/hooks", "HOOKFLOW_FORWARD_SECRET=" + forwardSecret}
}

// check says what is wrong with the entity's deliveries, given the seqs of
// its transitions in order: nothing when each was delivered, signed, once
// per webhook-id, in order, and nothing else was; done is false while some
// are still to come.
func (s *forwardSink) check(workflowID string, seqs []int) (done bool, problem string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	got := s.arrivals[workflowID]
	for _, seq := range got {
		if !slices.Contains(seqs, seq) {
			return true, fmt.Sprintf("%s: delivery of seq %d, which is no transition (seqs %v)", workflowID, seq, seqs)
		}
	}
	if len(got) < len(seqs) {
		return false, fmt.Sprintf("%s: delivered %v of %v", workflowID, got, seqs)
	}
	if !slices.Equal(got, seqs) {
		return true, fmt.Sprintf("%s: delivered in the order %v, want %v", workflowID, got, seqs)
	}
	return true, ""
}

// delivered is what the sink got of workflowID, first arrivals in order:
// the seqs, their event IDs, and the event IDs that came under more than
// one webhook-id.
func (s *forwardSink) delivered(workflowID string) (seqs []int, events, renamed []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, ev := range s.events[workflowID] {
		if len(s.idsOf[workflowID+" "+ev]) > 1 && !slices.Contains(renamed, ev) {
			renamed = append(renamed, ev)
		}
	}
	return slices.Clone(s.arrivals[workflowID]), slices.Clone(s.events[workflowID]), renamed
}

// problems are the deliveries that did not verify.
func (s *forwardSink) problems() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.bad)
}
