// Package registration registers hookflow's own webhook URL at providers
// that have a registration API (contract section 18): UP42's webhooks API
// and Fenix's webhook registration API, behind one Registrar, so the
// Connection workflow's activities never name a provider. Provider refusals
// are *RefusedError values; Permanent says which failures no retry can fix.
package registration

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/hookflow/hookflow/providers"
)

// Bounds of what the clients read from a provider.
const (
	// MaxResponseBody is the largest answer read; a larger successful
	// answer is an error, a larger refusal is read truncated.
	MaxResponseBody = 1 << 20
	// MaxWebhooks is how many webhooks one tenant's list may hold; a
	// longer list is an error rather than a partial view, so Find never
	// misses hookflow's own webhook and registers a second one.
	MaxWebhooks = 1000
	// MaxEvents is how many events the provider's event list, or one
	// webhook, may name.
	MaxEvents = 100
	// MaxFilters is the largest Want.Filters, in bytes.
	MaxFilters = 16 << 10
	// maxDescription bounds a refusal's description, which ends up in
	// Temporal failures.
	maxDescription = 1024
	// defaultTimeout bounds one call when the constructors get no client.
	defaultTimeout = 30 * time.Second
)

// Webhook is the provider's view of one registered webhook.
type Webhook struct {
	ID     string
	URL    string
	Events []string // UP42's events; Fenix's topic
	Active bool
	// Status is the provider's word for the webhook's state (Fenix's
	// ACTIVE, INACTIVE or DISABLED); empty for UP42, which has only Active.
	Status string
	// Filters are Fenix's filters as registered; nil for UP42.
	Filters json.RawMessage
}

// Want is what hookflow wants registered for one tenant.
type Want struct {
	// Tenant is the UP42 workspace ID or the Fenix store name.
	Tenant string
	// URL is where the provider is to send webhooks:
	// HOOKFLOW_PUBLIC_URL plus the tenant's route.
	URL string
	// Secret is the signing secret hookflow generated (UP42); "" for
	// Fenix, which signs with the client secret.
	Secret string
	// AccessToken authenticates the calls: UP42's API token, sent as a
	// bearer token, or the Fenix store's access token.
	AccessToken string
	// Filters are Fenix's filters, a JSON array of
	// {carrier, sub_filter:{delivery_statuses}}; nil for none and for UP42.
	Filters json.RawMessage
}

// TestResult is what a provider's webhook test reports.
type TestResult struct {
	Run, Succeeded, Failed int
}

// Registrar registers, checks and removes hookflow's webhook at one
// provider. Every method is idempotent, as Temporal activities need.
type Registrar interface {
	// Find returns hookflow's own webhook for want's tenant, the one with
	// want's URL (a healthy one first). The Connection workflow calls it
	// before Create, so a crash between Create and recording its ID never
	// leaves two.
	Find(ctx context.Context, want Want) (Webhook, bool, error)
	// Create registers want.
	Create(ctx context.Context, want Want) (Webhook, error)
	// Get returns the webhook id; false when it is gone at the provider.
	Get(ctx context.Context, want Want, id string) (Webhook, bool, error)
	// Update repairs the webhook id to match want: re-activates,
	// re-points, sets a new secret for a rotation. The workflow keeps the
	// returned webhook's ID, which differs from id where the provider has
	// no update and the webhook is registered anew (Fenix).
	Update(ctx context.Context, want Want, id string) (Webhook, error)
	// Delete removes the webhook id; one already gone is success.
	Delete(ctx context.Context, want Want, id string) error
	// Test has the provider send the webhook a test delivery. It returns
	// ErrUnsupported where the provider has no test (Fenix); wait for the
	// first verified event instead.
	Test(ctx context.Context, want Want, id string) (TestResult, error)
	// Drift says, in words for an operator, how got differs from want:
	// inactive or disabled, another URL, the event or topic missing,
	// other filters. None means got is as wanted. A missing webhook is
	// Get's false, not drift.
	Drift(want Want, got Webhook) []string
	// NeedsSecret says whether the provider signs with a secret hookflow
	// generates and registers (Want.Secret: UP42), rather than one of its
	// own (Fenix's client secret). The Connection workflow asks, so it
	// never names a provider.
	NeedsSecret() bool
}

// Errors besides *RefusedError. Permanent reports all three as permanent.
var (
	// ErrUnsupported is returned by an operation the provider's API does
	// not offer (Fenix's Test).
	ErrUnsupported = fmt.Errorf("not offered by the provider's API: %w", errors.ErrUnsupported)
	// ErrInvalidWant is returned, wrapped with what is wrong, for a Want
	// that cannot be registered (no tenant, a relative URL, ...), before
	// any call.
	ErrInvalidWant = errors.New("invalid registration")
	// ErrNoEvent is returned by UP42's Create and Update when UP42's
	// event list does not name order.status.
	ErrNoEvent = errors.New("provider does not list the webhook event hookflow processes")
	// ErrNoRegistrationAPI is returned by New for a provider hookflow
	// cannot register at: its webhook is set up by hand.
	ErrNoRegistrationAPI = errors.New("provider has no registration API hookflow uses")
)

