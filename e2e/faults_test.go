package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"sort"
	"strings"
	"testing"
	"time"
)

// scenario is one fault and the load around it; it returns the
// reconciliation. size scales the load (entities per provider kind).
type scenario struct {
	name  string
	short bool // part of the short form make test runs
	run   func(ctx context.Context, t *testing.T, tp *topology, prefix string, size int) tally
}

var scenarios = []scenario{
	{"steady", false, steady},
	{"temporal-kill", true, temporalKill},
	{"redis-kill", false, redisKill},
	{"redis-flush", true, redisFlush},
	{"worker-kill", true, workerKill},
	{"phoenix-api", false, phoenixOutage},
	{"receiver-kill", false, receiverKill},
	{"burst", false, burst},
	{"missed-webhook", true, missedWebhook},
	{"net-partition", true, netPartition},
	{"net-latency", false, netLatency},
	{"slow-redis", false, slowRedis},
	{"hot-entity", false, hotEntity},
	{"slow-destination", false, slowDestination},
}

// TestFaults runs the fault scenarios against the dev topology: the pinned
// CLI's dev server (SQLite, WAL), a redis-server, two receivers and a
// worker, each its own process. HOOKFLOW_E2E=full runs every scenario at
// full size (make test-faults); otherwise a short form of three.
func TestFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("fault suite: separate processes, minutes")
	}
	full := os.Getenv("HOOKFLOW_E2E") == "full"
	size := 3
	if full {
		size = 10
	}
	ctx, cancel := context.WithTimeout(context.Background(), 25*time.Minute)
	defer cancel()

	tp := newTopology(t)
	// A low in-flight bound, so the burst meets it; the other scenarios
	// send with less concurrency than this.
	tp.env = []string{"HOOKFLOW_MAX_IN_FLIGHT=16", "HOOKFLOW_RECONCILE_SCHEDULE=1s"}
	tp.startDevTemporal()
	tp.startRedis()
	tp.setup()
	tp.startReceivers(2)
	tp.startWorkers(1)

	nonce := fmt.Sprintf("%06x", rand.N(1<<24))
	var lines []string
	for _, sc := range scenarios {
		if !full && !sc.short {
			continue
		}
		t.Run(sc.name, func(t *testing.T) {
			got := sc.run(ctx, t, tp, sc.name+"-"+nonce, size)
			lines = append(lines, got.line())
			t.Log(got.line())
			if !got.ok() {
				t.Errorf("%s:\n  %s", got.line(), strings.Join(clip(got.problems, 20), "\n  "))
			}
		})
	}
	// The summary, one line per scenario, as the suite's output.
	fmt.Println(strings.Join(lines, "\n"))
}

// steady is the baseline: every provider's lifecycle, no fault. It prints
// the applied rate: accepted events per second from the first request to
// the last event handled by its workflow.
func steady(ctx context.Context, t *testing.T, tp *topology, prefix string, size int) tally {
	plans := plan(prefix, size, tp.api)
	s := newSender(tp.tc, tp.receiverURLs...)
	start := time.Now()
	if err := s.run(ctx, plans, 8); err != nil {
		t.Errorf("load: %v", err)
	}
	got := reconcile(ctx, tp, s, plans, 3*time.Minute, "steady")
	reportRate(t, got, start)
	return got
}

