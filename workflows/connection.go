package workflows

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/hookflow/hookflow/activities"
)

// A connection (contract section 18) is hookflow's own webhook registered
// at a provider with a registration API, for one tenant: one Connection
// workflow per tenant and provider, ID connection:<provider>@<tenant>. It
// registers the webhook, checks it on a schedule, rotates its secret and
// removes it. It knows the provider only by name, as data: the activities
// ask the provider's Registrar what it needs (a secret of hookflow's, a
// test). No secret or token reaches it: the activities read them from the
// tenant and name a secret by its fingerprint (SecretID).
//
// Drift policy. A check that finds the webhook gone, inactive or pointing
// elsewhere sets the state drifted with the reasons. Under "repair" (the
// default) the workflow then repairs it at once (Update, or Find and
// Create when gone) and is active again. Under "raise" it stays drifted,
// so the hookflow_connections gauge raises the alert, until an operator
// runs `hookflow connect` again (SignalConnectionReconnect), or a later
// check finds the webhook as wanted again (fixed by hand). A check that
// cannot reach the provider counts; after ConnectionFailingAfter such
// checks in a row, or one permanent refusal (a revoked token), the state
// is failing; the next good check makes it active again.

// ConnectionWorkflowType is the type a connection's workflow runs as.
const ConnectionWorkflowType = "Connection"

// Signals a connection takes, its query and its memo key. The signals'
// payloads are ignored: any value, or none, or one that cannot be decoded,
// is the command.
const (
	// SignalConnectionCheck checks the webhook now.
	SignalConnectionCheck = "connection-check"
	// SignalConnectionRotate rotates the webhook's secret, where the
	// provider signs with one of hookflow's: a new secret goes first in
	// the tenant's list, the provider is updated with it, and after the
	// overlap the old one is dropped.
	SignalConnectionRotate = "connection-rotate"
	// SignalConnectionDisconnect deletes the webhook at the provider and
	// ends the run, disconnected.
	SignalConnectionDisconnect = "connection-disconnect"
	// SignalConnectionReconnect registers again, as a first connect does.
	SignalConnectionReconnect = "connection-reconnect"
	// QueryConnection returns the ConnectionState.
	QueryConnection = "connection"
	// MemoConnectionKey holds the ConnectionState in the memo, so a
	// lister reads every connection from visibility.
	MemoConnectionKey = "connection"
)

// A connection's states: the same strings as telemetry/metrics'
// Connection* constants, which this package does not import (a test in a
// package that imports both checks they agree).
const (
	ConnectionRegistering  = "registering"
	ConnectionActive       = "active"
	ConnectionDrifted      = "drifted"
	ConnectionFailing      = "failing"
	ConnectionManual       = "manual" // never set here: providers without a registration API have no Connection workflow
	ConnectionDisconnected = "disconnected"
)

// Drift policies (ConnectionInput.Policy).
const (
	ConnectionPolicyRepair = "repair"
	ConnectionPolicyRaise  = "raise"
)

// Defaults and bounds of a connection.
const (
	DefaultConnectionCheckEvery = 15 * time.Minute
	DefaultConnectionOverlap    = 24 * time.Hour
	// ConnectionVerifyWithin is how long a registration waits for the
	// provider's test delivery to pass verification, over connectionTests
	// tests.
	ConnectionVerifyWithin = 2 * time.Minute
	connectionTests        = 4
	// TenantPropagation is how long receivers may take to see a tenant's
	// changed secret (contract section 18: 5 s).
	TenantPropagation = 5 * time.Second
	// ConnectionFailingAfter is how many checks in a row the provider may
	// fail to answer before the state is failing.
	ConnectionFailingAfter = 3
	// MaxConnectionReasons bounds State.Reasons, MaxConnectionText each
	// reason, MaxConnectionError State.LastError (room for a provider's
	// whole refusal).
	MaxConnectionReasons = activities.MaxConnectionReasons
	MaxConnectionText    = 512
	MaxConnectionError   = activities.MaxConnectionError + 64
	// MaxConnectionFilters bounds ConnectionInput.Filters, in bytes (the
	// registration clients' bound).
	MaxConnectionFilters = 16 << 10
	// maxConnectionField bounds the provider and tenant, maxConnectionURL
	// the URL.
	maxConnectionField = 256
	maxConnectionURL   = 2048
	// minConnectionCheckEvery keeps a misconfigured schedule from
	// hammering the provider.
	minConnectionCheckEvery = time.Minute
	// maxConnectionStepsPerRun: checks and signals handled before the run
	// continues as new.
	maxConnectionStepsPerRun = 200
)

