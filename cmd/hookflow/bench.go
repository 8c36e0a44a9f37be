package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"go.temporal.io/sdk/client"

	"github.com/hookflow/hookflow/config"
	"github.com/hookflow/hookflow/devtools"
	"github.com/hookflow/hookflow/event"
	"github.com/hookflow/hookflow/providers"
	"github.com/hookflow/hookflow/webhook"
	"github.com/hookflow/hookflow/workflows"
)

// benchOptions are the flags of `hookflow bench`.
type benchOptions struct {
	url            string
	provider       string
	mode           string // unique, existing, duplicate or mix
	requests       int
	entities       int // existing mode: how many entities the events are spread over
	duration       time.Duration
	concurrency    int
	baseline       bool
	applied        bool
	metricsURL     string
	appliedTimeout time.Duration
	json           bool
}

// benchModes are the values of --mode.
var benchModes = []string{"unique", "existing", "duplicate", "mix"}

func newBenchCmd(a *app) *cobra.Command {
	var o benchOptions
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Drive a running receiver with signed events on loopback and report its capacity",
		Long: `Bench sends correctly signed events to a receiver on this machine (loopback only),
bounded by --requests and --duration, and prints requests/s, p50/p95/p99/max latency and
status-code counts.

  --mode unique     one new entity per event
  --mode existing   events spread over --entities entities, each entity's statuses in
                    its lifecycle's order (the next only after the previous was answered)
  --mode duplicate  one event, delivered once before the clock starts, then redelivered:
                    every timed answer comes from Redis
  --mode mix        every other event redelivers one sent a while before

Every answer must be a 200 (with "duplicate":true in duplicate mode): a run with any
other answer, a connection error included, prints the counts, no rates, and fails.

--baseline also measures raw SDK SignalWithStart against the same Temporal server and
prints the ratio: the receiver's own overhead. --applied waits until the workflows have
handled every accepted event (the worker's hookflow_events_handled counter, read from
--metrics-url) and prints the applied rate, accepted events per second from the first
request to the last event handled, and the backlog drain time; other traffic for the
same provider during the run counts too, so run it on a quiet receiver.

Against hookflow dev, every Phoenix order the run sends is registered in the sandbox
with its final status before the clock starts, so the workflows read it successfully.`,
		Example: "  hookflow bench --requests 2000 --concurrency 32 --baseline\n" +
			"  hookflow bench --mode existing --entities 200 --requests 1000 --applied\n" +
			"  hookflow bench --mode duplicate --duration 10s --json",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := a.config()
			if err != nil {
				return err
			}
			var tc client.Client
			if o.baseline {
				if tc, err = dialTemporal(cfg, discardLogger(), nil); err != nil {
					return err
				}
				defer tc.Close()
			}
			return bench(cmd.Context(), cmd.OutOrStdout(), cfg, tc, o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.url, "url", "", "receiver base URL on loopback (default: http://127.0.0.1 on HOOKFLOW_HTTP_ADDR's port)")
	f.StringVar(&o.provider, "provider", "fenix", "provider whose events to send")
	f.StringVar(&o.mode, "mode", "unique", strings.Join(benchModes, ", "))
	f.IntVar(&o.requests, "requests", 1000, "requests to send at most")
	f.IntVar(&o.entities, "entities", 200, "existing mode: entities the events are spread over")
	f.DurationVar(&o.duration, "duration", 60*time.Second, "time to send for at most")
	f.IntVar(&o.concurrency, "concurrency", 16, "requests in flight at once")
	f.BoolVar(&o.baseline, "baseline", false, "also measure raw SDK SignalWithStart against the same Temporal")
	f.BoolVar(&o.applied, "applied", false, "wait until the workflows have handled every accepted event and print the applied rate")
	f.StringVar(&o.metricsURL, "metrics-url", "", "where --applied reads the handled-events counter (default: http://127.0.0.1 on HOOKFLOW_METRICS_ADDR's port, /metrics)")
	f.DurationVar(&o.appliedTimeout, "applied-timeout", 10*time.Minute, "how long --applied waits for the workflows")
	f.BoolVar(&o.json, "json", false, "print one JSON object instead of the text report")
	return cmd
}

