package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/converter"

	"github.com/hookflow/hookflow/workflows"
)

// Issue #25: a 200 is a promise the entity workflow keeps. These tests hold
// the workflow to it against a real dev server and a real Redis: a burst to
// one entity, a slow or failing destination, operator actions (cancel,
// reset, terminate) and malformed signals.

const hotForwardSecret = "whsec_aG90LWVudGl0eS1kZXN0aW5hdGlvbi1zZWNyZXQ="

// arrival is one delivery a recordingSink acknowledged.
type arrival struct {
	id      string // webhook-id
	seq     int
	eventID string
	to      string
}

// recordingSink is a destination that verifies every delivery's Standard
// Webhooks signature, answers after delay (a slow destination) or with
// failCode while it is set (a destination that refuses), and records what
// it acknowledged, in arrival order, and every webhook-id each transition
// (by event ID) was ever sent under.
type recordingSink struct {
	wh  *standardwebhooks.Webhook
	srv *httptest.Server

	delay    atomic.Int64 // time.Duration before each answer
	failCode atomic.Int32 // answered instead of 204 while not 0

	mu      sync.Mutex
	acked   []arrival
	refused int                        // deliveries answered failCode
	idsOf   map[string]map[string]bool // event ID → webhook-ids it came under
	bad     []string                   // deliveries that did not verify or parse
}

func newRecordingSink(t *testing.T) *recordingSink {
	wh, err := standardwebhooks.NewWebhook(hotForwardSecret)
	if err != nil {
		t.Fatal(err)
	}
	s := &recordingSink{wh: wh, idsOf: map[string]map[string]bool{}}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.srv.Close)
	return s
}

// env points a stack's default destination at the sink.
func (s *recordingSink) env() map[string]string {
	return map[string]string{"HOOKFLOW_FORWARD_URL": s.srv.URL + "/hooks", "HOOKFLOW_FORWARD_SECRET": hotForwardSecret}
}

func (s *recordingSink) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	id := r.Header.Get("webhook-id")
	var msg struct {
		WorkflowID string `json:"workflowId"`
		Seq        int    `json:"seq"`
		EventID    string `json:"eventId"`
		To         string `json:"to"`
	}
	if err := s.wh.Verify(body, r.Header); err != nil {
		s.record(func() { s.bad = append(s.bad, id+": "+err.Error()) })
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	if err := json.Unmarshal(body, &msg); err != nil || id != fmt.Sprintf("%s:%d", msg.WorkflowID, msg.Seq) {
		s.record(func() { s.bad = append(s.bad, fmt.Sprintf("%s: body %.200s", id, body)) })
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	s.record(func() {
		if s.idsOf[msg.EventID] == nil {
			s.idsOf[msg.EventID] = map[string]bool{}
		}
		s.idsOf[msg.EventID][id] = true
	})
	// The destination's own latency, not a synchronisation.
	select {
	case <-time.After(time.Duration(s.delay.Load())):
	case <-r.Context().Done():
		return
	}
	if code := s.failCode.Load(); code != 0 {
		s.record(func() { s.refused++ })
		w.WriteHeader(int(code))
		return
	}
	s.record(func() { s.acked = append(s.acked, arrival{id: id, seq: msg.Seq, eventID: msg.EventID, to: msg.To}) })
	w.WriteHeader(http.StatusNoContent)
}

func (s *recordingSink) record(f func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f()
}

func (s *recordingSink) ackedCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.acked)
}

func (s *recordingSink) refusedCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.refused
}

// firstArrivals is the seqs of the acknowledged deliveries of wfID in the
// order they first arrived, and how many were repeats of an acknowledged
// webhook-id (a retry after a lost answer: allowed).
func (s *recordingSink) firstArrivals(wfID string) (seqs []int, events []string, repeats int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	seen := map[string]bool{}
	for _, a := range s.acked {
		if !strings.HasPrefix(a.id, wfID+":") {
			continue
		}
		if seen[a.id] {
			repeats++
			continue
		}
		seen[a.id] = true
		seqs, events = append(seqs, a.seq), append(events, a.eventID)
	}
	return seqs, events, repeats
}

