package receivers_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/redis/go-redis/v9"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/hookflow/hookflow/event"
	"github.com/hookflow/hookflow/internal/dev/deduptest"
	"github.com/hookflow/hookflow/providers"
	"github.com/hookflow/hookflow/receivers"
	"github.com/hookflow/hookflow/receivers/dedup"
	"github.com/hookflow/hookflow/receivers/starter"
	"github.com/hookflow/hookflow/signature"
	"github.com/hookflow/hookflow/workflows"
)

// startCall is one SignalWithStartWorkflow a fakeStarter received.
type startCall struct {
	workflowID  string
	signal      string
	arg         any
	options     client.StartWorkflowOptions
	input       any // the workflow's start argument
	hasDeadline bool
}

// fakeStarter records SignalWithStartWorkflow calls. It fails with err when
// set, and when block is set it reports each call on entered and waits for
// block to be closed before returning.
type fakeStarter struct {
	mu      sync.Mutex
	calls   []startCall
	err     error
	entered chan string
	block   chan struct{}
}

func (f *fakeStarter) SignalWithStartWorkflow(ctx context.Context, workflowID, signalName string, signalArg any,
	options client.StartWorkflowOptions, _ any, args ...any) (client.WorkflowRun, error) {
	_, hasDeadline := ctx.Deadline()
	var input any
	if len(args) > 0 {
		input = args[0]
	}
	f.mu.Lock()
	f.calls = append(f.calls, startCall{workflowID, signalName, signalArg, options, input, hasDeadline})
	err, entered, block := f.err, f.entered, f.block
	f.mu.Unlock()
	if entered != nil {
		entered <- workflowID
	}
	if block != nil {
		<-block
	}
	return nil, err
}

func (f *fakeStarter) setErr(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.err = err
}

func (f *fakeStarter) Calls() []startCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]startCall(nil), f.calls...)
}

// memDedup is an in-memory Dedup with the contract's semantics: a claim's
// records, one per key, are "pending:<token>" while claimed, "done" once
// finished, forgotten when released by their own claim; a claim of several
// keys takes all or none; Finish and Release leave another claim's record
// alone.
type memDedup struct {
	mu       sync.Mutex
	keys     map[string]string // key -> "pending:<token>", "pending" (legacy) or "done"
	err      error             // returned by every method when set
	claimErr error             // returned by Claim only, after the record is set, when set
	tokens   int               // the last token handed out
	claims   int
	finishes int
	releases []string
}

func newMemDedup() *memDedup { return &memDedup{keys: map[string]string{}} }

func (d *memDedup) Claim(_ context.Context, keys ...string) (dedup.Claim, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.claims++
	if d.err != nil {
		return dedup.Claim{}, d.err
	}
	state := dedup.Claimed
	for _, key := range keys {
		switch v := d.keys[key]; {
		case v == "done":
			state = dedup.Done
		case strings.HasPrefix(v, "pending") && state == dedup.Claimed:
			state = dedup.InFlight
		}
	}
	if state != dedup.Claimed {
		return dedup.Claim{State: state}, nil
	}
	d.tokens++
	token := strconv.Itoa(d.tokens)
	for _, key := range keys {
		d.keys[key] = "pending:" + token
	}
	if d.claimErr != nil { // the record was set, but its reply was lost
		return dedup.Claim{Token: token}, d.claimErr
	}
	return dedup.Claim{State: dedup.Claimed, Token: token}, nil
}

func (d *memDedup) Finish(_ context.Context, token string, keys ...string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.finishes++
	if d.err != nil {
		return d.err
	}
	for _, key := range keys {
		if v, ok := d.keys[key]; !ok || v == "pending:"+token {
			d.keys[key] = "done"
		}
	}
	return nil
}

func (d *memDedup) Release(_ context.Context, token string, keys ...string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.releases = append(d.releases, keys...)
	if d.err != nil {
		return d.err
	}
	for _, key := range keys {
		if d.keys[key] == "pending:"+token {
			delete(d.keys, key)
		}
	}
	return nil
}

func (d *memDedup) set(key, state string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.keys[key] = state
}

// state returns the key's record, "" when there is none.
func (d *memDedup) state(key string) string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.keys[key]
}

const (
	phoenixSecret  = "whsec_phoenix_test_4f8a2c" // vectors.json's
	fulfilledFile  = "phoenix-order-status-fulfilled.json"
	pendingNoIDKey = "phoenix:tpT9KpKVyHU1P24RjZcW1o:pending:2026-11-20T10:01:02.000Z"
	fulfilledKey   = "phoenix:evt_7Yq2mK1pW3xZ9aB4"
	orderWorkflow  = "phoenix-order:tpT9KpKVyHU1P24RjZcW1o"
	testTaskQueue  = "test-queue"
	testTimeout    = 10000 // ms for app.Test
)

var phoenixRoutes = []string{"/webhooks/phoenix", "/phoenix-order-status-updated"}

// rig is a receiver app with its fakes.
type rig struct {
	app     *fiber.App
	starter *fakeStarter
	dedup   *memDedup
}

// newRig builds the Phoenix receiver app; opts may adjust the Options before
// the receiver is built. Phoenix is enabled with the fixture secret.
func newRig(t *testing.T, opts func(*receivers.Options)) *rig {
	t.Helper()
	r := &rig{starter: &fakeStarter{}, dedup: newMemDedup()}
	o := receivers.Options{
		Start: starter.Starter{
			Client: r.starter, TaskQueue: testTaskQueue, Linger: 2 * time.Hour, IdleTimeout: 48 * time.Hour,
		},
		Dedup:        r.dedup,
		Log:          slog.New(slog.DiscardHandler),
		MaxBodyBytes: 4096,
		MaxInFlight:  8,
		StartTimeout: time.Second,
	}
	if opts != nil {
		opts(&o)
	}
	rcv := receivers.New(o)
	r.app = receivers.NewApp(rcv, []receivers.Provider{providers.Phoenix(signature.NewBearer([]string{phoenixSecret}))})
	return r
}

