// Package loadgen drives a receiver on this machine with correctly signed
// provider deliveries and measures it: requests/s, latency percentiles and
// status codes, optionally against raw SDK SignalWithStart on the same
// Temporal (the baseline), and the applied rate read from the worker's
// handled-events counter. `hookflow bench` is its command line; Send posts
// one such delivery, for `hookflow send`.
package loadgen

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/hookflow/hookflow/config"
	"github.com/hookflow/hookflow/internal/dev/devtools"
	"github.com/hookflow/hookflow/providers"
	"github.com/hookflow/hookflow/receivers/starter"
)

// Modes are the ways a run picks its events (Options.Mode).
var Modes = []string{"unique", "existing", "duplicate", "mix"}

// Options say what a run sends and measures; `hookflow bench`'s flags of the
// same names fill them.
type Options struct {
	Provider    string
	Mode        string // one of Modes
	Requests    int    // requests to send at most
	Entities    int    // existing mode: how many entities the events are spread over
	Duration    time.Duration
	Concurrency int // requests in flight at once
	// Tenants spreads the events over the first Tenants of the
	// configuration's tenants that have a secret for Provider, entity by
	// entity; 0 sends them all as the default tenant.
	Tenants  int
	Baseline bool // also measure raw SDK SignalWithStart
	Applied  bool // wait for the workflows and measure the applied rate
	// URL is the receiver's base URL; only loopback is allowed.
	URL string
	// MetricsURL is where Applied reads the worker's handled-events counter.
	MetricsURL     string
	AppliedTimeout time.Duration
}

// Check rejects options that cannot make a run and returns the provider.
// Its errors name `hookflow bench`'s flags.
func (o Options) Check(cfg *config.Config) (providers.Provider, error) {
	s, err := cfg.Providers.Lookup(o.Provider)
	if err != nil {
		return providers.Provider{}, err
	}
	switch {
	case !slices.Contains(Modes, o.Mode):
		return providers.Provider{}, fmt.Errorf("--mode must be one of %s, not %q", strings.Join(Modes, ", "), o.Mode)
	case o.Requests <= 0 || o.Concurrency <= 0 || o.Duration <= 0:
		return providers.Provider{}, errors.New("--requests, --concurrency and --duration must be positive")
	case o.Mode == "existing" && o.Entities <= 0:
		return providers.Provider{}, errors.New("--entities must be positive")
	case o.Tenants < 0:
		return providers.Provider{}, errors.New("--tenants must not be negative")
	case o.Applied && o.AppliedTimeout <= 0:
		return providers.Provider{}, errors.New("--applied-timeout must be positive")
	case o.Applied && o.Baseline:
		// The baseline's events are handled by workflows too and would
		// count as the receiver's.
		return providers.Provider{}, errors.New("--applied and --baseline measure different things: run them separately")
	case o.Baseline && (o.Mode == "duplicate" || o.Mode == "mix"):
		// The SDK has no Redis to answer a redelivery from: the ratio
		// would compare a cache hit with a start.
		return providers.Provider{}, fmt.Errorf("--baseline means nothing in --mode %s: the SDK has no dedup store to answer redeliveries", o.Mode)
	case o.Applied && o.Mode == "duplicate":
		return providers.Provider{}, errors.New("--applied needs events to apply: --mode duplicate accepts none while timed")
	}
	if _, err := benchTenants(cfg, s, o.Tenants); err != nil {
		return providers.Provider{}, err
	}
	return s, nil
}

// Report is what a run measured, printed as text or, with --json, as
// one JSON object; it is what `hookflow bench --json` prints. Rates and the ratio are only there when every answer was
// the expected one.
type Report struct {
	Provider      string         `json:"provider"`
	Mode          string         `json:"mode"`
	Tenants       []string       `json:"tenants,omitempty"` // with --tenants: whose events were sent
	Requests      int            `json:"requests"`
	Codes         map[string]int `json:"codes"`
	Accepted      int            `json:"accepted"`
	Duplicates    int            `json:"duplicates"`
	Unexpected    int            `json:"unexpected"`
	Rate          *float64       `json:"rate,omitempty"`
	P50Ms         *float64       `json:"p50_ms,omitempty"`
	P95Ms         *float64       `json:"p95_ms,omitempty"`
	P99Ms         *float64       `json:"p99_ms,omitempty"`
	MaxMs         *float64       `json:"max_ms,omitempty"`
	BaselineRate  *float64       `json:"baseline_rate,omitempty"`
	BaselineP50   *float64       `json:"baseline_p50_ms,omitempty"`
	BaselineCodes map[string]int `json:"baseline_codes,omitempty"`
	Ratio         *float64       `json:"ratio,omitempty"`
	Handled       *int           `json:"handled,omitempty"`
	HandledErrors *int           `json:"handled_errors,omitempty"`
	AppliedRate   *float64       `json:"applied_rate,omitempty"`
	DrainMs       *float64       `json:"drain_ms,omitempty"`
	Error         string         `json:"error,omitempty"`
}