// problems are deliveries that did not verify, and transitions that came
// under more than one webhook-id.
func (s *recordingSink) problems() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := slices.Clone(s.bad)
	for ev, ids := range s.idsOf {
		if len(ids) > 1 {
			var list []string
			for id := range ids {
				list = append(list, id)
			}
			slices.Sort(list)
			out = append(out, fmt.Sprintf("transition of event %s delivered under %d webhook-ids: %q", ev, len(ids), list))
		}
	}
	slices.Sort(out)
	return out
}

// wantSeqs is 1..n.
func wantSeqs(from, to int) []int {
	var out []int
	for i := from; i <= to; i++ {
		out = append(out, i)
	}
	return out
}

// phosphorTx is a signed Phosphor TOKEN_TX of item with tx_type txType,
// stamped at (the provider time the workflow judges by).
func phosphorTx(secret, eventID, item, txType string, at time.Time) ([]byte, map[string]string) {
	body, _ := json.Marshal(map[string]any{
		"id": eventID, "type": "TOKEN_TX",
		"data": map[string]any{
			"item": map[string]any{"id": item}, "tx_type": txType,
			"tx_hash":   "0x" + strings.Repeat("ab", 32),
			"from_addr": "0x00000000000000000000000000000000000000a1", "to_addr": "0x00000000000000000000000000000000000000b2",
			"contract_address": "0xde6afDD5bD30745542cDfabD001916A365Dc4c42", "token_id": "1", "quantity": "1",
			"block_number": fmt.Sprint(at.Unix()), "block_timestamp": at.UTC().Format(time.RFC3339),
		},
	})
	return body, map[string]string{"Phosphor-Webhook-Secret": secret, "Content-Type": "application/json"}
}

// within polls cond every interval until it holds or d passes; it returns
// whether it held and cond's last description. Unlike testenv.Eventually it
// lets the caller add what it knows before failing.
func within(d, interval time.Duration, cond func() (bool, string)) (bool, string) {
	deadline := time.Now().Add(d)
	for {
		ok, why := cond()
		if ok || time.Now().After(deadline) {
			return ok, why
		}
		time.Sleep(interval)
	}
}

// runs lists every run of wfID through visibility, newest first.
func (s *stack) runs(wfID string) ([]string, map[string]enums.WorkflowExecutionStatus, error) {
	var token []byte
	var ids []string
	status := map[string]enums.WorkflowExecutionStatus{}
	for {
		resp, err := s.tc.ListWorkflow(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{
			Namespace: s.cfg.TemporalNamespace, Query: fmt.Sprintf("WorkflowId = %q", wfID), NextPageToken: token,
		})
		if err != nil {
			return nil, nil, err
		}
		for _, ex := range resp.GetExecutions() {
			id := ex.GetExecution().GetRunId()
			ids = append(ids, id)
			status[id] = ex.GetStatus()
		}
		if token = resp.GetNextPageToken(); len(token) == 0 {
			return ids, status, nil
		}
	}
}

// taskTrouble reads a run's history and describes every workflow task that
// failed or timed out: a workflow wedged on a task it cannot complete
// (GRPC_MESSAGE_TOO_LARGE, a payload it cannot decode) shows here.
func (s *stack) taskTrouble(wfID, runID string) (failed, timedOut []string, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	it := s.tc.GetWorkflowHistory(ctx, wfID, runID, false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			return failed, timedOut, err
		}
		switch ev.GetEventType() {
		case enums.EVENT_TYPE_WORKFLOW_TASK_FAILED:
			a := ev.GetWorkflowTaskFailedEventAttributes()
			if a.GetCause() == enums.WORKFLOW_TASK_FAILED_CAUSE_RESET_WORKFLOW {
				continue // where a reset run starts: the server's marker, no failure
			}
			failed = append(failed, fmt.Sprintf("event %d: %s: %.300s", ev.GetEventId(), a.GetCause(), a.GetFailure().GetMessage()))
		case enums.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT:
			timedOut = append(timedOut, fmt.Sprintf("event %d", ev.GetEventId()))
		}
	}
	return failed, timedOut, nil
}