// ErrInvalidConnection is the type of the error a Connection run ends
// with when its input cannot be a connection.
const ErrInvalidConnection = "InvalidConnection"

const connectionWorkflowIDPrefix = "connection:"

// ConnectionWorkflowID is the workflow ID of tenant's connection at provider.
func ConnectionWorkflowID(provider, tenant string) string {
	return connectionWorkflowIDPrefix + provider + "@" + tenant
}

// ConnectionInput is the input of a run of a Connection workflow.
type ConnectionInput struct {
	Provider string `json:"provider"`
	Tenant   string `json:"tenant"`
	// URL is where the provider is to send webhooks:
	// HOOKFLOW_PUBLIC_URL plus the tenant's route.
	URL string `json:"url"`
	// Filters are the provider's filters (Fenix), a JSON value passed on
	// as is; at most MaxConnectionFilters bytes.
	Filters json.RawMessage `json:"filters,omitempty"`
	// CheckEvery is the drift check's period: DefaultConnectionCheckEvery
	// when zero, at least a minute.
	CheckEvery time.Duration `json:"checkEvery,omitempty"`
	// Policy is ConnectionPolicyRepair (when empty) or ConnectionPolicyRaise.
	Policy string `json:"policy,omitempty"`
	// Overlap is how long a rotated-out secret still verifies:
	// DefaultConnectionOverlap when zero.
	Overlap time.Duration `json:"overlap,omitempty"`
	// State is the connection as the previous run left it (continue-as-
	// new); nil at the first run, which registers.
	State *ConnectionState `json:"state,omitempty"`
}

// ConnectionState is a connection as its query and memo show it.
type ConnectionState struct {
	Provider string `json:"provider"`
	Tenant   string `json:"tenant"`
	URL      string `json:"url"`
	State    string `json:"state"`
	// WebhookID is the provider's ID of hookflow's webhook.
	WebhookID string `json:"webhookId,omitempty"`
	// SecretID fingerprints the secret the webhook is registered with
	// (activities.SecretID); empty where the provider signs with its own.
	SecretID string `json:"secretId,omitempty"`
	// Reasons say how the webhook drifted, at most MaxConnectionReasons.
	Reasons   []string  `json:"reasons,omitempty"`
	LastCheck time.Time `json:"lastCheck,omitzero"`
	// LastError is the last failure, the provider's refusal as it
	// answered (Fenix: its identifier and description), at most
	// MaxConnectionError bytes; empty once active again.
	LastError  string    `json:"lastError,omitempty"`
	Registered time.Time `json:"registered,omitzero"`
	// Verified is when the provider's test delivery passed verification.
	Verified time.Time `json:"verified,omitzero"`
	// Unverified: the provider's test delivery did not pass verification
	// (a wrong secret, say, which no check can see); each check registers
	// and tests again until one does.
	Unverified bool `json:"unverified,omitempty"`
	// RotatingUntil is when the rotated-out secret is dropped; zero when
	// no rotation is under way.
	RotatingUntil time.Time `json:"rotatingUntil,omitzero"`
	// RotationPending: a rotation's new secret is stored but the provider
	// is not updated with it yet; the next check tries again.
	RotationPending bool `json:"rotationPending,omitempty"`
	// FailedChecks counts the checks in a row the provider did not answer.
	FailedChecks int `json:"failedChecks,omitempty"`
	// Repairs counts the repairs made.
	Repairs int `json:"repairs,omitempty"`
}

// RegisterConnection registers the Connection workflow and its activities
// (acts' methods, under their names) with a worker.
func RegisterConnection(r worker.Registry, acts *activities.Connections) {
	r.RegisterWorkflowWithOptions(Connection, workflow.RegisterOptions{Name: ConnectionWorkflowType})
	r.RegisterActivity(acts)
}

// ca calls the connection activities by their method names.
var ca *activities.Connections

// connection is a run's working state.
type connection struct {
	in  ConnectionInput
	st  ConnectionState
	pub *ConnectionState // as last put in the memo
}