func ptr[T any](v T) *T { return &v }

// ms is d in milliseconds, to the microsecond.
func ms(d time.Duration) *float64 { return ptr(math.Round(float64(d)/1e3) / 1e3) }

// newReport fills the report from the receiver's run and, with
// --baseline, the SDK's; a failed run's report has counts only.
func newReport(o Options, tenants []string, recv, raw Stats, failed bool) Report {
	rep := Report{
		Provider: o.Provider, Mode: o.Mode, Tenants: tenants, Requests: recv.Sent, Codes: recv.Codes,
		Accepted: recv.Accepted, Duplicates: recv.Duplicates, Unexpected: recv.Unexpected,
	}
	if o.Baseline {
		rep.BaselineCodes = raw.Codes
	}
	if failed {
		return rep
	}
	rep.Rate = ptr(recv.Rate())
	rep.P50Ms, rep.P95Ms = ms(Percentile(recv.Latencies, 50)), ms(Percentile(recv.Latencies, 95))
	rep.P99Ms, rep.MaxMs = ms(Percentile(recv.Latencies, 99)), ms(Percentile(recv.Latencies, 100))
	if o.Baseline {
		rep.BaselineRate = ptr(raw.Rate())
		rep.BaselineP50 = ms(Percentile(raw.Latencies, 50))
		rep.Ratio = ptr(recv.Rate() / raw.Rate())
	}
	return rep
}

// failure is the one line a run with unexpected answers exits with, or nil.
func failure(o Options, recv, raw Stats) error {
	_, want := o.expects()
	var err error
	if recv.Unexpected > 0 {
		err = fmt.Errorf("%d of %d answers were not the expected %s (%s; %d new, %d duplicate)",
			recv.Unexpected, recv.Sent, want, recv.Outcomes(), recv.Accepted, recv.Duplicates)
		if recv.FirstError != "" {
			err = fmt.Errorf("%w, first error: %s", err, recv.FirstError)
		}
	}
	if o.Baseline && raw.Unexpected > 0 {
		err = errors.Join(err, fmt.Errorf("baseline: %d of %d SignalWithStart calls failed, first error: %s", raw.Unexpected, raw.Sent, raw.FirstError))
	}
	if err != nil {
		return fmt.Errorf("%w; no rate reported", err)
	}
	if recv.Sent == 0 || (o.Baseline && raw.Sent == 0) {
		return errors.New("no request was sent before the deadline")
	}
	return nil
}

// target is where a run sends: each request to base + its route.
type target struct {
	hc         *http.Client
	base       string // the receiver's base URL
	metricsURL string
}

// Bench is one run, its requests signed and ready to send.
type Bench struct {
	cfg      *config.Config
	starter  starter.Starter
	provider providers.Provider
	o        Options
	t        target
	p        plan
	tenants  []string // with o.Tenants: whose events the run sends
}

// New signs the run's requests for p, the provider o.Check returned. st
// hands the baseline's events to Temporal; it is used only with
// o.Baseline.
func New(cfg *config.Config, st starter.Starter, p providers.Provider, o Options) (*Bench, error) {
	if err := requireLoopback(o.URL); err != nil {
		return nil, err
	}
	b := &Bench{cfg: cfg, starter: st, provider: p, o: o, t: target{
		hc: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
			MaxIdleConns: o.Concurrency, MaxIdleConnsPerHost: o.Concurrency, IdleConnTimeout: time.Minute,
		}},
		base: o.URL, metricsURL: o.MetricsURL,
	}}
	senders, err := benchTenants(cfg, p, o.Tenants)
	if err != nil {
		return nil, err
	}
	if o.Tenants > 0 {
		for _, s := range senders {
			b.tenants = append(b.tenants, s.tenant)
		}
	}
	b.p = newPlan(senders, o, randomHex(4))
	return b, nil
}

// Target is where the run posts: a URL, or with tenants, the routes and
// tenants the requests are spread over.
func (b *Bench) Target() string {
	if len(b.tenants) == 0 {
		return b.t.base + b.p.reqs[0].route
	}
	routes := map[string]bool{}
	for _, r := range b.p.reqs {
		routes[r.route] = true
	}
	target := b.t.base + b.p.reqs[0].route
	if len(routes) > 1 {
		target = b.t.base + strings.Replace(b.provider.TenantRoute(), ":tenant", "<tenant>", 1)
	} else if h := b.provider.TenantHeader; h != "" {
		target += " (" + h + ": <tenant>)"
	}
	return target + " for tenants " + strings.Join(b.tenants, ", ")
}

// Result is a finished run: what the receiver and the baseline got, the
// report, and Failure, the one line a run that failed ends with (its report
// has counts only), or nil.
type Result struct {
	Receiver, Baseline Stats
	Report             Report
	Failure            error
	o                  Options // what was asked, for WriteText
}

