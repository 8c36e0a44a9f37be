package activities

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/hookflow/hookflow/providers/registration"
)

// The Connection workflow's activities (contract section 18) register,
// check, rotate and remove hookflow's own webhook at a provider with a
// registration API. Secrets and access tokens are read here, from
// TenantCredentials, and never cross into a workflow: no input, output or
// error of these activities holds one. A secret is named by its SecretID,
// a short fingerprint.

// Error types of the connection activities' failures. ErrConnectionRefused
// is permanent (ConnectionNonRetryable); ErrConnectionUnavailable is worth
// retrying.
const (
	// ErrConnectionRefused: the provider refused for good (a 4xx other
	// than 408 and 429, an invalid registration, an unsupported call), or
	// the provider has no registration API. The message is the provider's
	// refusal: for Fenix its identifier and description.
	ErrConnectionRefused = "ConnectionRefused"
	// ErrConnectionUnavailable: the provider or a credential store did not
	// answer, or answered 5xx, 408 or 429.
	ErrConnectionUnavailable = "ConnectionUnavailable"
)

// ConnectionNonRetryable lists the connection error types no retry can fix.
var ConnectionNonRetryable = []string{ErrConnectionRefused}

// Bounds of the connection activities.
const (
	// ConnectionSecretBytes is the length of a generated secret, before
	// hex encoding.
	ConnectionSecretBytes = 32
	// MaxConnectionSecrets is how many secrets of one provider a rotation
	// keeps (the newest first), as the Tenant workflow's bound.
	MaxConnectionSecrets = 4
	// MaxConnectionReasons bounds the drift reasons a check returns.
	MaxConnectionReasons = 8
	// MaxConnectionError bounds an error's message: room for a provider's
	// whole refusal (registration keeps 1 KiB of its description) and
	// what was refused.
	MaxConnectionError = 2048
	// maxConnectionReason bounds each drift reason.
	maxConnectionReason = 512
	// defaultVerifiedPoll is how often AwaitVerified asks, when
	// Connections.PollEvery is zero.
	defaultVerifiedPoll = 2 * time.Second
	// secretIDBytes is the length of a SecretID before hex encoding.
	secretIDBytes = 8
)

// TenantCredentials are a tenant's secrets and tokens, in clear, as the
// Tenant workflow keeps them sealed.
type TenantCredentials interface {
	// Secrets are the tenant's webhook secrets of provider, in clear,
	// newest first.
	Secrets(ctx context.Context, tenant, provider string) ([]string, error)
	// SetSecrets replaces them (sealed by the implementation before they
	// reach Temporal).
	SetSecrets(ctx context.Context, tenant, provider string, secrets []string) error
	// AccessToken is the token the provider's registration API takes
	// for the tenant.
	AccessToken(ctx context.Context, tenant, provider string) (string, error)
}

// VerifiedDeliveries says when a provider's webhooks last reached hookflow.
type VerifiedDeliveries interface {
	// LastVerified is when a delivery of provider for tenant last passed
	// verification (zero: never).
	LastVerified(ctx context.Context, provider, tenant string) (time.Time, error)
}

// Connections holds the connection activities' dependencies; the worker
// registers one filled instance (workflows.RegisterConnection), the
// Connection workflow calls its methods through a nil pointer.
type Connections struct {
	// Registrars returns the provider's Registrar
	// (registration.New with the provider's API URL).
	Registrars  func(provider string) (registration.Registrar, error)
	Credentials TenantCredentials
	Verified    VerifiedDeliveries
	// PollEvery is how often AwaitVerified asks Verified; 2 s when zero.
	PollEvery time.Duration
}

// ConnectionTarget is what a connection registers: the tenant's webhook of
// provider at URL, with Filters (Fenix) as given.
type ConnectionTarget struct {
	Provider string          `json:"provider"`
	Tenant   string          `json:"tenant"`
	URL      string          `json:"url"`
	Filters  json.RawMessage `json:"filters,omitempty"`
}

// EnsureSecretInput asks for the tenant's signing secret of a provider.
// Rotate puts a new one first, when the newest is still the one named
// From: a retry after the new one was stored finds it newest and adds none.
type EnsureSecretInput struct {
	Provider string `json:"provider"`
	Tenant   string `json:"tenant"`
	Rotate   bool   `json:"rotate,omitempty"`
	From     string `json:"from,omitempty"`
}

// SecretOutput names the secret a webhook is registered with.
type SecretOutput struct {
	// Needed is false for a provider that signs with its own secret;
	// nothing was read or stored.
	Needed bool `json:"needed"`
	// SecretID fingerprints the newest secret (never the secret).
	SecretID string `json:"secretId,omitempty"`
	// Count is how many secrets the tenant has for the provider.
	Count int `json:"count"`
}