// check rejects options that cannot make a run and returns the provider's
// provider.
func (o benchOptions) check(cfg *config.Config) (providers.Provider, error) {
	s, err := providerNamed(cfg, o.provider)
	if err != nil {
		return providers.Provider{}, err
	}
	switch {
	case !slices.Contains(benchModes, o.mode):
		return providers.Provider{}, fmt.Errorf("--mode must be one of %s, not %q", strings.Join(benchModes, ", "), o.mode)
	case o.requests <= 0 || o.concurrency <= 0 || o.duration <= 0:
		return providers.Provider{}, errors.New("--requests, --concurrency and --duration must be positive")
	case o.mode == "existing" && o.entities <= 0:
		return providers.Provider{}, errors.New("--entities must be positive")
	case o.applied && o.appliedTimeout <= 0:
		return providers.Provider{}, errors.New("--applied-timeout must be positive")
	case o.applied && o.baseline:
		// The baseline's events are handled by workflows too and would
		// count as the receiver's.
		return providers.Provider{}, errors.New("--applied and --baseline measure different things: run them separately")
	case o.applied && o.mode == "duplicate":
		return providers.Provider{}, errors.New("--applied needs events to apply: --mode duplicate accepts none while timed")
	}
	return s, nil
}

// answer is what one request got.
type answer struct {
	code      string // the HTTP status code, codeError when none came, "ok" for the baseline
	duplicate bool   // a 200 whose body says "duplicate":true
	err       string // the transport error, with codeError
}

// codeError stands for a request that got no HTTP answer.
const codeError = "error"

// expects is the answer every request of a mode must get, and its
// description for the report.
func (o benchOptions) expects() (func(answer) bool, string) {
	if o.mode == "duplicate" {
		return func(a answer) bool { return a.code == "200" && a.duplicate }, `200 with "duplicate":true`
	}
	return func(a answer) bool { return a.code == "200" }, "200"
}

// benchResult is one measured run.
type benchResult struct {
	sent        int
	elapsed     time.Duration
	first, last time.Time       // the first request sent, the last answer received
	latencies   []time.Duration // sorted
	codes       map[string]int
	accepted    int // 200 answers to new events
	duplicates  int // 200 answers with "duplicate":true
	unexpected  int
	firstError  string // the first transport error, to say why
}

// add counts one answer.
func (r *benchResult) add(a answer, started, ended time.Time, expected bool) {
	if r.codes == nil {
		r.codes = map[string]int{}
	}
	r.latencies = append(r.latencies, ended.Sub(started))
	r.codes[a.code]++
	switch {
	case a.code == "200" && a.duplicate:
		r.duplicates++
	case a.code == "200":
		r.accepted++
	}
	if !expected {
		r.unexpected++
	}
	if a.err != "" && r.firstError == "" {
		r.firstError = a.err
	}
	if ended.After(r.last) {
		r.last = ended
	}
}

// merge adds another run's measurements to r.
func (r benchResult) merge(o benchResult) benchResult {
	if r.codes == nil {
		r.codes = map[string]int{}
	}
	if r.first.IsZero() || (!o.first.IsZero() && o.first.Before(r.first)) {
		r.first = o.first
	}
	if o.last.After(r.last) {
		r.last = o.last
	}
	r.sent += o.sent
	r.elapsed += o.elapsed
	r.latencies = append(r.latencies, o.latencies...)
	slices.Sort(r.latencies)
	for k, v := range o.codes {
		r.codes[k] += v
	}
	r.accepted += o.accepted
	r.duplicates += o.duplicates
	r.unexpected += o.unexpected
	if r.firstError == "" {
		r.firstError = o.firstError
	}
	return r
}

func (r benchResult) rate() float64 { return float64(r.sent) / r.elapsed.Seconds() }

// percentile of sorted latencies, nearest rank.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted))*p/100+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// outcomes are the status-code counts, "200: 38, 503: 2", in code order.
func (r benchResult) outcomes() string {
	parts := make([]string, 0, len(r.codes))
	for _, k := range slices.Sorted(maps.Keys(r.codes)) {
		parts = append(parts, fmt.Sprintf("%s: %d", k, r.codes[k]))
	}
	return strings.Join(parts, ", ")
}

// print writes the run's report, with its rate and latencies when rates
// is set: the report of a failed run has counts only, since its rates
// measure nothing useful.
func (r benchResult) print(w io.Writer, title string, rates bool) {
	fmt.Fprintf(w, "%s\n  requests   %d in %s\n", title, r.sent, r.elapsed.Round(time.Millisecond))
	if rates {
		round := func(d time.Duration) time.Duration { return d.Round(10 * time.Microsecond) }
		fmt.Fprintf(w, "  rate       %.1f requests/s\n  latency    p50 %s  p95 %s  p99 %s  max %s\n",
			r.rate(), round(percentile(r.latencies, 50)), round(percentile(r.latencies, 95)),
			round(percentile(r.latencies, 99)), round(percentile(r.latencies, 100)))
	}
	fmt.Fprintf(w, "  outcomes   %s\n", r.outcomes())
	if _, ok := r.codes["200"]; ok {
		fmt.Fprintf(w, "  accepted   %d new, %d duplicate\n", r.accepted, r.duplicates)
	}
}