// response is what a test reads of an answer.
type response struct {
	status int
	header http.Header
	body   []byte
}

// json decodes the body as an object.
func (r response) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("body %q is not a JSON object: %v", r.body, err)
	}
	return m
}

// post sends one request through app.Test and checks the rule every answer
// follows: it carries an X-Request-Id.
func post(t *testing.T, app *fiber.App, path string, body []byte, headers map[string]string) response {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := app.Test(req, testTimeout)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	if resp.Header.Get("X-Request-Id") == "" {
		t.Errorf("POST %s: %d answer has no X-Request-Id", path, resp.StatusCode)
	}
	return response{resp.StatusCode, resp.Header, b}
}

func bearer(secret string) map[string]string {
	return map[string]string{"Authorization": "Bearer " + secret}
}

func wantStatus(t *testing.T, r response, want int) {
	t.Helper()
	if r.status != want {
		t.Fatalf("status: got %d, want %d (body %s)", r.status, want, r.body)
	}
}

func wantBody(t *testing.T, r response, want string) {
	t.Helper()
	if got := string(r.body); got != want {
		t.Errorf("body: got %s, want %s", got, want)
	}
}

// wantRetryAfter checks an answer's Retry-After, in seconds, against the
// value docs/how-it-works.md documents for its status.
func wantRetryAfter(t *testing.T, r response, want string) {
	t.Helper()
	if got := r.header.Get("Retry-After"); got != want {
		t.Errorf("%d answer's Retry-After: got %q, want %q", r.status, got, want)
	}
}

func TestAccepted(t *testing.T) {
	body, vec := loadVector(t, fulfilledFile)
	for _, route := range phoenixRoutes {
		t.Run(route, func(t *testing.T) {
			r := newRig(t, nil)
			resp := post(t, r.app, route, body, vec.Headers)
			wantStatus(t, resp, vec.Expect)

			got := resp.json(t)
			want := map[string]any{
				"success":     true,
				"duplicate":   false,
				"eventId":     "evt_7Yq2mK1pW3xZ9aB4",
				"workflowId":  vec.WorkflowID,
				"message":     "Order status webhook received",
				"orderId":     "tpT9KpKVyHU1P24RjZcW1o",
				"orderStatus": "fulfilled",
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("body: got %v, want %v", got, want)
			}

			calls := r.starter.Calls()
			if len(calls) != 1 {
				t.Fatalf("Starter calls: got %d, want 1", len(calls))
			}
			c := calls[0]
			if c.workflowID != vec.WorkflowID {
				t.Errorf("workflow ID: got %q, want %q", c.workflowID, vec.WorkflowID)
			}
			if c.signal != "webhook-event" {
				t.Errorf("signal: got %q, want %q", c.signal, "webhook-event")
			}
			if c.options.ID != vec.WorkflowID || c.options.TaskQueue != testTaskQueue {
				t.Errorf("start options: got ID %q, task queue %q; want %q, %q", c.options.ID, c.options.TaskQueue, vec.WorkflowID, testTaskQueue)
			}
			if !c.hasDeadline {
				t.Error("SignalWithStart context has no deadline")
			}
			wantIn := workflows.EntityInput{Provider: "phoenix", EntityType: "order", EntityID: "tpT9KpKVyHU1P24RjZcW1o", Revision: workflows.Revision, Linger: 2 * time.Hour, IdleTimeout: 48 * time.Hour}
			if in, ok := c.input.(workflows.EntityInput); !ok || !reflect.DeepEqual(in, wantIn) {
				t.Errorf("workflow input: got %+v, want %+v", c.input, wantIn)
			}
			ev, ok := c.arg.(event.Event)
			if !ok {
				t.Fatalf("signal argument: got %T, want event.Event", c.arg)
			}
			if !bytes.Equal(ev.Body, body) {
				t.Errorf("event Body: got %q, want the request bytes %q", ev.Body, body)
			}
			if ev.Provider != "phoenix" || ev.ID != "evt_7Yq2mK1pW3xZ9aB4" || ev.WorkflowID() != vec.WorkflowID {
				t.Errorf("event: got provider %q, ID %q, workflow %q", ev.Provider, ev.ID, ev.WorkflowID())
			}
			if ev.RequestID == "" || ev.RequestID != resp.header.Get("X-Request-Id") {
				t.Errorf("event RequestID %q, response X-Request-Id %q: want equal and set", ev.RequestID, resp.header.Get("X-Request-Id"))
			}
			if ev.ReceivedAt.IsZero() {
				t.Error("event ReceivedAt is zero")
			}
			if got := r.dedup.state(fulfilledKey); got != "done" {
				t.Errorf("dedup record %s: got %q, want done", fulfilledKey, got)
			}
		})
	}
}

func TestDuplicate(t *testing.T) {
	body, vec := loadVector(t, fulfilledFile)
	r := newRig(t, nil)
	first := post(t, r.app, "/webhooks/phoenix", body, vec.Headers)
	wantStatus(t, first, 200)

	// The provider's retry, on the other route.
	second := post(t, r.app, "/phoenix-order-status-updated", body, vec.Headers)
	wantStatus(t, second, 200)
	got := second.json(t)
	if got["duplicate"] != true || got["success"] != true {
		t.Errorf("body: got %v, want success and duplicate true", got)
	}
	if got["workflowId"] != vec.WorkflowID || got["eventId"] != "evt_7Yq2mK1pW3xZ9aB4" {
		t.Errorf("body: got %v, want workflowId %q and the event ID", got, vec.WorkflowID)
	}
	if n := len(r.starter.Calls()); n != 1 {
		t.Errorf("Starter calls: got %d, want 1 (the duplicate starts nothing)", n)
	}
}