// missedWebhook sends Phoenix orders whose last webhook (fulfilled) never
// comes for a third of them: the stand-in API says fulfilled once the
// order is pending in hookflow, and reconciling must bring every one there.
func missedWebhook(ctx context.Context, t *testing.T, tp *topology, prefix string, size int) tally {
	plans := planOf(kindNamed("phoenix-order"), prefix, 6*size, tp.api)
	var missed []entityPlan
	for i := range plans {
		if i%3 == 0 {
			plans[i].reconciled = []expectation{plans[i].deliveries[len(plans[i].deliveries)-1].want}
			plans[i].reconciled[0].source = "reconcile"
			missed = append(missed, plans[i])
			plans[i].deliveries = plans[i].deliveries[:len(plans[i].deliveries)-1]
		}
	}
	s := newSender(tp.tc, tp.receiverURLs...)
	if err := s.run(ctx, plans, 4); err != nil {
		t.Errorf("load: %v", err)
	}
	for _, p := range missed {
		must(t, waitUntil(ctx, p.workflowID+" pending", func() bool {
			st, err := queryState(ctx, tp.tc, p.workflowID)
			return err == nil && st.Status == "pending"
		}))
		p.deliveries[len(p.deliveries)-1].before() // the API says fulfilled; no webhook says so
	}
	got := reconcile(ctx, tp, s, plans, 3*time.Minute, "missed-webhook")
	got.reconciled = new(int)
	for _, p := range missed {
		if st, err := queryState(ctx, tp.tc, p.workflowID); err == nil && len(st.Transitions) > 0 && st.Transitions[len(st.Transitions)-1].Source == "reconcile" {
			*got.reconciled++
		}
	}
	if *got.reconciled != len(missed) {
		got.problems = append(got.problems, fmt.Sprintf("%d of the %d orders without their last webhook reconciled", *got.reconciled, len(missed)))
	}
	return got
}

// reportRate logs the applied rate of a run that started at start.
func reportRate(t testing.TB, got tally, start time.Time) float64 {
	took := got.handledAt.Sub(start)
	rate := float64(got.accepted) / took.Seconds()
	line := fmt.Sprintf("applied rate %.1f events/s (%d events, first request to last handled %s)", rate, got.accepted, took.Round(time.Millisecond))
	t.Log(line)
	fmt.Println(line)
	return rate
}

// temporalKill SIGKILLs the Temporal server a third of the way through the
// load, waits until the receivers refuse (503) and restarts it on the same
// database.
func temporalKill(ctx context.Context, t *testing.T, tp *topology, prefix string, size int) tally {
	return midLoad(ctx, t, tp, prefix, size, "temporal-kill", func(s *sender, _ int) {
		tp.temporal.kill()
		refused := s.retried.Load()
		must(t, waitUntil(ctx, "receivers refusing", func() bool { return s.retried.Load() >= refused+3 }))
		tp.ps.start(tp.temporal)
	})
}

// midLoad sends every provider's lifecycle, calls fault (given the
// sender) once a third of the deliveries are accepted, lets the load
// finish and reconciles it as scenario.
func midLoad(ctx context.Context, t *testing.T, tp *topology, prefix string, size int, scenario string, fault func(s *sender, total int)) tally {
	plans := plan(prefix, size, tp.api)
	s := newSender(tp.tc, tp.receiverURLs...)
	wait := s.runAsync(ctx, plans, 4)
	total := deliveriesOf(plans)
	must(t, waitUntil(ctx, "a third accepted", func() bool { return s.acceptedCount() >= total/3 }))
	fault(s, total)
	if err := wait(); err != nil {
		t.Errorf("load: %v", err)
	}
	t.Logf("answers:%s", s.codeSummary())
	return reconcile(ctx, tp, s, plans, 3*time.Minute, scenario)
}

// redisKill SIGKILLs Redis a third of the way through the load; events go
// on being accepted without it; it is restarted (empty) before the end.
func redisKill(ctx context.Context, t *testing.T, tp *topology, prefix string, size int) tally {
	return midLoad(ctx, t, tp, prefix, size, "redis-kill", func(s *sender, total int) {
		tp.redis.kill()
		before := s.acceptedCount()
		must(t, waitUntil(ctx, "two thirds accepted", func() bool { return s.acceptedCount() >= 2*total/3 }))
		t.Logf("accepted with Redis down: %d", s.acceptedCount()-before)
		tp.ps.start(tp.redis)
	})
}

