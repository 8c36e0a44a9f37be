package activities

import (
	"context"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/hookflow/hookflow/internal/dev/devtools"
	"github.com/hookflow/hookflow/providers/registration"
)

const testToken = "tok-7d2e-never-in-an-error"

// memCreds are one tenant's secrets, in memory.
type memCreds struct {
	mu      sync.Mutex
	secrets []string
	sets    int
}

func (m *memCreds) Secrets(context.Context, string, string) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.secrets), nil
}

func (m *memCreds) SetSecrets(_ context.Context, _, _ string, s []string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.secrets, m.sets = slices.Clone(s), m.sets+1
	return nil
}

func (m *memCreds) AccessToken(context.Context, string, string) (string, error) {
	return testToken, nil
}

type memVerified struct{ at time.Time }

func (m memVerified) LastVerified(context.Context, string, string) (time.Time, error) {
	return m.at, nil
}

// connEnv runs the connection activities against base (a stand-in).
func connEnv(t *testing.T, base string, creds *memCreds, verified VerifiedDeliveries) (*testsuite.TestActivityEnvironment, *Connections) {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	c := &Connections{
		Registrars:  func(p string) (registration.Registrar, error) { return registration.New(p, base, nil) },
		Credentials: creds,
		Verified:    verified,
		PollEvery:   5 * time.Millisecond,
	}
	env.RegisterActivity(c)
	return env, c
}

func TestEnsureSecret(t *testing.T) {
	creds := &memCreds{}
	env, c := connEnv(t, "http://unused.test", creds, nil)
	ensure := func(in EnsureSecretInput) SecretOutput {
		t.Helper()
		v, err := env.ExecuteActivity(c.EnsureSecret, in)
		if err != nil {
			t.Fatal(err)
		}
		var out SecretOutput
		if err := v.Get(&out); err != nil {
			t.Fatal(err)
		}
		return out
	}
	first := ensure(EnsureSecretInput{Provider: "up42", Tenant: "ws"})
	if len(creds.secrets) != 1 || first.SecretID != SecretID(creds.secrets[0]) || !first.Needed {
		t.Fatalf("first: %+v with %d secrets", first, len(creds.secrets))
	}
	if b, err := hex.DecodeString(creds.secrets[0]); err != nil || len(b) != ConnectionSecretBytes {
		t.Errorf("secret is not %d bytes in hex", ConnectionSecretBytes)
	}
	if again := ensure(EnsureSecretInput{Provider: "up42", Tenant: "ws"}); again != first || creds.sets != 1 {
		t.Errorf("again: %+v after %d stores, want %+v and no new secret", again, creds.sets, first)
	}
	old := creds.secrets[0]
	rotated := ensure(EnsureSecretInput{Provider: "up42", Tenant: "ws", Rotate: true, From: first.SecretID})
	if len(creds.secrets) != 2 || creds.secrets[1] != old || rotated.SecretID != SecretID(creds.secrets[0]) {
		t.Errorf("rotated: %+v, %d secrets, old second %v; want [new, old]", rotated, len(creds.secrets), len(creds.secrets) == 2 && creds.secrets[1] == old)
	}
	// A retried rotation (its From is no longer the newest) adds none.
	if retried := ensure(EnsureSecretInput{Provider: "up42", Tenant: "ws", Rotate: true, From: first.SecretID}); retried != rotated || len(creds.secrets) != 2 {
		t.Errorf("retried rotation: %+v with %d secrets, want %+v with 2", retried, len(creds.secrets), rotated)
	}
	for range MaxConnectionSecrets + 2 {
		ensure(EnsureSecretInput{Provider: "up42", Tenant: "ws", Rotate: true, From: SecretID(creds.secrets[0])})
	}
	if len(creds.secrets) != MaxConnectionSecrets {
		t.Errorf("%d secrets after many rotations, want the bound %d", len(creds.secrets), MaxConnectionSecrets)
	}
	before := creds.sets
	if out := ensure(EnsureSecretInput{Provider: "fenix", Tenant: "shop"}); out.Needed || out.SecretID != "" || creds.sets != before {
		t.Errorf("fenix: %+v, want no secret of hookflow's", out)
	}
}

