package activities

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/hookflow/hookflow/event"
	"github.com/hookflow/hookflow/signature"
	"github.com/hookflow/hookflow/telemetry/tracing"
)

// Error types of a delivery that no retry can fix. Workflows list them as
// non-retryable and record the delivery accordingly.
const (
	// ErrDeliveryGone is the type of the error returned when the target
	// answers 410: delivery to it stops for the entity.
	ErrDeliveryGone = "DeliveryGone"
	// ErrDeliveryRejected is the type of the error returned when the
	// target answers another 4xx (other than 408 and 429), or is no longer
	// configured: the delivery is recorded as failed until redelivered.
	ErrDeliveryRejected = "DeliveryRejected"
)

// MetricDeliveryAttempts counts HTTP delivery attempts, tagged destination
// and outcome (delivered, gone, rejected, retry).
const MetricDeliveryAttempts = "hookflow_delivery_attempts_total"

// Destination is one HTTP destination as the Deliver activity sends to it
// (contract section 14): its URL, its own signing secrets and the headers
// its deliveries carry. Workflows name it by Name only, so the URL, which
// may carry a token, stays out of histories.
type Destination struct {
	Name    string
	URL     string
	Secrets []string          // whsec_<base64>; each signs every delivery
	Headers map[string]string // sent with every delivery (an API key)
}

// Forward is where and how applied transitions are delivered over HTTP:
// the configured destinations, each with its signer.
type Forward struct {
	dests map[string]*endpoint // by target ID: the name, and the URL's TargetID for runs from before names
}

type endpoint struct {
	name    string
	url     string
	signer  Signer
	headers map[string]string
}

// NewForward returns the Forward of the configured destinations.
func NewForward(ds []Destination) (*Forward, error) {
	f := &Forward{dests: map[string]*endpoint{}}
	for _, d := range ds {
		signer, err := NewSigner(d.Secrets)
		if err != nil {
			return nil, fmt.Errorf("destination %s: %w", d.Name, err)
		}
		ep := &endpoint{name: d.Name, url: d.URL, signer: signer, headers: d.Headers}
		f.dests[d.Name] = ep
		if _, taken := f.dests[TargetID(d.URL)]; !taken {
			f.dests[TargetID(d.URL)] = ep
		}
	}
	return f, nil
}

// TargetID is how runs started before destinations had names name a
// forward URL: the first 12 hex digits of its SHA-256.
func TargetID(rawURL string) string {
	sum := sha256.Sum256([]byte(rawURL))
	return hex.EncodeToString(sum[:6])
}

// TargetLabel is what operators see of a URL: its scheme and host, never
// its path, query or credentials.
func TargetLabel(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "url:" + TargetID(rawURL)
	}
	return u.Scheme + "://" + u.Host
}

// DeliverInput is one transition for one destination.
type DeliverInput struct {
	Target  string // the destination's name (or a URL's TargetID)
	Message event.Outbound
}

// Signer signs deliveries with the Standard Webhooks scheme.
type Signer struct {
	keys [][]byte // one per secret; each signs every delivery
}

// NewSigner returns the Signer of secrets (whsec_<base64>).
func NewSigner(secrets []string) (Signer, error) {
	var s Signer
	for i, sec := range secrets {
		key, err := signature.StandardKey(sec)
		if err != nil {
			return Signer{}, fmt.Errorf("forward secret %d: %w", i+1, err)
		}
		s.keys = append(s.keys, key)
	}
	return s, nil
}

// Headers are the Standard Webhooks headers of body, signed with every
// secret at time at: webhook-id, webhook-timestamp and webhook-signature
// (one space-separated v1 signature per secret).
func (s Signer) Headers(id string, at time.Time, body []byte) map[string]string {
	sigs := make([]string, 0, len(s.keys))
	for _, key := range s.keys {
		sigs = append(sigs, signature.StandardSign(key, id, at.Unix(), body))
	}
	return map[string]string{
		signature.StandardID:        id,
		signature.StandardTimestamp: strconv.FormatInt(at.Unix(), 10),
		signature.StandardSignature: strings.Join(sigs, " "),
		"Content-Type":              "application/json",
	}
}

// Delivered is what a successful Deliver reports.
type Delivered struct {
	Attempts int32 // how many attempts it took
}