// Connection is the workflow of one tenant's connection at one provider:
// it registers, then checks every CheckEvery and on the signals, until a
// disconnect ends it.
func Connection(ctx workflow.Context, in ConnectionInput) error {
	in, err := in.normalized()
	if err != nil {
		return temporal.NewNonRetryableApplicationError(err.Error(), ErrInvalidConnection, nil)
	}
	c := &connection{in: in, st: ConnectionState{State: ConnectionRegistering}}
	if in.State != nil {
		c.st = *in.State
		c.in.State = nil
	}
	c.st.Provider, c.st.Tenant, c.st.URL = in.Provider, in.Tenant, in.URL
	if err := workflow.SetQueryHandler(ctx, QueryConnection, func() (ConnectionState, error) { return c.st, nil }); err != nil {
		return err
	}
	log := workflow.GetLogger(ctx)
	signals := []string{SignalConnectionDisconnect, SignalConnectionReconnect, SignalConnectionRotate, SignalConnectionCheck}
	channels := make([]workflow.ReceiveChannel, len(signals))
	for i, name := range signals {
		channels[i] = workflow.GetSignalChannel(ctx, name)
	}

	if c.st.State == ConnectionRegistering {
		c.register(ctx)
	}
	if ctx.Err() != nil {
		return c.cancelled(ctx)
	}
	if err := c.publish(ctx); err != nil {
		return err
	}
	nextCheck := workflow.Now(ctx).Add(in.CheckEvery)
	for steps := 0; ; steps++ {
		if steps >= maxConnectionStepsPerRun && !pending(channels) {
			st := c.st
			next := c.in
			next.State = &st
			return workflow.NewContinueAsNewError(ctx, Connection, next)
		}
		got := c.wait(ctx, signals, channels, nextCheck)
		if ctx.Err() != nil {
			return c.cancelled(ctx)
		}
		switch got {
		case SignalConnectionDisconnect:
			if c.disconnect(ctx) {
				return c.publish(ctx)
			}
		case SignalConnectionReconnect:
			c.register(ctx)
			nextCheck = workflow.Now(ctx).Add(in.CheckEvery)
		case SignalConnectionRotate:
			c.rotate(ctx)
		case SignalConnectionCheck, "":
			c.check(ctx)
			nextCheck = workflow.Now(ctx).Add(in.CheckEvery)
		case "drop":
			c.dropOld(ctx)
		}
		if err := c.publish(ctx); err != nil {
			return err
		}
		log.Debug("connection step", "step", got, "state", c.st.State)
	}
}

// wait blocks until the check is due ("" then), the rotation's overlap
// ends ("drop") or a signal arrives (its name; every pending one of that
// name is taken, so a burst is one step).
func (c *connection) wait(ctx workflow.Context, signals []string, channels []workflow.ReceiveChannel, nextCheck time.Time) string {
	tctx, cancel := workflow.WithCancel(ctx)
	defer cancel()
	var got string
	sel := workflow.NewSelector(ctx)
	// A signal or timer not taken this time is still there the next: the
	// check's timer is set again, at once when overdue.
	for i, ch := range channels {
		name := signals[i]
		sel.AddReceive(ch, func(ch workflow.ReceiveChannel, _ bool) {
			for ch.Len() > 0 {
				_, _ = takeSignal(ch) // the payload is ignored
			}
			got = name
		})
	}
	now := workflow.Now(ctx)
	sel.AddFuture(workflow.NewTimer(tctx, max(nextCheck.Sub(now), time.Millisecond)), func(workflow.Future) { got = "" })
	if !c.st.RotatingUntil.IsZero() && !c.st.RotationPending {
		sel.AddFuture(workflow.NewTimer(tctx, max(c.st.RotatingUntil.Sub(now), time.Millisecond)), func(workflow.Future) { got = "drop" })
	}
	// Cancelled: the caller ends the run (its timers fire at once too).
	sel.AddReceive(ctx.Done(), func(workflow.ReceiveChannel, bool) { got = "" })
	sel.Select(ctx)
	return got
}

// cancelled ends a run an operator cancelled (the Temporal UI's Cancel):
// the webhook stays at the provider as it is, and the state, in the memo,
// says it is no longer checked, so `hookflow connections` and the gauge
// show the connection failing until `hookflow connect` starts it again.
func (c *connection) cancelled(ctx workflow.Context) error {
	c.failText("its workflow was cancelled: the webhook is no longer checked; hookflow connect starts it again")
	dctx, _ := workflow.NewDisconnectedContext(ctx)
	if err := c.publish(dctx); err != nil {
		return err
	}
	return ctx.Err()
}

// pending says whether a signal waits on any of channels.
func pending(channels []workflow.ReceiveChannel) bool {
	return slices.ContainsFunc(channels, func(ch workflow.ReceiveChannel) bool { return ch.Len() > 0 })
}