// redisFlush delivers every event, lets the workflows handle them, makes
// Redis forget every dedup record, and redelivers everything: the
// workflows' own event memory must recognise each redelivery.
func redisFlush(ctx context.Context, t *testing.T, tp *topology, prefix string, size int) tally {
	plans := plan(prefix, size, tp.api)
	s := newSender(tp.tc, tp.receiverURLs...)
	if err := s.run(ctx, plans, 8); err != nil {
		t.Errorf("load: %v", err)
	}
	if first := reconcile(ctx, tp, s, plans, 3*time.Minute, "redis-flush"); !first.ok() {
		return first
	}
	tp.flushRedis()
	if err := s.run(ctx, redelivery(plans), 8); err != nil {
		t.Errorf("redelivery: %v", err)
	}
	got := reconcile(ctx, tp, s, plans, 3*time.Minute, "redis-flush")
	if got.duplicates < deliveriesOf(plans) {
		got.problems = append(got.problems, fmt.Sprintf("%d redeliveries recognised by the workflows, want %d", got.duplicates, deliveriesOf(plans)))
	}
	return got
}

// redelivery is plans sent again as they were: the provider's state (the
// Phoenix API's) does not change on a redelivery.
func redelivery(plans []entityPlan) []entityPlan {
	out := make([]entityPlan, len(plans))
	for i, p := range plans {
		out[i] = p
		out[i].deliveries = make([]delivery, len(p.deliveries))
		for j, d := range p.deliveries {
			d.before = nil
			out[i].deliveries[j] = d
		}
	}
	return out
}

// workerKill slows the Phoenix API down, SIGKILLs the worker that has an
// API read (a local activity) in flight, and restarts it.
func workerKill(ctx context.Context, t *testing.T, tp *topology, prefix string, size int) tally {
	plans := plan(prefix, size, tp.api)
	tp.api.setMode(apiSlow)
	defer tp.api.setMode(apiOK)
	s := newSender(tp.tc, tp.receiverURLs...)
	wait := s.runAsync(ctx, plans, 4)
	// The worker to kill is the one holding the in-flight read (its task),
	// never an idle one.
	victim := -1
	must(t, waitUntil(ctx, "a Phoenix read in flight", func() bool { victim = tp.api.readingWorker(); return victim >= 0 }))
	tp.workers[victim].kill()
	t.Logf("worker-%d killed with a Phoenix read in flight", victim+1)
	tp.ps.start(tp.workers[victim])
	tp.api.setMode(apiOK)
	if err := wait(); err != nil {
		t.Errorf("load: %v", err)
	}
	return reconcile(ctx, tp, s, plans, 3*time.Minute, "worker-kill")
}

// phoenixOutage has the Phoenix API answer 500, then slowly, then
// correctly, while Phoenix orders arrive: the workflows retry durably and
// apply the API's status once it answers.
func phoenixOutage(ctx context.Context, t *testing.T, tp *topology, prefix string, size int) tally {
	orders := 3 * size
	plans := planOf(kindNamed("phoenix-order"), prefix, orders, tp.api)
	tp.api.setMode(apiFail)
	defer tp.api.setMode(apiOK)
	failed0, _ := tp.api.counts(apiFail)
	slow0, _ := tp.api.counts(apiSlow)
	s := newSender(tp.tc, tp.receiverURLs...)
	wait := s.runAsync(ctx, plans, 8)
	must(t, waitUntil(ctx, "the API failing reads", func() bool { n, _ := tp.api.counts(apiFail); return n-failed0 >= orders }))
	tp.api.setMode(apiSlow)
	must(t, waitUntil(ctx, "the API answering slowly", func() bool { n, _ := tp.api.counts(apiSlow); return n-slow0 >= orders/2 }))
	tp.api.setMode(apiOK)
	if err := wait(); err != nil {
		t.Errorf("load: %v", err)
	}
	failed, _ := tp.api.counts(apiFail)
	slow, _ := tp.api.counts(apiSlow)
	t.Logf("Phoenix API: %d answers 500, %d slow", failed-failed0, slow-slow0)
	return reconcile(ctx, tp, s, plans, 3*time.Minute, "phoenix-api")
}

