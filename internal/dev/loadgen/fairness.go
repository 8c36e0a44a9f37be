package loadgen

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/hookflow/hookflow/config"
	"github.com/hookflow/hookflow/event"
	"github.com/hookflow/hookflow/internal/dev/devtools"
	"github.com/hookflow/hookflow/internal/operator/inspect"
	"github.com/hookflow/hookflow/providers"
)

// FairnessOptions say what `hookflow bench --fairness` sends (issue 27):
// the burst tenant A sends Burst new events as fast as Concurrency allows
// while the steady tenant B sends Steady new events at SteadyRate, first
// alone (quiet), then again from the moment A's burst starts. What it
// measures is B's time from each 200 to its workflow applying the event,
// quiet and during A's burst, and A's throughput.
type FairnessOptions struct {
	Provider string
	// BurstTenant and SteadyTenant are two of the configuration's
	// tenants with a secret for Provider; both empty: its first two.
	BurstTenant, SteadyTenant string
	Burst, Steady             int
	SteadyRate                float64 // B's events a second
	Concurrency               int     // A's requests in flight
	Duration                  time.Duration
	URL, MetricsURL           string // as in Options
	// AppliedTimeout bounds each phase's wait for its events to be
	// handled.
	AppliedTimeout time.Duration
}

// Fairness is one fairness run, its requests signed and ready to send.
type Fairness struct {
	cfg     *config.Config
	tc      client.Client
	p       providers.Provider
	o       FairnessOptions
	hc      *http.Client
	a, b    sender
	burst   plan
	quiet   []steadyEvent // B alone
	during  []steadyEvent // B during A's burst
	sandbox map[string]string
}

// steadyEvent is one of B's events with what its workflow will record of
// it: the workflow it goes to and its event ID, as the receiver parses it.
type steadyEvent struct {
	req                 prepared
	workflowID, eventID string
}

// NewFairness checks o, picks the tenants when o names none, and signs
// every request of the run. tc reads, after each phase, when B's workflows
// applied its events.
func NewFairness(cfg *config.Config, tc client.Client, o FairnessOptions) (*Fairness, error) {
	p, err := cfg.Providers.Lookup(o.Provider)
	if err != nil {
		return nil, err
	}
	if o.BurstTenant == "" && o.SteadyTenant == "" {
		two, err := benchTenants(cfg, p, 2)
		if err != nil {
			return nil, fmt.Errorf("--fairness needs two tenants: %w", err)
		}
		o.BurstTenant, o.SteadyTenant = two[0].tenant, two[1].tenant
	}
	switch {
	case o.BurstTenant == "" || o.SteadyTenant == "":
		return nil, errors.New("--fairness: give both --burst-tenant and --steady-tenant, or neither (the configuration's first two)")
	case o.BurstTenant == o.SteadyTenant:
		return nil, fmt.Errorf("--fairness: the burst and the steady tenant must differ, not both %s", o.BurstTenant)
	case o.Burst <= 0 || o.Steady <= 0 || o.Concurrency <= 0 || o.Duration <= 0 || o.AppliedTimeout <= 0:
		return nil, errors.New("--burst, --steady, --concurrency, --duration and --applied-timeout must be positive")
	case o.SteadyRate <= 0:
		return nil, errors.New("--steady-rate must be positive")
	}
	if err := requireLoopback(o.URL); err != nil {
		return nil, err
	}
	f := &Fairness{cfg: cfg, tc: tc, p: p, o: o, hc: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		MaxIdleConns: o.Concurrency + 8, MaxIdleConnsPerHost: o.Concurrency + 8, IdleConnTimeout: time.Minute,
	}}}
	if f.a, err = senderFor(cfg, p, o.BurstTenant); err != nil {
		return nil, err
	}
	if f.b, err = senderFor(cfg, p, o.SteadyTenant); err != nil {
		return nil, err
	}
	run := randomHex(4)
	f.burst = newPlan([]sender{f.a}, Options{Mode: "unique", Requests: o.Burst, Concurrency: o.Concurrency}, run+"-a")
	if f.quiet, err = f.steadyEvents(run+"-b-quiet", o.Steady); err != nil {
		return nil, err
	}
	if f.during, err = f.steadyEvents(run+"-b-burst", o.Steady); err != nil {
		return nil, err
	}
	f.sandbox = f.burst.orders(false)
	for _, e := range append(append([]steadyEvent{}, f.quiet...), f.during...) {
		f.sandbox[e.req.entity] = e.req.status
	}
	return f, nil
}