// allTaskFailures is taskTrouble's failures over every run of wfID that
// visibility lists, plus the current run (which visibility may not list
// yet), each prefixed with its run; except names runs not to read (a run
// an operator reset away, whose in-flight task the reset closed).
func (s *stack) allTaskFailures(wfID string, except ...string) []string {
	ids, _, err := s.runs(wfID)
	if err != nil {
		return []string{"list runs: " + err.Error()}
	}
	if d, err := s.tc.DescribeWorkflowExecution(context.Background(), wfID, ""); err == nil {
		if cur := d.GetWorkflowExecutionInfo().GetExecution().GetRunId(); !slices.Contains(ids, cur) {
			ids = append(ids, cur)
		}
	}
	var out []string
	for _, id := range ids {
		if slices.Contains(except, id) {
			continue
		}
		failed, timedOut, err := s.taskTrouble(wfID, id)
		if err != nil {
			out = append(out, fmt.Sprintf("run %s: history: %v", id, err))
		}
		// The first few, and how many: a wedged run fails every retry.
		for _, f := range failed[:min(3, len(failed))] {
			out = append(out, fmt.Sprintf("run %s: WorkflowTaskFailed %s", id, f))
		}
		if len(failed) > 3 {
			out = append(out, fmt.Sprintf("run %s: WorkflowTaskFailed %d times in all", id, len(failed)))
		}
		if len(timedOut) > 0 {
			out = append(out, fmt.Sprintf("run %s: %d WorkflowTaskTimedOut (%s…)", id, len(timedOut), timedOut[0]))
		}
	}
	return out
}

// stalled reports, called at each poll, whether the entity has made no
// progress for a while with no delivery pending: nothing will apply the
// events still missing, and waiting longer tells nothing more.
func stalled(for_ time.Duration) func(st workflows.State) bool {
	last, since := -1, time.Now()
	return func(st workflows.State) bool {
		if st.Processed+st.Duplicates != last {
			last, since = st.Processed+st.Duplicates, time.Now()
			return false
		}
		for _, d := range st.Deliveries {
			if d.Status == workflows.DeliveryPending {
				return false
			}
		}
		return time.Since(since) > for_
	}
}

