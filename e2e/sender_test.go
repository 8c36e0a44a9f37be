package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"go.temporal.io/sdk/client"
)

// sender behaves like a provider: it POSTs each delivery, retries any
// non-2xx answer or connection error with backoff (honouring Retry-After,
// capped), and records every event it was told was accepted. Its targets
// are the receivers, taken in turn as a load balancer would: an attempt
// that fails goes to the next one.
type sender struct {
	targets []string // receivers' base URLs
	hc      *http.Client
	tc      client.Client // reads the workflows' state, for deliveries sent only after the previous was handled

	sent      atomic.Int64 // deliveries handed to deliver
	attempts  atomic.Int64
	retried   atomic.Int64 // attempts after a non-2xx or connection error
	next      atomic.Uint64
	mu        sync.Mutex
	accepted  map[string]accepted // by event ID
	eventOf   map[string]string   // event ID by delivery key
	codes     map[int]int         // answers by status code, 0 for a connection error
	byTarget  map[string]int      // 200s by receiver
	latency   map[int][]time.Duration
	permanent []string // answers no retry can fix: the scenario fails
}

// accepted is what a receiver's 200 said about an event.
type accepted struct {
	eventID    string
	workflowID string
	key        string // the delivery's key in the plan
	// signals is how many 200s for it said "duplicate":false: each one
	// signalled the workflow, which must have recorded that many deliveries.
	signals int
}

func newSender(tc client.Client, targets ...string) *sender {
	return &sender{
		targets:  targets,
		hc:       &http.Client{Timeout: 15 * time.Second},
		tc:       tc,
		accepted: map[string]accepted{},
		eventOf:  map[string]string{},
		codes:    map[int]int{},
		byTarget: map[string]int{},
		latency:  map[int][]time.Duration{},
	}
}

// receiverAnswer is the part of a receiver's 200 the sender reads.
type receiverAnswer struct {
	Success    bool   `json:"success"`
	Duplicate  bool   `json:"duplicate"`
	Ignored    bool   `json:"ignored"`
	EventID    string `json:"eventId"`
	WorkflowID string `json:"workflowId"`
}

// deliver sends d until a receiver answers 200 or ctx ends.
func (s *sender) deliver(ctx context.Context, d delivery) error {
	s.sent.Add(1)
	if d.before != nil {
		d.before()
	}
	backoff := 50 * time.Millisecond
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			s.retried.Add(1)
		}
		target := s.targets[int(s.next.Add(1))%len(s.targets)]
		code, wait, err := s.attempt(ctx, target, d)
		if err == nil {
			return nil
		}
		if code >= 400 && code < 500 && code != http.StatusConflict && code != http.StatusTooManyRequests {
			s.mu.Lock()
			s.permanent = append(s.permanent, fmt.Sprintf("%s: %v", d.key, err))
			s.mu.Unlock()
			return err
		}
		wait = max(wait, backoff)
		wait += rand.N(wait / 4)
		backoff = min(backoff*2, 2*time.Second)
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s not accepted (last: %v): %w", d.key, err, ctx.Err())
		case <-time.After(wait):
		}
	}
}

// attempt is one POST: code 0 is a connection error; wait is the answer's
// Retry-After, capped at 2s so the suite stays short.
func (s *sender) attempt(ctx context.Context, target string, d delivery) (code int, wait time.Duration, err error) {
	s.attempts.Add(1)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target+d.route, bytes.NewReader(d.body))
	if err != nil {
		return 0, 0, err
	}
	req.Header = d.header.Clone()
	start := time.Now()
	resp, err := s.hc.Do(req)
	took := time.Since(start)
	if err != nil {
		s.count(0, took, "")
		return 0, 0, err
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	code = resp.StatusCode
	if code != http.StatusOK {
		s.count(code, took, "")
		if ra, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil {
			wait = min(time.Duration(ra)*time.Second, 2*time.Second)
		}
		return code, wait, fmt.Errorf("%s answered %d: %.200s", target, code, body)
	}
	var a receiverAnswer
	if err := json.Unmarshal(body, &a); err != nil || !a.Success || a.Ignored || a.EventID == "" {
		s.count(code, took, "")
		return http.StatusBadRequest, 0, fmt.Errorf("%s answered 200 but not accepted: %.200s", target, body)
	}
	s.count(code, took, target)
	s.mu.Lock()
	rec := s.accepted[a.EventID]
	rec.eventID, rec.workflowID, rec.key = a.EventID, a.WorkflowID, d.key
	if !a.Duplicate {
		rec.signals++
	}
	s.accepted[a.EventID] = rec
	s.eventOf[d.key] = a.EventID
	s.mu.Unlock()
	return code, 0, nil
}