func TestDropOldSecrets(t *testing.T) {
	for _, tc := range []struct {
		name    string
		secrets []string
		keep    string
		want    []string
	}{
		{"rotation", []string{"new", "old"}, SecretID("new"), []string{"new"}},
		{"older ones too", []string{"new", "old", "older"}, SecretID("new"), []string{"new"}},
		{"again", []string{"new"}, SecretID("new"), []string{"new"}},
		{"rotated since", []string{"newer", "new", "old"}, SecretID("new"), []string{"newer", "new"}},
		{"unknown", []string{"a", "b"}, SecretID("c"), []string{"a", "b"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			creds := &memCreds{secrets: tc.secrets}
			env, c := connEnv(t, "http://unused.test", creds, nil)
			if _, err := env.ExecuteActivity(c.DropOldSecrets, DropSecretsInput{Provider: "up42", Tenant: "ws", Keep: tc.keep}); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(creds.secrets, tc.want) {
				t.Errorf("secrets %q, want %q", creds.secrets, tc.want)
			}
		})
	}
}

// TestRegisterCheckDelete: against the UP42 stand-in, RegisterWebhook is
// idempotent, CheckWebhook sees a deleted webhook gone, a second
// RegisterWebhook puts it back, DeleteWebhook removes it.
func TestRegisterCheckDelete(t *testing.T) {
	srv := httptest.NewServer(devtools.NewUP42Sandbox(devtools.SandboxOptions{}))
	defer srv.Close()
	creds := &memCreds{secrets: []string{"s1"}}
	env, c := connEnv(t, srv.URL, creds, nil)
	target := ConnectionTarget{Provider: "up42", Tenant: "ws", URL: "https://hookflow.test/webhooks/up42/ws"}
	register := func(id string) Registered {
		t.Helper()
		v, err := env.ExecuteActivity(c.RegisterWebhook, RegisterInput{Target: target, WebhookID: id})
		if err != nil {
			t.Fatal(err)
		}
		var out Registered
		_ = v.Get(&out)
		return out
	}
	check := func(id string) CheckOutput {
		t.Helper()
		v, err := env.ExecuteActivity(c.CheckWebhook, WebhookInput{Target: target, WebhookID: id})
		if err != nil {
			t.Fatal(err)
		}
		var out CheckOutput
		_ = v.Get(&out)
		return out
	}
	first := register("")
	if !first.Created || first.WebhookID == "" {
		t.Fatalf("first: %+v", first)
	}
	if again := register(""); again.Created || again.WebhookID != first.WebhookID {
		t.Errorf("again: %+v, want %s found, not created", again, first.WebhookID)
	}
	if got := check(first.WebhookID); !got.Found || len(got.Reasons) != 0 {
		t.Errorf("check: %+v, want found without drift", got)
	}
	r := registration.UP42(srv.URL, nil)
	want := registration.Want{Tenant: "ws", URL: target.URL, Secret: "s1", AccessToken: testToken}
	if err := r.Delete(context.Background(), want, first.WebhookID); err != nil {
		t.Fatal(err)
	}
	if got := check(first.WebhookID); got.Found {
		t.Errorf("check after delete: %+v, want gone", got)
	}
	repaired := register(first.WebhookID)
	if !repaired.Created || repaired.WebhookID == first.WebhookID {
		t.Errorf("repair: %+v, want a new webhook", repaired)
	}
	if _, err := env.ExecuteActivity(c.DeleteWebhook, WebhookInput{Target: target, WebhookID: repaired.WebhookID}); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := r.Find(context.Background(), want); err != nil || ok {
		t.Errorf("after DeleteWebhook: found %v, %v", ok, err)
	}
}