// steadyEvents signs n new events of B, each a new entity, and parses each
// as the receiver will, for the workflow it goes to and its event ID.
func (f *Fairness) steadyEvents(runID string, n int) ([]steadyEvent, error) {
	reqs := newPlan([]sender{f.b}, Options{Mode: "unique", Requests: n, Concurrency: 1}, runID).reqs
	out := make([]steadyEvent, len(reqs))
	for i, r := range reqs {
		ev, err := f.p.Parse(r.body, func(name string) string { return headerValue(r.headers, name) })
		if err != nil {
			return nil, fmt.Errorf("parse %s's sample: %w", f.p.Name, err)
		}
		out[i] = steadyEvent{req: r, workflowID: event.TenantWorkflowID(f.b.tenant, f.p.Name, ev.EntityType, ev.EntityID), eventID: ev.ID}
	}
	return out, nil
}

// Target says what the run sends where, for the report's first line.
func (f *Fairness) Target() string {
	return fmt.Sprintf("%s: tenant %s bursts %d new events (%d in flight) while tenant %s sends %d at %g/s, alone and then during the burst, against %s",
		f.p.Name, f.a.tenant, f.o.Burst, f.o.Concurrency, f.b.tenant, f.o.Steady, f.o.SteadyRate, f.o.URL)
}

// clockSlack is how far the Temporal server's clock may seem off this
// machine's before a run says the latencies cannot be trusted.
const clockSlack = 100 * time.Millisecond

// FairnessReport is what a fairness run measured; `hookflow bench
// --fairness --json` prints it. B's latencies are from each event's 200 to
// its workflow applying it (the time of the workflow task that applied it,
// as its transition records it), 0 for an event applied before its 200
// arrived.
type FairnessReport struct {
	Provider     string        `json:"provider"`
	BurstTenant  string        `json:"burst_tenant"`
	SteadyTenant string        `json:"steady_tenant"`
	SteadyRate   float64       `json:"steady_rate"`
	Quiet        *SteadyReport `json:"quiet,omitempty"`        // B alone
	DuringBurst  *SteadyReport `json:"during_burst,omitempty"` // B during A's burst
	Burst        *BurstReport  `json:"burst,omitempty"`        // A
	// Slowdown is B's p95 during A's burst over B's p95 quiet.
	Slowdown *float64 `json:"p95_slowdown,omitempty"`
	Error    string   `json:"error,omitempty"`
}

// SteadyReport is B's side of one phase. The latencies are only there
// when every event was answered 200 and applied.
type SteadyReport struct {
	Sent   int            `json:"sent"`
	Codes  map[string]int `json:"codes"`
	SentMs float64        `json:"sent_ms"` // from the phase's start to B's last request
	// AnswerP50Ms and AnswerP95Ms are the receiver's: request to 200.
	AnswerP50Ms *float64 `json:"answer_p50_ms,omitempty"`
	AnswerP95Ms *float64 `json:"answer_p95_ms,omitempty"`
	P50Ms       *float64 `json:"p50_ms,omitempty"`
	P95Ms       *float64 `json:"p95_ms,omitempty"`
	MaxMs       *float64 `json:"max_ms,omitempty"`
	// RequestP50Ms and RequestP95Ms run from each request, rather than its
	// 200, to the event applied: what B waits in all.
	RequestP50Ms *float64 `json:"request_p50_ms,omitempty"`
	RequestP95Ms *float64 `json:"request_p95_ms,omitempty"`
	// LastAppliedMs is from the phase's start to B's last event applied.
	LastAppliedMs *float64 `json:"last_applied_ms,omitempty"`
}

// BurstReport is A's burst: the receiver's answers and, end to end, how
// fast its events were handled.
type BurstReport struct {
	// Planned is --burst; Requests fewer when --duration cut it short.
	Planned  int            `json:"planned"`
	Requests int            `json:"requests"`
	Codes    map[string]int `json:"codes"`
	Accepted int            `json:"accepted"`
	Rate     *float64       `json:"rate,omitempty"` // requests/s answered
	P50Ms    *float64       `json:"p50_ms,omitempty"`
	P95Ms    *float64       `json:"p95_ms,omitempty"`
	P99Ms    *float64       `json:"p99_ms,omitempty"`
	// AppliedRate is A's accepted events over the time from A's first
	// request until every event of the phase (A's and B's) was handled;
	// HandledMs is that time, DrainMs its part after A's last answer.
	AppliedRate *float64 `json:"applied_rate,omitempty"`
	HandledMs   *float64 `json:"handled_ms,omitempty"`
	DrainMs     *float64 `json:"drain_ms,omitempty"`
}