func (s *sender) count(code int, took time.Duration, target string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.codes[code]++
	s.latency[code] = append(s.latency[code], took)
	if target != "" {
		s.byTarget[target]++
	}
}

// run sends every plan's deliveries, each entity's in order (the next only
// once the previous is accepted), concurrency entities at a time.
func (s *sender) run(ctx context.Context, plans []entityPlan, concurrency int) error {
	work := make(chan entityPlan)
	errs := make(chan error, len(plans))
	var wg sync.WaitGroup
	for range concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for p := range work {
				for i, d := range p.deliveries {
					var err error
					if d.afterHandled && i > 0 {
						err = s.awaitHandled(ctx, p.deliveries[i-1])
					}
					if err == nil {
						err = s.deliver(ctx, d)
					}
					if err != nil {
						errs <- err
						break
					}
				}
			}
		}()
	}
	for _, p := range plans {
		work <- p
	}
	close(work)
	wg.Wait()
	close(errs)
	return <-errs // nil when there was none
}

// awaitHandled waits until d's workflow has handled d's accepted event
// (applied or judged, not merely recorded as a duplicate or an error).
func (s *sender) awaitHandled(ctx context.Context, d delivery) error {
	s.mu.Lock()
	id := s.eventOf[d.key]
	s.mu.Unlock()
	return waitUntil(ctx, d.key+" handled", func() bool {
		st, err := queryState(ctx, s.tc, d.workflowID)
		if err != nil {
			return false
		}
		for _, e := range st.Events {
			if e.EventID == id && e.Outcome != "duplicate" && e.Outcome != "error" {
				return true
			}
		}
		return false
	})
}

// runAsync is run in the background; wait returns its error.
func (s *sender) runAsync(ctx context.Context, plans []entityPlan, concurrency int) (wait func() error) {
	done := make(chan error, 1)
	go func() { done <- s.run(ctx, plans, concurrency) }()
	return func() error { return <-done }
}

// acceptedCount is how many distinct events have been accepted so far.
func (s *sender) acceptedCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.accepted)
}

// acceptedBy is how many 200s target answered.
func (s *sender) acceptedBy(target string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.byTarget[target]
}

func (s *sender) snapshot() map[string]accepted {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]accepted, len(s.accepted))
	for k, v := range s.accepted {
		out[k] = v
	}
	return out
}

// codeSummary is "200:n 503:m …" in code order; 0 is a connection error.
func (s *sender) codeSummary() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	codes := make([]int, 0, len(s.codes))
	for c := range s.codes {
		codes = append(codes, c)
	}
	slices.Sort(codes)
	out := ""
	for _, c := range codes {
		out += fmt.Sprintf(" %d:%d", c, s.codes[c])
	}
	return out
}

// quantile is the q-th latency of the answers with code, and how many.
func (s *sender) quantile(code int, q float64) (time.Duration, int) {
	s.mu.Lock()
	l := slices.Clone(s.latency[code])
	s.mu.Unlock()
	if len(l) == 0 {
		return 0, 0
	}
	slices.Sort(l)
	return l[min(len(l)-1, int(q*float64(len(l))))], len(l)
}