func TestDuplicateFromStore(t *testing.T) {
	body, vec := loadVector(t, fulfilledFile)
	r := newRig(t, nil)
	r.dedup.set(fulfilledKey, "done")
	resp := post(t, r.app, "/webhooks/phoenix", body, vec.Headers)
	wantStatus(t, resp, 200)
	if got := resp.json(t); got["duplicate"] != true || got["workflowId"] != vec.WorkflowID {
		t.Errorf("body: got %v, want duplicate true with workflowId %q", got, vec.WorkflowID)
	}
	if n := len(r.starter.Calls()); n != 0 {
		t.Errorf("Starter calls: got %d, want 0", n)
	}
}

func TestRejected(t *testing.T) {
	body, _ := loadVector(t, fulfilledFile)
	missingBody, missingVec := loadVector(t, "phoenix-missing-fields.json")
	const missingAuth = `{"error":"Missing or invalid authorization header"}`
	tests := []struct {
		name     string
		body     []byte
		headers  map[string]string
		status   int
		wantBody string // exact, when set
	}{
		{"invalid JSON", []byte("not json"), bearer(phoenixSecret), 400, `{"error":"invalid JSON body"}`},
		{"JSON array", []byte(`[1,2]`), bearer(phoenixSecret), 400, `{"error":"invalid JSON body"}`},
		{"empty body", nil, bearer(phoenixSecret), 400, `{"error":"invalid JSON body"}`},
		{"missing fields fixture", missingBody, missingVec.Headers, missingVec.Expect,
			`{"error":"Missing required fields","required":["event","data.orderId","data.orderStatus"]}`},
		{"missing authorization", body, nil, 401, missingAuth},
		{"basic scheme", body, map[string]string{"Authorization": "Basic x"}, 401, missingAuth},
		{"bearer without token", body, map[string]string{"Authorization": "Bearer"}, 401, missingAuth},
		{"wrong secret", body, bearer("wrong-secret"), 401, ""},
		// Authentication runs before the body is parsed.
		{"wrong secret and invalid JSON", []byte("not json"), bearer("wrong-secret"), 401, ""},
		{"missing authorization and invalid JSON", []byte("not json"), nil, 401, missingAuth},
		{"wrong secret and missing fields", missingBody, bearer("wrong-secret"), 401, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, nil)
			resp := post(t, r.app, "/webhooks/phoenix", tt.body, tt.headers)
			wantStatus(t, resp, tt.status)
			if tt.wantBody != "" {
				wantBody(t, resp, tt.wantBody)
			}
			if msg, _ := resp.json(t)["error"].(string); msg == "" {
				t.Errorf("body %s has no error message", resp.body)
			}
			if strings.Contains(string(resp.body), phoenixSecret) {
				t.Errorf("body reveals the secret: %s", resp.body)
			}
			if n := len(r.starter.Calls()); n != 0 {
				t.Errorf("Starter calls: got %d, want 0", n)
			}
			if len(r.dedup.keys) != 0 {
				t.Errorf("dedup records: got %v, want none", r.dedup.keys)
			}
		})
	}
}

func TestDisabledProvider(t *testing.T) {
	body, vec := loadVector(t, fulfilledFile)
	fake := &fakeStarter{}
	rcv := receivers.New(receivers.Options{Start: starter.Starter{Client: fake}, Log: slog.New(slog.DiscardHandler)})
	app := receivers.NewApp(rcv, []receivers.Provider{providers.Phoenix(nil)})
	for _, route := range phoenixRoutes {
		t.Run(route, func(t *testing.T) {
			resp := post(t, app, route, body, vec.Headers)
			wantStatus(t, resp, 404)
			if msg, _ := resp.json(t)["error"].(string); msg == "" {
				t.Errorf("body %s has no error message", resp.body)
			}
		})
	}
	if n := len(fake.Calls()); n != 0 {
		t.Errorf("Starter calls: got %d, want 0", n)
	}
}

func TestInFlight(t *testing.T) {
	body, vec := loadVector(t, fulfilledFile)
	r := newRig(t, nil)
	r.dedup.set(fulfilledKey, "pending:another") // another request is handing it to Temporal
	resp := post(t, r.app, "/webhooks/phoenix", body, vec.Headers)
	wantStatus(t, resp, 409)
	wantRetryAfter(t, resp, "5")
	if n := len(r.starter.Calls()); n != 0 {
		t.Errorf("Starter calls: got %d, want 0", n)
	}
	if got := r.dedup.state(fulfilledKey); got != "pending:another" {
		t.Errorf("dedup record: got %q, want the other request's pending kept", got)
	}
}

// serve runs app on a loopback listener until the test ends and returns its
// base URL. Fiber rejects a body over its limit while reading the request,
// before any handler, which app.Test reports as an error instead of the
// answer; a real connection sees the answer.
func serve(t *testing.T, app *fiber.App) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- app.Listener(ln) }()
	t.Cleanup(func() {
		if err := app.Shutdown(); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		if err := <-served; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return "http://" + ln.Addr().String()
}

func TestBodyTooLarge(t *testing.T) {
	body, vec := loadVector(t, fulfilledFile)
	tests := []struct {
		name   string
		limit  int
		status int
	}{
		{"one byte over", len(body) - 1, 413},
		{"far over", 16, 413},
		{"exactly the limit", len(body), 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, func(o *receivers.Options) { o.MaxBodyBytes = tt.limit })
			base := serve(t, r.app)
			req, err := http.NewRequest(http.MethodPost, base+"/webhooks/phoenix", bytes.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range vec.Headers {
				req.Header.Set(k, v)
			}
			httpResp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatalf("POST: %v", err)
			}
			defer httpResp.Body.Close()
			b, err := io.ReadAll(httpResp.Body)
			if err != nil {
				t.Fatal(err)
			}
			resp := response{httpResp.StatusCode, httpResp.Header, b}
			wantStatus(t, resp, tt.status)
			if resp.header.Get("X-Request-Id") == "" {
				t.Errorf("%d answer has no X-Request-Id", resp.status)
			}
			if msg, _ := resp.json(t)["error"].(string); tt.status == 413 && msg == "" {
				t.Errorf("body %s has no error message", resp.body)
			}
			if got, want := len(r.starter.Calls()), map[int]int{200: 1, 413: 0}[tt.status]; got != want {
				t.Errorf("Starter calls: got %d, want %d", got, want)
			}
		})
	}
}