// runSummary describes every run of wfID: its status, history length,
// signals received, and the current run's pending workflow task; what a
// test that timed out says about where the events went.
func (s *stack) runSummary(wfID string) string {
	ids, status, err := s.runs(wfID)
	if err != nil {
		return "list runs: " + err.Error()
	}
	var out []string
	for _, id := range ids {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		it := s.tc.GetWorkflowHistory(ctx, wfID, id, false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		events, signals := 0, 0
		for it.HasNext() {
			ev, err := it.Next()
			if err != nil {
				break
			}
			events++
			if ev.GetEventType() == enums.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED {
				signals++
			}
		}
		cancel()
		out = append(out, fmt.Sprintf("run %s %s: %d events, %d signals", id, status[id], events, signals))
	}
	if d, err := s.tc.DescribeWorkflowExecution(context.Background(), wfID, ""); err == nil {
		if p := d.GetPendingWorkflowTask(); p != nil {
			out = append(out, fmt.Sprintf("pending workflow task: %s, attempt %d", p.GetState(), p.GetAttempt()))
		}
		out = append(out, fmt.Sprintf("current run %s, history length %d, %d bytes",
			d.GetWorkflowExecutionInfo().GetExecution().GetRunId(), d.GetWorkflowExecutionInfo().GetHistoryLength(), d.GetWorkflowExecutionInfo().GetHistorySizeBytes()))
	}
	return strings.Join(out, "; ")
}

// onlyFailures keeps the WorkflowTaskFailed lines of allTaskFailures that
// are a defect. A task timed out on a loaded two-core machine is retried;
// so is UnhandledCommand, the server's refusal of a completion that closes
// or continues the run while new events (a signal, an activity result)
// came in during the task: Temporal's own way to hand them to the run
// before it closes.
func onlyFailures(lines []string) []string {
	var out []string
	for _, l := range lines {
		if !strings.Contains(l, "WorkflowTaskTimedOut") && !strings.Contains(l, "UnhandledCommand") {
			out = append(out, l)
		}
	}
	return out
}

// deliveryFailedAttr reads the DeliveryFailed search attribute of the
// current run, by name (no visibility).
func (s *stack) deliveryFailedAttr(wfID string) bool {
	s.t.Helper()
	d, err := s.tc.DescribeWorkflowExecution(context.Background(), wfID, "")
	if err != nil {
		s.t.Fatal(err)
	}
	p := d.GetWorkflowExecutionInfo().GetSearchAttributes().GetIndexedFields()[workflows.DeliveryFailedKey.GetName()]
	if p == nil {
		return false
	}
	var v bool
	if err := converter.GetDefaultDataConverter().FromPayload(p, &v); err != nil {
		s.t.Fatalf("DeliveryFailed: %v", err)
	}
	return v
}

// describe is a short line about the entity's state.
func describe(st workflows.State) string {
	counts := map[string]int{}
	for _, d := range st.Deliveries {
		counts[d.Status]++
	}
	return fmt.Sprintf("status %q, sequence %d, processed %d, duplicates %d, lastError %q, deliveries %v",
		st.Status, st.Sequence, st.Processed, st.Duplicates, st.LastError, counts)
}

// burstClient posts without a connection limit below the burst's
// concurrency.
var burstClient = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}

// postOnce is one POST as a provider makes it: the status code, and the
// Retry-After it was told.
func (s *stack) postOnce(path string, body []byte, headers map[string]string) (int, string, error) {
	req, err := http.NewRequest(http.MethodPost, s.base+path, bytes.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := burstClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return resp.StatusCode, string(raw), nil
	}
	var r struct {
		Duplicate bool `json:"duplicate"`
	}
	if json.Unmarshal(raw, &r) != nil || r.Duplicate {
		return resp.StatusCode, "unexpected 200: " + string(raw), nil
	}
	return resp.StatusCode, "", nil
}

// burst sends item's MINT and then n-1 transfers through the receiver,
// concurrency at a time, each until a 200 (a 503 or 429 retried a few
// times, as a provider does); it returns the event IDs in order and how
// many answers were not a 200. The transfers are all stamped alike: a
// TRANSFER after a TRANSFER stamped earlier would be judged stale, and at
// concurrency 16 arrival order is not stamp order.
func (s *stack) burst(t *testing.T, secret, item string, n, concurrency int) (sent []string, refusedAnswers int64) {
	t.Helper()
	t0 := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	body, headers := phosphorTx(secret, "evt-hot-0000", item, "MINT", t0)
	if code, msg, err := s.postOnce("/webhooks/phosphor", body, headers); err != nil || code != 200 || msg != "" {
		t.Fatalf("MINT: %d %s %v", code, msg, err)
	}
	sent = []string{"evt-hot-0000"}
	for i := 1; i < n; i++ {
		sent = append(sent, fmt.Sprintf("evt-hot-%04d", i))
	}
	var refused atomic.Int64 // answers other than 200, retried as a provider does
	var mu sync.Mutex
	var failures []string
	work := make(chan string)
	var wg sync.WaitGroup
	for range concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for id := range work {
				body, headers := phosphorTx(secret, id, item, "TRANSFER", t0.Add(time.Second))
				var code int
				var msg string
				var err error
				for attempt := 0; attempt < 5; attempt++ {
					code, msg, err = s.postOnce("/webhooks/phosphor", body, headers)
					if err == nil && code == 200 && msg == "" {
						break
					}
					refused.Add(1)
					if code != 503 && code != 429 {
						break
					}
					time.Sleep(500 * time.Millisecond) // the provider's backoff, not a synchronisation
				}
				if err != nil || code != 200 || msg != "" {
					mu.Lock()
					failures = append(failures, fmt.Sprintf("%s: %d %v %.200s", id, code, err, msg))
					mu.Unlock()
				}
			}
		}()
	}
	for _, id := range sent[1:] {
		work <- id
	}
	close(work)
	wg.Wait()
	if len(failures) > 0 {
		t.Fatalf("%d events not accepted with a 200, e.g. %q", len(failures), failures[:min(5, len(failures))])
	}

	return sent, refused.Load()
}