// Run does the untimed preparation, the timed run and, with Applied, waits
// for the workflows. Its error is a run that could not start; a run that
// started and failed has its Result.Failure.
func (b *Bench) Run(ctx context.Context) (Result, error) {
	o, t := b.o, b.t
	if err := b.prepare(ctx); err != nil {
		return Result{}, err
	}
	var before handledCount
	if o.Applied {
		var err error
		if before, _, err = scrapeHandled(ctx, t.hc, t.metricsURL, o.Provider); err != nil {
			return Result{}, fmt.Errorf("applied: %w", err)
		}
	}
	recv, raw := b.measure(ctx)
	runErr := failure(o, recv, raw)
	rep := newReport(o, b.tenants, recv, raw, runErr != nil)
	if runErr == nil && o.Applied {
		runErr = b.measureApplied(ctx, recv, before, &rep)
	}
	if runErr != nil {
		rep.Error = runErr.Error()
	}
	return Result{Receiver: recv, Baseline: raw, Report: rep, Failure: runErr, o: o}, nil
}

// prepare does the untimed work before the clock starts: the sandbox learns
// every Phoenix order the run sends, and in duplicate mode the event is
// delivered once, so every timed answer comes from Redis rather than being
// a 409 for an event still in flight.
func (b *Bench) prepare(ctx context.Context) error {
	t, s, p, o := b.t, b.provider, b.p, b.o
	if s.Sample.Sandbox != "" {
		if err := devtools.SetSandboxOrders(ctx, t.hc, t.base+devtools.SandboxPrefix+strings.TrimSuffix(s.Sample.Sandbox, "/"), p.orders(o.Baseline)); err != nil {
			return err
		}
	}
	if o.Mode != "duplicate" {
		return nil
	}
	a := post(ctx, t.hc, t.base+p.reqs[0].route, p.reqs[0])
	switch {
	case a.err != "":
		return fmt.Errorf("deliver the duplicate event once: %s", a.err)
	case a.code != "200":
		return fmt.Errorf("deliver the duplicate event once: receiver answered %s", a.code)
	}
	return nil
}

// measure is the timed phase. With --baseline the receiver and the SDK run
// in alternating rounds, so both meet the same backlog in Temporal and the
// worker; the deadline covers both.
func (b *Bench) measure(ctx context.Context) (recv, raw Stats) {
	t, p, o := b.t, b.p, b.o
	expect, _ := o.expects()
	viaReceiver := func(ctx context.Context, i int) answer { return post(ctx, t.hc, t.base+p.reqs[i].route, p.reqs[i]) }
	deadline := time.Now().Add(o.Duration)
	if !o.Baseline {
		return run(ctx, p.streams, o.Concurrency, deadline, expect, viaReceiver), raw
	}
	bl := baseliner{starter: b.starter, timeout: b.cfg.StartTimeout, provider: o.Provider, parse: b.provider.Parse}
	viaSDK := func(ctx context.Context, i int) answer { return bl.signal(ctx, p.reqs[i]) }
	sdkOK := func(a answer) bool { return a.code == "ok" }
	rounds := min(10, max(1, len(p.streams)/(4*o.Concurrency)))
	for r := range rounds {
		streams := p.streams[r*len(p.streams)/rounds : (r+1)*len(p.streams)/rounds]
		left := time.Until(deadline)
		if left <= 0 {
			break
		}
		receiverRound := func() { recv = recv.merge(run(ctx, streams, o.Concurrency, deadline, expect, viaReceiver)) }
		sdkRound := func() {
			raw = raw.merge(run(ctx, streams, o.Concurrency, time.Now().Add(left/2), sdkOK, viaSDK))
		}
		// Who goes first alternates too: the second of a pair meets the
		// workflows the first just started.
		if r%2 == 0 {
			sdkRound()
			receiverRound()
		} else {
			receiverRound()
			sdkRound()
		}
	}
	return recv, raw
}

// measureApplied waits for the workflows to handle the run's accepted
// events and adds the applied rate and drain time to rep.
func (b *Bench) measureApplied(ctx context.Context, recv Stats, before handledCount, rep *Report) error {
	t, o := b.t, b.o
	handled, failed, at, err := waitHandled(ctx, t.hc, t.metricsURL, o.Provider, before, recv.Accepted, o.AppliedTimeout)
	rep.Handled, rep.HandledErrors = &handled, &failed
	if err != nil {
		return err
	}
	rep.AppliedRate = ptr(float64(recv.Accepted) / at.Sub(recv.First).Seconds())
	rep.DrainMs = ms(max(at.Sub(recv.Last), 0))
	return nil
}

// requireLoopback refuses any target but this machine.
func requireLoopback(base string) error {
	u, err := url.Parse(base)
	if err != nil {
		return fmt.Errorf("receiver URL %q: %w", base, err)
	}
	host := u.Hostname()
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("bench only targets loopback (127.0.0.0/8, ::1, localhost), not %q", host)
}

// randomHex is n random bytes in hex: a run's ID, so that its entities and
// event IDs are its own.
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