// TestOverloaded holds one start in flight with MaxInFlight 1 and sends a
// second event: it must get 429 at once, without touching the dedup store.
func TestOverloaded(t *testing.T) {
	first, vec := loadVector(t, fulfilledFile)
	second := fixture(t, "phoenix-order-status-pending-noid.json")
	r := newRig(t, func(o *receivers.Options) { o.MaxInFlight = 1 })
	entered, block := make(chan string, 1), make(chan struct{})
	r.starter.entered, r.starter.block = entered, block
	var unblockOnce sync.Once
	unblock := func() {
		unblockOnce.Do(func() {
			// Later starts must not block; the waiting one holds its own copy.
			r.starter.mu.Lock()
			r.starter.entered, r.starter.block = nil, nil
			r.starter.mu.Unlock()
			close(block)
		})
	}
	done := make(chan response, 1)
	t.Cleanup(func() { unblock(); <-done })

	go func() {
		req := httptest.NewRequest(http.MethodPost, "/webhooks/phoenix", bytes.NewReader(first))
		for k, v := range vec.Headers {
			req.Header.Set(k, v)
		}
		resp, err := r.app.Test(req, -1)
		if err != nil {
			done <- response{status: -1, body: []byte(err.Error())}
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		done <- response{resp.StatusCode, resp.Header, b}
	}()
	if got := <-entered; got != orderWorkflow { // the first start holds the only slot
		t.Fatalf("first start: got workflow %q, want %q", got, orderWorkflow)
	}

	resp := post(t, r.app, "/webhooks/phoenix", second, vec.Headers)
	wantStatus(t, resp, 429)
	wantRetryAfter(t, resp, "1")
	// Answered before any dedup round trip: no claim, so nothing to release.
	if got := r.dedup.state(pendingNoIDKey); got != "" {
		t.Errorf("dedup record %s: got %q, want none", pendingNoIDKey, got)
	}
	r.dedup.mu.Lock()
	claims, releases := r.dedup.claims, len(r.dedup.releases)
	r.dedup.mu.Unlock()
	if claims != 1 || releases != 0 {
		t.Errorf("dedup claims %d, releases %d while overloaded; want 1 (the first request's), 0", claims, releases)
	}
	if n := len(r.starter.Calls()); n != 1 {
		t.Errorf("Starter calls while overloaded: got %d, want 1", n)
	}

	unblock()
	firstResp := <-done
	done <- firstResp // for the cleanup
	if firstResp.status != 200 {
		t.Errorf("first request: got %d, want 200 (body %s)", firstResp.status, firstResp.body)
	}

	// The slot is free again: the provider's retry gets through.
	retry := post(t, r.app, "/webhooks/phoenix", second, vec.Headers)
	wantStatus(t, retry, 200)
	if got := retry.json(t); got["duplicate"] != false {
		t.Errorf("retry body: got %v, want duplicate false", got)
	}
	if n := len(r.starter.Calls()); n != 2 {
		t.Errorf("Starter calls: got %d, want 2", n)
	}
}

func TestUnavailable(t *testing.T) {
	body, vec := loadVector(t, fulfilledFile)
	r := newRig(t, nil)
	r.starter.setErr(errors.New("temporal: connection refused"))

	resp := post(t, r.app, "/webhooks/phoenix", body, vec.Headers)
	wantStatus(t, resp, 503)
	wantRetryAfter(t, resp, "5")
	if strings.Contains(string(resp.body), "connection refused") {
		t.Errorf("503 body leaks the internal error: %s", resp.body)
	}
	if got := r.dedup.state(fulfilledKey); got != "" {
		t.Errorf("dedup record: got %q, want none left behind", got)
	}

	// Temporal is back: the provider's retry is accepted, not a duplicate.
	r.starter.setErr(nil)
	retry := post(t, r.app, "/webhooks/phoenix", body, vec.Headers)
	wantStatus(t, retry, 200)
	if got := retry.json(t); got["duplicate"] != false || got["success"] != true {
		t.Errorf("retry body: got %v, want success true, duplicate false", got)
	}
	if n := len(r.starter.Calls()); n != 2 {
		t.Errorf("Starter calls: got %d, want 2", n)
	}
	if got := r.dedup.state(fulfilledKey); got != "done" {
		t.Errorf("dedup record after retry: got %q, want done", got)
	}
}

// TestDedupUnavailable: while the dedup store fails, events are still
// accepted. A redelivery then reaches Temporal again with the same event ID,
// where the workflow's own event-ID memory keeps it exactly-once.
func TestDedupUnavailable(t *testing.T) {
	body, vec := loadVector(t, fulfilledFile)
	t.Run("first delivery", func(t *testing.T) {
		r := newRig(t, nil)
		r.dedup.err = errors.New("redis: connection refused")
		resp := post(t, r.app, "/webhooks/phoenix", body, vec.Headers)
		wantStatus(t, resp, 200)
		if got := resp.json(t); got["success"] != true || got["duplicate"] != false || got["workflowId"] != vec.WorkflowID {
			t.Errorf("body: got %v, want accepted", got)
		}
		if n := len(r.starter.Calls()); n != 1 {
			t.Errorf("Starter calls: got %d, want 1", n)
		}
	})
	t.Run("redelivery", func(t *testing.T) {
		r := newRig(t, nil)
		wantStatus(t, post(t, r.app, "/webhooks/phoenix", body, vec.Headers), 200)
		r.dedup.err = errors.New("redis: connection refused") // fails after the first delivery
		resp := post(t, r.app, "/webhooks/phoenix", body, vec.Headers)
		wantStatus(t, resp, 200)
		// The receiver cannot see the record, so it cannot call it a duplicate.
		if got := resp.json(t); got["success"] != true || got["duplicate"] != false || got["workflowId"] != vec.WorkflowID {
			t.Errorf("body: got %v, want accepted", got)
		}
		calls := r.starter.Calls()
		if len(calls) != 2 {
			t.Fatalf("Starter calls: got %d, want 2 (the redelivery reaches the workflow)", len(calls))
		}
		for i, c := range calls {
			if ev := c.arg.(event.Event); ev.ID != "evt_7Yq2mK1pW3xZ9aB4" || c.workflowID != vec.WorkflowID {
				t.Errorf("call %d: got event %q to %q, want the same event to %q", i, ev.ID, c.workflowID, vec.WorkflowID)
			}
		}
	})
	t.Run("redelivery after a lost claim reply", func(t *testing.T) {
		// The claim was written but its reply lost: the receiver must
		// finish the record it cannot see, so the redelivery is a duplicate.
		r := newRig(t, nil)
		r.dedup.claimErr = errors.New("redis: i/o timeout")
		wantStatus(t, post(t, r.app, "/webhooks/phoenix", body, vec.Headers), 200)
		r.dedup.claimErr = nil
		resp := post(t, r.app, "/webhooks/phoenix", body, vec.Headers)
		wantStatus(t, resp, 200)
		if got := resp.json(t); got["duplicate"] != true || got["workflowId"] != vec.WorkflowID {
			t.Errorf("body: got %v, want duplicate true with workflowId %q", got, vec.WorkflowID)
		}
		if n := len(r.starter.Calls()); n != 1 {
			t.Errorf("Starter calls: got %d, want 1 (the redelivery starts nothing)", n)
		}
	})
}

// TestDedupBreaker: with the store failing, the first delivery waits on it
// and trips the breaker; the next is accepted without touching the store,
// and with no record of its own to finish or release.
func TestDedupBreaker(t *testing.T) {
	m := &countingMetrics{}
	var store *memDedup
	r := newRig(t, func(o *receivers.Options) {
		store = o.Dedup.(*memDedup)
		o.Dedup = &dedup.Breaker{Store: store, Cooldown: time.Hour}
		o.Metrics = m
	})
	store.err = errors.New("redis: i/o timeout")
	for _, id := range []string{"order-a", "order-b", "order-c"} {
		body := []byte(`{"id":"evt-` + id + `","event":"order.status.updated","data":{"orderId":"` + id + `","orderStatus":"pending"}}`)
		wantStatus(t, post(t, r.app, "/webhooks/phoenix", body, bearer(phoenixSecret)), 200)
	}
	store.mu.Lock()
	claims, finishes, releases := store.claims, store.finishes, len(store.releases)
	store.mu.Unlock()
	// Only the first delivery may have left a record unseen (its reply
	// lost), so only it finishes one.
	if claims != 1 || finishes != 1 || releases != 0 {
		t.Errorf("store claims %d, finishes %d, releases %d; want 1, 1, 0", claims, finishes, releases)
	}
	if n := len(r.starter.Calls()); n != 3 {
		t.Errorf("Starter calls: got %d, want 3", n)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.dedupErrors != 3 {
		t.Errorf("dedup errors counted: %d, want 3", m.dedupErrors)
	}
}

func TestNoDedupStore(t *testing.T) {
	body, vec := loadVector(t, fulfilledFile)
	r := newRig(t, func(o *receivers.Options) { o.Dedup = nil })
	for i := 0; i < 2; i++ {
		resp := post(t, r.app, "/webhooks/phoenix", body, vec.Headers)
		wantStatus(t, resp, 200)
	}
	// Without the fast path every delivery reaches the workflow, which dedups.
	if n := len(r.starter.Calls()); n != 2 {
		t.Errorf("Starter calls: got %d, want 2", n)
	}
}

func TestRequestID(t *testing.T) {
	body, vec := loadVector(t, fulfilledFile)
	withID := func(id string) map[string]string {
		h := map[string]string{"X-Request-Id": id}
		for k, v := range vec.Headers {
			h[k] = v
		}
		return h
	}
	tests := []struct {
		name     string
		sent     string
		wantEcho bool
	}{
		{"none sent", "", false},
		{"sane echoed", "req-42_abc.DEF:1", true},
		{"128 characters echoed", strings.Repeat("a", 128), true},
		{"too long replaced", strings.Repeat("a", 129), false},
		{"space replaced", "req 42", false},
		{"quote replaced", `req"42`, false},
		{"non-ASCII replaced", "req-é", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, nil)
			resp := post(t, r.app, "/webhooks/phoenix", body, withID(tt.sent))
			wantStatus(t, resp, 200)
			got := resp.header.Get("X-Request-Id")
			if tt.wantEcho && got != tt.sent {
				t.Errorf("X-Request-Id: got %q, want %q echoed", got, tt.sent)
			}
			if !tt.wantEcho && got == tt.sent {
				t.Errorf("X-Request-Id: got %q echoed, want a fresh ID", got)
			}
			ev := r.starter.Calls()[0].arg.(event.Event)
			if ev.RequestID != got {
				t.Errorf("event RequestID: got %q, want %q", ev.RequestID, got)
			}
		})
	}

	t.Run("fresh IDs differ", func(t *testing.T) {
		r := newRig(t, nil)
		a := post(t, r.app, "/webhooks/phoenix", []byte("x"), nil).header.Get("X-Request-Id")
		b := post(t, r.app, "/webhooks/phoenix", []byte("x"), nil).header.Get("X-Request-Id")
		if a == b {
			t.Errorf("two requests got the same X-Request-Id %q", a)
		}
	})
	t.Run("echoed on errors", func(t *testing.T) {
		r := newRig(t, nil)
		resp := post(t, r.app, "/webhooks/phoenix", body, map[string]string{"X-Request-Id": "req-401"})
		wantStatus(t, resp, 401)
		if got := resp.header.Get("X-Request-Id"); got != "req-401" {
			t.Errorf("X-Request-Id: got %q, want req-401", got)
		}
	})
}