// New returns the Registrar for the provider named name, calling its API
// at baseURL (UP42_API_URL, FENIX_API_URL).
func New(name, baseURL string, hc *http.Client) (Registrar, error) {
	switch name {
	case "up42":
		return UP42(baseURL, hc), nil
	case "fenix":
		return Fenix(baseURL, hc), nil
	}
	return nil, fmt.Errorf("%s: %w", name, ErrNoRegistrationAPI)
}

// RefusedError is a provider's non-2xx answer.
type RefusedError struct {
	Provider string
	Status   int
	// Identifier is Fenix's error identifier (INVALID_PARAMETERS, ...);
	// UP42's errors have none.
	Identifier string
	// Description is Fenix's description or UP42's error message, at
	// most maxDescription bytes.
	Description string
}

func (e *RefusedError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s refused with %d", e.Provider, e.Status)
	if e.Identifier != "" {
		b.WriteString(" " + e.Identifier)
	}
	if e.Description != "" {
		b.WriteString(": " + e.Description)
	}
	return b.String()
}

// Permanent says no retry can change the answer: a 4xx other than 408
// (timeout) and 429 (rate limit). 5xx and those two are worth retrying.
func (e *RefusedError) Permanent() bool {
	return e.Status >= 400 && e.Status < 500 && e.Status != http.StatusRequestTimeout && e.Status != http.StatusTooManyRequests
}

// Permanent says whether err, from a Registrar, is one no retry can fix:
// a permanent *RefusedError, ErrUnsupported, ErrInvalidWant or ErrNoEvent.
// Network errors, 5xx, 408 and 429 are not. Activities turn permanent
// errors into non-retryable application errors.
func Permanent(err error) bool {
	var re *RefusedError
	if errors.As(err, &re) {
		return re.Permanent()
	}
	return errors.Is(err, ErrUnsupported) || errors.Is(err, ErrInvalidWant) || errors.Is(err, ErrNoEvent)
}

// isGone says whether err is the provider's 404.
func isGone(err error) bool {
	var re *RefusedError
	return errors.As(err, &re) && re.Status == http.StatusNotFound
}

// client is the HTTP part both registrars share: one place that sends,
// bounds what it reads and turns non-2xx answers into *RefusedError.
type client struct {
	provider string
	base     string
	hc       *http.Client
	// auth sets the credentials of want on req.
	auth func(req *http.Request, want Want)
	// refusal reads the provider's error body into e.
	refusal func(body []byte, e *RefusedError)
}

func newClient(provider, baseURL string, hc *http.Client) client {
	if hc == nil {
		hc = &http.Client{Timeout: defaultTimeout}
	}
	return client{provider: provider, base: strings.TrimRight(baseURL, "/"), hc: hc}
}

// call sends method path (with in as its JSON body unless nil) and decodes
// a 2xx answer into out unless nil.
func (c client) call(ctx context.Context, want Want, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("encode %s request: %w", c.provider, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	req.Header.Set("Accept", providers.JSONType)
	if in != nil {
		req.Header.Set("Content-Type", providers.JSONType)
	}
	c.auth(req, want)
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s %s: %w", c.provider, method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, MaxResponseBody+1))
	if err != nil {
		return fmt.Errorf("%s %s %s: read answer: %w", c.provider, method, path, err)
	}
	if resp.StatusCode/100 != 2 {
		e := &RefusedError{Provider: c.provider, Status: resp.StatusCode}
		c.refusal(b, e)
		if e.Identifier == "" && e.Description == "" { // not the provider's error shape: a proxy's page, say
			e.Description = strings.TrimSpace(string(b))
		}
		e.Description = truncate(e.Description, maxDescription)
		return fmt.Errorf("%s %s: %w", method, path, e)
	}
	if len(b) > MaxResponseBody {
		return fmt.Errorf("%s %s %s: answer larger than %d bytes", c.provider, method, path, MaxResponseBody)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("%s %s %s: answer is not the expected JSON: %w", c.provider, method, path, err)
	}
	return nil
}

// check says what is wrong with want for any provider, wrapping
// ErrInvalidWant.
func check(want Want) error {
	var bad []string
	if want.Tenant == "" {
		bad = append(bad, "no tenant")
	}
	if u, err := url.Parse(want.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		bad = append(bad, "URL must be an absolute http or https URL")
	}
	if want.AccessToken == "" {
		bad = append(bad, "no access token")
	}
	if len(bad) > 0 {
		return fmt.Errorf("%w: %s", ErrInvalidWant, strings.Join(bad, "; "))
	}
	return nil
}

// find picks hookflow's webhook out of a tenant's list: the first with
// want's URL and no drift, else the first with want's URL.
func find(r Registrar, want Want, list []Webhook) (Webhook, bool) {
	var first *Webhook
	for i, h := range list {
		if h.URL != want.URL {
			continue
		}
		if len(r.Drift(want, h)) == 0 {
			return h, true
		}
		if first == nil {
			first = &list[i]
		}
	}
	if first == nil {
		return Webhook{}, false
	}
	return *first, true
}

// truncate shortens s to at most n bytes.
func truncate(s string, n int) string {
	if len(s) > n {
		return strings.ToValidUTF8(s[:n], "") + "…"
	}
	return s
}