// FairnessResult is a finished fairness run: its report and Failure, the
// one line a failed run ends with, or nil.
type FairnessResult struct {
	Report  FairnessReport
	Failure error
	burst   Stats
}

// Run registers the run's Phoenix orders with the dev sandbox, then runs
// the quiet phase and the burst phase, each until its events are handled.
// Its error is a run that could not start; a run that started and failed
// has its Result.Failure and a report of what it got.
func (f *Fairness) Run(ctx context.Context) (FairnessResult, error) {
	res := FairnessResult{Report: FairnessReport{Provider: f.p.Name, BurstTenant: f.a.tenant, SteadyTenant: f.b.tenant, SteadyRate: f.o.SteadyRate}}
	if f.p.Sample.Sandbox != "" {
		if err := devtools.SetSandboxOrders(ctx, f.hc, f.o.URL+devtools.SandboxPrefix+strings.TrimSuffix(f.p.Sample.Sandbox, "/"), f.sandbox); err != nil {
			return res, err
		}
	}
	before, _, err := scrapeHandled(ctx, f.hc, f.o.MetricsURL, f.p.Name)
	if err != nil {
		return res, fmt.Errorf("fairness: %w", err)
	}
	fail := func(err error) (FairnessResult, error) {
		res.Failure = err
		res.Report.Error = err.Error()
		return res, nil
	}

	// Quiet: B alone.
	start := time.Now()
	quiet := f.sendSteady(ctx, f.quiet)
	res.Report.Quiet = quiet.report(start)
	if err := quiet.failure("quiet phase: " + f.b.tenant); err != nil {
		return fail(err)
	}
	_, _, handledAt, err := waitHandled(ctx, f.hc, f.o.MetricsURL, f.p.Name, before, len(f.quiet), f.o.AppliedTimeout)
	if err != nil {
		return fail(fmt.Errorf("quiet phase: %w", err))
	}
	if err := f.applied(ctx, quiet, handledAt); err != nil {
		return fail(fmt.Errorf("quiet phase: %w", err))
	}
	res.Report.Quiet = quiet.report(start)

	// The burst: A as fast as it goes, B at its pace from the same moment.
	if before, _, err = scrapeHandled(ctx, f.hc, f.o.MetricsURL, f.p.Name); err != nil {
		return fail(fmt.Errorf("burst phase: %w", err))
	}
	start = time.Now()
	var during steadyRun
	var wg sync.WaitGroup
	wg.Go(func() { during = f.sendSteady(ctx, f.during) })
	newEvent := func(a answer) bool { return a.code == "200" && !a.duplicate }
	burst := run(ctx, f.burst.streams, f.o.Concurrency, start.Add(f.o.Duration), newEvent, func(ctx context.Context, i int) answer {
		return post(ctx, f.hc, f.o.URL+f.burst.reqs[i].route, f.burst.reqs[i])
	})
	wg.Wait()
	res.burst = burst
	rep := &BurstReport{Planned: f.o.Burst, Requests: burst.Sent, Codes: burst.Codes, Accepted: burst.Accepted}
	res.Report.Burst, res.Report.DuringBurst = rep, during.report(start)
	if burst.Unexpected > 0 {
		err := fmt.Errorf("burst phase: %d of %d of %s's answers were not a 200 for a new event (%s)", burst.Unexpected, burst.Sent, f.a.tenant, burst.Outcomes())
		if burst.FirstError != "" {
			err = fmt.Errorf("%w, first error: %s", err, burst.FirstError)
		}
		return fail(err)
	}
	if err := during.failure("burst phase: " + f.b.tenant); err != nil {
		return fail(err)
	}
	rep.Rate = ptr(burst.Rate())
	rep.P50Ms, rep.P95Ms, rep.P99Ms = ms(Percentile(burst.Latencies, 50)), ms(Percentile(burst.Latencies, 95)), ms(Percentile(burst.Latencies, 99))
	_, _, handledAt, err = waitHandled(ctx, f.hc, f.o.MetricsURL, f.p.Name, before, burst.Accepted+len(f.during), f.o.AppliedTimeout)
	if err != nil {
		return fail(fmt.Errorf("burst phase: %w", err))
	}
	rep.AppliedRate = ptr(float64(burst.Accepted) / handledAt.Sub(burst.First).Seconds())
	rep.HandledMs, rep.DrainMs = ms(handledAt.Sub(burst.First)), ms(max(handledAt.Sub(burst.Last), 0))
	if err := f.applied(ctx, during, handledAt); err != nil {
		return fail(fmt.Errorf("burst phase: %w", err))
	}
	res.Report.DuringBurst = during.report(start)
	if q, d := res.Report.Quiet.P95Ms, res.Report.DuringBurst.P95Ms; q != nil && d != nil && *q > 0 {
		res.Report.Slowdown = ptr(*d / *q)
	}
	return res, nil
}