// TestEventBodyOwned: the event handed to Temporal keeps its own copy of the
// body, since Fiber reuses its request buffers once the handler returns. A
// middleware overwrites the request's buffer in place after the handler, as
// the next request on the connection would.
func TestEventBodyOwned(t *testing.T) {
	body, vec := loadVector(t, fulfilledFile)
	fake := &fakeStarter{}
	rcv := receivers.New(receivers.Options{Start: starter.Starter{Client: fake}, Log: slog.New(slog.DiscardHandler)})
	app := fiber.New()
	app.Use(receivers.RequestIDs)
	var overwritten int
	app.Post("/webhooks/phoenix", func(c *fiber.Ctx) error {
		err := c.Next()
		buf := c.Request().Body()
		for i := range buf {
			buf[i] = 'x'
		}
		overwritten = len(buf)
		return err
	}, rcv.Handler(providers.Phoenix(signature.NewBearer([]string{phoenixSecret}))))

	wantStatus(t, post(t, app, "/webhooks/phoenix", body, vec.Headers), 200)
	if overwritten != len(body) {
		t.Fatalf("overwrote %d bytes of the request buffer, want %d", overwritten, len(body))
	}
	calls := fake.Calls()
	if len(calls) != 1 {
		t.Fatalf("Starter calls: got %d, want 1", len(calls))
	}
	if ev := calls[0].arg.(event.Event); !bytes.Equal(ev.Body, body) {
		t.Errorf("event Body after the request buffer was reused: got %q, want %q", ev.Body, body)
	}
}

