package workflows

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/hookflow/hookflow/activities"
	"github.com/hookflow/hookflow/internal/dev/devtools"
	"github.com/hookflow/hookflow/providers"
	"github.com/hookflow/hookflow/providers/registration"
	"github.com/hookflow/hookflow/signature"
)

// The token every fake tenant has: a test fails if it shows up in any
// activity's input, output or error, or in the state.
const connToken = "tok-4f1c2a9e-never-in-history"

// connCreds are a tenant's secrets and token, in memory.
type connCreds struct {
	mu      sync.Mutex
	secrets map[string][]string // by tenant/provider
	seen    []string            // every secret ever stored
}

func (f *connCreds) Secrets(_ context.Context, tenant, provider string) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.secrets[tenant+"/"+provider]), nil
}

func (f *connCreds) SetSecrets(_ context.Context, tenant, provider string, secrets []string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.secrets == nil {
		f.secrets = map[string][]string{}
	}
	f.secrets[tenant+"/"+provider] = slices.Clone(secrets)
	f.seen = append(f.seen, secrets...)
	return nil
}

func (f *connCreds) AccessToken(context.Context, string, string) (string, error) {
	return connToken, nil
}

func (f *connCreds) list(tenant, provider string) []string {
	s, _ := f.Secrets(context.Background(), tenant, provider)
	return s
}

// connVerified records when a delivery last passed verification, on the
// test environment's clock.
type connVerified struct {
	mu   sync.Mutex
	at   time.Time
	now  func() time.Time
	keys []string // SecretIDs of the secrets verified deliveries were signed with
}

func (v *connVerified) LastVerified(context.Context, string, string) (time.Time, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.at, nil
}

// crashOnce registers, then fails the first Create as a worker killed
// before the workflow recorded the webhook would.
type crashOnce struct {
	registration.Registrar
	crash *crashed
}

// crashed is shared by every Registrar of a run, so only the first
// Create of all fails.
type crashed struct {
	mu   sync.Mutex
	done bool
}

func (c *crashOnce) Create(ctx context.Context, want registration.Want) (registration.Webhook, error) {
	h, err := c.Registrar.Create(ctx, want)
	c.crash.mu.Lock()
	defer c.crash.mu.Unlock()
	if err == nil && !c.crash.done {
		c.crash.done = true
		return registration.Webhook{}, errors.New("worker lost after create")
	}
	return h, err
}

// connHarness is a Connection workflow in the test environment with real
// activities against a provider's stand-in, a receiver that verifies what
// the stand-in sends with the tenant's secrets, and every activity's
// input, output and error recorded.
type connHarness struct {
	t        *testing.T
	env      *testsuite.TestWorkflowEnvironment
	creds    *connCreds
	verified *connVerified
	api      *httptest.Server
	recv     *httptest.Server
	in       ConnectionInput
	mu       sync.Mutex
	recorded []string        // activity inputs, outputs, errors, states, memos
	memo     ConnectionState // as last upserted
	memos    int
	wrap     func(registration.Registrar) registration.Registrar
}

const connTenant = "ws-1"

