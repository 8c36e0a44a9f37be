package receivers_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"go.temporal.io/sdk/client"

	"github.com/hookflow/hookflow/config"
	"github.com/hookflow/hookflow/providers"
	"github.com/hookflow/hookflow/receivers"
	"github.com/hookflow/hookflow/receivers/starter"
	"github.com/hookflow/hookflow/signature"
)

// holdStarter holds the SignalWithStart of every workflow hold picks until
// the test releases it, reporting each held one on entered; the others
// return at once.
type holdStarter struct {
	hold    func(workflowID string) bool
	entered chan string
	release chan struct{}
	once    sync.Once
}

func newHoldStarter(t *testing.T, hold func(string) bool) *holdStarter {
	h := &holdStarter{hold: hold, entered: make(chan string, 16), release: make(chan struct{})}
	t.Cleanup(h.releaseAll)
	return h
}

func (h *holdStarter) releaseAll() { h.once.Do(func() { close(h.release) }) }

func (h *holdStarter) SignalWithStartWorkflow(_ context.Context, workflowID, _ string, _ any,
	_ client.StartWorkflowOptions, _ any, _ ...any) (client.WorkflowRun, error) {
	if h.hold(workflowID) {
		h.entered <- workflowID
		<-h.release
	}
	return nil, nil
}

// capsRig is a Phoenix receiver with the tenants store-a and store-b (the
// tenant tests' secrets) and the default tenant, each tenant with the caps
// limits gives it.
type capsRig struct {
	app     *fiber.App
	metrics *countingMetrics
	dedup   *memDedup
}

func newCapsRig(t *testing.T, st starter.Client, maxInFlight int, limits func(config.Tenant) config.TenantLimits) *capsRig {
	t.Helper()
	ps := []receivers.Provider{providers.Phoenix(signature.NewBearer([]string{phoenixSecret}))}
	tenants := []config.Tenant{
		{ID: "store-a", Secrets: map[string]config.Secrets{"phoenix": {storeAPhx}}},
		{ID: "store-b", Secrets: map[string]config.Secrets{"phoenix": {storeBPhx}}},
	}
	ts, err := receivers.BindTenants(ps, tenants, func(string) string { return "" }, limits)
	if err != nil {
		t.Fatal(err)
	}
	r := &capsRig{metrics: &countingMetrics{}, dedup: newMemDedup()}
	rcv := receivers.New(receivers.Options{
		Start:        starter.Starter{Client: st, TaskQueue: testTaskQueue},
		Dedup:        r.dedup,
		Log:          slog.New(slog.DiscardHandler),
		MaxBodyBytes: 4096,
		MaxInFlight:  maxInFlight,
		StartTimeout: time.Minute,
		Metrics:      r.metrics,
		Tenants:      ts,
	})
	r.app = receivers.NewApp(rcv, ps)
	return r
}

// A sender is where a tenant's deliveries go and the secret they carry.
type sender struct{ name, path, secret string }

var (
	storeA     = sender{"store-a", "/webhooks/phoenix/store-a", storeAPhx}
	storeB     = sender{"store-b", "/webhooks/phoenix/store-b", storeBPhx}
	defaultTen = sender{"default", "/webhooks/phoenix", phoenixSecret}
)

// order is a Phoenix delivery of its own event for order id.
func order(id string) []byte {
	return []byte(fmt.Sprintf(`{"event":"order.status.change","id":"evt-%s","timestamp":"2026-11-20T10:15:30.000Z","data":{"orderId":%q,"orderStatus":"fulfilled"}}`, id, id))
}

func (s sender) post(t *testing.T, app *fiber.App, id string) response {
	t.Helper()
	return post(t, app, s.path, order(id), bearer(s.secret))
}