// countingMetrics records what the receiver reports.
type countingMetrics struct {
	mu          sync.Mutex
	outcomes    []receivers.Outcome
	dedupErrors int
	throttled   []string // "<tenant> <reason>"
}

func (m *countingMetrics) Throttled(tenant, reason string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.throttled = append(m.throttled, tenant+" "+reason)
}

func (m *countingMetrics) Delivery(provider, o string, _ time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.outcomes = append(m.outcomes, receivers.Outcome(o))
}

func (m *countingMetrics) DedupError(string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.dedupErrors++
}

func TestOutcomesReported(t *testing.T) {
	body, vec := loadVector(t, fulfilledFile)
	tests := []struct {
		name       string
		setup      func(r *rig)
		headers    map[string]string
		body       []byte
		want       receivers.Outcome
		dedupError int
	}{
		{"accepted", nil, vec.Headers, body, receivers.OutcomeAccepted, 0},
		{"duplicate", func(r *rig) { r.dedup.set(fulfilledKey, "done") }, vec.Headers, body, receivers.OutcomeDuplicate, 0},
		{"in flight", func(r *rig) { r.dedup.set(fulfilledKey, "pending:another") }, vec.Headers, body, receivers.OutcomeInFlight, 0},
		{"unauthorized", nil, bearer("wrong"), body, receivers.OutcomeUnauthorized, 0},
		{"invalid", nil, vec.Headers, []byte("nope"), receivers.OutcomeInvalid, 0},
		{"unavailable", func(r *rig) { r.starter.setErr(errors.New("temporal down")) }, vec.Headers, body, receivers.OutcomeUnavailable, 0},
		{"rejected by Temporal", func(r *rig) { r.starter.setErr(serviceerror.NewInvalidArgument("bad")) }, vec.Headers, body, receivers.OutcomeRejected, 0},
		{"unusable ID", nil, bearer(phoenixSecret), []byte(`{"event":"e","data":{"orderId":"a\nb","orderStatus":"pending"}}`), receivers.OutcomeInvalid, 0},
		{"dedup store down", func(r *rig) { r.dedup.err = errors.New("redis down") }, vec.Headers, body, receivers.OutcomeAccepted, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := &countingMetrics{}
			r := newRig(t, func(o *receivers.Options) { o.Metrics = m })
			if tt.setup != nil {
				tt.setup(r)
			}
			post(t, r.app, "/webhooks/phoenix", tt.body, tt.headers)
			m.mu.Lock()
			defer m.mu.Unlock()
			if len(m.outcomes) != 1 || m.outcomes[0] != tt.want || m.dedupErrors != tt.dedupError {
				t.Errorf("got outcomes %v and %d dedup error(s), want [%s] and %d", m.outcomes, m.dedupErrors, tt.want, tt.dedupError)
			}
		})
	}
}

// panickyStarter panics on its first call, then accepts.
type panickyStarter struct {
	mu    sync.Mutex
	calls int
}

func (p *panickyStarter) SignalWithStartWorkflow(context.Context, string, string, any, client.StartWorkflowOptions, any, ...any) (client.WorkflowRun, error) {
	p.mu.Lock()
	p.calls++
	first := p.calls == 1
	p.mu.Unlock()
	if first {
		panic("boom")
	}
	return nil, nil
}

// TestPanicLeavesNothingBehind: a panic while handing the event to Temporal
// answers 500, releases the dedup record and the in-flight slot, so the
// provider's retry gets through even with room for one start only.
func TestPanicLeavesNothingBehind(t *testing.T) {
	body, vec := loadVector(t, fulfilledFile)
	r := newRig(t, func(o *receivers.Options) { o.Start.Client = &panickyStarter{}; o.MaxInFlight = 1 })
	wantStatus(t, post(t, r.app, "/webhooks/phoenix", body, vec.Headers), 500)
	if got := r.dedup.state(fulfilledKey); got != "" {
		t.Errorf("dedup record after a panic: %q, want none", got)
	}
	resp := post(t, r.app, "/webhooks/phoenix", body, vec.Headers)
	wantStatus(t, resp, 200)
	if got := resp.json(t); got["duplicate"] != false {
		t.Errorf("retry after a panic: %v, want accepted", got)
	}
}