func newConnHarness(t *testing.T, provider string, edit func(*connHarness)) *connHarness {
	t.Helper()
	h := &connHarness{t: t, creds: &connCreds{}, verified: &connVerified{}}
	var s testsuite.WorkflowTestSuite
	h.env = s.NewTestWorkflowEnvironment()
	h.verified.now = h.env.Now
	h.recv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		for _, s := range h.creds.list(connTenant, provider) {
			v := providers.UP42Verifier(providers.UP42SignatureHeader, signature.Hex, []string{s})
			if v.Verify(body, r.Header.Get) == nil {
				h.verified.mu.Lock()
				h.verified.at = h.verified.now()
				h.verified.keys = append(h.verified.keys, activities.SecretID(s))
				h.verified.mu.Unlock()
				return
			}
		}
		w.WriteHeader(http.StatusUnauthorized)
	}))
	t.Cleanup(h.recv.Close)
	var api http.Handler = devtools.NewUP42Sandbox(devtools.SandboxOptions{})
	if provider == "fenix" {
		api = devtools.NewFenixSandbox(devtools.SandboxOptions{})
	}
	h.api = httptest.NewServer(api)
	t.Cleanup(h.api.Close)
	h.in = ConnectionInput{Provider: provider, Tenant: connTenant, URL: h.recv.URL + "/webhooks/" + provider + "/" + connTenant}
	if edit != nil {
		edit(h)
	}
	acts := &activities.Connections{
		Registrars: func(name string) (registration.Registrar, error) {
			r, err := registration.New(name, h.api.URL, nil)
			if err == nil && h.wrap != nil {
				r = h.wrap(r)
			}
			return r, err
		},
		Credentials: h.creds,
		Verified:    h.verified,
		PollEvery:   10 * time.Millisecond,
	}
	RegisterConnection(h.env, acts)
	h.env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: ConnectionWorkflowID(provider, connTenant)})
	h.env.SetOnActivityStartedListener(func(_ *activity.Info, _ context.Context, args converter.EncodedValues) {
		var raw json.RawMessage
		if args.HasValues() && args.Get(&raw) == nil {
			h.record(string(raw))
		}
	})
	h.env.SetOnActivityCompletedListener(func(_ *activity.Info, result converter.EncodedValue, err error) {
		var raw json.RawMessage
		if result != nil && result.HasValue() && result.Get(&raw) == nil {
			h.record(string(raw))
		}
		if err != nil {
			h.record(err.Error())
		}
	})
	h.env.OnUpsertMemo(mock.Anything).Run(func(args mock.Arguments) {
		m, _ := args.Get(0).(map[string]any)
		st, ok := m[MemoConnectionKey].(ConnectionState)
		if !ok {
			t.Errorf("memo %v holds no ConnectionState under %q", m, MemoConnectionKey)
		}
		b, _ := json.Marshal(st)
		h.record(string(b))
		h.mu.Lock()
		h.memo, h.memos = st, h.memos+1
		h.mu.Unlock()
	}).Return()
	return h
}

func (h *connHarness) record(s string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.recorded = append(h.recorded, s)
}

// at runs f at d into the run.
func (h *connHarness) at(d time.Duration, f func()) { h.env.RegisterDelayedCallback(f, d) }

func (h *connHarness) signal(d time.Duration, name string, payload any) {
	h.at(d, func() { h.env.SignalWorkflow(name, payload) })
}

// state is the query's answer, its JSON also recorded.
func (h *connHarness) state() ConnectionState {
	h.t.Helper()
	v, err := h.env.QueryWorkflow(QueryConnection)
	if err != nil {
		h.t.Fatalf("query: %v", err)
	}
	var st ConnectionState
	if err := v.Get(&st); err != nil {
		h.t.Fatal(err)
	}
	b, _ := json.Marshal(st)
	h.record(string(b))
	return st
}

// run executes the workflow and checks no secret or token leaked.
func (h *connHarness) run() {
	h.t.Helper()
	h.env.ExecuteWorkflow(Connection, h.in)
	h.mu.Lock()
	defer h.mu.Unlock()
	h.creds.mu.Lock()
	leaks := append([]string{connToken}, h.creds.seen...)
	h.creds.mu.Unlock()
	if len(h.recorded) == 0 {
		h.t.Error("no activity input or output recorded")
	}
	for _, rec := range h.recorded {
		for _, s := range leaks {
			if strings.Contains(rec, s) {
				h.t.Errorf("a secret or token in history or state: %.200s", rec)
			}
		}
	}
}