// target is what the activities register.
func (c *connection) target() activities.ConnectionTarget {
	return activities.ConnectionTarget{Provider: c.in.Provider, Tenant: c.in.Tenant, URL: c.in.URL, Filters: c.in.Filters}
}

// register makes sure of a secret (where the provider wants one of
// hookflow's), registers the webhook (Find, else Create), has the provider
// test it and waits for the test delivery to pass verification.
func (c *connection) register(ctx workflow.Context) {
	c.st.State, c.st.Reasons, c.st.FailedChecks = ConnectionRegistering, nil, 0
	_ = c.publish(ctx)
	var sec activities.SecretOutput
	err := workflow.ExecuteActivity(registerOptions(ctx), ca.EnsureSecret,
		activities.EnsureSecretInput{Provider: c.in.Provider, Tenant: c.in.Tenant}).Get(ctx, &sec)
	if err != nil {
		c.fail("secret", err)
		return
	}
	c.st.SecretID = sec.SecretID
	var reg activities.Registered
	err = workflow.ExecuteActivity(registerOptions(ctx), ca.RegisterWebhook,
		// Update: a webhook found at the provider is made what we want,
		// its secret included, which no drift check can see (a tenant's
		// secrets replaced since, a webhook left from an earlier life).
		activities.RegisterInput{Target: c.target(), WebhookID: c.st.WebhookID, Update: true}).Get(ctx, &reg)
	if err != nil {
		c.fail("register", err)
		return
	}
	c.st.WebhookID, c.st.Registered, c.st.RotationPending = reg.WebhookID, workflow.Now(ctx), false
	if sec.Needed {
		// The receivers take a tenant's new secret within
		// TenantPropagation: a test before that would be refused.
		if err := workflow.Sleep(ctx, TenantPropagation); err != nil {
			return
		}
	}
	// The provider's test, then a wait for its delivery to pass
	// verification; tested again, up to connectionTests times in all,
	// while none has (a receiver late with the secret, a lost delivery).
	var test activities.TestOutput
	for attempt := 1; ; attempt++ {
		testStart := workflow.Now(ctx)
		err = workflow.ExecuteActivity(registerOptions(ctx), ca.TestWebhook,
			activities.WebhookInput{Target: c.target(), WebhookID: c.st.WebhookID}).Get(ctx, &test)
		if err != nil {
			c.fail("test", err)
			return
		}
		// Without a test (Fenix), the first real event is the proof, which
		// `hookflow connect --check` waits for: no bound fits it here.
		if !test.Supported {
			break
		}
		var v activities.VerifiedOutput
		err = workflow.ExecuteActivity(verifyOptions(ctx), ca.AwaitVerified, activities.AwaitVerifiedInput{
			Provider: c.in.Provider, Tenant: c.in.Tenant, Since: testStart, Within: ConnectionVerifyWithin / connectionTests,
		}).Get(ctx, &v)
		if err != nil {
			c.fail("verify", err)
			return
		}
		if v.Verified {
			c.st.Verified = v.At
			break
		}
		if attempt == connectionTests {
			c.st.Unverified = true
			c.failText(fmt.Sprintf("verify: no delivery passed verification within %s of the provider's %d tests (the last: run %d, succeeded %d, failed %d)",
				ConnectionVerifyWithin, connectionTests, test.Run, test.Succeeded, test.Failed))
			return
		}
	}
	c.st.Unverified = false
	c.active()
}

// check looks at the webhook at the provider and acts on drift by the
// policy. Without a webhook, or one whose test did not verify, it
// registers (and tests) again; a rotation whose update failed is retried
// first.
func (c *connection) check(ctx workflow.Context) {
	if c.st.WebhookID == "" || c.st.Unverified {
		c.register(ctx)
		return
	}
	if c.st.RotationPending && !c.pushSecret(ctx) {
		return
	}
	var out activities.CheckOutput
	err := workflow.ExecuteActivity(checkOptions(ctx), ca.CheckWebhook,
		activities.WebhookInput{Target: c.target(), WebhookID: c.st.WebhookID}).Get(ctx, &out)
	c.st.LastCheck = workflow.Now(ctx)
	if err != nil {
		c.st.FailedChecks++
		c.st.LastError = clipTo("check: "+errorText(err), MaxConnectionError)
		if c.st.FailedChecks >= ConnectionFailingAfter || isRefused(err) {
			c.st.State = ConnectionFailing
		}
		return
	}
	c.st.FailedChecks = 0
	reasons := out.Reasons
	if !out.Found {
		reasons = []string{"webhook is gone at the provider"}
	}
	if len(reasons) == 0 {
		c.active()
		return
	}
	c.st.State, c.st.Reasons = ConnectionDrifted, boundReasons(reasons)
	if c.in.Policy == ConnectionPolicyRepair {
		c.repair(ctx)
	}
}