// TestCompressedBodyRefused: a compressed body is refused before it is
// inflated or authenticated; signatures are over the bytes as sent.
func TestCompressedBodyRefused(t *testing.T) {
	body, vec := loadVector(t, fulfilledFile)
	r := newRig(t, nil)
	headers := map[string]string{"Content-Encoding": "gzip"}
	for k, v := range vec.Headers {
		headers[k] = v
	}
	wantStatus(t, post(t, r.app, "/webhooks/phoenix", body, headers), 415)
	if n := len(r.starter.Calls()); n != 0 {
		t.Errorf("Starter calls: got %d, want 0", n)
	}
}

// gateStarter holds each SignalWithStart until the test answers it: every
// call is reported on calls, and returns what the test sends on its result.
type gateStarter struct {
	calls chan gateCall
	done  chan struct{} // closed when the test ends: calls return at once
}

type gateCall struct {
	workflowID string
	result     chan error
}

func newGateStarter(t *testing.T) *gateStarter {
	g := &gateStarter{calls: make(chan gateCall), done: make(chan struct{})}
	t.Cleanup(func() { close(g.done) })
	return g
}

func (g *gateStarter) SignalWithStartWorkflow(_ context.Context, workflowID, _ string, _ any,
	_ client.StartWorkflowOptions, _ any, _ ...any) (client.WorkflowRun, error) {
	c := gateCall{workflowID, make(chan error)}
	select {
	case g.calls <- c:
	case <-g.done:
		return nil, errors.New("test over")
	}
	select {
	case err := <-c.result:
		return nil, err
	case <-g.done:
		return nil, errors.New("test over")
	}
}

// postAsync sends one request in the background; its answer (status -1 when
// it could not be sent) arrives on the channel.
func postAsync(app *fiber.App, body []byte, headers map[string]string) <-chan response {
	answer := make(chan response, 1)
	go func() {
		req := httptest.NewRequest(http.MethodPost, "/webhooks/phoenix", bytes.NewReader(body))
		for k, v := range headers {
			req.Header.Set(k, v)
		}
		resp, err := app.Test(req, -1)
		if err != nil {
			answer <- response{status: -1, body: []byte(err.Error())}
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		answer <- response{resp.StatusCode, resp.Header, b}
	}()
	return answer
}

// TestClaimRace: request A claims an event and its start is slow; its
// pending record expires, and the provider's retry B claims the event
// afresh. Whatever A's start then comes to, A's Finish or Release must leave
// B's claim alone, and B's own finish still records the event.
func TestClaimRace(t *testing.T) {
	body, vec := loadVector(t, fulfilledFile)
	store, c := deduptest.NewRedis(t)
	ctx := context.Background()
	tests := []struct {
		name    string
		aErr    error // A's start
		aStatus int
	}{
		{"A accepted late: its Finish", nil, 200},
		{"A's start failed: its Release", errors.New("temporal: deadline exceeded"), 503},
		{"A refused by Start: starter.Starter{Client: its} Release", serviceerror.NewInvalidArgument("bad"), 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Cleanup(func() { c.FlushDB(ctx) })
			gate := newGateStarter(t)
			r, _ := redisRig(t, store, func(o *receivers.Options) { o.Start.Client = gate })

			a := postAsync(r.app, body, vec.Headers)
			aStart := <-gate.calls
			aRecord, _ := deduptest.Record(t, c, fulfilledKey)
			// A's pending TTL runs out while its start is slow.
			if err := c.Del(ctx, deduptest.Prefix+fulfilledKey).Err(); err != nil {
				t.Fatal(err)
			}
			b := postAsync(r.app, body, vec.Headers)
			bStart := <-gate.calls
			bRecord, _ := deduptest.Record(t, c, fulfilledKey)
			if !strings.HasPrefix(aRecord, "pending:") || !strings.HasPrefix(bRecord, "pending:") || aRecord == bRecord {
				t.Fatalf("records: A %q, B %q; want each its own pending:<token>", aRecord, bRecord)
			}

			aStart.result <- tt.aErr
			wantStatus(t, <-a, tt.aStatus)
			deduptest.WantRecord(t, c, fulfilledKey, bRecord, deduptest.PendingTTL)
			// So a third copy still finds B's claim in flight.
			resp := post(t, r.app, "/webhooks/phoenix", body, vec.Headers)
			wantStatus(t, resp, 409)

			bStart.result <- nil
			wantStatus(t, <-b, 200)
			deduptest.WantRecord(t, c, fulfilledKey, "done", deduptest.DoneTTL)
		})
	}
}

// TestClaimLostReply: the receiver's claim reached Redis but its reply was
// lost, so it accepts without the dedup store. When its SET applied, the
// record is its own: released when the start fails (the retry gets
// through), finished when it succeeds. When another request's record was
// there, that record is left alone either way.
func TestClaimLostReply(t *testing.T) {
	body, vec := loadVector(t, fulfilledFile)
	down := errors.New("temporal: connection refused")
	tests := []struct {
		name     string
		other    string // the record before the claim, "" for none
		startErr error
		status   int
		want     string // the record afterwards
		wantTTL  time.Duration
	}{
		{"own record, start failed", "", down, 503, "", 0},
		{"own record, accepted", "", nil, 200, "done", deduptest.DoneTTL},
		{"another's record, start failed", "pending:bbbb", down, 503, "pending:bbbb", deduptest.OtherTTL},
		{"another's record, accepted", "pending:bbbb", nil, 200, "pending:bbbb", deduptest.OtherTTL},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store, c, lose := deduptest.NewLossyRedis(t, -1)
			r, d := redisRig(t, store, nil)
			r.starter.setErr(tt.startErr)
			if tt.other != "" {
				deduptest.SetRecord(t, c, fulfilledKey, tt.other)
			}
			lose.Store(true)
			wantStatus(t, post(t, r.app, "/webhooks/phoenix", body, vec.Headers), tt.status)
			if lose.Load() || d.claims.Load() != 1 {
				t.Fatalf("claims %d, reply lost %v: want one claim whose reply was lost", d.claims.Load(), !lose.Load())
			}
			deduptest.WantRecord(t, c, fulfilledKey, tt.want, tt.wantTTL)
		})
	}
}