// prepared is one signed request, built before the clock starts: signing
// is the provider's work, not the receiver's.
type prepared struct {
	entity, status string
	body           []byte
	headers        map[string]string
}

// benchPlan is what a run sends. Each stream is a list of indexes into
// reqs that must arrive in that order; streams run in parallel.
type benchPlan struct {
	reqs    []prepared
	streams [][]int
}

// plan signs o.requests events for the mode. Unique, duplicate and mix
// events are streams of one; existing mode has one stream per entity.
func plan(cfg *config.Config, s providers.Provider, o benchOptions, runID string) benchPlan {
	secret := s.SendSecret(cfg.Setting)
	sign := func(entity, status, eventID string) prepared {
		so := sendOptions{entity: entity, status: status, eventID: eventID, webhookID: "bench-" + runID}
		body := s.Sample.Body(so.delivery())
		return prepared{entity: entity, status: status, body: body, headers: s.Sample.Headers(so.delivery(), body, secret, cfg.Setting)}
	}
	var p benchPlan
	if o.mode == "existing" {
		p.streams = make([][]int, min(o.entities, o.requests))
	}
	for i := range o.requests {
		if o.mode == "existing" {
			// Round-robin over the entities: request i is entity k's step.
			k, step := i%len(p.streams), i/len(p.streams)
			p.reqs = append(p.reqs, sign(fmt.Sprintf("bench-%s-%d", runID, k), lifecycleStatus(s, step),
				fmt.Sprintf("bench-%s-%d-%d", runID, k, step)))
			p.streams[k] = append(p.streams[k], i)
			continue
		}
		id := i
		switch o.mode {
		case "duplicate":
			id = 0
		case "mix":
			// Every other request redelivers an event sent a while
			// before (likely answered by then), as providers retry.
			if back := i - 1 - 4*o.concurrency; i%2 == 1 && back >= 0 {
				id = back // an even index: an event sent as new
			}
		}
		name := fmt.Sprintf("bench-%s-%d", runID, id)
		p.reqs = append(p.reqs, sign(name, s.Sample.Status, name))
		p.streams = append(p.streams, []int{i})
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
func (p benchPlan) orders(baseline bool) map[string]string {
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
func run(ctx context.Context, streams [][]int, concurrency int, deadline time.Time, expect func(answer) bool, do func(ctx context.Context, i int) answer) benchResult {
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
	res := benchResult{codes: map[string]int{}, first: time.Now()}
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
	res.elapsed = time.Since(res.first)
	res.sent = len(res.latencies)
	slices.Sort(res.latencies)
	return res
}

// post sends one prepared request to url and reads the answer.
func post(ctx context.Context, hc *http.Client, url string, p prepared) answer {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(p.body))
	if err != nil {
		return answer{code: codeError, err: err.Error()}
	}
	setHeaders(req, p.headers)
	resp, err := hc.Do(req)
	if err != nil {
		return answer{code: codeError, err: err.Error()}
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
	cfg      *config.Config
	tc       client.Client
	provider string
	parse    func([]byte, webhook.Header) (event.Event, error)
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
	sctx, cancel := context.WithTimeout(ctx, b.cfg.StartTimeout)
	defer cancel()
	if _, err := newStarter(b.cfg, b.tc).Signal(sctx, ev.Provider, ev.EntityType, ev.EntityID, workflows.SignalWebhookEvent, ev); err != nil {
		return answer{code: codeError, err: err.Error()}
	}
	return answer{code: "ok"}
}

// handledMetric is the worker's counter of webhook events whose handling
// by the entity workflow finished, with labels provider and outcome.
const handledMetric = "hookflow_events_handled"

// parseHandled sums, over the Prometheus text exposition in r, every
// series of handledMetric whose provider label is provider. The OTel
// exporter may add a prefix or a suffix (_total) to the name, so any name
// holding handledMetric counts, except a histogram's or summary's parts.
// found says whether any such series was there: before the worker first
// counts, and in a worker that does not count, there is none.
func parseHandled(r io.Reader, provider string) (total float64, found bool, err error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' || !strings.Contains(line, handledMetric) {
			continue
		}
		name, labels, value, err := parseSample(line)
		if err != nil {
			return 0, false, err
		}
		if !strings.Contains(name, handledMetric) || labels["provider"] != provider || isSeriesPart(name) {
			continue
		}
		total += value
		found = true
	}
	if err := sc.Err(); err != nil {
		return 0, false, fmt.Errorf("read metrics: %w", err)
	}
	return total, found, nil
}

// isSeriesPart reports whether name is one part of a histogram or summary,
// or OpenMetrics' created timestamp, rather than a count.
func isSeriesPart(name string) bool {
	for _, s := range []string{"_bucket", "_sum", "_count", "_created"} {
		if strings.HasSuffix(name, s) {
			return true
		}
	}
	return false
}

// parseSample splits one sample line of the text exposition format,
// `name{label="value",…} value [timestamp]`.
func parseSample(line string) (name string, labels map[string]string, value float64, err error) {
	end := strings.IndexAny(line, "{ \t")
	if end <= 0 {
		return "", nil, 0, fmt.Errorf("metrics line %q: no value", line)
	}
	name, rest := line[:end], line[end:]
	labels = map[string]string{}
	if rest[0] == '{' {
		if rest, err = parseLabels(rest[1:], labels); err != nil {
			return "", nil, 0, fmt.Errorf("metrics line %q: %w", line, err)
		}
	}
	fields := strings.Fields(rest)
	if len(fields) == 0 {
		return "", nil, 0, fmt.Errorf("metrics line %q: no value", line)
	}
	if value, err = strconv.ParseFloat(fields[0], 64); err != nil {
		return "", nil, 0, fmt.Errorf("metrics line %q: %w", line, err)
	}
	return name, labels, value, nil
}

// parseLabels reads `label="value",…}` into labels, unescaping values, and
// returns what follows the closing brace.
func parseLabels(s string, labels map[string]string) (string, error) {
	for {
		s = strings.TrimLeft(s, " ,")
		if strings.HasPrefix(s, "}") {
			return s[1:], nil
		}
		eq := strings.Index(s, `="`)
		if eq <= 0 {
			return "", errors.New("malformed labels")
		}
		key := strings.TrimSpace(s[:eq])
		var v strings.Builder
		i := eq + 2
		for ; i < len(s) && s[i] != '"'; i++ {
			if s[i] == '\\' && i+1 < len(s) {
				i++
				if s[i] == 'n' {
					v.WriteByte('\n')
					continue
				}
			}
			v.WriteByte(s[i])
		}
		if i >= len(s) {
			return "", errors.New("unterminated label value")
		}
		labels[key] = v.String()
		s = s[i+1:]
	}
}

// scrapeHandled reads the handled-events count for provider at url.
func scrapeHandled(ctx context.Context, hc *http.Client, url, provider string) (float64, bool, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, false, fmt.Errorf("build metrics request: %w", err)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, false, fmt.Errorf("read metrics at %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, false, fmt.Errorf("read metrics at %s: %s", url, resp.Status)
	}
	return parseHandled(resp.Body, provider)
}

// handledPoll is how often --applied reads the counter.
const handledPoll = 50 * time.Millisecond

// waitHandled polls the counter until it has grown by want since before,
// and returns how many events were handled and when the last was seen. On
// timeout it says how far the workflows got, or that the counter is not
// there at all.
func waitHandled(ctx context.Context, hc *http.Client, url, provider string, before float64, want int, timeout time.Duration) (int, time.Time, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if want <= 0 {
		return 0, time.Now(), nil
	}
	tick := time.NewTicker(handledPoll)
	defer tick.Stop()
	handled, seen, lastErr := 0, false, error(nil)
	for {
		total, found, err := scrapeHandled(ctx, hc, url, provider)
		switch {
		case ctx.Err() != nil: // the deadline cut this scrape short
		case err != nil:
			lastErr = err // a busy worker may answer late: try again until the deadline
		default:
			lastErr = nil
			if !found {
				break
			}
			seen, handled = true, int(math.Round(total-before))
			if handled >= want {
				return handled, time.Now(), nil
			}
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			switch {
			case !seen && lastErr != nil:
				return handled, time.Time{}, fmt.Errorf("applied: no handled-events count after %s: %w", timeout, lastErr)
			case !seen:
				return handled, time.Time{}, fmt.Errorf("applied: no %s series for provider %s at %s after %s: does the worker count handled events?", handledMetric, provider, url, timeout)
			}
			return handled, time.Time{}, fmt.Errorf("applied: %d of %d accepted events handled after %s", handled, want, timeout)
		}
	}
}

// benchReport is what a run measured, printed as text or, with --json, as
// one JSON object. Rates and the ratio are only there when every answer was
// the expected one.
type benchReport struct {
	Provider      string         `json:"provider"`
	Mode          string         `json:"mode"`
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
	AppliedRate   *float64       `json:"applied_rate,omitempty"`
	DrainMs       *float64       `json:"drain_ms,omitempty"`
	Error         string         `json:"error,omitempty"`
}

func ptr[T any](v T) *T { return &v }

// ms is d in milliseconds, to the microsecond.
func ms(d time.Duration) *float64 { return ptr(math.Round(float64(d)/1e3) / 1e3) }

// newBenchReport fills the report from the receiver's run and, with
// --baseline, the SDK's; a failed run's report has counts only.
func newBenchReport(o benchOptions, recv, raw benchResult, failed bool) benchReport {
	rep := benchReport{
		Provider: o.provider, Mode: o.mode, Requests: recv.sent, Codes: recv.codes,
		Accepted: recv.accepted, Duplicates: recv.duplicates, Unexpected: recv.unexpected,
	}
	if o.baseline {
		rep.BaselineCodes = raw.codes
	}
	if failed {
		return rep
	}
	rep.Rate = ptr(recv.rate())
	rep.P50Ms, rep.P95Ms = ms(percentile(recv.latencies, 50)), ms(percentile(recv.latencies, 95))
	rep.P99Ms, rep.MaxMs = ms(percentile(recv.latencies, 99)), ms(percentile(recv.latencies, 100))
	if o.baseline {
		rep.BaselineRate = ptr(raw.rate())
		rep.BaselineP50 = ms(percentile(raw.latencies, 50))
		rep.Ratio = ptr(recv.rate() / raw.rate())
	}
	return rep
}

// failure is the one line a run with unexpected answers exits with, or nil.
func failure(o benchOptions, recv, raw benchResult) error {
	_, want := o.expects()
	var err error
	if recv.unexpected > 0 {
		err = fmt.Errorf("%d of %d answers were not the expected %s (%s; %d new, %d duplicate)",
			recv.unexpected, recv.sent, want, recv.outcomes(), recv.accepted, recv.duplicates)
		if recv.firstError != "" {
			err = fmt.Errorf("%w, first error: %s", err, recv.firstError)
		}
	}
	if o.baseline && raw.unexpected > 0 {
		err = errors.Join(err, fmt.Errorf("baseline: %d of %d SignalWithStart calls failed, first error: %s", raw.unexpected, raw.sent, raw.firstError))
	}
	if err != nil {
		return fmt.Errorf("%w; no rate reported", err)
	}
	if recv.sent == 0 || (o.baseline && raw.sent == 0) {
		return errors.New("no request was sent before the deadline")
	}
	return nil
}

// benchTarget is where a run sends.
type benchTarget struct {
	hc         *http.Client
	base       string // the receiver's base URL
	route      string // the provider's route
	metricsURL string
}

func bench(ctx context.Context, out io.Writer, cfg *config.Config, tc client.Client, o benchOptions) error {
	s, err := o.check(cfg)
	if err != nil {
		return err
	}
	base, err := receiverURL(cfg, o.url)
	if err != nil {
		return err
	}
	if err := requireLoopback(base); err != nil {
		return err
	}
	if o.metricsURL == "" {
		// The counter is the worker's, on its operations listener.
		ops, err := loopbackURL("HOOKFLOW_METRICS_ADDR", cfg.MetricsAddr)
		if err != nil {
			return err
		}
		o.metricsURL = ops + "/metrics"
	}
	t := benchTarget{
		hc: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
			MaxIdleConns: o.concurrency, MaxIdleConnsPerHost: o.concurrency, IdleConnTimeout: time.Minute,
		}},
		base: base, route: s.Routes[0], metricsURL: o.metricsURL,
	}
	p := plan(cfg, s, o, randomHex(4))
	if !o.json {
		fmt.Fprintf(out, "bench: %s %s, %d requests at most, %d in flight, %s at most, against %s\n\n",
			o.provider, o.mode, o.requests, o.concurrency, o.duration, base+s.Routes[0])
	}
	if err := prepare(ctx, t, s, p, o); err != nil {
		return err
	}
	var before float64
	if o.applied {
		if before, _, err = scrapeHandled(ctx, t.hc, t.metricsURL, o.provider); err != nil {
			return fmt.Errorf("applied: %w", err)
		}
	}

	recv, raw := measure(ctx, cfg, tc, t, p, o)
	runErr := failure(o, recv, raw)
	rep := newBenchReport(o, recv, raw, runErr != nil)
	if runErr == nil && o.applied {
		runErr = measureApplied(ctx, t, o, recv, before, &rep)
	}
	if runErr != nil {
		rep.Error = runErr.Error()
	}
	if o.json {
		enc := json.NewEncoder(out)
		if err := enc.Encode(rep); err != nil {
			return fmt.Errorf("write report: %w", err)
		}
		return runErr
	}
	printBench(out, o, recv, raw, rep)
	return runErr
}