// TestHotEntityBurst: 3,000 events to one Phosphor item, 16 at a time,
// through the receiver, with a fast verifying destination. Every event is
// accepted and applied once, the run continues as new on the way without a
// failed workflow task, and the destination gets every transition once, in
// order, under <workflowId>:<seq>.
func TestHotEntityBurst(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	const secret, item, n, concurrency = "hot-entity-secret", "hot-burst-1", 3000, 16
	const wfID = "phosphor-item:" + item
	sink := newRecordingSink(t)
	env := sink.env()
	env["PHOSPHOR_WEBHOOK_SECRET"] = secret
	s := newStack(t, env)
	start := time.Now()

	sent, refused := s.burst(t, secret, item, n, concurrency)
	t.Logf("%d events accepted in %s; %d answers other than 200 retried", n, time.Since(start).Round(time.Millisecond), refused)

	// Once the destination holds its share of transitions (500, or
	// 192 KiB), the entity takes events as it acknowledges them: applying
	// goes at the pace of one entity's in-order deliveries (tens a second
	// here), so the deadline is long and a stall fails the test early.
	var st workflows.State
	stuck := stalled(30 * time.Second)
	ok, why := within(10*time.Minute, 500*time.Millisecond, func() (bool, string) {
		var err error
		if st, err = s.state(wfID); err != nil {
			return false, err.Error()
		}
		if stuck(st) {
			return true, "no progress for 30 s, no delivery pending: " + describe(st)
		}
		return st.Processed+st.Duplicates >= n, describe(st)
	})
	ok = ok && st.Processed+st.Duplicates >= n
	if !ok {
		t.Fatalf("the burst was not applied (10 minutes at most after its last 200): %s; %d delivered; runs: %s; workflow tasks: %q",
			why, sink.ackedCount(), s.runSummary(wfID), s.allTaskFailures(wfID))
	}
	t.Logf("applied %s after the first request", time.Since(start).Round(time.Millisecond))
	if st.Processed != n || st.Sequence != n || st.Status != "TRANSFER" {
		t.Errorf("state: %s; want processed %d, sequence %d, status TRANSFER", describe(st), n, n)
	}
	if st.Duplicates > int(refused) {
		t.Errorf("%d duplicates, but only %d deliveries were retried: an event was signalled twice", st.Duplicates, refused)
	}
	for _, e := range st.Events {
		if e.Outcome != string(workflows.Apply) && e.Outcome != "duplicate" {
			t.Errorf("event %s: outcome %q, want applied", e.EventID, e.Outcome)
		}
	}

	// The destination is the witness outside the workflow: one transition
	// per event, each delivered once, in order, under <workflowId>:<seq>.
	ok, why = within(2*time.Minute, time.Second, func() (bool, string) {
		seqs, _, _ := sink.firstArrivals(wfID)
		return len(seqs) >= n, fmt.Sprintf("%d of %d transitions delivered", len(seqs), n)
	})
	seqs, events, repeats := sink.firstArrivals(wfID)
	if !ok {
		st, _ := s.state(wfID)
		t.Errorf("deliveries: %s; state: %s", why, describe(st))
	}
	if !slices.Equal(seqs, wantSeqs(1, n)) {
		first := 0
		for first < len(seqs) && seqs[first] == first+1 {
			first++
		}
		t.Errorf("delivered %d seqs, in order up to %d, then %v; want 1..%d in order", len(seqs), first, seqs[first:min(first+10, len(seqs))], n)
	}
	gotEvents := slices.Clone(events)
	slices.Sort(gotEvents)
	if !slices.Equal(gotEvents, sent) {
		t.Errorf("delivered transitions carry %d event IDs (%d distinct), want each of the %d sent once", len(gotEvents), len(slices.Compact(slices.Clone(gotEvents))), n)
	}
	if len(events) > 0 && events[0] != "evt-hot-0000" {
		t.Errorf("seq 1 is event %s, want the MINT", events[0])
	}
	if p := sink.problems(); len(p) > 0 {
		t.Errorf("destination problems: %q", p[:min(5, len(p))])
	}
	t.Logf("%d delivered, %d repeats of a delivered webhook-id, %s after the first request", len(seqs), repeats, time.Since(start).Round(time.Millisecond))

	// Continued as new on the way, and no workflow task failed in any run.
	ok, why = within(30*time.Second, 500*time.Millisecond, func() (bool, string) {
		ids, status, err := s.runs(wfID)
		if err != nil {
			return false, err.Error()
		}
		can := 0
		for _, id := range ids {
			if status[id] == enums.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW {
				can++
			}
		}
		return can >= 1, fmt.Sprintf("%d runs, %d continued as new: %v", len(ids), can, status)
	})
	if !ok {
		t.Errorf("the run never continued as new: %s", why)
	}
	all := s.allTaskFailures(wfID)
	if f := onlyFailures(all); len(f) > 0 {
		t.Errorf("workflow task failures: %q", f)
	}
	t.Logf("workflow tasks failed or timed out, retried: %q", all)
	t.Logf("done in %s", time.Since(start).Round(time.Millisecond))
}