// EnsureSecret makes sure the tenant has a signing secret for a provider
// that needs one (Registrar.NeedsSecret): it generates one when there is
// none, and on Rotate puts a new one before the others.
func (c *Connections) EnsureSecret(ctx context.Context, in EnsureSecretInput) (SecretOutput, error) {
	r, err := c.registrar(in.Provider)
	if err != nil || !r.NeedsSecret() {
		return SecretOutput{}, err
	}
	secrets, err := c.Credentials.Secrets(ctx, in.Tenant, in.Provider)
	if err != nil {
		return SecretOutput{}, credentials(fmt.Errorf("read %s secrets of tenant %s: %w", in.Provider, in.Tenant, err))
	}
	if len(secrets) > 0 && !(in.Rotate && SecretID(secrets[0]) == in.From) {
		return SecretOutput{Needed: true, SecretID: SecretID(secrets[0]), Count: len(secrets)}, nil
	}
	secret, err := newSecret()
	if err != nil {
		return SecretOutput{}, unavailable(err)
	}
	next := append([]string{secret}, secrets...)
	if len(next) > MaxConnectionSecrets {
		next = next[:MaxConnectionSecrets]
	}
	if err := c.Credentials.SetSecrets(ctx, in.Tenant, in.Provider, next); err != nil {
		return SecretOutput{}, credentials(fmt.Errorf("store %s secrets of tenant %s: %w", in.Provider, in.Tenant, err))
	}
	return SecretOutput{Needed: true, SecretID: SecretID(secret), Count: len(next)}, nil
}

// DropSecretsInput ends a rotation: the secrets older than Keep go.
type DropSecretsInput struct {
	Provider string `json:"provider"`
	Tenant   string `json:"tenant"`
	Keep     string `json:"keep"` // a SecretID
}

// DropOldSecrets drops the tenant's secrets older than the one named Keep,
// which the provider now signs with. When Keep is not among them (a later
// rotation replaced it), nothing changes.
func (c *Connections) DropOldSecrets(ctx context.Context, in DropSecretsInput) (SecretOutput, error) {
	secrets, err := c.Credentials.Secrets(ctx, in.Tenant, in.Provider)
	if err != nil {
		return SecretOutput{}, credentials(fmt.Errorf("read %s secrets of tenant %s: %w", in.Provider, in.Tenant, err))
	}
	for i, s := range secrets {
		if SecretID(s) != in.Keep {
			continue
		}
		if i+1 < len(secrets) {
			if err := c.Credentials.SetSecrets(ctx, in.Tenant, in.Provider, secrets[:i+1]); err != nil {
				return SecretOutput{}, credentials(fmt.Errorf("store %s secrets of tenant %s: %w", in.Provider, in.Tenant, err))
			}
		}
		return SecretOutput{Needed: true, SecretID: SecretID(secrets[0]), Count: i + 1}, nil
	}
	out := SecretOutput{Needed: true, Count: len(secrets)}
	if len(secrets) > 0 {
		out.SecretID = SecretID(secrets[0])
	}
	return out, nil
}

// RegisterInput asks for the webhook of Target as wanted. WebhookID is
// the one the workflow knows of ("" for none); Update forces an update
// even without drift (a rotation: the provider never shows the secret).
type RegisterInput struct {
	Target    ConnectionTarget `json:"target"`
	WebhookID string           `json:"webhookId,omitempty"`
	Update    bool             `json:"update,omitempty"`
}

// Registered is the webhook as registered.
type Registered struct {
	WebhookID string `json:"webhookId"`
	// Created is true when this call registered it anew.
	Created bool `json:"created"`
	// Updated is true when this call repaired or updated it.
	Updated bool `json:"updated"`
}

// RegisterWebhook makes sure the tenant has exactly one webhook as
// wanted: the one known (WebhookID) when it is still there, else the one
// Find finds, updated when it drifted; only when there is none does it
// Create. Find runs on every attempt before Create, so a worker that dies
// between Create and the workflow recording the ID never leaves two.
func (c *Connections) RegisterWebhook(ctx context.Context, in RegisterInput) (Registered, error) {
	r, want, err := c.want(ctx, in.Target)
	if err != nil {
		return Registered{}, err
	}
	var (
		found registration.Webhook
		ok    bool
	)
	if in.WebhookID != "" {
		found, ok, err = r.Get(ctx, want, in.WebhookID)
		if err != nil {
			return Registered{}, c.fail(want, err)
		}
	}
	if !ok {
		found, ok, err = r.Find(ctx, want)
		if err != nil {
			return Registered{}, c.fail(want, err)
		}
	}
	if !ok {
		created, err := r.Create(ctx, want)
		if err != nil {
			return Registered{}, c.fail(want, err)
		}
		return Registered{WebhookID: created.ID, Created: true}, nil
	}
	if !in.Update && len(r.Drift(want, found)) == 0 {
		return Registered{WebhookID: found.ID}, nil
	}
	updated, err := r.Update(ctx, want, found.ID)
	if err != nil {
		return Registered{}, c.fail(want, err)
	}
	return Registered{WebhookID: updated.ID, Updated: true}, nil
}

