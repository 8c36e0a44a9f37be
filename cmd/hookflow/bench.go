package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"go.temporal.io/sdk/client"

	"github.com/hookflow/hookflow/config"
	"github.com/hookflow/hookflow/event"
	"github.com/hookflow/hookflow/receivers"
	"github.com/hookflow/hookflow/workflows"
)

// benchOptions are the flags of `hookflow bench`.
type benchOptions struct {
	url         string
	provider    string
	mode        string // unique, duplicate or mix
	requests    int
	duration    time.Duration
	concurrency int
	baseline    bool
}

func newBenchCmd(a *app) *cobra.Command {
	var o benchOptions
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Drive a running receiver with signed events on loopback and report its capacity",
		Long: `Bench sends correctly signed events to a receiver on this machine (loopback only),
bounded by --requests and --duration, and prints requests/s, p50/p95/p99 latency and
status-code counts. --mode unique starts one new entity per event, duplicate redelivers one
event (answered by Redis), mix alternates. --baseline also measures raw SDK SignalWithStart
against the same Temporal server and prints the ratio: the receiver's own overhead.`,
		Example: "  hookflow bench --requests 2000 --concurrency 32 --baseline\n  hookflow bench --mode duplicate --duration 10s",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := config.Load(a.configPath, nil)
			if err != nil {
				return err
			}
			if err := cfg.Validate(); err != nil {
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
	f.StringVar(&o.mode, "mode", "unique", "unique, duplicate or mix")
	f.IntVar(&o.requests, "requests", 1000, "requests to send at most")
	f.DurationVar(&o.duration, "duration", 60*time.Second, "time to send for at most")
	f.IntVar(&o.concurrency, "concurrency", 16, "requests in flight at once")
	f.BoolVar(&o.baseline, "baseline", false, "also measure raw SDK SignalWithStart against the same Temporal")
	return cmd
}

// benchResult is one measured run.
type benchResult struct {
	sent      int
	elapsed   time.Duration
	latencies []time.Duration // sorted
	codes     map[string]int
}

// merge adds another run's measurements to r.
func (r benchResult) merge(o benchResult) benchResult {
	if r.codes == nil {
		r.codes = map[string]int{}
	}
	r.sent += o.sent
	r.elapsed += o.elapsed
	r.latencies = append(r.latencies, o.latencies...)
	slices.Sort(r.latencies)
	for k, v := range o.codes {
		r.codes[k] += v
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

func (r benchResult) print(w io.Writer, title string) {
	fmt.Fprintf(w, "%s\n  requests   %d in %s\n  rate       %.1f requests/s\n  latency    p50 %s  p95 %s  p99 %s\n",
		title, r.sent, r.elapsed.Round(time.Millisecond), r.rate(),
		percentile(r.latencies, 50).Round(10*time.Microsecond), percentile(r.latencies, 95).Round(10*time.Microsecond),
		percentile(r.latencies, 99).Round(10*time.Microsecond))
	keys := make([]string, 0, len(r.codes))
	for k := range r.codes {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s: %d", k, r.codes[k]))
	}
	fmt.Fprintf(w, "  outcomes   %s\n", strings.Join(parts, ", "))
}

// run calls do for i in [0, n) on concurrency goroutines until n calls or
// the deadline, timing each.
func run(ctx context.Context, n, concurrency int, d time.Duration, do func(ctx context.Context, i int) string) benchResult {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	next := make(chan int)
	go func() {
		defer close(next)
		for i := range n {
			select {
			case next <- i:
			case <-ctx.Done():
				return
			}
		}
	}()
	var mu sync.Mutex
	res := benchResult{codes: map[string]int{}}
	var wg sync.WaitGroup
	start := time.Now()
	for range concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				t := time.Now()
				code := do(ctx, i)
				took := time.Since(t)
				mu.Lock()
				res.latencies = append(res.latencies, took)
				res.codes[code]++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	res.sent = len(res.latencies)
	slices.Sort(res.latencies)
	return res
}

func bench(ctx context.Context, out io.Writer, cfg *config.Config, tc client.Client, o benchOptions) error {
	s, ok := senders[o.provider]
	if !ok {
		return fmt.Errorf("unknown provider %q", o.provider)
	}
	if !o.baseline {
		tc = nil
	}
	if o.requests <= 0 || o.concurrency <= 0 || o.duration <= 0 {
		return errors.New("--requests, --concurrency and --duration must be positive")
	}
	base, err := receiverURL(cfg, o.url)
	if err != nil {
		return err
	}
	if err := requireLoopback(base); err != nil {
		return err
	}
	// Sign every request before the clock starts: signing is the
	// provider's work, not the receiver's.
	runID := randomHex(4)
	secret := s.secret(cfg)
	type prepared struct {
		body    []byte
		headers map[string]string
	}
	reqs := make([]prepared, o.requests)
	for i := range reqs {
		id := i
		switch o.mode {
		case "unique":
		case "duplicate":
			id = 0
		case "mix":
			// Every other request redelivers an event sent a while
			// before (likely answered by then), as providers retry.
			id = i
			if back := i - 1 - 4*o.concurrency; i%2 == 1 && back >= 0 {
				id = back // an even index: an event sent as new
			}
		default:
			return fmt.Errorf("--mode must be unique, duplicate or mix, not %q", o.mode)
		}
		so := sendOptions{entity: fmt.Sprintf("bench-%s-%d", runID, id), status: s.status,
			eventID: fmt.Sprintf("bench-%s-%d", runID, id), webhookID: "bench-" + runID}
		body := s.sample(so)
		reqs[i] = prepared{body, s.headers(cfg, so, body, secret)}
	}
	hc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		MaxIdleConns: o.concurrency, MaxIdleConnsPerHost: o.concurrency, IdleConnTimeout: time.Minute,
	}}
	fmt.Fprintf(out, "bench: %s %s, %d requests at most, %d in flight, %s at most, against %s\n\n",
		o.provider, o.mode, o.requests, o.concurrency, o.duration, base+s.route)
	var parse func([]byte, receivers.Header) (event.Event, error)
	for _, p := range providers(cfg) {
		if p.Name == o.provider {
			parse = p.Parse
		}
	}
	// The receiver's requests.
	viaReceiver := func(ctx context.Context, i int) string {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+s.route, bytes.NewReader(reqs[i].body))
		if err != nil {
			return "error"
		}
		setHeaders(req, reqs[i].headers)
		resp, err := hc.Do(req)
		if err != nil {
			return "error"
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return strconv.Itoa(resp.StatusCode)
	}
	// The baseline: what the receiver hands Temporal for each event, minus
	// the receiver (HTTP, verification, Redis), on entities of its own.
	direct := func(ctx context.Context, i int) string {
		ev, err := parse(reqs[i].body, func(name string) string { return headerValue(reqs[i].headers, name) })
		if err != nil {
			return "parse-error"
		}
		ev.Provider, ev.ReceivedAt = o.provider, time.Now().UTC()
		ev.ID, ev.EntityID = "baseline-"+ev.ID, "baseline-"+ev.EntityID
		sctx, cancel := context.WithTimeout(ctx, cfg.StartTimeout)
		defer cancel()
		if _, err := newStarter(cfg, tc).Signal(sctx, ev.Provider, ev.EntityType, ev.EntityID, workflows.SignalWebhookEvent, ev); err != nil {
			return "error"
		}
		return "ok"
	}

	// With --baseline the two run in alternating rounds, so both meet the
	// same backlog in Temporal and the worker; the deadline covers both.
	rounds := 1
	if tc != nil {
		rounds = min(10, max(1, o.requests/(4*o.concurrency)))
	}
	deadline := time.Now().Add(o.duration)
	var recv, raw benchResult
	for r := range rounds {
		lo, hi := r*o.requests/rounds, (r+1)*o.requests/rounds
		left := time.Until(deadline)
		if left <= 0 {
			break
		}
		viaRecv := func() {
			recv = recv.merge(run(ctx, hi-lo, o.concurrency, time.Until(deadline), func(ctx context.Context, i int) string { return viaReceiver(ctx, lo+i) }))
		}
		if tc == nil {
			viaRecv()
			continue
		}
		viaSDK := func() {
			raw = raw.merge(run(ctx, hi-lo, o.concurrency, left/2, func(ctx context.Context, i int) string { return direct(ctx, lo+i) }))
		}
		// Who goes first alternates too: the second of a pair meets the
		// workflows the first just started.
		if r%2 == 0 {
			viaSDK()
			viaRecv()
		} else {
			viaRecv()
			viaSDK()
		}
	}
	recv.print(out, "receiver")
	if tc == nil {
		return nil
	}
	fmt.Fprintln(out)
	raw.print(out, "baseline: raw SDK SignalWithStart")
	fmt.Fprintf(out, "\nreceiver / baseline: %.2fx the rate, p50 %+.2f ms\n",
		recv.rate()/raw.rate(), float64(percentile(recv.latencies, 50)-percentile(raw.latencies, 50))/float64(time.Millisecond))
	return nil
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