// repair registers the webhook as wanted again: Update when it is there,
// Find and else Create when it is gone.
func (c *connection) repair(ctx workflow.Context) {
	var reg activities.Registered
	err := workflow.ExecuteActivity(registerOptions(ctx), ca.RegisterWebhook,
		activities.RegisterInput{Target: c.target(), WebhookID: c.st.WebhookID}).Get(ctx, &reg)
	if err != nil {
		c.fail("repair", err)
		return
	}
	c.st.WebhookID = reg.WebhookID
	c.st.Repairs++
	c.active()
}

// rotate puts a new secret first (the old one kept second), then updates
// the provider with it; the overlap's timer drops the old one.
func (c *connection) rotate(ctx workflow.Context) {
	if c.st.WebhookID == "" || c.st.State == ConnectionRegistering {
		workflow.GetLogger(ctx).Warn("rotation ignored: the webhook is not registered")
		return
	}
	if !c.st.RotationPending {
		var sec activities.SecretOutput
		err := workflow.ExecuteActivity(registerOptions(ctx), ca.EnsureSecret, activities.EnsureSecretInput{
			Provider: c.in.Provider, Tenant: c.in.Tenant, Rotate: true, From: c.st.SecretID,
		}).Get(ctx, &sec)
		if err != nil {
			c.fail("rotate", err)
			return
		}
		if !sec.Needed {
			workflow.GetLogger(ctx).Info("rotation ignored: the provider signs with its own secret")
			return
		}
		c.st.SecretID, c.st.RotationPending = sec.SecretID, true
	}
	c.pushSecret(ctx)
}

// pushSecret updates the provider with the newest secret and starts the
// overlap; false when the update failed (the next check tries again).
func (c *connection) pushSecret(ctx workflow.Context) bool {
	var reg activities.Registered
	err := workflow.ExecuteActivity(registerOptions(ctx), ca.RegisterWebhook,
		activities.RegisterInput{Target: c.target(), WebhookID: c.st.WebhookID, Update: true}).Get(ctx, &reg)
	if err != nil {
		c.fail("rotate", err)
		return false
	}
	c.st.WebhookID, c.st.RotationPending = reg.WebhookID, false
	c.st.RotatingUntil = workflow.Now(ctx).Add(c.in.Overlap)
	c.active()
	return true
}

// dropOld ends the overlap: the tenant's secrets become the new one only.
// On failure it tries again a check period later.
func (c *connection) dropOld(ctx workflow.Context) {
	var sec activities.SecretOutput
	err := workflow.ExecuteActivity(registerOptions(ctx), ca.DropOldSecrets,
		activities.DropSecretsInput{Provider: c.in.Provider, Tenant: c.in.Tenant, Keep: c.st.SecretID}).Get(ctx, &sec)
	if err != nil {
		c.st.LastError = clipTo("drop old secret: "+errorText(err), MaxConnectionError)
		c.st.RotatingUntil = workflow.Now(ctx).Add(c.in.CheckEvery)
		return
	}
	c.st.RotatingUntil = time.Time{}
}

// disconnect deletes the webhook at the provider; false when that failed
// (the run goes on, failing, for another disconnect).
func (c *connection) disconnect(ctx workflow.Context) bool {
	err := workflow.ExecuteActivity(registerOptions(ctx), ca.DeleteWebhook,
		activities.WebhookInput{Target: c.target(), WebhookID: c.st.WebhookID}).Get(ctx, nil)
	if err != nil {
		c.fail("disconnect", err)
		return false
	}
	c.st.State, c.st.WebhookID, c.st.Reasons, c.st.LastError = ConnectionDisconnected, "", nil, ""
	c.st.RotatingUntil, c.st.RotationPending = time.Time{}, false
	return true
}

func (c *connection) active() {
	c.st.State, c.st.Reasons, c.st.LastError, c.st.FailedChecks = ConnectionActive, nil, "", 0
}

func (c *connection) fail(step string, err error) { c.failText(step + ": " + errorText(err)) }

func (c *connection) failText(text string) {
	c.st.State, c.st.LastError = ConnectionFailing, clipTo(text, MaxConnectionError)
}