// prepare does the untimed work before the clock starts: the sandbox learns
// every Phoenix order the run sends, and in duplicate mode the event is
// delivered once, so every timed answer comes from Redis rather than being
// a 409 for an event still in flight.
func prepare(ctx context.Context, t benchTarget, s providers.Provider, p benchPlan, o benchOptions) error {
	if s.Sample.Sandbox != "" {
		if err := devtools.SetSandboxOrders(ctx, t.hc, t.base+devtools.SandboxPrefix+strings.TrimSuffix(s.Sample.Sandbox, "/"), p.orders(o.baseline)); err != nil {
			return err
		}
	}
	if o.mode != "duplicate" {
		return nil
	}
	a := post(ctx, t.hc, t.base+t.route, p.reqs[0])
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
func measure(ctx context.Context, cfg *config.Config, tc client.Client, t benchTarget, p benchPlan, o benchOptions) (recv, raw benchResult) {
	expect, _ := o.expects()
	viaReceiver := func(ctx context.Context, i int) answer { return post(ctx, t.hc, t.base+t.route, p.reqs[i]) }
	deadline := time.Now().Add(o.duration)
	if !o.baseline {
		return run(ctx, p.streams, o.concurrency, deadline, expect, viaReceiver), raw
	}
	b := baseliner{cfg: cfg, tc: tc, provider: o.provider}
	if pr, ok := cfg.Providers.Get(o.provider); ok {
		b.parse = pr.Parse
	}
	viaSDK := func(ctx context.Context, i int) answer { return b.signal(ctx, p.reqs[i]) }
	sdkOK := func(a answer) bool { return a.code == "ok" }
	rounds := min(10, max(1, len(p.streams)/(4*o.concurrency)))
	for r := range rounds {
		streams := p.streams[r*len(p.streams)/rounds : (r+1)*len(p.streams)/rounds]
		left := time.Until(deadline)
		if left <= 0 {
			break
		}
		receiverRound := func() { recv = recv.merge(run(ctx, streams, o.concurrency, deadline, expect, viaReceiver)) }
		sdkRound := func() {
			raw = raw.merge(run(ctx, streams, o.concurrency, time.Now().Add(left/2), sdkOK, viaSDK))
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
func measureApplied(ctx context.Context, t benchTarget, o benchOptions, recv benchResult, before float64, rep *benchReport) error {
	handled, at, err := waitHandled(ctx, t.hc, t.metricsURL, o.provider, before, recv.accepted, o.appliedTimeout)
	rep.Handled = &handled
	if err != nil {
		return err
	}
	rep.AppliedRate = ptr(float64(recv.accepted) / at.Sub(recv.first).Seconds())
	rep.DrainMs = ms(max(at.Sub(recv.last), 0))
	return nil
}

// printBench writes rep as text.
func printBench(out io.Writer, o benchOptions, recv, raw benchResult, rep benchReport) {
	recv.print(out, "receiver", rep.Rate != nil)
	if o.baseline {
		fmt.Fprintln(out)
		raw.print(out, "baseline: raw SDK SignalWithStart", rep.BaselineRate != nil)
		if rep.Ratio != nil {
			fmt.Fprintf(out, "\nreceiver / baseline: %.2fx the rate, p50 %+.2f ms\n", *rep.Ratio, *rep.P50Ms-*rep.BaselineP50)
		}
	}
	if o.applied && rep.Handled != nil {
		fmt.Fprintf(out, "\napplied\n  handled    %d of %d accepted events\n", *rep.Handled, recv.accepted)
		if rep.AppliedRate != nil {
			fmt.Fprintf(out, "  rate       %.1f events/s, first request to last event handled\n  drain      %.0f ms after the last answer\n",
				*rep.AppliedRate, *rep.DrainMs)
		}
	}
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