// TestConnectionRefusals: a provider's refusal is non-retryable with its
// words, the secret and token it quotes redacted; a 503 is retryable; a
// provider without a registration API is refused.
func TestConnectionRefusals(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if strings.Contains(r.URL.Path, "busy") {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusBadRequest)
		// The longest description registration keeps, ending in a mark.
		pad := strings.Repeat("x", 1024-len(r.Header.Get("X-Access-Token"))-len(body)-len("bad request  END"))
		_, _ = io.WriteString(w, `{"identifier":"INVALID_PARAMETERS","description":"bad request `+r.Header.Get("X-Access-Token")+` `+string(body)+pad+`END"}`)
	}))
	defer srv.Close()
	creds := &memCreds{secrets: []string{"secret-in-clear"}}
	env, c := connEnv(t, srv.URL, creds, nil)
	_, err := env.ExecuteActivity(c.RegisterWebhook, RegisterInput{Target: ConnectionTarget{Provider: "fenix", Tenant: "shop", URL: "https://h.test/x"}})
	var app *temporal.ApplicationError
	if !errors.As(err, &app) || app.Type() != ErrConnectionRefused || !app.NonRetryable() {
		t.Fatalf("err = %v, want a non-retryable %s", err, ErrConnectionRefused)
	}
	if msg := app.Message(); !strings.Contains(msg, "INVALID_PARAMETERS") || strings.Contains(msg, testToken) || !strings.Contains(msg, "[redacted]") {
		t.Errorf("message %q, want the identifier and the token redacted", msg)
	}
	if msg := app.Message(); !strings.HasSuffix(msg, "END") {
		t.Errorf("message %q, want the whole description", msg)
	}

	busy := &Connections{
		Registrars:  func(p string) (registration.Registrar, error) { return registration.New(p, srv.URL+"/busy", nil) },
		Credentials: creds,
	}
	env.RegisterActivity(busy)
	_, err = env.ExecuteActivity(busy.CheckWebhook, WebhookInput{Target: ConnectionTarget{Provider: "up42", Tenant: "ws", URL: "https://h.test/x"}, WebhookID: "1"})
	if !errors.As(err, &app) || app.Type() != ErrConnectionUnavailable || app.NonRetryable() {
		t.Errorf("503: %v, want a retryable %s", err, ErrConnectionUnavailable)
	}
	if strings.Contains(err.Error(), "secret-in-clear") {
		t.Errorf("error quotes the secret: %v", err)
	}

	_, err = env.ExecuteActivity(c.EnsureSecret, EnsureSecretInput{Provider: "phoenix", Tenant: "t"})
	if !errors.As(err, &app) || app.Type() != ErrConnectionRefused {
		t.Errorf("phoenix: %v, want %s", err, ErrConnectionRefused)
	}
}

// TestAwaitVerified: a delivery verified at or after Since ends the wait;
// one before it does not, and the wait ends unverified after Within.
func TestAwaitVerified(t *testing.T) {
	since := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, tc := range []struct {
		name string
		at   time.Time
		want bool
	}{
		{"never", time.Time{}, false},
		{"before the test", since.Add(-time.Second), false},
		{"at the test", since, true},
		{"after", since.Add(time.Second), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env, c := connEnv(t, "http://unused.test", &memCreds{}, memVerified{at: tc.at})
			v, err := env.ExecuteActivity(c.AwaitVerified, AwaitVerifiedInput{Provider: "up42", Tenant: "ws", Since: since, Within: 50 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			var out VerifiedOutput
			_ = v.Get(&out)
			if out.Verified != tc.want || tc.want && !out.At.Equal(tc.at) {
				t.Errorf("got %+v, want verified %v", out, tc.want)
			}
		})
	}
}

// failingCreds fail every call with err.
type failingCreds struct{ err error }

func (f failingCreds) Secrets(context.Context, string, string) ([]string, error)  { return nil, f.err }
func (f failingCreds) SetSecrets(context.Context, string, string, []string) error { return f.err }
func (f failingCreds) AccessToken(context.Context, string, string) (string, error) {
	return "", f.err
}

// permanentErr is a store error no retry can fix (the tenant gone, no key).
type permanentErr struct{}

func (permanentErr) Error() string   { return "tenant shop: runtime tenants need HOOKFLOW_SECRETS_KEY" }
func (permanentErr) Permanent() bool { return true }

// TestCredentialsRefusals: a credentials failure the store calls permanent
// is a refusal, any other is worth retrying.
func TestCredentialsRefusals(t *testing.T) {
	for _, tt := range []struct {
		name string
		err  error
		want string
	}{
		{"permanent", permanentErr{}, ErrConnectionRefused},
		{"transient", errors.New("temporal did not answer"), ErrConnectionUnavailable},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var s testsuite.WorkflowTestSuite
			env := s.NewTestActivityEnvironment()
			c := &Connections{
				Registrars:  func(p string) (registration.Registrar, error) { return registration.New(p, "http://127.0.0.1:1", nil) },
				Credentials: failingCreds{tt.err},
			}
			env.RegisterActivity(c)
			_, err := env.ExecuteActivity(c.EnsureSecret, EnsureSecretInput{Provider: "up42", Tenant: "shop"})
			var app *temporal.ApplicationError
			if !errors.As(err, &app) || app.Type() != tt.want || app.NonRetryable() != (tt.want == ErrConnectionRefused) {
				t.Errorf("EnsureSecret: %v, want %s", err, tt.want)
			}
		})
	}
}