// receiverKill SIGKILLs one receiver a third of the way through the load;
// the sender's retries go to the other, which goes on accepting.
func receiverKill(ctx context.Context, t *testing.T, tp *topology, prefix string, size int) tally {
	plans := plan(prefix, size, tp.api)
	s := newSender(tp.tc, tp.receiverURLs...)
	wait := s.runAsync(ctx, plans, 4)
	total := deliveriesOf(plans)
	must(t, waitUntil(ctx, "a third accepted", func() bool { return s.acceptedCount() >= total/3 }))
	tp.receivers[0].kill()
	other := s.acceptedBy(tp.receiverURLs[1])
	must(t, waitUntil(ctx, "two thirds accepted", func() bool { return s.acceptedCount() >= 2*total/3 }))
	if s.acceptedBy(tp.receiverURLs[1]) == other {
		t.Errorf("the other receiver accepted nothing while the first was down")
	}
	if err := wait(); err != nil {
		t.Errorf("load: %v", err)
	}
	tp.ps.start(tp.receivers[0])
	t.Logf("answers:%s", s.codeSummary())
	return reconcile(ctx, tp, s, plans, 3*time.Minute, "receiver-kill")
}

// burst measures the sustainable rate of new events, then sends at ten
// times that rate for a few seconds (open loop, as providers do): the
// receivers shed the excess with fast 429s, every event still gets in
// through the sender's retries, and every process's RSS is reported
// before, at the peak and after.
func burst(ctx context.Context, t *testing.T, tp *topology, prefix string, size int) tally {
	k := kindNamed("phantom-transaction")
	single := func(plans []entityPlan) []entityPlan { // one event each: a new entity per event
		for i := range plans {
			plans[i].deliveries = plans[i].deliveries[:1]
			plans[i].final = plans[i].deliveries[0].status
		}
		return plans
	}
	// The sustainable rate is the applied rate of new entities: accepted
	// and handled by their workflows, not merely answered.
	calib := single(planOf(k, prefix+"-calibrate", 10*size, tp.api))
	cs := newSender(tp.tc, tp.receiverURLs...)
	start := time.Now()
	if err := cs.run(ctx, calib, 8); err != nil {
		t.Fatalf("calibration: %v", err)
	}
	c := reconcile(ctx, tp, cs, calib, 3*time.Minute, "burst-calibration")
	if !c.ok() {
		t.Fatalf("calibration: %s %v", c.line(), clip(c.problems, 5))
	}
	sustainable := float64(len(calib)) / c.handledAt.Sub(start).Seconds()

	rate := 10 * sustainable
	const length = 3 * time.Second
	plans := single(planOf(k, prefix, int(rate*length.Seconds()), tp.api))
	before := tp.ps.rss()
	peak := map[string]float64{}
	sampling, stopSampling := context.WithCancel(ctx)
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		for sampling.Err() == nil {
			for name, mib := range tp.ps.rss() {
				peak[name] = max(peak[name], mib)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}()
	s := newSender(tp.tc, tp.receiverURLs...)
	errs := make(chan error, len(plans))
	tick := time.Duration(float64(time.Second) / rate)
	for _, p := range plans {
		go func() { errs <- s.deliver(ctx, p.deliveries[0]) }()
		time.Sleep(tick)
	}
	for range plans {
		if err := <-errs; err != nil {
			t.Errorf("burst: %v", err)
			break
		}
	}
	got := reconcile(ctx, tp, s, plans, 5*time.Minute, "burst")
	stopSampling()
	<-sampled
	after := tp.ps.rss()

	p50, n429 := s.quantile(429, 0.5)
	p99, _ := s.quantile(429, 0.99)
	t.Logf("sustainable %.0f events/s; burst %d events at %.0f/s over %s; answers:%s", sustainable, len(plans), rate, length, s.codeSummary())
	t.Logf("429s: %d, p50 %s p99 %s", n429, p50.Round(time.Microsecond), p99.Round(time.Microsecond))
	fmt.Printf("burst: sustainable %.0f/s, sent at %.0f/s, %d answered 429 (p50 %s, p99 %s)\n", sustainable, rate, n429, p50.Round(time.Microsecond), p99.Round(time.Microsecond))
	names := make([]string, 0, len(after))
	for name := range after {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		line := fmt.Sprintf("rss %-9s before %6.1f MiB  peak %6.1f MiB  after %6.1f MiB", name, before[name], peak[name], after[name])
		t.Log(line)
		fmt.Println(line)
	}
	if n429 == 0 {
		got.problems = append(got.problems, "no 429 at ten times the sustainable rate")
	}
	if p99 > time.Second {
		got.problems = append(got.problems, fmt.Sprintf("429s not fast: p99 %s", p99))
	}
	return got
}

// netPartition cuts the receivers and the worker off Temporal for 10 s
// while the load runs: the receivers answer 503 (the provider retries),
// the worker's polls and completions fail and resume, and nothing is lost
// or doubled.
func netPartition(ctx context.Context, t *testing.T, tp *topology, prefix string, size int) tally {
	return midLoad(ctx, t, tp, prefix, size, "net-partition", func(*sender, int) {
		tp.receiverTemporal.partition(true)
		tp.workerTemporal.partition(true)
		t.Log("receivers and worker cut off Temporal for 10 s")
		time.Sleep(10 * time.Second) // the partition's length, not a wait for anything
		tp.receiverTemporal.partition(false)
		tp.workerTemporal.partition(false)
	})
}

// netLatency delays every packet between the receivers and Temporal by 3 s
// for 10 s, past the receivers' 5 s start timeout: a start may or may not
// have happened when the receiver answers 503, and the provider's retry
// must then be a duplicate or a fresh accept, never a loss or a double.
func netLatency(ctx context.Context, t *testing.T, tp *topology, prefix string, size int) tally {
	return midLoad(ctx, t, tp, prefix, size, "net-latency", func(*sender, int) {
		tp.receiverTemporal.setLatency(3 * time.Second)
		time.Sleep(10 * time.Second) // the fault's length, not a wait for anything
		tp.receiverTemporal.setLatency(0)
	})
}

// slowRedis adds 100 ms to every packet between the receivers and Redis
// for the whole load: dedup is slower, nothing else changes.
func slowRedis(ctx context.Context, t *testing.T, tp *topology, prefix string, size int) tally {
	plans := plan(prefix, size, tp.api)
	tp.receiverRedis.setLatency(100 * time.Millisecond)
	defer tp.receiverRedis.setLatency(0)
	s := newSender(tp.tc, tp.receiverURLs...)
	if err := s.run(ctx, plans, 4); err != nil {
		t.Errorf("load: %v", err)
	}
	p50, n := s.quantile(200, 0.5)
	t.Logf("with Redis 100 ms away: %d accepts, p50 %s; answers:%s", n, p50.Round(time.Millisecond), s.codeSummary())
	return reconcile(ctx, tp, s, plans, 3*time.Minute, "slow-redis")
}

// waitUntil polls cond for up to two minutes.
func waitUntil(ctx context.Context, what string, cond func() bool) error {
	err := eventually(ctx, 2*time.Minute, func() (bool, string) { return cond(), "" })
	if err != nil {
		return fmt.Errorf("waiting for %s: %w", what, err)
	}
	return nil
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func clip(s []string, n int) []string {
	if len(s) <= n {
		return s
	}
	return append(s[:n:n], fmt.Sprintf("… and %d more", len(s)-n))
}