// hangingRedis accepts connections and reads what is sent, but never
// answers: a Redis that hangs. Each new connection's first bytes are
// reported on arrived.
type hangingRedis struct {
	ln      net.Listener
	arrived chan struct{}
	mu      sync.Mutex
	conns   []net.Conn
	stopped bool
}

func startHangingRedis(t *testing.T) *hangingRedis {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h := &hangingRedis{ln: ln, arrived: make(chan struct{}, 64)}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			h.mu.Lock()
			if h.stopped {
				c.Close()
			}
			h.conns = append(h.conns, c)
			h.mu.Unlock()
			go func() {
				buf := make([]byte, 4096)
				if _, err := c.Read(buf); err != nil {
					return
				}
				h.arrived <- struct{}{}
				_, _ = io.Copy(io.Discard, c)
			}()
		}
	}()
	t.Cleanup(h.stop)
	return h
}

// stop closes the listener and every connection: the clients see EOF.
func (h *hangingRedis) stop() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.stopped = true
	h.ln.Close()
	for _, c := range h.conns {
		c.Close()
	}
}

// TestOverloadedRedisHangs: with every in-flight slot held by a delivery
// waiting on a hung Redis, the next delivery is answered 429 with
// Retry-After at once, well inside the Redis client's timeout, and without
// touching Redis.
func TestOverloadedRedisHangs(t *testing.T) {
	const redisTimeout = 10 * time.Second
	h := startHangingRedis(t)
	rdb := redis.NewClient(&redis.Options{Addr: h.ln.Addr().String(), ReadTimeout: redisTimeout, MaxRetries: -1})
	t.Cleanup(func() { rdb.Close() })
	store := &dedup.Redis{Client: rdb, Prefix: deduptest.Prefix, PendingTTL: deduptest.PendingTTL, DoneTTL: deduptest.DoneTTL}
	const slots = 2
	r, d := redisRig(t, store, func(o *receivers.Options) { o.MaxInFlight = slots })

	var held []<-chan response
	for i := range slots {
		held = append(held, postAsync(r.app, phoenixEvent(t, "evt-held-"+strconv.Itoa(i), "ord-held", "pending"), bearer(phoenixSecret)))
	}
	for range slots {
		<-h.arrived // a delivery holding a slot waits on Redis
	}

	// The deadline: far under redisTimeout; app.Test fails when it passes.
	const deadline = 100 * time.Millisecond
	req := httptest.NewRequest(http.MethodPost, "/webhooks/phoenix", bytes.NewReader(phoenixEvent(t, "evt-next", "ord-next", "pending")))
	req.Header.Set("Authorization", "Bearer "+phoenixSecret)
	resp, err := r.app.Test(req, int(deadline/time.Millisecond))
	if err != nil {
		t.Fatalf("with every slot held and Redis hung, no answer within %v: %v", deadline, err)
	}
	resp.Body.Close()
	answer := response{status: resp.StatusCode, header: resp.Header}
	wantStatus(t, answer, 429)
	wantRetryAfter(t, answer, "1")
	if n := d.claims.Load(); n != slots {
		t.Errorf("dedup claims: got %d, want %d (the 429 makes none)", n, slots)
	}

	// Redis goes away: the held deliveries are accepted without it.
	h.stop()
	for _, a := range held {
		wantStatus(t, <-a, 200)
	}
}

// TestOverloadedDuplicates: with Redis answering, a duplicate is answered
// 200 duplicate from Redis while other deliveries hold in-flight slots;
// once every slot is held it gets 429 like any delivery, without a Redis
// round trip, and its retry is answered from Redis again.
func TestOverloadedDuplicates(t *testing.T) {
	body, vec := loadVector(t, fulfilledFile)
	store, _ := deduptest.NewRedis(t)
	gate := newGateStarter(t)
	r, d := redisRig(t, store, func(o *receivers.Options) { o.Start.Client = gate; o.MaxInFlight = 2 })
	wantDuplicate := func() {
		t.Helper()
		resp := post(t, r.app, "/webhooks/phoenix", body, vec.Headers)
		wantStatus(t, resp, 200)
		if got := resp.json(t); got["duplicate"] != true {
			t.Fatalf("body: got %v, want duplicate true", got)
		}
	}

	first := postAsync(r.app, body, vec.Headers)
	(<-gate.calls).result <- nil
	wantStatus(t, <-first, 200)

	// One slot held by a slow start: the duplicate is answered from Redis.
	y := postAsync(r.app, phoenixEvent(t, "evt-y", "ord-y", "pending"), bearer(phoenixSecret))
	yStart := <-gate.calls
	wantDuplicate()

	// Both slots held: 429 at once, no claim.
	z := postAsync(r.app, phoenixEvent(t, "evt-z", "ord-z", "pending"), bearer(phoenixSecret))
	zStart := <-gate.calls
	claims := d.claims.Load()
	resp := post(t, r.app, "/webhooks/phoenix", body, vec.Headers)
	wantStatus(t, resp, 429)
	wantRetryAfter(t, resp, "1")
	if n := d.claims.Load() - claims; n != 0 {
		t.Errorf("the 429 made %d dedup claim(s), want none", n)
	}

	yStart.result <- nil
	zStart.result <- nil
	wantStatus(t, <-y, 200)
	wantStatus(t, <-z, 200)
	wantDuplicate() // the provider's retry
}