// WebhookInput names the tenant's webhook WebhookID of Target.
type WebhookInput struct {
	Target    ConnectionTarget `json:"target"`
	WebhookID string           `json:"webhookId"`
}

// TestOutput is the provider's test of a webhook.
type TestOutput struct {
	// Supported is false where the provider has no test (Fenix).
	Supported bool `json:"supported"`
	Run       int  `json:"run"`
	Succeeded int  `json:"succeeded"`
	Failed    int  `json:"failed"`
}

// TestWebhook has the provider send the webhook a test delivery.
func (c *Connections) TestWebhook(ctx context.Context, in WebhookInput) (TestOutput, error) {
	r, want, err := c.want(ctx, in.Target)
	if err != nil {
		return TestOutput{}, err
	}
	res, err := r.Test(ctx, want, in.WebhookID)
	if errors.Is(err, registration.ErrUnsupported) {
		return TestOutput{}, nil
	}
	if err != nil {
		return TestOutput{}, c.fail(want, err)
	}
	return TestOutput{Supported: true, Run: res.Run, Succeeded: res.Succeeded, Failed: res.Failed}, nil
}

// AwaitVerifiedInput asks for a verified delivery of Provider for Tenant
// at or after Since, waiting at most Within.
type AwaitVerifiedInput struct {
	Provider string        `json:"provider"`
	Tenant   string        `json:"tenant"`
	Since    time.Time     `json:"since"`
	Within   time.Duration `json:"within"`
}

// VerifiedOutput says whether and when a delivery passed verification.
type VerifiedOutput struct {
	Verified bool      `json:"verified"`
	At       time.Time `json:"at,omitzero"`
}

// AwaitVerified asks VerifiedDeliveries every PollEvery, heartbeating,
// until a delivery at or after Since has passed verification or Within
// has passed (Verified false: not an error, the workflow decides).
func (c *Connections) AwaitVerified(ctx context.Context, in AwaitVerifiedInput) (VerifiedOutput, error) {
	poll := c.PollEvery
	if poll <= 0 {
		poll = defaultVerifiedPoll
	}
	deadline := time.NewTimer(in.Within)
	defer deadline.Stop()
	tick := time.NewTicker(poll)
	defer tick.Stop()
	for {
		at, err := c.Verified.LastVerified(ctx, in.Provider, in.Tenant)
		if err != nil {
			return VerifiedOutput{}, unavailable(fmt.Errorf("last verified %s delivery of tenant %s: %w", in.Provider, in.Tenant, err))
		}
		if !at.IsZero() && !at.Before(in.Since) {
			return VerifiedOutput{Verified: true, At: at}, nil
		}
		activity.RecordHeartbeat(ctx)
		select {
		case <-ctx.Done():
			return VerifiedOutput{}, ctx.Err()
		case <-deadline.C:
			return VerifiedOutput{}, nil
		case <-tick.C:
		}
	}
}

// CheckOutput is what a check found at the provider.
type CheckOutput struct {
	// Found is false when the webhook is gone.
	Found bool `json:"found"`
	// Reasons say how it drifted, at most MaxConnectionReasons; none when
	// it is as wanted (or gone).
	Reasons []string `json:"reasons,omitempty"`
}

// CheckWebhook looks at the webhook at the provider (Get) and says how it
// differs from what is wanted (Drift). Without a WebhookID it Finds.
func (c *Connections) CheckWebhook(ctx context.Context, in WebhookInput) (CheckOutput, error) {
	r, want, err := c.want(ctx, in.Target)
	if err != nil {
		return CheckOutput{}, err
	}
	var (
		got registration.Webhook
		ok  bool
	)
	if in.WebhookID != "" {
		got, ok, err = r.Get(ctx, want, in.WebhookID)
	} else {
		got, ok, err = r.Find(ctx, want)
	}
	if err != nil {
		return CheckOutput{}, c.fail(want, err)
	}
	if !ok {
		return CheckOutput{}, nil
	}
	reasons := r.Drift(want, got)
	if len(reasons) > MaxConnectionReasons {
		reasons = reasons[:MaxConnectionReasons]
	}
	for i, s := range reasons {
		reasons[i] = clipTo(redact(s, want), maxConnectionReason)
	}
	return CheckOutput{Found: true, Reasons: reasons}, nil
}

