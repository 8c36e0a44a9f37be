package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/hookflow/hookflow/internal/dev/devtools"
	"github.com/hookflow/hookflow/internal/dev/loadgen"
	"github.com/hookflow/hookflow/internal/dev/testenv"
	"github.com/hookflow/hookflow/providers"
	"github.com/hookflow/hookflow/workflows"
)

// benchEntityTypes are the entity types bench's lifecycles walk, by provider.
var benchEntityTypes = map[string]string{
	"phoenix": "order", "phosphor": "item", "up42": "order", "fenix": "shipment", "phantom": "transaction",
}

// TestBenchLifecycles checks every provider has a lifecycle that its state
// table applies step by step and that ends in a terminal status, and that
// its sample carries each status as the receiver parses it.
func TestBenchLifecycles(t *testing.T) {
	cfg := sendConfig(t, sendSecrets)
	for _, s := range providers.Builtins() {
		name := s.Name
		t.Run(name, func(t *testing.T) {
			life := builtin(name).Sample.Lifecycle
			kind, ok := builtinTable(name, benchEntityTypes[name])
			if len(life) == 0 || !ok {
				t.Fatalf("lifecycle %v, state table found %v", life, ok)
			}
			parse := providerByName(t, cfg, name).Parse
			from := ""
			for _, status := range life {
				so := sendOptions{entity: "e-1", status: status, eventID: "evt-" + status}
				body := s.Sample.Body(so.delivery())
				h := s.Sample.Headers(so.delivery(), body, s.SendSecret(cfg.Setting), cfg.Setting)
				ev, err := parse(body, testenv.Lookup(h))
				if err != nil || ev.Status != status || ev.EntityType != benchEntityTypes[name] {
					t.Fatalf("sample for %s parses to %+v, %v", status, ev, err)
				}
				if v := kind.Allows(from, status); v != workflows.Apply {
					t.Errorf("%s -> %s: %s, want applied", from, status, v)
				}
				from = status
			}
			if !kind.Terminal[from] {
				t.Errorf("lifecycle ends in %s, not a terminal status", from)
			}
		})
	}
}

// fakeReceiver answers Fenix deliveries as the receiver would, remembering
// event IDs as Redis does, and records each entity's statuses in the order
// they arrived. refuse, when it returns a code, answers that instead.
type fakeReceiver struct {
	t      *testing.T
	srv    *httptest.Server
	refuse func(entity, status string) int
	// handled, when set, is the hookflow_events_handled exposition served
	// on /metrics for the events accepted so far.
	handled func(accepted int) string

	mu       sync.Mutex
	seen     map[string]bool     // event IDs answered 200
	order    map[string][]string // entity → statuses, in arrival order
	accepted int
}