// steadyRun is what B's events of one phase got.
type steadyRun struct {
	events []steadyEvent
	sent   []time.Time // when each request went out
	got    []answer
	at     []time.Time // when each answer arrived
	// applied is when each event's workflow applied it, once read
	// (zero until then).
	applied []time.Time
}

// sendSteady sends events at the steady rate, each on its own schedule
// whatever became of the one before (as a provider's deliveries arrive),
// and waits for every answer.
func (f *Fairness) sendSteady(ctx context.Context, events []steadyEvent) steadyRun {
	n := len(events)
	r := steadyRun{events: events, sent: make([]time.Time, n), got: make([]answer, n), at: make([]time.Time, n), applied: make([]time.Time, n)}
	interval := time.Duration(float64(time.Second) / f.o.SteadyRate)
	start := time.Now()
	timer := time.NewTimer(0)
	defer timer.Stop()
	var wg sync.WaitGroup
	for i, e := range events {
		timer.Reset(time.Until(start.Add(time.Duration(i) * interval)))
		select {
		case <-timer.C:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			r.got[i] = answer{code: CodeError, err: ctx.Err().Error()}
			continue
		}
		wg.Go(func() {
			r.sent[i] = time.Now()
			r.got[i] = post(ctx, f.hc, f.o.URL+e.req.route, e.req)
			r.at[i] = time.Now()
		})
	}
	wg.Wait()
	return r
}

// failure is the phase's one line when any of B's answers was not a 200
// for a new event, or nil.
func (r steadyRun) failure(what string) error {
	var s Stats
	for i, a := range r.got {
		s.add(a, r.sent[i], r.at[i], a.code == "200" && !a.duplicate)
	}
	if s.Unexpected == 0 {
		return nil
	}
	err := fmt.Errorf("%s: %d of %d answers were not a 200 for a new event (%s)", what, s.Unexpected, len(r.got), s.Outcomes())
	if s.FirstError != "" {
		err = fmt.Errorf("%w, first error: %s", err, s.FirstError)
	}
	return err
}

// applied reads, from each of B's workflows, when it applied B's event
// (its transition's time), once the worker had counted them all handled
// by handledAt. An event handled without being applied, and a transition
// time outside the request's lifetime, fail the run: the first is not what
// the scenario measures, the second says the Temporal server's clock is
// not this machine's, so the latencies would be wrong.
func (f *Fairness) applied(ctx context.Context, r steadyRun, handledAt time.Time) error {
	for i, e := range r.events {
		rep, err := inspect.Describe(ctx, f.tc, f.cfg, e.workflowID, inspect.LiveQueryWait)
		if err != nil {
			return fmt.Errorf("%s's event %s: %w", f.b.tenant, e.eventID, err)
		}
		var at time.Time
		for _, t := range rep.State.Transitions {
			if t.EventID == e.eventID {
				at = t.At
			}
		}
		if at.IsZero() {
			outcome := "not recorded"
			for _, ev := range rep.State.Events {
				if ev.EventID == e.eventID {
					outcome = ev.Outcome
				}
			}
			return fmt.Errorf("%s's event %s was handled but not applied by %s (outcome %s)", f.b.tenant, e.eventID, e.workflowID, outcome)
		}
		if at.Before(r.sent[i].Add(-clockSlack)) || at.After(handledAt.Add(clockSlack)) {
			return fmt.Errorf("%s's event %s was applied at %s by the Temporal server's clock, outside its request's lifetime (%s to %s) by this machine's: the two clocks disagree, run the scenario where they are one (hookflow dev)",
				f.b.tenant, e.eventID, at.Format(time.RFC3339Nano), r.sent[i].Format(time.RFC3339Nano), handledAt.Format(time.RFC3339Nano))
		}
		r.applied[i] = at
	}
	return nil
}