// TestEventsHeldForADestinationSurviveContinueAsNew: events that wait for
// a destination behind on its deliveries (more transitions held for it
// than the run holds) are still the run's to apply when it continues as
// new: 800 events at a destination 50 ms an answer, a run continuing every
// 50 events, all applied once.
func TestEventsHeldForADestinationSurviveContinueAsNew(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	const secret, item, n = "held-events-secret", "held-1", 800
	const wfID = "phosphor-item:" + item
	sink := newRecordingSink(t)
	sink.delay.Store(int64(50 * time.Millisecond))
	env := sink.env()
	env["PHOSPHOR_WEBHOOK_SECRET"] = secret
	env["HOOKFLOW_MAX_EVENTS_PER_RUN"] = "50"
	s := newStack(t, env)
	start := time.Now()
	_, refused := s.burst(t, secret, item, n, 16)
	t.Logf("%d events accepted in %s; %d answers other than 200 retried", n, time.Since(start).Round(time.Millisecond), refused)

	// The destination takes a transition every 50 ms or so, so the events
	// held for it are all applied within a few minutes.
	var st workflows.State
	stuck := stalled(30 * time.Second)
	ok, why := within(4*time.Minute, time.Second, func() (bool, string) {
		var err error
		if st, err = s.state(wfID); err != nil {
			return false, err.Error()
		}
		if stuck(st) {
			return true, fmt.Sprintf("no progress for 30 s, no delivery pending: %s; %d delivered", describe(st), sink.ackedCount())
		}
		return st.Processed+st.Duplicates >= n, fmt.Sprintf("%s; %d delivered", describe(st), sink.ackedCount())
	})
	ok = ok && st.Processed+st.Duplicates >= n
	if !ok {
		t.Fatalf("not every accepted event applied: %s; runs: %s", why, s.runSummary(wfID))
	}
	if st.Processed != n || st.Sequence != n {
		t.Errorf("state: %s; want processed and sequence %d", describe(st), n)
	}
	if f := onlyFailures(s.allTaskFailures(wfID)); len(f) > 0 {
		t.Errorf("workflow task failures: %q", f)
	}
}