// Deliver POSTs one transition to a forward URL, signed. 2xx is delivered;
// 410 is returned as ErrDeliveryGone and other 4xx (but 408 and 429) as
// ErrDeliveryRejected, both non-retryable; 5xx, 408, 429, 3xx, timeouts and
// connection errors are returned as retryable, for Temporal to retry up to
// the horizon. Redirects are never followed: a client following a 301 or
// 302 would turn the POST into a GET whose 2xx reads as delivered, and
// would send the destination's headers (an API key) to wherever the
// redirect points. The webhook-id is the same on every attempt, so the target
// can deduplicate. Non-retryable errors carry the attempt count as their
// details.
func (a *Activities) Deliver(ctx context.Context, in DeliverInput) (Delivered, error) {
	attempt := activity.GetInfo(ctx).Attempt
	err := a.deliver(ctx, in, attempt)
	return Delivered{Attempts: attempt}, err
}

func (a *Activities) deliver(ctx context.Context, in DeliverInput, attempt int32) error {
	var ep *endpoint
	if a.Forward != nil {
		ep = a.Forward.dests[in.Target]
	}
	if ep == nil {
		return temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("destination %s is no longer configured", in.Target), ErrDeliveryRejected, nil, attempt)
	}
	u := ep.url
	outcome := "delivered"
	defer func() {
		countDelivery(ctx, ep.name, outcome)
	}()
	body, err := json.Marshal(in.Message)
	if err != nil {
		outcome = "rejected"
		return temporal.NewNonRetryableApplicationError("encode delivery "+in.Message.ID(), ErrDeliveryRejected, err, attempt)
	}
	headers := ep.signer.Headers(in.Message.ID(), time.Now(), body)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		outcome = "rejected"
		return temporal.NewNonRetryableApplicationError("build delivery request to "+TargetLabel(u), ErrDeliveryRejected, nil, attempt)
	}
	for k, v := range ep.headers {
		req.Header.Set(k, v)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	// The activity's span, in the event's trace when tracing is on: the
	// user's spans join it (contract section 16).
	tracing.Inject(ctx, req.Header)
	resp, err := withoutRedirects(a.HTTP).Do(req)
	if err != nil {
		outcome = "retry"
		// The URL may carry a token: name the target by its label only.
		return fmt.Errorf("deliver %s to %s: %s", in.Message.ID(), TargetLabel(u), excerpt(transportError(err)))
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	switch code := resp.StatusCode; {
	case code >= 200 && code <= 299:
		return nil
	case code == http.StatusGone:
		outcome = "gone"
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf("%s answered %s", TargetLabel(u), excerpt(resp.Status)), ErrDeliveryGone, nil, attempt)
	case code == http.StatusTooManyRequests || code == http.StatusRequestTimeout || code >= 500:
		outcome = "retry"
		return fmt.Errorf("%s answered %s", TargetLabel(u), excerpt(resp.Status))
	case code >= 300 && code <= 399:
		// Retried like a 5xx: a moved destination is an operator's fix
		// (its URL), not a reason to drop the entity's deliveries.
		outcome = "retry"
		return fmt.Errorf("%s answered %s (redirects are not followed)", TargetLabel(u), excerpt(resp.Status))
	default:
		outcome = "rejected"
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf("%s answered %s", TargetLabel(u), excerpt(resp.Status)), ErrDeliveryRejected, nil, attempt)
	}
}

// withoutRedirects returns a copy of c that never follows a redirect: its
// Do returns the 3xx answer itself. The copy shares c's Transport, so its
// connections.
func withoutRedirects(c *http.Client) *http.Client {
	nc := *c
	nc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &nc
}

// sameHostRedirects returns a copy of c that follows a redirect only to
// the scheme and host it asked, as provider API reads do: a configured
// API's credential header never goes to another host. A redirect elsewhere
// comes back as the 3xx answer itself.
func sameHostRedirects(c *http.Client) *http.Client {
	nc := *c
	nc.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		switch {
		case len(via) >= 10:
			return errors.New("stopped after 10 redirects")
		case req.URL.Scheme != via[0].URL.Scheme || req.URL.Host != via[0].URL.Host:
			return http.ErrUseLastResponse
		}
		return nil
	}
	return &nc
}

// transportError describes a failed request without its URL.
func transportError(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err.Error()
	}
	return err.Error()
}

// countDelivery counts one delivery attempt.
func countDelivery(ctx context.Context, destination, outcome string) {
	activity.GetMetricsHandler(ctx).WithTags(map[string]string{"destination": destination, "outcome": outcome}).
		Counter(MetricDeliveryAttempts).Inc(1)
}