// postAsync sends the delivery in the background; its answer (status -1
// when it could not be sent) arrives on the channel.
func (s sender) postAsync(app *fiber.App, id string) <-chan response {
	answer := make(chan response, 1)
	go func() {
		req := httptest.NewRequest(http.MethodPost, s.path, bytes.NewReader(order(id)))
		req.Header.Set("Authorization", "Bearer "+s.secret)
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

// wantEntered waits, with a deadline, for the start of workflow to be
// held.
func wantEntered(t *testing.T, h *holdStarter, workflow string) {
	t.Helper()
	select {
	case got := <-h.entered:
		if got != workflow {
			t.Fatalf("held start of %s, want %s", got, workflow)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("the start of %s was never held", workflow)
	}
}

// wantAnswer waits, with a deadline, for an answer sent in the background.
func wantAnswer(t *testing.T, ch <-chan response, status int) response {
	t.Helper()
	select {
	case r := <-ch:
		wantStatus(t, r, status)
		return r
	case <-time.After(10 * time.Second):
		t.Fatalf("no answer, want %d", status)
	}
	return response{}
}

const (
	tenantBusyBody = `{"error":"too many deliveries in flight for this tenant, retry later"}`
	tenantRateBody = `{"error":"this tenant is over its rate, retry later"}`
)

// onlyTenant caps tenant id with l and no one else.
func onlyTenant(id string, l config.TenantLimits) func(config.Tenant) config.TenantLimits {
	return func(t config.Tenant) config.TenantLimits {
		if t.ID == id {
			return l
		}
		return config.TenantLimits{}
	}
}

// TestTenantInFlightCap: store-a at its in-flight cap is answered 429 with
// Retry-After, before any dedup claim, while store-b and the default
// tenant are accepted; once store-a's delivery is answered, its retry gets
// through.
func TestTenantInFlightCap(t *testing.T) {
	h := newHoldStarter(t, func(id string) bool { return strings.Contains(id, "@store-a:") })
	r := newCapsRig(t, h, 512, onlyTenant("store-a", config.TenantLimits{MaxInFlight: 1}))

	first := storeA.postAsync(r.app, "a1")
	wantEntered(t, h, "phoenix-order@store-a:a1") // store-a's only slot is held

	refused := storeA.post(t, r.app, "a2")
	wantStatus(t, refused, 429)
	wantRetryAfter(t, refused, "1")
	wantBody(t, refused, tenantBusyBody)
	if got := r.dedup.state("phoenix@store-a:evt-a2"); got != "" {
		t.Errorf("a throttled delivery claimed its dedup record: %q", got)
	}
	wantStatus(t, storeB.post(t, r.app, "b1"), 200)
	wantStatus(t, defaultTen.post(t, r.app, "d1"), 200)

	h.releaseAll()
	wantAnswer(t, first, 200)
	wantStatus(t, storeA.post(t, r.app, "a2"), 200) // the provider's retry

	r.metrics.mu.Lock()
	defer r.metrics.mu.Unlock()
	if want := []string{"store-a in_flight"}; !slices.Equal(r.metrics.throttled, want) {
		t.Errorf("throttled = %v, want %v", r.metrics.throttled, want)
	}
	if n := countOutcome(r.metrics.outcomes, receivers.OutcomeThrottled); n != 1 {
		t.Errorf("%d deliveries counted throttled, want 1 (outcomes %v)", n, r.metrics.outcomes)
	}
}

// TestTenantRateCap: store-a past its rate is answered 429 with the
// seconds until its next token in Retry-After; store-b, capped alike, has
// a bucket of its own, and the default tenant none. A refusal by the rate
// gives back the in-flight slot it took.
func TestTenantRateCap(t *testing.T) {
	// One a minute, one at once: the second delivery within the minute is
	// refused, however slow the machine.
	capped := config.TenantLimits{MaxInFlight: 1, Rate: 1.0 / 60, Burst: 1}
	r := newCapsRig(t, &fakeStarter{}, 512, func(config.Tenant) config.TenantLimits { return capped })

	wantStatus(t, storeA.post(t, r.app, "a1"), 200)
	for _, id := range []string{"a2", "a3"} {
		refused := storeA.post(t, r.app, id)
		wantStatus(t, refused, 429)
		// A leaked in-flight slot would answer the second refusal as busy.
		wantBody(t, refused, tenantRateBody)
		secs, err := strconv.Atoi(refused.header.Get("Retry-After"))
		if err != nil || secs < 2 || secs > 60 {
			t.Errorf("Retry-After %q, want the seconds until the next token (2 to 60)", refused.header.Get("Retry-After"))
		}
		if got := r.dedup.state("phoenix@store-a:evt-" + id); got != "" {
			t.Errorf("a throttled delivery claimed its dedup record: %q", got)
		}
	}
	wantStatus(t, storeB.post(t, r.app, "b1"), 200)
	for i := range 5 {
		wantStatus(t, defaultTen.post(t, r.app, "d"+strconv.Itoa(i)), 200)
	}

	r.metrics.mu.Lock()
	defer r.metrics.mu.Unlock()
	if want := []string{"store-a rate", "store-a rate"}; !slices.Equal(r.metrics.throttled, want) {
		t.Errorf("throttled = %v, want %v", r.metrics.throttled, want)
	}
}

// TestDefaultTenantUncapped: however tight every tenant's caps, the
// default tenant meets only the receiver's own bound, as before tenants.
func TestDefaultTenantUncapped(t *testing.T) {
	h := newHoldStarter(t, func(id string) bool { return id == "phoenix-order:d0" })
	tight := config.TenantLimits{MaxInFlight: 1, Rate: 1.0 / 60, Burst: 1}
	r := newCapsRig(t, h, 512, func(config.Tenant) config.TenantLimits { return tight })

	held := defaultTen.postAsync(r.app, "d0")
	wantEntered(t, h, "phoenix-order:d0")
	for i := 1; i <= 5; i++ {
		wantStatus(t, defaultTen.post(t, r.app, "d"+strconv.Itoa(i)), 200)
	}
	h.releaseAll()
	wantAnswer(t, held, 200)
	r.metrics.mu.Lock()
	defer r.metrics.mu.Unlock()
	if len(r.metrics.throttled) != 0 {
		t.Errorf("the default tenant was throttled: %v", r.metrics.throttled)
	}
}

// TestTenantCapsSpareReceiverSlots: a throttled tenant never holds one of
// the receiver's slots, so another tenant still gets one; and a delivery
// refused for want of a receiver slot gives its tenant's slot back.
func TestTenantCapsSpareReceiverSlots(t *testing.T) {
	t.Run("throttled deliveries take no receiver slot", func(t *testing.T) {
		h := newHoldStarter(t, func(string) bool { return true })
		r := newCapsRig(t, h, 2, onlyTenant("store-a", config.TenantLimits{MaxInFlight: 1}))
		a1 := storeA.postAsync(r.app, "a1")
		wantEntered(t, h, "phoenix-order@store-a:a1")
		for i := 2; i <= 6; i++ {
			wantStatus(t, storeA.post(t, r.app, "a"+strconv.Itoa(i)), 429)
		}
		b1 := storeB.postAsync(r.app, "b1") // the receiver's second slot
		wantEntered(t, h, "phoenix-order@store-b:b1")
		h.releaseAll()
		wantAnswer(t, a1, 200)
		wantAnswer(t, b1, 200)
	})
	t.Run("a receiver refusal gives the tenant's slot back", func(t *testing.T) {
		h := newHoldStarter(t, func(id string) bool { return id == "phoenix-order@store-b:b1" })
		r := newCapsRig(t, h, 1, onlyTenant("store-a", config.TenantLimits{MaxInFlight: 1}))
		b1 := storeB.postAsync(r.app, "b1")
		wantEntered(t, h, "phoenix-order@store-b:b1") // the receiver's only slot
		overloaded := storeA.post(t, r.app, "a1")
		wantStatus(t, overloaded, 429)
		wantBody(t, overloaded, `{"error":"too many requests, retry later"}`)
		h.releaseAll()
		wantAnswer(t, b1, 200)
		wantStatus(t, storeA.post(t, r.app, "a1"), 200) // its slot was given back
	})
}

func countOutcome(outcomes []receivers.Outcome, want receivers.Outcome) int {
	n := 0
	for _, o := range outcomes {
		if o == want {
			n++
		}
	}
	return n
}