// publish puts the state into the memo when it changed.
func (c *connection) publish(ctx workflow.Context) error {
	if c.pub != nil && c.pub.equal(c.st) {
		return nil
	}
	if err := workflow.UpsertMemo(ctx, map[string]any{MemoConnectionKey: c.st}); err != nil {
		return err
	}
	st := c.st
	st.Reasons = slices.Clone(c.st.Reasons)
	c.pub = &st
	return nil
}

// equal says whether s and o are the same state, as the memo holds it.
func (s ConnectionState) equal(o ConnectionState) bool {
	// encoding/json is deterministic for this plain struct (no maps);
	// workflowcheck flags its reflection caches.
	//workflowcheck:ignore
	a, errA := json.Marshal(s)
	//workflowcheck:ignore
	b, errB := json.Marshal(o)
	return errA == nil && errB == nil && string(a) == string(b)
}

// errorText is an activity's error as an operator reads it: the
// application error's message (a provider's refusal), not the SDK's
// wrapping.
func errorText(err error) string {
	var app *temporal.ApplicationError
	if errors.As(err, &app) {
		return app.Message()
	}
	var timeout *temporal.TimeoutError
	if errors.As(err, &timeout) {
		return "timed out: " + timeout.Error()
	}
	return err.Error()
}

// isRefused says whether err is a permanent refusal.
func isRefused(err error) bool {
	var app *temporal.ApplicationError
	return errors.As(err, &app) && app.Type() == activities.ErrConnectionRefused
}

func boundReasons(reasons []string) []string {
	out := make([]string, 0, min(len(reasons), MaxConnectionReasons))
	for _, r := range reasons[:min(len(reasons), MaxConnectionReasons)] {
		out = append(out, clipTo(r, MaxConnectionText))
	}
	return out
}

// normalized is in with its defaults, or why it cannot be a connection.
func (in ConnectionInput) normalized() (ConnectionInput, error) {
	switch {
	case in.Provider == "" || len(in.Provider) > maxConnectionField:
		return in, fmt.Errorf("provider must be 1 to %d bytes", maxConnectionField)
	case in.Tenant == "" || len(in.Tenant) > maxConnectionField:
		return in, fmt.Errorf("tenant must be 1 to %d bytes", maxConnectionField)
	case in.URL == "" || len(in.URL) > maxConnectionURL:
		return in, fmt.Errorf("url must be 1 to %d bytes", maxConnectionURL)
	case len(in.Filters) > MaxConnectionFilters:
		return in, fmt.Errorf("filters are larger than %d bytes", MaxConnectionFilters)
	case in.CheckEvery < 0 || in.Overlap < 0:
		return in, errors.New("checkEvery and overlap must not be negative")
	}
	if in.Policy == "" {
		in.Policy = ConnectionPolicyRepair
	}
	if in.Policy != ConnectionPolicyRepair && in.Policy != ConnectionPolicyRaise {
		return in, fmt.Errorf("policy %.32q is neither %s nor %s", in.Policy, ConnectionPolicyRepair, ConnectionPolicyRaise)
	}
	if in.CheckEvery == 0 {
		in.CheckEvery = DefaultConnectionCheckEvery
	}
	in.CheckEvery = max(in.CheckEvery, minConnectionCheckEvery)
	if in.Overlap == 0 {
		in.Overlap = DefaultConnectionOverlap
	}
	if in.State != nil {
		st := *in.State
		st.Reasons = boundReasons(st.Reasons)
		st.LastError = clipTo(st.LastError, MaxConnectionError)
		in.State = &st
	}
	return in, nil
}

// Activity options. Registering retries through a provider's outage for
// ten minutes, then the state is failing and the next check tries again;
// a check tries three times and counts as one failed check.
func registerOptions(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout:    time.Minute,
		ScheduleToCloseTimeout: 10 * time.Minute,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: time.Minute,
			NonRetryableErrorTypes: activities.ConnectionNonRetryable,
		},
	})
}

func checkOptions(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: time.Minute,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: 10 * time.Second, MaximumAttempts: 3,
			NonRetryableErrorTypes: activities.ConnectionNonRetryable,
		},
	})
}

func verifyOptions(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: ConnectionVerifyWithin + time.Minute,
		HeartbeatTimeout:    30 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: time.Second, MaximumAttempts: 3,
			NonRetryableErrorTypes: activities.ConnectionNonRetryable,
		},
	})
}
