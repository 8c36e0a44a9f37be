package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"go.temporal.io/sdk/client"

	"github.com/hookflow/hookflow/config"
	"github.com/hookflow/hookflow/internal/dev/loadgen"
	"github.com/hookflow/hookflow/internal/process/connect"
	"github.com/hookflow/hookflow/receivers/starter"
)

// benchOptions are the flags of `hookflow bench`.
type benchOptions struct {
	url            string
	provider       string
	mode           string // unique, existing, duplicate or mix
	requests       int
	entities       int // existing mode: how many entities the events are spread over
	tenants        int // spread the events over this many of the configuration's tenants
	duration       time.Duration
	concurrency    int
	baseline       bool
	applied        bool
	metricsURL     string
	appliedTimeout time.Duration
	json           bool

	// The fairness scenario (--fairness).
	fairness                  bool
	burstTenant, steadyTenant string
	burst, steady             int
	steadyRate                float64
}

// fairnessDuration bounds the burst's sending when --duration is not
// given: the scenario is the whole burst, which a loaded machine may take
// minutes to accept.
const fairnessDuration = 10 * time.Minute

// fairnessIgnores are the flags of the other modes, refused with
// --fairness, which sends new events of two tenants of its own.
var fairnessIgnores = []string{"mode", "requests", "entities", "tenants", "baseline", "applied"}

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
request to the last event handled, and the backlog drain time. Only events applied, judged
stale or caught as duplicates count; any that ended in error fail the run, and so does a
count above what the run accepted (other traffic for the provider): run it on a quiet
receiver. --baseline is refused in duplicate and mix modes, where it compares nothing.

--tenants N spreads the events over the first N tenants of the configuration's tenants:
that have a secret for the provider (give the receiver's --config; fewer than N is an
error), entity by entity: each entity's events, and their redeliveries, are one tenant's,
signed with its secret and sent to its route or with its tenant header, as
'hookflow send --tenant' does.