// webhooks are the tenant's webhooks at the UP42 stand-in.
func (h *connHarness) up42Webhooks() []registration.Webhook {
	h.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, h.api.URL+"/workspaces/"+connTenant+"/webhooks", nil)
	req.Header.Set("Authorization", "Bearer t")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	var a struct {
		Data []registration.Webhook `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&a); err != nil {
		h.t.Fatal(err)
	}
	return a.Data
}

func (h *connHarness) completed() {
	h.t.Helper()
	if !h.env.IsWorkflowCompleted() || h.env.GetWorkflowError() != nil {
		h.t.Fatalf("completed %v, error %v; want the disconnect to end the run", h.env.IsWorkflowCompleted(), h.env.GetWorkflowError())
	}
}

// TestConnectionRegistersOnceAfterCrash: the first Create registers and
// then fails as a lost worker would; the retry finds that webhook instead
// of creating a second. The provider's test delivery passes verification,
// so the state is active; a disconnect deletes it and ends the run.
func TestConnectionRegistersOnceAfterCrash(t *testing.T) {
	h := newConnHarness(t, "up42", func(h *connHarness) {
		crash := &crashed{}
		h.wrap = func(r registration.Registrar) registration.Registrar { return &crashOnce{Registrar: r, crash: crash} }
	})
	var st ConnectionState
	var hooks []registration.Webhook
	h.at(time.Minute, func() { st, hooks = h.state(), h.up42Webhooks() })
	h.signal(2*time.Minute, SignalConnectionDisconnect, nil)
	h.run()
	h.completed()
	if len(hooks) != 1 || hooks[0].ID != st.WebhookID {
		t.Errorf("webhooks at the provider %+v, want exactly the one recorded, %s", hooks, st.WebhookID)
	}
	if st.State != ConnectionActive || st.Verified.IsZero() || st.SecretID == "" || st.Registered.IsZero() {
		t.Errorf("state after registering = %+v, want active, verified, with a secret", st)
	}
	if secrets := h.creds.list(connTenant, "up42"); len(secrets) != 1 || activities.SecretID(secrets[0]) != st.SecretID {
		t.Errorf("tenant secrets %d, want one named %s", len(secrets), st.SecretID)
	}
	if hooks := h.up42Webhooks(); len(hooks) != 0 {
		t.Errorf("after disconnect: %d webhooks, want none", len(hooks))
	}
	var final ConnectionState
	if err := h.env.GetWorkflowResult(nil); err != nil {
		t.Fatal(err)
	}
	final = h.state()
	if final.State != ConnectionDisconnected || final.WebhookID != "" {
		t.Errorf("final state %+v, want disconnected", final)
	}
	if h.memo.State != ConnectionDisconnected || h.memos < 3 {
		t.Errorf("memo %+v after %d upserts, want the disconnected state after registering, active, disconnected", h.memo, h.memos)
	}
}

// TestConnectionDrift breaks the webhook at the stand-in (deleted or
// disabled); the next check notices. Under repair it is registered again
// and active; under raise it stays drifted until a reconnect.
func TestConnectionDrift(t *testing.T) {
	for _, tc := range []struct {
		policy, breakBy string
	}{
		{ConnectionPolicyRepair, "delete"}, {ConnectionPolicyRepair, "disable"},
		{ConnectionPolicyRaise, "delete"}, {ConnectionPolicyRaise, "disable"},
	} {
		t.Run(tc.policy+" "+tc.breakBy, func(t *testing.T) {
			h := newConnHarness(t, "up42", func(h *connHarness) { h.in.Policy = tc.policy })
			var before, after, reconnected ConnectionState
			var hooks []registration.Webhook
			h.at(time.Minute, func() {
				before = h.state()
				req, _ := http.NewRequest(http.MethodDelete, h.api.URL+"/workspaces/"+connTenant+"/webhooks/"+before.WebhookID, nil)
				if tc.breakBy == "disable" {
					body := `{"name":"hookflow","url":"` + h.in.URL + `","events":["order.status"],"secret":"x","active":false}`
					req, _ = http.NewRequest(http.MethodPut, h.api.URL+"/workspaces/"+connTenant+"/webhooks/"+before.WebhookID, strings.NewReader(body))
				}
				req.Header.Set("Authorization", "Bearer t")
				resp, err := http.DefaultClient.Do(req)
				if err != nil || resp.StatusCode/100 != 2 {
					t.Errorf("break the webhook: %v %v", resp, err)
				}
			})
			h.at(DefaultConnectionCheckEvery+2*time.Minute, func() { after, hooks = h.state(), h.up42Webhooks() })
			h.signal(DefaultConnectionCheckEvery+3*time.Minute, SignalConnectionReconnect, nil)
			h.at(DefaultConnectionCheckEvery+4*time.Minute, func() { reconnected = h.state() })
			h.signal(DefaultConnectionCheckEvery+5*time.Minute, SignalConnectionDisconnect, nil)
			h.run()
			h.completed()
			if before.State != ConnectionActive {
				t.Fatalf("before: %+v", before)
			}
			if after.LastCheck.IsZero() {
				t.Errorf("no check ran: %+v", after)
			}
			switch tc.policy {
			case ConnectionPolicyRepair:
				if after.State != ConnectionActive || after.Repairs != 1 || len(hooks) != 1 || !hooks[0].Active || hooks[0].ID != after.WebhookID {
					t.Errorf("after the check: %+v, webhooks %+v; want active, repaired once, one active webhook", after, hooks)
				}
			case ConnectionPolicyRaise:
				if after.State != ConnectionDrifted || len(after.Reasons) == 0 || after.Repairs != 0 {
					t.Errorf("after the check: %+v; want drifted with reasons, not repaired", after)
				}
				if reconnected.State != ConnectionActive || len(reconnected.Reasons) != 0 {
					t.Errorf("after reconnect: %+v; want active", reconnected)
				}
			}
			if reconnected.State == ConnectionActive {
				if n := len(h.up42Webhooks()); n != 0 {
					t.Errorf("%d webhooks after disconnect", n)
				}
			}
		})
	}
}

// TestConnectionRotate: a rotation puts a new secret first and keeps the
// old second for the overlap, updates the provider with the new one (its
// test delivery verifies with it), and then drops the old one.
func TestConnectionRotate(t *testing.T) {
	h := newConnHarness(t, "up42", nil)
	var first, during []string
	var st, rotating, after ConnectionState
	h.at(time.Minute, func() { first, st = h.creds.list(connTenant, "up42"), h.state() })
	h.signal(2*time.Minute, SignalConnectionRotate, nil)
	h.at(3*time.Minute, func() {
		during, rotating = h.creds.list(connTenant, "up42"), h.state()
		// Have the stand-in test the webhook: it signs with what it holds.
		req, _ := http.NewRequest(http.MethodPost, h.api.URL+"/workspaces/"+connTenant+"/webhooks/"+rotating.WebhookID+"/tests", nil)
		req.Header.Set("Authorization", "Bearer t")
		if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusOK {
			t.Errorf("test: %v %v", resp, err)
		}
	})
	h.at(2*time.Minute+DefaultConnectionOverlap+time.Minute, func() { after = h.state() })
	h.signal(2*time.Minute+DefaultConnectionOverlap+2*time.Minute, SignalConnectionDisconnect, nil)
	h.run()
	h.completed()
	if len(first) != 1 || st.SecretID != activities.SecretID(first[0]) {
		t.Fatalf("secrets before rotation: %d, state %+v", len(first), st)
	}
	if len(during) != 2 || during[1] != first[0] || during[0] == first[0] {
		t.Errorf("during the overlap: %d secrets, old kept second %v; want [new, old]", len(during), len(during) == 2 && during[1] == first[0])
	}
	if len(during) == 2 {
		if rotating.SecretID != activities.SecretID(during[0]) || rotating.RotatingUntil.IsZero() || rotating.State != ConnectionActive {
			t.Errorf("state during the overlap: %+v", rotating)
		}
		h.verified.mu.Lock()
		keys := slices.Clone(h.verified.keys)
		h.verified.mu.Unlock()
		if want := []string{activities.SecretID(first[0]), activities.SecretID(during[0])}; !slices.Equal(keys, want) {
			t.Errorf("test deliveries signed with %v, want the old secret's and then the new one's %v", keys, want)
		}
	}
	final := h.creds.list(connTenant, "up42")
	if len(final) != 1 || len(during) == 2 && final[0] != during[0] {
		t.Errorf("after the overlap: %d secrets, want [new]", len(final))
	}
	if !after.RotatingUntil.IsZero() {
		t.Errorf("after the overlap the state still rotates: %+v", after)
	}
	if hooks := h.up42Webhooks(); len(hooks) != 0 {
		t.Errorf("%d webhooks after disconnect", len(hooks))
	}
}

// TestConnectionFenixRefused: Fenix refuses the registration with a 400;
// the state is failing with its identifier and description, after one
// attempt (no retry can change it).
func TestConnectionFenixRefused(t *testing.T) {
	h := newConnHarness(t, "fenix", func(h *connHarness) {
		h.in.Filters = json.RawMessage(`[{"carrier":"UPS","sub_filter":{"delivery_statuses":["LOST"]}}]`)
	})
	attempts := 0
	h.env.SetOnActivityStartedListener(func(info *activity.Info, _ context.Context, _ converter.EncodedValues) {
		if info.ActivityType.Name == "RegisterWebhook" {
			attempts++
		}
	})
	var st ConnectionState
	h.at(time.Minute, func() { st = h.state() })
	h.signal(2*time.Minute, SignalConnectionDisconnect, nil)
	h.run()
	h.completed()
	if st.State != ConnectionFailing || !strings.Contains(st.LastError, "INVALID_PARAMETERS") || !strings.Contains(st.LastError, `"LOST"`) {
		t.Errorf("state = %+v, want failing with Fenix's identifier and description", st)
	}
	if attempts != 1 {
		t.Errorf("RegisterWebhook ran %d times, want 1", attempts)
	}
	if n := len(h.creds.list(connTenant, "fenix")); n != 0 {
		t.Errorf("%d secrets generated for Fenix, which signs with its own", n)
	}
}

// TestConnectionFenix registers at Fenix without a secret or a test, and
// a rotation is ignored there.
func TestConnectionFenix(t *testing.T) {
	h := newConnHarness(t, "fenix", func(h *connHarness) {
		h.in.Filters = json.RawMessage(`[{"carrier":"FEDEX","sub_filter":{"delivery_statuses":["DELIVERED"]}}]`)
	})
	var st, rotated ConnectionState
	h.at(time.Minute, func() { st = h.state() })
	h.signal(2*time.Minute, SignalConnectionRotate, nil)
	h.at(3*time.Minute, func() { rotated = h.state() })
	h.signal(4*time.Minute, SignalConnectionDisconnect, nil)
	h.run()
	h.completed()
	if st.State != ConnectionActive || st.WebhookID == "" || st.SecretID != "" {
		t.Errorf("state = %+v, want active without a secret of hookflow's", st)
	}
	if rotated.State != ConnectionActive || !rotated.RotatingUntil.IsZero() || rotated.WebhookID != st.WebhookID {
		t.Errorf("after a rotation: %+v, want it ignored", rotated)
	}
}

// TestConnectionNotVerified: the provider's test delivery never passes
// verification; the state is failing, saying so.
func TestConnectionNotVerified(t *testing.T) {
	h := newConnHarness(t, "up42", nil)
	h.env.OnActivity(ca.AwaitVerified, mock.Anything, mock.Anything).Return(activities.VerifiedOutput{}, nil)
	var st, checked ConnectionState
	h.at(time.Minute, func() { st = h.state() })
	h.at(DefaultConnectionCheckEvery+2*time.Minute, func() { checked = h.state() })
	h.signal(DefaultConnectionCheckEvery+3*time.Minute, SignalConnectionDisconnect, nil)
	h.run()
	h.completed()
	if st.State != ConnectionFailing || !strings.Contains(st.LastError, "no delivery passed verification") {
		t.Errorf("state = %+v, want failing, not verified", st)
	}
	// The webhook is there without drift, but a check cannot see the
	// secret: only a verified test makes it active.
	if checked.State != ConnectionFailing || !checked.Unverified {
		t.Errorf("after the next check: %+v, want still failing, unverified", checked)
	}
}

// TestConnectionGarbageSignals: signals with payloads of every shape, or
// none, neither crash nor wedge the run: it still checks on schedule and
// ends on a disconnect.
func TestConnectionGarbageSignals(t *testing.T) {
	h := newConnHarness(t, "up42", nil)
	payloads := []any{nil, "garbage", 42, []byte{0xff, 0x00}, map[string]any{"rotate": []int{1}}, strings.Repeat("x", 1<<16)}
	d := time.Minute
	for _, name := range []string{SignalConnectionCheck, SignalConnectionRotate, SignalConnectionReconnect, "connection-unknown"} {
		for _, p := range payloads {
			d += time.Second
			h.signal(d, name, p)
		}
	}
	var st ConnectionState
	h.at(DefaultConnectionCheckEvery+10*time.Minute, func() { st = h.state() })
	h.signal(DefaultConnectionCheckEvery+11*time.Minute, SignalConnectionDisconnect, "also garbage")
	h.run()
	h.completed()
	if st.State != ConnectionActive || st.LastCheck.IsZero() {
		t.Errorf("state after garbage = %+v, want active and checked", st)
	}
}

// TestConnectionContinuesAsNew: past maxConnectionStepsPerRun steps the
// run continues as new with its state, and the next run registers nothing.
func TestConnectionContinuesAsNew(t *testing.T) {
	h := newConnHarness(t, "up42", nil)
	for i := range maxConnectionStepsPerRun {
		h.signal(time.Minute+time.Duration(i)*time.Second, SignalConnectionCheck, nil)
	}
	h.run()
	err := h.env.GetWorkflowError()
	var can *workflow.ContinueAsNewError
	if !errors.As(err, &can) {
		t.Fatalf("error %v, want continue-as-new", err)
	}
	var next ConnectionInput
	if err := converter.GetDefaultDataConverter().FromPayloads(can.Input, &next); err != nil {
		t.Fatal(err)
	}
	if next.State == nil || next.State.State != ConnectionActive || next.State.WebhookID == "" || next.Provider != "up42" {
		t.Errorf("next run's input %+v, want the active state carried", next)
	}
}

// TestConnectionBadInput: an input that cannot be a connection ends the
// run with ErrInvalidConnection, without calling anything.
func TestConnectionBadInput(t *testing.T) {
	for name, in := range map[string]ConnectionInput{
		"no tenant":    {Provider: "up42", URL: "https://h.test/x"},
		"policy":       {Provider: "up42", Tenant: "t", URL: "https://h.test/x", Policy: "ignore"},
		"filters":      {Provider: "fenix", Tenant: "t", URL: "https://h.test/x", Filters: json.RawMessage(`"` + strings.Repeat("x", MaxConnectionFilters) + `"`)},
		"negative gap": {Provider: "up42", Tenant: "t", URL: "https://h.test/x", CheckEvery: -time.Second},
	} {
		t.Run(name, func(t *testing.T) {
			var s testsuite.WorkflowTestSuite
			env := s.NewTestWorkflowEnvironment()
			RegisterConnection(env, &activities.Connections{})
			env.ExecuteWorkflow(Connection, in)
			if err := env.GetWorkflowError(); err == nil || !strings.Contains(err.Error(), ErrInvalidConnection) {
				t.Errorf("error %v, want %s", err, ErrInvalidConnection)
			}
		})
	}
}

// TestConnectionWorkflowID pins the ID the CLI and admin API address.
func TestConnectionWorkflowID(t *testing.T) {
	if got := ConnectionWorkflowID("up42", "ws-1"); got != "connection:up42@ws-1" {
		t.Errorf("ConnectionWorkflowID = %q", got)
	}
}

// outage fails every Get while down, as an unreachable provider would.
type outage struct {
	registration.Registrar
	down *atomic.Bool
}

func (o outage) Get(ctx context.Context, want registration.Want, id string) (registration.Webhook, bool, error) {
	if o.down.Load() {
		return registration.Webhook{}, false, errors.New("dial tcp: connection refused")
	}
	return o.Registrar.Get(ctx, want, id)
}

// TestConnectionOutage: checks the provider does not answer leave the
// state active until ConnectionFailingAfter in a row, then failing; the
// next good check makes it active again.
func TestConnectionOutage(t *testing.T) {
	down := &atomic.Bool{}
	h := newConnHarness(t, "up42", func(h *connHarness) {
		h.wrap = func(r registration.Registrar) registration.Registrar { return outage{Registrar: r, down: down} }
	})
	every := DefaultConnectionCheckEvery
	var states []ConnectionState
	h.at(time.Minute, func() { down.Store(true) })
	for i := 1; i <= ConnectionFailingAfter; i++ {
		h.at(time.Duration(i)*every+2*time.Minute, func() { states = append(states, h.state()) })
	}
	h.at(time.Duration(ConnectionFailingAfter)*every+3*time.Minute, func() { down.Store(false) })
	h.at(time.Duration(ConnectionFailingAfter+1)*every+4*time.Minute, func() { states = append(states, h.state()) })
	h.signal(time.Duration(ConnectionFailingAfter+1)*every+5*time.Minute, SignalConnectionDisconnect, nil)
	h.run()
	h.completed()
	if len(states) != ConnectionFailingAfter+1 {
		t.Fatalf("%d states", len(states))
	}
	for i, st := range states[:ConnectionFailingAfter-1] {
		if st.State != ConnectionActive || st.FailedChecks != i+1 || !strings.Contains(st.LastError, "connection refused") {
			t.Errorf("after failed check %d: %+v, want active, counting", i+1, st)
		}
	}
	if st := states[ConnectionFailingAfter-1]; st.State != ConnectionFailing {
		t.Errorf("after %d failed checks: %+v, want failing", ConnectionFailingAfter, st)
	}
	if st := states[ConnectionFailingAfter]; st.State != ConnectionActive || st.FailedChecks != 0 || st.LastError != "" {
		t.Errorf("after a good check: %+v, want active", st)
	}
}

// TestConnectionBounds: reasons and error text are bounded at
// MaxConnectionReasons and MaxConnectionText, also in a carried state.
func TestConnectionBounds(t *testing.T) {
	long := strings.Repeat("é", MaxConnectionText)
	for _, n := range []int{MaxConnectionReasons, MaxConnectionReasons + 1} {
		reasons := make([]string, n)
		for i := range reasons {
			reasons[i] = long
		}
		got := boundReasons(reasons)
		if len(got) != MaxConnectionReasons {
			t.Errorf("%d reasons kept of %d, want %d", len(got), n, MaxConnectionReasons)
		}
		for _, r := range got {
			if len(r) > MaxConnectionText || !utf8.ValidString(r) {
				t.Errorf("a reason of %d bytes (valid %v), want at most %d", len(r), utf8.ValidString(r), MaxConnectionText)
			}
		}
	}
	in, err := ConnectionInput{Provider: "up42", Tenant: "t", URL: "https://h.test/x",
		State: &ConnectionState{Reasons: make([]string, 3*MaxConnectionReasons), LastError: strings.Repeat(long, 5)}}.normalized()
	if err != nil {
		t.Fatal(err)
	}
	if len(in.State.Reasons) != MaxConnectionReasons || len(in.State.LastError) > MaxConnectionError {
		t.Errorf("carried state: %d reasons, error of %d bytes", len(in.State.Reasons), len(in.State.LastError))
	}
	if in.CheckEvery != DefaultConnectionCheckEvery || in.Overlap != DefaultConnectionOverlap || in.Policy != ConnectionPolicyRepair {
		t.Errorf("defaults: %+v", in)
	}
	at := ConnectionInput{Provider: "fenix", Tenant: "t", URL: "https://h.test/x", Filters: json.RawMessage(strings.Repeat(" ", MaxConnectionFilters))}
	if _, err := at.normalized(); err != nil {
		t.Errorf("filters at the bound: %v", err)
	}
}

// TestConnectionCancelled: the Temporal UI's Cancel, while the run waits
// for its next check, ends it cancelled, at once, with the webhook left at
// the provider and the memo saying it is no longer checked.
func TestConnectionCancelled(t *testing.T) {
	h := newConnHarness(t, "up42", nil)
	h.at(time.Minute, func() { h.env.CancelWorkflow() })
	h.run()
	hooks := h.up42Webhooks()
	if !h.env.IsWorkflowCompleted() {
		t.Fatal("the run goes on after its cancel")
	}
	var canceled *temporal.CanceledError
	if err := h.env.GetWorkflowError(); !errors.As(err, &canceled) {
		t.Fatalf("ended with %v, want cancelled", err)
	}
	if len(hooks) != 1 {
		t.Errorf("%d webhooks at the provider after the cancel, want the one left as it was", len(hooks))
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.memo.State != ConnectionFailing || !strings.Contains(h.memo.LastError, "cancelled") {
		t.Errorf("the last memo is %+v, want failing, saying it was cancelled", h.memo)
	}
}
