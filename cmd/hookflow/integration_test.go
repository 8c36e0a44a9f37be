package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/grpc"

	"github.com/hookflow/hookflow/config"
	"github.com/hookflow/hookflow/internal/dev/testenv"
	"github.com/hookflow/hookflow/internal/process/connect"
	"github.com/hookflow/hookflow/internal/process/searchattr"
	"github.com/hookflow/hookflow/telemetry/metrics"
	"github.com/hookflow/hookflow/telemetry/tracing"
	"github.com/hookflow/hookflow/workflows"
)

func loadVectors(t *testing.T) map[string]testenv.Vector { return testenv.Vectors(t) }

func fixture(t *testing.T, name string) []byte { return testenv.Fixture(t, name) }

// phoenixAPI is an httptest stand-in for the Phoenix orders API.
type phoenixAPI struct {
	mu     sync.Mutex
	orders map[string]string
	reads  map[string]int  // GET /orders/:id answered, per order
	down   map[string]bool // orders answered 503, as in an outage
	srv    *httptest.Server
}

func newPhoenixAPI(t *testing.T) *phoenixAPI {
	a := &phoenixAPI{orders: map[string]string{}, reads: map[string]int{}, down: map[string]bool{}}
	a.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := strings.TrimPrefix(r.URL.Path, "/orders/")
		a.mu.Lock()
		status, ok := a.orders[id]
		a.reads[id]++
		down := a.down[id]
		a.mu.Unlock()
		if down {
			http.Error(w, "outage", http.StatusServiceUnavailable)
			return
		}
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"order":{"id":%q,"status":%q}}`, id, status)
	}))
	t.Cleanup(a.srv.Close)
	return a
}

// setDown makes the API answer 503 for order while down is true.
func (a *phoenixAPI) setDown(order string, down bool) {
	a.mu.Lock()
	a.down[order] = down
	a.mu.Unlock()
}

func (a *phoenixAPI) set(order, status string) {
	a.mu.Lock()
	a.orders[order] = status
	a.mu.Unlock()
}

// readsOf is how many times the API has been asked for the order: a
// barrier for a workflow's handling that records nothing when it changes
// nothing, such as a reprocess.
func (a *phoenixAPI) readsOf(order string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.reads[order]
}

// stack is hookflow's receivers and worker, wired as serve and worker wire
// them, against a real Temporal dev server and a real Redis.
type stack struct {
	t        *testing.T
	cfg      *config.Config
	temporal *testenv.Temporal
	redis    *testenv.Redis
	rdb      redis.UniversalClient
	tc       client.Client
	worker   workers // stopped early by tests of a workflow no worker answers for
	api      *phoenixAPI
	base     string // the receivers' (webhook) port
	ops      string // the operations listener: /metrics, /readyz, /healthz
	logs     *testenv.SyncBuffer
	metrics  *metrics.Metrics
	rpcs     *rpcCounter
}

// rpcCounter counts the Temporal API calls the stack's client makes (its
// worker's and receivers'), by method name.
type rpcCounter struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *rpcCounter) intercept(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	c.mu.Lock()
	c.n[method[strings.LastIndex(method, "/")+1:]]++
	c.mu.Unlock()
	return invoker(ctx, method, req, reply, cc, opts...)
}

func (c *rpcCounter) reset() {
	c.mu.Lock()
	c.n = map[string]int{}
	c.mu.Unlock()
}

func (c *rpcCounter) count(method string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[method]
}

func newStack(t *testing.T, env map[string]string) *stack {
	t.Helper()
	return newTracedStack(t, env, nil)
}

// newTracedStack is newStack with tracing tr (nil is off) on the client,
// the worker and the receivers.
func newTracedStack(t *testing.T, env map[string]string, tr *tracing.Tracing) *stack {
	t.Helper()
	s := &stack{t: t, redis: testenv.StartRedis(t), temporal: testenv.StartTemporal(t), api: newPhoenixAPI(t), logs: &testenv.SyncBuffer{}}
	vars := map[string]string{
		"TEMPORAL_ADDRESS":       s.temporal.HostPort,
		"REDIS_URL":              s.redis.URL(),
		"PHOENIX_API_URL":        s.api.srv.URL,
		"HOOKFLOW_START_TIMEOUT": "2s",
		"HOOKFLOW_PENDING_TTL":   "10s",
	}
	for k, v := range env {
		vars[k] = v
	}
	// HOOKFLOW_CONFIG, when set, names a configuration file (providers:).
	cfg, err := config.Load(vars["HOOKFLOW_CONFIG"], func(k string) string { return vars[k] })
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	s.cfg = cfg
	log := slog.New(slog.NewJSONHandler(s.logs, nil))
	if s.metrics, err = metrics.New(log); err != nil {
		t.Fatal(err)
	}
	s.rpcs = &rpcCounter{n: map[string]int{}}
	opts, err := connect.TemporalOptions(cfg, log, s.metrics, tr)
	if err != nil {
		t.Fatal(err)
	}
	opts.ConnectionOptions.DialOptions = append(opts.ConnectionOptions.DialOptions, grpc.WithChainUnaryInterceptor(s.rpcs.intercept))
	if s.tc, err = client.NewLazyClient(opts); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.tc.Close)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := searchattr.Register(ctx, s.tc, cfg.TemporalNamespace); err != nil {
		t.Fatal(err)
	}
	if s.rdb, err = connect.RedisClient(cfg); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.rdb.Close() })

	s.worker = newWorker(cfg, s.tc)
	if err := s.worker.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.worker.Stop)

	proc := &process{cfg: cfg, log: log, metrics: s.metrics, tracing: tr, tc: s.tc, rdb: s.rdb}
	app := proc.receivers(t.Context()).App
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = app.Listener(ln) }()
	t.Cleanup(func() { _ = app.Shutdown() })
	s.base = "http://" + ln.Addr().String()

	opsApp := proc.opsApp()
	opsLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = opsApp.Listener(opsLn) }()
	t.Cleanup(func() { _ = opsApp.Shutdown() })
	s.ops = "http://" + opsLn.Addr().String()
	s.rpcs.reset() // count from here: setup waits on visibility itself
	return s
}

// reply is a receiver's answer.
type reply struct {
	status int
	header http.Header
	body   map[string]any
}

func (s *stack) post(path string, body []byte, headers map[string]string) reply {
	s.t.Helper()
	req, err := http.NewRequest(http.MethodPost, s.base+path, bytes.NewReader(body))
	if err != nil {
		s.t.Fatal(err)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := reply{status: resp.StatusCode, header: resp.Header}
	if err := json.Unmarshal(raw, &r.body); err != nil {
		s.t.Fatalf("POST %s: %d with non-JSON body %q", path, resp.StatusCode, raw)
	}
	return r
}

// state queries the entity workflow's state.
func (s *stack) state(workflowID string) (workflows.State, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	v, err := s.tc.QueryWorkflow(ctx, workflowID, "", workflows.QueryState)
	if err != nil {
		return workflows.State{}, err
	}
	var st workflows.State
	return st, v.Get(&st)
}

// waitState polls the state query until ok accepts it.
func (s *stack) waitState(workflowID string, ok func(workflows.State) bool) workflows.State {
	s.t.Helper()
	var st workflows.State
	testenv.Eventually(s.t, 30*time.Second, func() (bool, string) {
		var err error
		st, err = s.state(workflowID)
		if err != nil {
			return false, err.Error()
		}
		return ok(st), fmt.Sprintf("state %+v", st)
	})
	return st
}

// waitClosed waits until the workflow's current run has completed, read by
// name (no visibility), and returns that run's ID.
func (s *stack) waitClosed(workflowID string) string {
	s.t.Helper()
	var run string
	testenv.Eventually(s.t, 30*time.Second, func() (bool, string) {
		d, err := s.tc.DescribeWorkflowExecution(context.Background(), workflowID, "")
		if err != nil {
			return false, err.Error()
		}
		run = d.GetWorkflowExecutionInfo().GetExecution().GetRunId()
		status := d.GetWorkflowExecutionInfo().GetStatus()
		return status == enums.WORKFLOW_EXECUTION_STATUS_COMPLETED, "status " + status.String()
	})
	return run
}

// visible reports whether a visibility query finds the workflow.
// send sends one event of a built-in provider for entity, in status, as
// `hookflow send` does.
func (s *stack) send(provider, entity, status string) {
	s.t.Helper()
	o := sendOptions{url: s.base, entity: entity, status: status}
	if err := send(context.Background(), io.Discard, s.cfg, builtin(provider), o); err != nil {
		s.t.Fatalf("send %s %s: %v", provider, status, err)
	}
}

func (s *stack) visible(query, workflowID string) (bool, string) {
	resp, err := s.tc.ListWorkflow(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{
		Namespace: s.cfg.TemporalNamespace, Query: query,
	})
	if err != nil {
		return false, err.Error()
	}
	for _, ex := range resp.GetExecutions() {
		if ex.GetExecution().GetWorkflowId() == workflowID {
			return true, ""
		}
	}
	return false, fmt.Sprintf("%s not among %d results of %s", workflowID, len(resp.GetExecutions()), query)
}

// phoenixEvent is a signed Phoenix delivery for an order.
func phoenixEvent(secret, eventID, order, status string) ([]byte, map[string]string) {
	body := fmt.Sprintf(`{"event":"order.status.change","id":%q,"timestamp":"2026-11-20T10:00:00.000Z","data":{"orderId":%q,"orderStatus":%q}}`, eventID, order, status)
	return []byte(body), map[string]string{"Authorization": "Bearer " + secret, "Content-Type": "application/json"}
}

func TestPhoenixEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	vectors := loadVectors(t)
	fulfilled := vectors["phoenix-order-status-fulfilled.json"]
	secret := fulfilled.Secret
	s := newStack(t, map[string]string{"PHOENIX_WEBHOOK_SECRET": "old-rotated-secret, " + secret})

	t.Run("fixture is accepted and the order is fulfilled from the API", func(t *testing.T) {
		s.t = t
		order := strings.TrimPrefix(fulfilled.WorkflowID, "phoenix-order:")
		s.api.set(order, "fulfilled")
		r := s.post("/webhooks/phoenix", fixture(t, "phoenix-order-status-fulfilled.json"), fulfilled.Headers)
		if r.status != 200 || r.body["duplicate"] != false || r.body["workflowId"] != fulfilled.WorkflowID || r.body["eventId"] != fulfilled.EventID {
			t.Fatalf("got %d %v, want 200 accepted for %s", r.status, r.body, fulfilled.WorkflowID)
		}
		if r.header.Get("X-Request-Id") == "" {
			t.Error("no X-Request-Id on the response")
		}
		st := s.waitState(fulfilled.WorkflowID, func(st workflows.State) bool { return st.Status == "fulfilled" })
		if len(st.Transitions) != 1 || st.Transitions[0].Source != "api" || st.Transitions[0].EventID != fulfilled.EventID {
			t.Errorf("transitions = %+v, want one from the api for %s", st.Transitions, fulfilled.EventID)
		}
		testenv.Eventually(t, 30*time.Second, func() (bool, string) {
			return s.visible(`WebhookProvider = "phoenix" AND EntityStatus = "fulfilled"`, fulfilled.WorkflowID)
		})

		t.Run("the same body again is a duplicate and signals nothing", func(t *testing.T) {
			r := s.post("/phoenix-order-status-updated", fixture(t, "phoenix-order-status-fulfilled.json"), fulfilled.Headers)
			if r.status != 200 || r.body["duplicate"] != true || r.body["workflowId"] != fulfilled.WorkflowID {
				t.Fatalf("got %d %v, want 200 duplicate", r.status, r.body)
			}
			// A later event is handled after anything signalled before it:
			// once it is processed, a signalled duplicate would show.
			late := vectors["phoenix-order-status-pending-noid.json"]
			r = s.post("/webhooks/phoenix", fixture(t, "phoenix-order-status-pending-noid.json"), late.Headers)
			if r.status != 200 || r.body["eventId"] != late.EventID {
				t.Fatalf("late pending: got %d %v", r.status, r.body)
			}
			st := s.waitState(fulfilled.WorkflowID, func(st workflows.State) bool { return st.Processed == 2 })
			if st.Duplicates != 0 || st.Status != "fulfilled" || st.Sequence != 1 {
				t.Errorf("got duplicates %d, status %s, %d transitions; want 0, fulfilled, 1", st.Duplicates, st.Status, st.Sequence)
			}
		})
	})

	t.Run("20 concurrent copies of one event are processed once", func(t *testing.T) {
		s.t = t
		s.api.set("concurrent-1", "pending")
		body, headers := phoenixEvent(secret, "evt-concurrent-1", "concurrent-1", "pending")
		var wg sync.WaitGroup
		codes := make(chan int, 20)
		start := make(chan struct{})
		for range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				req, _ := http.NewRequest(http.MethodPost, s.base+"/webhooks/phoenix", bytes.NewReader(body))
				for k, v := range headers {
					req.Header.Set(k, v)
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					codes <- 0
					return
				}
				resp.Body.Close()
				codes <- resp.StatusCode
			}()
		}
		close(start)
		wg.Wait()
		close(codes)
		got := map[int]int{}
		for c := range codes {
			got[c]++
		}
		if got[200] < 1 || got[200]+got[409] != 20 {
			t.Fatalf("status counts %v, want only 200 and 409, at least one 200", got)
		}
		wfID := "phoenix-order:concurrent-1"
		body, headers = phoenixEvent(secret, "evt-concurrent-2", "concurrent-1", "pending")
		if r := s.post("/webhooks/phoenix", body, headers); r.status != 200 {
			t.Fatalf("barrier event: %d %v", r.status, r.body)
		}
		st := s.waitState(wfID, func(st workflows.State) bool { return st.Processed == 2 })
		if st.Duplicates != 0 || st.Sequence != 1 {
			t.Errorf("got %d duplicates and %d transitions, want the copies stopped at Redis and one transition", st.Duplicates, st.Sequence)
		}
	})

	t.Run("with Redis stopped events are accepted and processed once", func(t *testing.T) {
		s.t = t
		s.redis.Stop()
		defer s.redis.Start()
		s.api.set("redis-down-1", "fulfilled")
		body, headers := phoenixEvent(secret, "evt-redis-down-1", "redis-down-1", "fulfilled")
		for i := range 2 {
			if r := s.post("/webhooks/phoenix", body, headers); r.status != 200 || r.body["duplicate"] != false {
				t.Fatalf("delivery %d: got %d %v, want 200 accepted", i+1, r.status, r.body)
			}
		}
		st := s.waitState("phoenix-order:redis-down-1", func(st workflows.State) bool { return st.Processed+st.Duplicates == 2 })
		if st.Processed != 1 || st.Duplicates != 1 || st.Sequence != 1 || st.Status != "fulfilled" {
			t.Errorf("got processed %d, duplicates %d, transitions %d, status %s; want 1, 1, 1, fulfilled", st.Processed, st.Duplicates, st.Sequence, st.Status)
		}
	})

	t.Run("with Temporal stopped the receiver answers 503 and keeps no dedup key", func(t *testing.T) {
		s.t = t
		s.api.set("temporal-down-1", "fulfilled")
		body, headers := phoenixEvent(secret, "evt-temporal-down-1", "temporal-down-1", "fulfilled")
		s.temporal.Stop()
		r := s.post("/webhooks/phoenix", body, headers)
		if r.status != 503 || r.header.Get("Retry-After") == "" {
			t.Fatalf("got %d (Retry-After %q), want 503 with Retry-After", r.status, r.header.Get("Retry-After"))
		}
		if n := s.rdb.Exists(context.Background(), "hookflow:dedup:phoenix:evt-temporal-down-1").Val(); n != 0 {
			t.Fatalf("dedup key left behind after a failed start")
		}
		s.temporal.Start()
		testenv.Eventually(t, 60*time.Second, func() (bool, string) {
			r := s.post("/webhooks/phoenix", body, headers)
			return r.status == 200 && r.body["duplicate"] == false, fmt.Sprintf("retry got %d %v", r.status, r.body)
		})
		s.waitState("phoenix-order:temporal-down-1", func(st workflows.State) bool { return st.Status == "fulfilled" && st.Processed == 1 })
	})

	t.Run("no secret in the logs", func(t *testing.T) {
		logs := s.logs.String()
		if logs == "" {
			t.Fatal("no logs captured")
		}
		for _, secret := range s.cfg.Secrets("PHOENIX_WEBHOOK_SECRET") {
			if strings.Contains(logs, secret) {
				t.Errorf("a configured secret appears in the logs")
			}
		}
	})
}

func TestClosedEntityContinuesInNewRun(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	const secret = "closed-entity-secret"
	s := newStack(t, map[string]string{"PHOENIX_WEBHOOK_SECRET": secret, "HOOKFLOW_LINGER": "1s"})
	const wfID = "phoenix-order:closed-1"
	s.api.set("closed-1", "fulfilled")
	body, headers := phoenixEvent(secret, "evt-closed-1", "closed-1", "fulfilled")
	if r := s.post("/webhooks/phoenix", body, headers); r.status != 200 {
		t.Fatalf("first delivery: %d %v", r.status, r.body)
	}
	firstRun := s.waitClosed(wfID)
	// No wait for visibility: the new run reads the closed one by name.

	// Redis has forgotten the first delivery; the API now (wrongly) says
	// pending, and a late pending event arrives.
	if err := s.rdb.FlushAll(context.Background()).Err(); err != nil {
		t.Fatal(err)
	}
	s.api.set("closed-1", "pending")
	if r := s.post("/webhooks/phoenix", body, headers); r.status != 200 || r.body["duplicate"] != false {
		t.Fatalf("redelivery after close: %d %v", r.status, r.body)
	}
	late, lateHeaders := phoenixEvent(secret, "evt-closed-2", "closed-1", "pending")
	if r := s.post("/webhooks/phoenix", late, lateHeaders); r.status != 200 {
		t.Fatalf("late delivery: %d %v", r.status, r.body)
	}
	st := s.waitState(wfID, func(st workflows.State) bool { return st.Processed+st.Duplicates >= 3 })
	want := workflows.State{Status: "fulfilled", Sequence: 1, Processed: 2, Duplicates: 1}
	if st.Status != want.Status || st.Sequence != want.Sequence || st.Processed != want.Processed || st.Duplicates != want.Duplicates {
		t.Errorf("new run state: status %s, sequence %d, processed %d, duplicates %d; want %s, %d, %d, %d",
			st.Status, st.Sequence, st.Processed, st.Duplicates, want.Status, want.Sequence, want.Processed, want.Duplicates)
	}
	if len(st.Transitions) != 1 || st.Transitions[0].EventID != "evt-closed-1" {
		t.Errorf("new run transitions = %+v, want the closed run's one, from evt-closed-1", st.Transitions)
	}
	d, err := s.tc.DescribeWorkflowExecution(context.Background(), wfID, "")
	if err != nil {
		t.Fatal(err)
	}
	if d.GetWorkflowExecutionInfo().GetExecution().GetRunId() == firstRun {
		t.Errorf("the late events went to the closed run")
	}
	if n := s.rpcs.count("ListWorkflowExecutions"); n != 0 {
		t.Errorf("%d visibility list call(s), want none", n)
	}
}