func newFakeReceiver(t *testing.T) *fakeReceiver {
	f := &fakeReceiver{t: t, seen: map[string]bool{}, order: map[string][]string{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /webhooks/fenix", f.webhook)
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, _ *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		if f.handled == nil {
			http.NotFound(w, nil)
			return
		}
		fmt.Fprint(w, f.handled(f.accepted))
	})
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeReceiver) webhook(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Entity string `json:"tracking_number"`
		Status string `json:"status"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		http.Error(w, "bad body", http.StatusBadRequest)
		return
	}
	// Answers take a random while, as a real receiver's do, so requests
	// sent concurrently arrive out of order unless bench orders them.
	time.Sleep(time.Duration(rand.IntN(300)) * time.Microsecond)
	id := r.Header.Get(providers.FenixEventIDHeader)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.order[body.Entity] = append(f.order[body.Entity], body.Status)
	if f.refuse != nil {
		if code := f.refuse(body.Entity, body.Status); code != 0 {
			w.WriteHeader(code)
			return
		}
	}
	dup := f.seen[id]
	if !dup {
		f.accepted++
	}
	f.seen[id] = true
	fmt.Fprintf(w, `{"success":true,"duplicate":%t,"eventId":%q}`, dup, id)
}

// entities are the statuses recorded per entity.
func (f *fakeReceiver) entities() map[string][]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return maps.Clone(f.order)
}

// fakeTemporal accepts every SignalWithStart, for the baseline.
type fakeTemporal struct {
	client.Client
	calls atomic.Int64
}

func (f *fakeTemporal) SignalWithStartWorkflow(context.Context, string, string, any, client.StartWorkflowOptions, any, ...any) (client.WorkflowRun, error) {
	f.calls.Add(1)
	return nil, nil
}

// benchJSON runs bench with --json and decodes its report.
func benchJSON(t *testing.T, tc client.Client, o benchOptions) (map[string]any, error) {
	t.Helper()
	o.json = true
	var out bytes.Buffer
	err := bench(context.Background(), &out, sendConfig(t, nil), tc, o)
	var rep map[string]any
	if jerr := json.Unmarshal(out.Bytes(), &rep); jerr != nil {
		t.Fatalf("output is not one JSON object: %v\n%s", jerr, out.String())
	}
	return rep, err
}

// codes is a report's status-code counts.
func codes(rep map[string]any) map[string]int {
	out := map[string]int{}
	m, _ := rep["codes"].(map[string]any)
	for k, v := range m {
		out[k] = int(v.(float64))
	}
	return out
}

// TestBenchCounts checks the status-code counts and the accepted and
// duplicate counts of each mode against a receiver that answers 200.
func TestBenchCounts(t *testing.T) {
	const n = 60
	tests := []struct {
		mode                 string
		accepted, duplicates int
	}{
		{"unique", n, 0},
		{"existing", n, 0},
		// Primed before the clock: every timed answer is a duplicate.
		{"duplicate", 0, n},
		// Odd requests from 1+4*concurrency on redeliver.
		{"mix", n - (n-4*2)/2, (n - 4*2) / 2},
	}
	for _, tt := range tests {
		t.Run(tt.mode, func(t *testing.T) {
			f := newFakeReceiver(t)
			rep, err := benchJSON(t, nil, benchOptions{url: f.srv.URL, provider: "fenix", mode: tt.mode, requests: n,
				entities: 12, duration: time.Minute, concurrency: 2})
			if err != nil {
				t.Fatalf("bench: %v", err)
			}
			if got, want := codes(rep), map[string]int{"200": n}; !reflect.DeepEqual(got, want) {
				t.Errorf("codes = %v, want %v", got, want)
			}
			if rep["requests"] != float64(n) || rep["accepted"] != float64(tt.accepted) || rep["duplicates"] != float64(tt.duplicates) {
				t.Errorf("requests %v accepted %v duplicates %v, want %d %d %d",
					rep["requests"], rep["accepted"], rep["duplicates"], n, tt.accepted, tt.duplicates)
			}
		})
	}
}

// TestBenchUnexpectedAnswers checks that a run with any answer but the
// expected one prints its counts and no rate or ratio, and fails with one
// line; the same run answered 200 prints the ratio.
func TestBenchUnexpectedAnswers(t *testing.T) {
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	tests := []struct {
		name   string
		refuse func(entity, status string) int
		url    string // instead of the fake receiver's
		codes  map[string]int
		fails  bool
	}{
		{name: "all 200", codes: map[string]int{"200": 20}},
		{name: "all 401", refuse: func(string, string) int { return 401 }, codes: map[string]int{"401": 20}, fails: true},
		{name: "one 503", refuse: func(e, _ string) int {
			if strings.HasSuffix(e, "-7") {
				return 503
			}
			return 0
		}, codes: map[string]int{"200": 19, "503": 1}, fails: true},
		{name: "no receiver", url: closed.URL, codes: map[string]int{loadgen.CodeError: 20}, fails: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeReceiver(t)
			f.refuse = tt.refuse
			url := f.srv.URL
			if tt.url != "" {
				url = tt.url
			}
			o := benchOptions{url: url, provider: "fenix", mode: "unique", requests: 20, duration: time.Minute, concurrency: 4, baseline: true}
			var out bytes.Buffer
			err := bench(context.Background(), &out, sendConfig(t, nil), &fakeTemporal{}, o)
			text := out.String()
			if !strings.Contains(text, "outcomes   "+loadgen.Stats{Codes: tt.codes}.Outcomes()+"\n") {
				t.Errorf("report does not count %v:\n%s", tt.codes, text)
			}
			if !tt.fails {
				if err != nil || !strings.Contains(text, "receiver / baseline:") {
					t.Errorf("bench: %v, want no error and a ratio:\n%s", err, text)
				}
				return
			}
			if err == nil || strings.Contains(err.Error(), "\n") {
				t.Errorf("bench error = %q, want one line", err)
			}
			if strings.Contains(text, "receiver / baseline:") || strings.Contains(text, "requests/s") {
				t.Errorf("a failed run printed a rate:\n%s", text)
			}

			rep, err := benchJSON(t, &fakeTemporal{}, o)
			if err == nil {
				t.Error("bench --json: no error")
			}
			if got := codes(rep); !reflect.DeepEqual(got, tt.codes) {
				t.Errorf("--json codes = %v, want %v", got, tt.codes)
			}
			for _, key := range []string{"rate", "ratio", "applied_rate"} {
				if _, ok := rep[key]; ok {
					t.Errorf("--json of a failed run has %s: %v", key, rep)
				}
			}
		})
	}
}

// TestBenchExistingOrder checks that existing mode sends each entity its
// lifecycle in order, however the answers interleave, and sends an entity
// nothing more after an answer that is not 200.
func TestBenchExistingOrder(t *testing.T) {
	life := builtin("fenix").Sample.Lifecycle
	const entities = 24
	f := newFakeReceiver(t)
	o := benchOptions{url: f.srv.URL, provider: "fenix", mode: "existing", entities: entities,
		requests: entities * len(life), duration: time.Minute, concurrency: 8}
	if _, err := benchJSON(t, nil, o); err != nil {
		t.Fatalf("bench: %v", err)
	}
	got := f.entities()
	if len(got) != entities {
		t.Errorf("%d entities got events, want %d", len(got), entities)
	}
	for e, statuses := range got {
		if !slices.Equal(statuses, life) {
			t.Errorf("%s got %v, want %v", e, statuses, life)
		}
	}

	t.Run("stops an entity at a refusal", func(t *testing.T) {
		f := newFakeReceiver(t)
		f.refuse = func(e, status string) int {
			if strings.HasSuffix(e, "-3") && status == "IN_TRANSIT" {
				return 503
			}
			return 0
		}
		o.url = f.srv.URL
		rep, err := benchJSON(t, nil, o)
		if err == nil {
			t.Fatal("bench: no error after a 503")
		}
		if got, want := codes(rep), map[string]int{"200": entities*len(life) - len(life) + 2, "503": 1}; !reflect.DeepEqual(got, want) {
			t.Errorf("codes = %v, want %v", got, want)
		}
		for e, statuses := range f.entities() {
			want := life
			if strings.HasSuffix(e, "-3") {
				want = life[:3]
			}
			if !slices.Equal(statuses, want) {
				t.Errorf("%s got %v, want %v", e, statuses, want)
			}
		}
	})
}

// TestBenchJSON checks --json prints one object with every key a measured
// run promises.
func TestBenchJSON(t *testing.T) {
	f := newFakeReceiver(t)
	tc := &fakeTemporal{}
	rep, err := benchJSON(t, tc, benchOptions{url: f.srv.URL, provider: "fenix", mode: "unique", requests: 30,
		duration: time.Minute, concurrency: 3, baseline: true})
	if err != nil {
		t.Fatalf("bench: %v", err)
	}
	for _, key := range []string{"rate", "p50_ms", "p95_ms", "p99_ms", "max_ms", "codes", "requests", "mode", "provider", "baseline_rate", "ratio"} {
		if _, ok := rep[key]; !ok {
			t.Errorf("no %s in %v", key, rep)
		}
	}
	if rep["mode"] != "unique" || rep["provider"] != "fenix" || rep["requests"] != 30.0 || tc.calls.Load() != 30 {
		t.Errorf("report %v after %d baseline calls, want unique fenix 30 and 30 calls", rep, tc.calls.Load())
	}
}

// TestBenchApplied checks --applied waits for the counter to grow by the
// accepted events, reports the applied rate, and times out with a clear
// error when the workflows fall short or the counter is not there.
func TestBenchApplied(t *testing.T) {
	const n = 40
	// exposition serves the counter for a worker that had handled 5 fenix
	// events before the run and lags the receiver: each scrape sees at
	// most 7 more of the accepted events, up to limit.
	exposition := func(limit int) func(int) string {
		var mu sync.Mutex
		handled := 0
		return func(accepted int) string {
			mu.Lock()
			defer mu.Unlock()
			handled = min(handled+7, accepted, limit)
			return fmt.Sprintf("hookflow_events_handled_total{outcome=\"applied\",provider=\"fenix\"} %d\n"+
				"hookflow_events_handled_total{outcome=\"applied\",provider=\"up42\"} 99\n", 5+handled)
		}
	}
	tests := []struct {
		name    string
		handled func(int) string
		err     string // what the error says, "" for none
	}{
		{"all handled", exposition(n), ""},
		{"workflows fall short", exposition(n - 3), fmt.Sprintf("%d of %d accepted events handled", n-3, n)},
		{"no counter", func(int) string { return "go_goroutines 12\n" }, "no hookflow_events_handled series for provider fenix"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeReceiver(t)
			f.handled = tt.handled
			rep, err := benchJSON(t, nil, benchOptions{url: f.srv.URL, provider: "fenix", mode: "existing", entities: 8, requests: n,
				duration: time.Minute, concurrency: 4, applied: true, metricsURL: f.srv.URL + "/metrics", appliedTimeout: 2 * time.Second})
			if tt.err == "" {
				if err != nil {
					t.Fatalf("bench: %v", err)
				}
				if rep["handled"] != float64(n) || rep["applied_rate"] == nil || rep["drain_ms"] == nil {
					t.Errorf("report %v, want handled %d, applied_rate and drain_ms", rep, n)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("bench error = %v, want one saying %q", err, tt.err)
			}
			if _, ok := rep["applied_rate"]; ok {
				t.Errorf("applied_rate in %v", rep)
			}
		})
	}

	t.Run("no metrics endpoint: fails before sending", func(t *testing.T) {
		f := newFakeReceiver(t)
		var out bytes.Buffer
		err := bench(context.Background(), &out, sendConfig(t, nil), nil, benchOptions{url: f.srv.URL, provider: "fenix", mode: "unique",
			requests: 5, duration: time.Minute, concurrency: 1, applied: true, metricsURL: f.srv.URL + "/metrics", appliedTimeout: time.Second})
		if err == nil || !strings.Contains(err.Error(), "404") || len(f.entities()) != 0 {
			t.Errorf("bench error = %v after %d events, want a 404 before any", err, len(f.entities()))
		}
	})

	// The counter is on the operations listener, not the receiver's port
	// (whose /metrics answers 404 here): without --metrics-url bench reads
	// it at HOOKFLOW_METRICS_ADDR's port on loopback.
	t.Run("default metrics URL: HOOKFLOW_METRICS_ADDR", func(t *testing.T) {
		f := newFakeReceiver(t)
		count := exposition(n)
		ops := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/metrics" {
				http.NotFound(w, r)
				return
			}
			f.mu.Lock()
			accepted := f.accepted
			f.mu.Unlock()
			fmt.Fprint(w, count(accepted))
		}))
		t.Cleanup(ops.Close)
		cfg := sendConfig(t, map[string]string{"HOOKFLOW_METRICS_ADDR": strings.TrimPrefix(ops.URL, "http://")})
		var out bytes.Buffer
		err := bench(context.Background(), &out, cfg, nil, benchOptions{url: f.srv.URL, provider: "fenix", mode: "existing", entities: 8,
			requests: n, duration: time.Minute, concurrency: 4, applied: true, appliedTimeout: 2 * time.Second, json: true})
		if err != nil {
			t.Fatalf("bench: %v\n%s", err, out.String())
		}
		var rep map[string]any
		if err := json.Unmarshal(out.Bytes(), &rep); err != nil || rep["handled"] != float64(n) {
			t.Errorf("report %s (%v), want %d handled", out.String(), err, n)
		}
	})
}

// TestBenchPhoenixSandbox checks bench registers every order it sends with
// the sandbox before sending it, with the order's final status, and runs
// against a server without a sandbox too.
func TestBenchPhoenixSandbox(t *testing.T) {
	for _, withSandbox := range []bool{true, false} {
		t.Run(fmt.Sprintf("sandbox %v", withSandbox), func(t *testing.T) {
			var mu sync.Mutex
			registered := map[string]string{}
			sent := map[string][]string{}
			mux := http.NewServeMux()
			if withSandbox {
				mux.HandleFunc("PATCH "+devtools.SandboxPrefix+"/orders", func(w http.ResponseWriter, r *http.Request) {
					var in map[string]string
					_ = json.NewDecoder(r.Body).Decode(&in)
					mu.Lock()
					maps.Copy(registered, in)
					mu.Unlock()
				})
			}
			mux.HandleFunc("POST /webhooks/phoenix", func(w http.ResponseWriter, r *http.Request) {
				var body struct {
					Data struct{ OrderID, OrderStatus string }
				}
				_ = json.NewDecoder(r.Body).Decode(&body)
				mu.Lock()
				defer mu.Unlock()
				sent[body.Data.OrderID] = append(sent[body.Data.OrderID], body.Data.OrderStatus)
				if _, ok := registered[body.Data.OrderID]; withSandbox && !ok {
					w.WriteHeader(http.StatusNotFound) // the workflow's API read would fail
					return
				}
				fmt.Fprint(w, `{"success":true,"duplicate":false}`)
			})
			srv := httptest.NewServer(mux)
			defer srv.Close()

			rep, err := benchJSON(t, nil, benchOptions{url: srv.URL, provider: "phoenix", mode: "existing", entities: 5,
				requests: 10, duration: time.Minute, concurrency: 2})
			if err != nil {
				t.Fatalf("bench: %v (codes %v)", err, codes(rep))
			}
			mu.Lock()
			defer mu.Unlock()
			if len(sent) != 5 {
				t.Errorf("%d orders sent, want 5", len(sent))
			}
			for id, statuses := range sent {
				if want := builtin("phoenix").Sample.Lifecycle; !slices.Equal(statuses, want) {
					t.Errorf("order %s got %v, want %v", id, statuses, want)
				}
				if withSandbox && registered[id] != "fulfilled" {
					t.Errorf("order %s registered as %q, want its final status fulfilled", id, registered[id])
				}
			}
		})
	}
}

// TestBenchAgainstStack runs small benches against a real stack: every
// request is answered as its mode expects, counted exactly, and --baseline
// prints both reports.
func TestBenchAgainstStack(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	env := map[string]string{}
	for name, secret := range devSecrets() {
		env[name] = secret
	}
	s := newStack(t, env)
	const n = 40
	tests := []struct {
		mode                 string
		accepted, duplicates int
	}{
		{"unique", n, 0},
		{"existing", n, 0},
		{"duplicate", 0, n},
		{"mix", n - (n-4*4)/2, (n - 4*4) / 2},
	}
	for _, tt := range tests {
		t.Run(tt.mode, func(t *testing.T) {
			o := benchOptions{url: s.base, provider: "fenix", mode: tt.mode, requests: n, entities: 10,
				duration: time.Minute, concurrency: 4, baseline: tt.mode == "unique"}
			if tt.mode == "unique" {
				var out bytes.Buffer
				if err := bench(context.Background(), &out, s.cfg, s.tc, o); err != nil {
					t.Fatalf("bench: %v\n%s", err, out.String())
				}
				report := out.String()
				if !strings.Contains(report, "outcomes   200: 40\n") || !strings.Contains(report, "outcomes   ok: 40\n") || !strings.Contains(report, "receiver / baseline:") {
					t.Errorf("report:\n%s", report)
				}
			}
			o.json = true
			var out bytes.Buffer
			if err := bench(context.Background(), &out, s.cfg, s.tc, o); err != nil {
				t.Fatalf("bench --json: %v\n%s", err, out.String())
			}
			var rep map[string]any
			if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
				t.Fatal(err)
			}
			if got, want := codes(rep), map[string]int{"200": n}; !reflect.DeepEqual(got, want) {
				t.Errorf("codes = %v, want %v", got, want)
			}
			if rep["accepted"] != float64(tt.accepted) || rep["duplicates"] != float64(tt.duplicates) {
				t.Errorf("accepted %v duplicates %v, want %d %d", rep["accepted"], rep["duplicates"], tt.accepted, tt.duplicates)
			}
		})
	}
}
