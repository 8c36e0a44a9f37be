package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hookflow/hookflow/event"
	"github.com/hookflow/hookflow/providers"
	"github.com/hookflow/hookflow/receivers/starter"
	"github.com/hookflow/hookflow/signature"
	"github.com/hookflow/hookflow/workflows"
)

// prepared is one signed request, built before the clock starts: signing
// is the provider's work, not the receiver's.
type prepared struct {
	entity, status string
	tenant         string // "" for the default tenant
	route          string // the path it is posted to
	body           []byte
	headers        map[string]string
}

// plan is what a run sends. Each stream is a list of indexes into
// reqs that must arrive in that order; streams run in parallel.
type plan struct {
	reqs    []prepared
	streams [][]int
}

// newPlan signs o.Requests events for the mode. Unique, duplicate and mix
// events are streams of one; existing mode has one stream per entity.
// Entities take the senders (one sender: one tenant) in turn, in the order
// they are first sent: all of an entity's events are its sender's, and in
// mix mode a redelivery is the very request sent before.
func newPlan(senders []sender, o Options, runID string) plan {
	s := senders[0].p
	senderOf := map[string]sender{}
	sign := func(entity, status, eventID string) prepared {
		as, ok := senderOf[entity]
		if !ok {
			as = senders[len(senderOf)%len(senders)]
			senderOf[entity] = as
		}
		d := providers.Delivery{Entity: entity, Status: status, EventID: eventID, WebhookID: "bench-" + runID}
		body, headers := as.sign(d, nil)
		return prepared{entity: entity, status: status, tenant: as.tenant, route: as.route, body: body, headers: headers}
	}
	var p plan
	if o.Mode == "existing" {
		p.streams = make([][]int, min(o.Entities, o.Requests))
	}
	for i := range o.Requests {
		if o.Mode == "existing" {
			// Round-robin over the entities: request i is entity k's step.
			k, step := i%len(p.streams), i/len(p.streams)
			p.reqs = append(p.reqs, sign(fmt.Sprintf("bench-%s-%d", runID, k), lifecycleStatus(s, step),
				fmt.Sprintf("bench-%s-%d-%d", runID, k, step)))
			p.streams[k] = append(p.streams[k], i)
			continue
		}
		p.streams = append(p.streams, []int{i})
		switch {
		case o.Mode == "duplicate" && i > 0:
			p.reqs = append(p.reqs, p.reqs[0])
			continue
		case o.Mode == "mix":
			// Every other request redelivers an event sent a while
			// before (likely answered by then), as providers retry.
			if back := i - 1 - 4*o.Concurrency; i%2 == 1 && back >= 0 {
				p.reqs = append(p.reqs, p.reqs[back]) // an even index: an event sent as new
				continue
			}
		}
		name := fmt.Sprintf("bench-%s-%d", runID, i)
		p.reqs = append(p.reqs, sign(name, s.Sample.Status, name))
	}
	return p
}

// lifecycleStatus is an entity's status at step: its lifecycle in order,
// then the last status again (which the workflow judges unchanged) for an
// entity given more events than its lifecycle has statuses.
func lifecycleStatus(p providers.Provider, step int) string {
	l := p.Sample.Lifecycle
	return l[min(step, len(l)-1)]
}

// orders are the entities the plan sends with the status each ends in, and
// with baseline, the baseline's own entities.
func (p plan) orders(baseline bool) map[string]string {
	out := make(map[string]string, len(p.reqs))
	for _, r := range p.reqs {
		out[r.entity] = r.status // later requests of an entity come later
		if baseline {
			out["baseline-"+r.entity] = r.status
		}
	}
	return out
}

// run sends streams on concurrency goroutines until all are sent or the
// deadline passes, timing each request. A stream's goroutine sends its next
// event only after the previous one got the expected answer, and drops the
// rest of the stream otherwise, so an entity's events arrive in order.
// Requests in flight at the deadline finish; only new ones stop.
func run(ctx context.Context, streams [][]int, concurrency int, deadline time.Time, expect func(answer) bool, do func(ctx context.Context, i int) answer) Stats {
	next := make(chan []int)
	go func() {
		defer close(next)
		timer := time.NewTimer(time.Until(deadline))
		defer timer.Stop()
		for _, s := range streams {
			select {
			case next <- s:
			case <-timer.C:
				return
			case <-ctx.Done():
				return
			}
		}
	}()
	var mu sync.Mutex
	res := Stats{Codes: map[string]int{}, First: time.Now()}
	var wg sync.WaitGroup
	for range concurrency {
		wg.Go(func() {
			for stream := range next {
				for _, i := range stream {
					if ctx.Err() != nil || time.Now().After(deadline) {
						break
					}
					started := time.Now()
					a := do(ctx, i)
					ok := expect(a)
					mu.Lock()
					res.add(a, started, time.Now(), ok)
					mu.Unlock()
					if !ok {
						break
					}
				}
			}
		})
	}
	wg.Wait()
	res.Elapsed = time.Since(res.First)
	res.Sent = len(res.Latencies)
	slices.Sort(res.Latencies)
	return res
}

// post sends one prepared request to url and reads the answer.
func post(ctx context.Context, hc *http.Client, url string, p prepared) answer {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(p.body))
	if err != nil {
		return answer{code: CodeError, err: err.Error()}
	}
	providers.SetHeaders(req, p.headers)
	resp, err := hc.Do(req)
	if err != nil {
		return answer{code: CodeError, err: err.Error()}
	}
	defer resp.Body.Close()
	var body struct {
		Duplicate bool `json:"duplicate"`
	}
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	_ = json.Unmarshal(raw, &body) // a body that is not JSON is no duplicate
	_, _ = io.Copy(io.Discard, resp.Body)
	return answer{code: strconv.Itoa(resp.StatusCode), duplicate: resp.StatusCode == http.StatusOK && body.Duplicate}
}

// baseliner hands events to Temporal as the receiver would, minus the
// receiver (HTTP, verification, Redis), on entities of its own.
type baseliner struct {
	starter  starter.Starter
	timeout  time.Duration // HOOKFLOW_START_TIMEOUT, per signal
	provider string
	parse    func([]byte, signature.Header) (event.Event, error)
}

// signal parses p as the receiver does and signals its workflow with it.
func (b baseliner) signal(ctx context.Context, p prepared) answer {
	ev, err := b.parse(p.body, func(name string) string { return headerValue(p.headers, name) })
	if err != nil {
		return answer{code: "parse-error", err: err.Error()}
	}
	// The same payload the receiver hands over, raw body included.
	ev.Provider, ev.ReceivedAt, ev.Body, ev.RequestID = b.provider, time.Now().UTC(), p.body, "baseline-"+strconv.Itoa(int(time.Now().UnixNano()%1e9))
	ev.ID, ev.EntityID = "baseline-"+ev.ID, "baseline-"+ev.EntityID
	sctx, cancel := context.WithTimeout(ctx, b.timeout)
	defer cancel()
	ev.Tenant = p.tenant
	if _, err := b.starter.SignalTenant(sctx, ev.Tenant, ev.Provider, ev.EntityType, ev.EntityID, workflows.SignalWebhookEvent, ev); err != nil {
		return answer{code: CodeError, err: err.Error()}
	}
	return answer{code: "ok"}
}

// headerValue looks a header up case-insensitively, as HTTP does.
func headerValue(headers map[string]string, name string) string {
	for k, v := range headers {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}
