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
	"github.com/hookflow/hookflow/internal/tracing"
	"github.com/hookflow/hookflow/internal/webhook"
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

// MetricDeliveryAttempts counts HTTP delivery attempts, tagged target and
// outcome (delivered, gone, rejected, retry).
const MetricDeliveryAttempts = "hookflow_delivery_attempts_total"

// Forward is where and how applied transitions are delivered over HTTP:
// the configured URLs and their signers. Workflows name a URL by its
// TargetID, so the URL, which may carry a token, stays out of histories.
type Forward struct {
	urls map[string]string // target ID -> URL
	keys [][]byte          // one per secret; each signs every delivery
}

// NewForward returns the Forward of the configured URLs, signed with every
// secret (whsec_<base64>).
func NewForward(urls, secrets []string) (*Forward, error) {
	f := &Forward{urls: map[string]string{}}
	for _, u := range urls {
		f.urls[TargetID(u)] = u
	}
	for i, s := range secrets {
		key, err := webhook.StandardKey(s)
		if err != nil {
			return nil, fmt.Errorf("forward secret %d: %w", i+1, err)
		}
		f.keys = append(f.keys, key)
	}
	return f, nil
}

// TargetID names a forward URL in workflow histories without spelling it
// out: the first 12 hex digits of its SHA-256.
func TargetID(rawURL string) string {
	sum := sha256.Sum256([]byte(rawURL))
	return hex.EncodeToString(sum[:6])
}

// TargetLabel is what operators see of a forward URL: its scheme and host,
// never its path, query or credentials.
func TargetLabel(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "url:" + TargetID(rawURL)
	}
	return u.Scheme + "://" + u.Host
}

// DeliverInput is one transition for one forward URL.
type DeliverInput struct {
	Target  string // TargetID of the URL
	Message event.Outbound
}

// Headers are the Standard Webhooks headers of body, signed with every
// secret at time at: webhook-id, webhook-timestamp and webhook-signature
// (one space-separated v1 signature per secret).
func (f *Forward) Headers(id string, at time.Time, body []byte) map[string]string {
	sigs := make([]string, 0, len(f.keys))
	for _, key := range f.keys {
		sigs = append(sigs, webhook.StandardSign(key, id, at.Unix(), body))
	}
	return map[string]string{
		webhook.StandardID:        id,
		webhook.StandardTimestamp: strconv.FormatInt(at.Unix(), 10),
		webhook.StandardSignature: strings.Join(sigs, " "),
		"Content-Type":            "application/json",
	}
}

// Delivered is what a successful Deliver reports.
type Delivered struct {
	Attempts int32 // how many attempts it took
}

// Deliver POSTs one transition to a forward URL, signed. 2xx is delivered;
// 410 is returned as ErrDeliveryGone and other 4xx (but 408 and 429) as
// ErrDeliveryRejected, both non-retryable; 5xx, 408, 429, timeouts and
// connection errors are returned as retryable, for Temporal to retry up to
// the horizon. The webhook-id is the same on every attempt, so the target
// can deduplicate. Non-retryable errors carry the attempt count as their
// details.
func (a *Activities) Deliver(ctx context.Context, in DeliverInput) (Delivered, error) {
	attempt := activity.GetInfo(ctx).Attempt
	err := a.deliver(ctx, in, attempt)
	return Delivered{Attempts: attempt}, err
}

func (a *Activities) deliver(ctx context.Context, in DeliverInput, attempt int32) error {
	f := a.Forward
	var u string
	if f != nil {
		u = f.urls[in.Target]
	}
	if u == "" {
		return temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("forward target %s is no longer configured", in.Target), ErrDeliveryRejected, nil, attempt)
	}
	outcome := "delivered"
	defer func() {
		countDelivery(ctx, TargetLabel(u), outcome)
	}()
	body, err := json.Marshal(in.Message)
	if err != nil {
		outcome = "rejected"
		return temporal.NewNonRetryableApplicationError("encode delivery "+in.Message.ID(), ErrDeliveryRejected, err, attempt)
	}
	headers := f.Headers(in.Message.ID(), time.Now(), body)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		outcome = "rejected"
		return temporal.NewNonRetryableApplicationError("build delivery request to "+TargetLabel(u), ErrDeliveryRejected, nil, attempt)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	// The activity's span, in the event's trace when tracing is on: the
	// user's spans join it (contract section 16).
	tracing.Inject(ctx, req.Header)
	resp, err := a.HTTP.Do(req)
	if err != nil {
		outcome = "retry"
		// The URL may carry a token: name the target by its label only.
		return fmt.Errorf("deliver %s to %s: %s", in.Message.ID(), TargetLabel(u), transportError(err))
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	switch code := resp.StatusCode; {
	case code >= 200 && code <= 299:
		return nil
	case code == http.StatusGone:
		outcome = "gone"
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf("%s answered %s", TargetLabel(u), resp.Status), ErrDeliveryGone, nil, attempt)
	case code == http.StatusTooManyRequests || code == http.StatusRequestTimeout || code >= 500:
		outcome = "retry"
		return fmt.Errorf("%s answered %s", TargetLabel(u), resp.Status)
	default:
		outcome = "rejected"
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf("%s answered %s", TargetLabel(u), resp.Status), ErrDeliveryRejected, nil, attempt)
	}
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
func countDelivery(ctx context.Context, target, outcome string) {
	activity.GetMetricsHandler(ctx).WithTags(map[string]string{"target": target, "outcome": outcome}).
		Counter(MetricDeliveryAttempts).Inc(1)
}