// DeleteWebhook removes the tenant's webhook at the provider: WebhookID
// and any other Find finds at the URL. One already gone is success.
func (c *Connections) DeleteWebhook(ctx context.Context, in WebhookInput) (Registered, error) {
	r, want, err := c.want(ctx, in.Target)
	if err != nil {
		return Registered{}, err
	}
	if in.WebhookID != "" {
		if err := r.Delete(ctx, want, in.WebhookID); err != nil {
			return Registered{}, c.fail(want, err)
		}
	}
	// Bounded: Find returns one at a time, and the tenant's list is
	// bounded by registration.MaxWebhooks.
	for range registration.MaxWebhooks {
		found, ok, err := r.Find(ctx, want)
		if err != nil {
			return Registered{}, c.fail(want, err)
		}
		if !ok {
			return Registered{WebhookID: in.WebhookID}, nil
		}
		if err := r.Delete(ctx, want, found.ID); err != nil {
			return Registered{}, c.fail(want, err)
		}
	}
	return Registered{}, unavailable(fmt.Errorf("delete %s webhooks of tenant %s: still found after %d deletes", in.Target.Provider, in.Target.Tenant, registration.MaxWebhooks))
}

// registrar is the provider's Registrar; a provider without a
// registration API is a permanent failure.
func (c *Connections) registrar(provider string) (registration.Registrar, error) {
	r, err := c.Registrars(provider)
	if err != nil {
		if errors.Is(err, registration.ErrNoRegistrationAPI) {
			return nil, refused(err.Error())
		}
		return nil, unavailable(err)
	}
	return r, nil
}

// want is the Registrar and the Want of target, credentials read.
func (c *Connections) want(ctx context.Context, t ConnectionTarget) (registration.Registrar, registration.Want, error) {
	r, err := c.registrar(t.Provider)
	if err != nil {
		return nil, registration.Want{}, err
	}
	want := registration.Want{Tenant: t.Tenant, URL: t.URL, Filters: t.Filters}
	if want.AccessToken, err = c.Credentials.AccessToken(ctx, t.Tenant, t.Provider); err != nil {
		return nil, registration.Want{}, credentials(fmt.Errorf("read %s access token of tenant %s: %w", t.Provider, t.Tenant, err))
	}
	if r.NeedsSecret() {
		secrets, err := c.Credentials.Secrets(ctx, t.Tenant, t.Provider)
		if err != nil {
			return nil, registration.Want{}, credentials(fmt.Errorf("read %s secrets of tenant %s: %w", t.Provider, t.Tenant, err))
		}
		if len(secrets) == 0 {
			// EnsureSecret runs first; a secret removed since is the
			// operator's doing and not for a retry to fix.
			return nil, registration.Want{}, refused(fmt.Sprintf("tenant %s has no %s secret: connect again", t.Tenant, t.Provider))
		}
		want.Secret = secrets[0]
	}
	return r, want, nil
}

// fail turns a Registrar's error into the activity's: permanent ones
// non-retryable. The message is redacted of want's secret and token (a
// provider may quote the request in its refusal) and the original error
// is not attached, so neither reaches the history.
func (c *Connections) fail(want registration.Want, err error) error {
	msg := redact(err.Error(), want)
	if registration.Permanent(err) {
		return refused(msg)
	}
	return temporal.NewApplicationError(msg, ErrConnectionUnavailable)
}

func refused(msg string) error {
	return temporal.NewNonRetryableApplicationError(clipText(msg), ErrConnectionRefused, nil)
}

// credentials is a failure of the tenants' credentials as an activity
// error: a refusal where the store says no retry can fix it (the tenant
// gone, no HOOKFLOW_SECRETS_KEY to open its secrets, a file tenant's
// secrets to change), else worth retrying.
func credentials(err error) error {
	var p interface{ Permanent() bool }
	if errors.As(err, &p) && p.Permanent() {
		return refused(err.Error())
	}
	return unavailable(err)
}

func unavailable(err error) error {
	return temporal.NewApplicationError(clipText(err.Error()), ErrConnectionUnavailable)
}

// redact replaces want's secret and token in s.
func redact(s string, want registration.Want) string {
	for _, v := range []string{want.Secret, want.AccessToken} {
		if v != "" {
			s = strings.ReplaceAll(s, v, "[redacted]")
		}
	}
	return clipText(s)
}

func clipText(s string) string { return clipTo(s, MaxConnectionError) }

// clipTo shortens s to at most n bytes, valid UTF-8, marked with an ellipsis.
func clipTo(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n-len("…")], "") + "…"
}

// SecretID names secret without revealing it: the first 8 bytes of its
// SHA-256, in hex. It is how workflows and operators tell secrets apart.
func SecretID(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:secretIDBytes])
}

// newSecret is ConnectionSecretBytes from crypto/rand in hex: UP42's
// verifier keys its HMAC with the secret's bytes as written, and hex fits
// the comma-separated secret lists of the configuration.
func newSecret() (string, error) {
	b := make([]byte, ConnectionSecretBytes)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generate secret: %w", err)
	}
	return hex.EncodeToString(b), nil
}