// report is the phase's SteadyReport, from start; latencies once every
// event's applied time was read.
func (r steadyRun) report(start time.Time) *SteadyReport {
	rep := &SteadyReport{Codes: map[string]int{}}
	var last time.Time
	for i, a := range r.got {
		rep.Codes[a.code]++
		if !r.sent[i].IsZero() {
			rep.Sent++
			last = r.sent[i]
		}
	}
	rep.SentMs = *ms(max(last.Sub(start), 0))
	var answered []time.Duration
	for i := range r.got {
		if !r.at[i].IsZero() {
			answered = append(answered, r.at[i].Sub(r.sent[i]))
		}
	}
	if len(answered) > 0 {
		slices.Sort(answered)
		rep.AnswerP50Ms, rep.AnswerP95Ms = ms(Percentile(answered, 50)), ms(Percentile(answered, 95))
	}
	lat := make([]time.Duration, 0, len(r.applied))
	whole := make([]time.Duration, 0, len(r.applied))
	var lastApplied time.Time
	for i, at := range r.applied {
		if at.IsZero() {
			return rep // not all read: no latencies
		}
		lat = append(lat, max(at.Sub(r.at[i]), 0))
		whole = append(whole, max(at.Sub(r.sent[i]), 0))
		if at.After(lastApplied) {
			lastApplied = at
		}
	}
	slices.Sort(lat)
	slices.Sort(whole)
	rep.P50Ms, rep.P95Ms, rep.MaxMs = ms(Percentile(lat, 50)), ms(Percentile(lat, 95)), ms(Percentile(lat, 100))
	rep.RequestP50Ms, rep.RequestP95Ms = ms(Percentile(whole, 50)), ms(Percentile(whole, 95))
	rep.LastAppliedMs = ms(lastApplied.Sub(start))
	return rep
}

// WriteText writes the fairness report as text: `hookflow bench
// --fairness` without --json. A failed run's report has its counts only.
func (res FairnessResult) WriteText(w io.Writer) {
	rep := res.Report
	a, b := rep.BurstTenant, rep.SteadyTenant
	steady := func(s *SteadyReport, title, since string) {
		if s == nil {
			return
		}
		fmt.Fprintf(w, "%s\n  sent              %d in %s (outcomes %s)\n", title, s.Sent, msText(&s.SentMs), Stats{Codes: s.Codes}.Outcomes())
		if s.AnswerP50Ms != nil {
			fmt.Fprintf(w, "  request→200       p50 %s  p95 %s\n", msText(s.AnswerP50Ms), msText(s.AnswerP95Ms))
		}
		if s.P50Ms != nil {
			fmt.Fprintf(w, "  200→applied       p50 %s  p95 %s  max %s\n", msText(s.P50Ms), msText(s.P95Ms), msText(s.MaxMs))
			fmt.Fprintf(w, "  request→applied   p50 %s  p95 %s; the last applied %s after %s\n",
				msText(s.RequestP50Ms), msText(s.RequestP95Ms), msText(s.LastAppliedMs), since)
		}
		fmt.Fprintln(w)
	}
	steady(rep.Quiet, "tenant "+b+" alone (quiet)", "its first request")
	steady(rep.DuringBurst, "tenant "+b+" during tenant "+a+"'s burst", "the burst began")
	if s := rep.Burst; s != nil {
		fmt.Fprintf(w, "tenant %s's burst\n  requests          %d in %s (outcomes %s)\n", a, s.Requests, res.burst.Elapsed.Round(time.Millisecond), Stats{Codes: s.Codes}.Outcomes())
		if s.Requests < s.Planned {
			fmt.Fprintf(w, "  cut short         %d of the %d planned: --duration ended the burst\n", s.Requests, s.Planned)
		}
		if s.Rate != nil {
			fmt.Fprintf(w, "  rate              %.1f requests/s, request→200 p50 %s  p95 %s  p99 %s\n", *s.Rate, msText(s.P50Ms), msText(s.P95Ms), msText(s.P99Ms))
		}
		if s.AppliedRate != nil {
			during := 0
			if rep.DuringBurst != nil {
				during = rep.DuringBurst.Sent
			}
			fmt.Fprintf(w, "  applied           %.1f events/s: every event of the phase (%s's %d, %s's %d) handled %s after %s's first request, %s after its last answer\n",
				*s.AppliedRate, a, s.Accepted, b, during, msText(s.HandledMs), a, msText(s.DrainMs))
		}
		fmt.Fprintln(w)
	}
	if rep.Slowdown != nil {
		fmt.Fprintf(w, "tenant %s's 200→applied p95 during %s's burst: %.1fx its p95 alone\n", b, a, *rep.Slowdown)
	}
}

// msText writes milliseconds as a duration: 12.3ms, 4.1s.
func msText(v *float64) string {
	if v == nil {
		return "-"
	}
	d := time.Duration(*v * float64(time.Millisecond))
	switch {
	case d >= time.Second:
		return d.Round(10 * time.Millisecond).String()
	case d >= time.Millisecond:
		return d.Round(10 * time.Microsecond).String()
	}
	return d.String()
}