--fairness runs the scenario of two tenants: --burst-tenant (default: the configuration's
first tenant with a secret for the provider) bursts --burst new events, --concurrency in
flight and within --duration, while --steady-tenant (default: the second) sends --steady
new events at --steady-rate a second, first alone, then again from the moment the burst
starts (--duration bounds the burst's sending, 10m unless given; a burst it cuts short
says so). It prints the steady tenant's time from each 200 to its workflow applying the
event (p50, p95, max), quiet and during the burst, as the workflow's transition records
it (so the Temporal server must share this machine's clock, as hookflow dev does), and the
burst's requests/s and applied rate, its events counted handled as --applied counts them
(at --metrics-url, within --applied-timeout each phase): run it on a quiet receiver. Any
answer but a 200 for a new event, or an event not applied, fails the run.

Against hookflow dev, every Phoenix order the run sends is registered in the sandbox
with its final status before the clock starts, so the workflows read it successfully.`,
		Example: "  hookflow bench --requests 2000 --concurrency 32 --baseline\n" +
			"  hookflow bench --mode existing --entities 200 --requests 1000 --applied\n" +
			"  hookflow bench --mode duplicate --duration 10s --json\n" +
			"  hookflow bench --config tenants.yaml --tenants 2 --requests 1000 --applied\n" +
			"  hookflow bench --config examples/tenants.yaml --fairness --burst-tenant a --steady-tenant b --burst 5000 --steady 50",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.fairness && !cmd.Flags().Changed("duration") {
				o.duration = fairnessDuration
			}
			if o.fairness {
				for _, name := range fairnessIgnores {
					if cmd.Flags().Changed(name) {
						return fmt.Errorf("--%s means nothing with --fairness, which sends new events of two tenants (--burst, --steady)", name)
					}
				}
			}
			cfg, err := a.config()
			if err != nil {
				return err
			}
			var tc client.Client
			if o.baseline || o.fairness {
				if tc, err = connect.Temporal(cfg, discardLogger(), nil, nil); err != nil {
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
	f.StringVar(&o.mode, "mode", "unique", strings.Join(loadgen.Modes, ", "))
	f.IntVar(&o.requests, "requests", 1000, "requests to send at most")
	f.IntVar(&o.entities, "entities", 200, "existing mode: entities the events are spread over")
	f.IntVar(&o.tenants, "tenants", 0, "spread the events over the first N of the configuration's tenants (0: the default tenant)")
	f.DurationVar(&o.duration, "duration", 60*time.Second, "time to send for at most (with --fairness: the burst's, default "+fairnessDuration.String()+")")
	f.IntVar(&o.concurrency, "concurrency", 16, "requests in flight at once")
	f.BoolVar(&o.baseline, "baseline", false, "also measure raw SDK SignalWithStart against the same Temporal")
	f.BoolVar(&o.applied, "applied", false, "wait until the workflows have handled every accepted event and print the applied rate")
	f.StringVar(&o.metricsURL, "metrics-url", "", "where --applied reads the handled-events counter (default: http://127.0.0.1 on HOOKFLOW_METRICS_ADDR's port, /metrics)")
	f.DurationVar(&o.appliedTimeout, "applied-timeout", 10*time.Minute, "how long --applied waits for the workflows")
	f.BoolVar(&o.json, "json", false, "print one JSON object instead of the text report")
	f.BoolVar(&o.fairness, "fairness", false, "run the fairness scenario: one tenant bursts while another sends at a steady pace")
	f.StringVar(&o.burstTenant, "burst-tenant", "", "fairness: the tenant that bursts (default: the configuration's first)")
	f.StringVar(&o.steadyTenant, "steady-tenant", "", "fairness: the tenant that sends at a steady pace (default: the configuration's second)")
	f.IntVar(&o.burst, "burst", 5000, "fairness: new events the burst tenant sends")
	f.IntVar(&o.steady, "steady", 50, "fairness: new events the steady tenant sends alone, and again during the burst")
	f.Float64Var(&o.steadyRate, "steady-rate", 10, "fairness: the steady tenant's events a second")
	return cmd
}

func bench(ctx context.Context, out io.Writer, cfg *config.Config, tc client.Client, o benchOptions) error {
	if o.fairness {
		return benchFairness(ctx, out, cfg, tc, o)
	}
	lo := loadgen.Options{
		Provider: o.provider, Mode: o.mode, Requests: o.requests, Entities: o.entities, Tenants: o.tenants, Duration: o.duration,
		Concurrency: o.concurrency, Baseline: o.baseline, Applied: o.applied, AppliedTimeout: o.appliedTimeout,
	}
	p, err := lo.Check(cfg)
	if err != nil {
		return err
	}
	if lo.URL, err = loadgen.ReceiverURL(cfg, o.url); err != nil {
		return err
	}
	if lo.MetricsURL, err = loadgen.MetricsURL(cfg, o.metricsURL); err != nil {
		return err
	}
	b, err := loadgen.New(cfg, starter.New(cfg, tc), p, lo)
	if err != nil {
		return err
	}
	if !o.json {
		fmt.Fprintf(out, "bench: %s %s, %d requests at most, %d in flight, %s at most, against %s\n\n",
			o.provider, o.mode, o.requests, o.concurrency, o.duration, b.Target())
	}
	res, err := b.Run(ctx)
	if err != nil {
		return err
	}
	return writeReport(out, o.json, res.Report, res.WriteText, res.Failure)
}

// benchFairness runs the fairness scenario (--fairness); tc reads when the
// steady tenant's workflows applied its events.
func benchFairness(ctx context.Context, out io.Writer, cfg *config.Config, tc client.Client, o benchOptions) error {
	fo := loadgen.FairnessOptions{
		Provider: o.provider, BurstTenant: o.burstTenant, SteadyTenant: o.steadyTenant, Burst: o.burst, Steady: o.steady,
		SteadyRate: o.steadyRate, Concurrency: o.concurrency, Duration: o.duration, AppliedTimeout: o.appliedTimeout,
	}
	var err error
	if fo.URL, err = loadgen.ReceiverURL(cfg, o.url); err != nil {
		return err
	}
	if fo.MetricsURL, err = loadgen.MetricsURL(cfg, o.metricsURL); err != nil {
		return err
	}
	f, err := loadgen.NewFairness(cfg, tc, fo)
	if err != nil {
		return err
	}
	if !o.json {
		fmt.Fprintf(out, "bench --fairness, %s\n\n", f.Target())
	}
	res, err := f.Run(ctx)
	if err != nil {
		return err
	}
	return writeReport(out, o.json, res.Report, res.WriteText, res.Failure)
}

// writeReport prints a run's report, as JSON with --json, and returns the
// run's failure (nil when it passed).
func writeReport(out io.Writer, asJSON bool, report any, writeText func(io.Writer), failure error) error {
	if asJSON {
		if err := json.NewEncoder(out).Encode(report); err != nil {
			return fmt.Errorf("write report: %w", err)
		}
		return failure
	}
	writeText(out)
	return failure
}
