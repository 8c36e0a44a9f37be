package receivers_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/redis/go-redis/v9"
	"go.temporal.io/api/serviceerror"

	"github.com/hookflow/hookflow/internal/dev/deduptest"
	"github.com/hookflow/hookflow/internal/dev/testenv"
	"github.com/hookflow/hookflow/providers"
	"github.com/hookflow/hookflow/receivers"
	"github.com/hookflow/hookflow/receivers/dedup"
	"github.com/hookflow/hookflow/receivers/starter"
	"github.com/hookflow/hookflow/signature"
)

// countingDedup counts the claims made of a Dedup.
type countingDedup struct {
	receivers.Dedup
	claims atomic.Int32
}

func (d *countingDedup) Claim(ctx context.Context, keys ...string) (dedup.Claim, error) {
	d.claims.Add(1)
	return d.Dedup.Claim(ctx, keys...)
}

// redisRig is the Phoenix rig on a real Redis dedup store, whose claims
// are counted.
func redisRig(t *testing.T, store *dedup.Redis, opts func(*receivers.Options)) (*rig, *countingDedup) {
	t.Helper()
	d := &countingDedup{Dedup: store}
	r := newRig(t, func(o *receivers.Options) {
		o.Dedup = d
		if opts != nil {
			opts(o)
		}
	})
	return r, d
}

// dbKeys returns every key in c's database.
func dbKeys(t *testing.T, c *redis.Client) []string {
	t.Helper()
	keys, err := c.Keys(context.Background(), "*").Result()
	if err != nil {
		t.Fatalf("KEYS: %v", err)
	}
	return keys
}

// phoenixEvent is a Phoenix order-status body; json.Marshal escapes control
// characters, which the receiver's decoder turns back into the raw runes.
func phoenixEvent(t *testing.T, id, orderID, status string) []byte {
	t.Helper()
	m := map[string]any{"event": "order.status.updated", "timestamp": "2026-11-20T10:01:02.000Z",
		"data": map[string]string{"orderId": orderID, "orderStatus": status}}
	if id != "" {
		m["id"] = id
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestUnusableIDs: an entity or event ID that is too long or not printable
// is answered 400 naming the field, before the dedup claim and without
// reaching Temporal; IDs at the limits are accepted.
func TestUnusableIDs(t *testing.T) {
	store, c := deduptest.NewRedis(t)
	const (
		invalidOrderID = `{"error":"invalid data.orderId"}`
		invalidEventID = `{"error":"invalid eventId"}`
	)
	tests := []struct {
		name     string
		body     []byte
		wantBody string // "" when accepted
	}{
		{"entity ID of 256 bytes", phoenixEvent(t, "evt-1", strings.Repeat("a", 256), "pending"), ""},
		{"entity ID of 256 bytes in 2-byte runes", phoenixEvent(t, "evt-1", strings.Repeat("é", 128), "pending"), ""},
		{"entity ID with a space and letters", phoenixEvent(t, "evt-1", "Bestellung Nr. 7 für Zoë", "pending"), ""},
		{"event ID of 512 bytes", phoenixEvent(t, strings.Repeat("e", 512), "ord-1", "pending"), ""},
		{"entity ID of 257 bytes", phoenixEvent(t, "evt-1", strings.Repeat("a", 257), "pending"), invalidOrderID},
		{"entity ID of 257 bytes in runes", phoenixEvent(t, "evt-1", strings.Repeat("é", 128)+"a", "pending"), invalidOrderID},
		{"Phoenix orderId of 990 characters", phoenixEvent(t, "evt-1", strings.Repeat("o", 990), "pending"), invalidOrderID},
		{"Phoenix orderId of 1500 characters", phoenixEvent(t, "evt-1", strings.Repeat("o", 1500), "pending"), invalidOrderID},
		{"Phoenix orderId of 1500 characters without id", phoenixEvent(t, "", strings.Repeat("o", 1500), "pending"), invalidOrderID},
		{"event ID of 513 bytes", phoenixEvent(t, strings.Repeat("e", 513), "ord-1", "pending"), invalidEventID},
		{"built event ID over 512 bytes", phoenixEvent(t, "", "ord-1", strings.Repeat("s", 600)), invalidEventID},
		{"newline in entity ID", phoenixEvent(t, "evt-1", "ord-1\nord-2", "pending"), invalidOrderID},
		{"tab in entity ID", phoenixEvent(t, "evt-1", "ord-1\t", "pending"), invalidOrderID},
		{"line separator in entity ID", phoenixEvent(t, "evt-1", "ord-1\u2028", "pending"), invalidOrderID},
		{"NUL in event ID", phoenixEvent(t, "evt-1\x00", "ord-1", "pending"), invalidEventID},
		{"DEL in event ID", phoenixEvent(t, "evt-1\x7f", "ord-1", "pending"), invalidEventID},
		{"newline in event ID", phoenixEvent(t, "evt-1\n", "ord-1", "pending"), invalidEventID},
		{"zero-width space in event ID", phoenixEvent(t, "evt-\u200b1", "ord-1", "pending"), invalidEventID},
		{"invalid UTF-8 in entity ID",
			[]byte("{\"id\":\"evt-1\",\"event\":\"order.status.updated\",\"data\":{\"orderId\":\"ord-\xff\",\"orderStatus\":\"pending\"}}"), invalidOrderID},
		{"invalid UTF-8 in event ID",
			[]byte("{\"id\":\"evt-\xc3\x28\",\"event\":\"order.status.updated\",\"data\":{\"orderId\":\"ord-1\",\"orderStatus\":\"pending\"}}"), invalidEventID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Cleanup(func() { c.FlushDB(context.Background()) })
			r, d := redisRig(t, store, nil)
			resp := post(t, r.app, "/webhooks/phoenix", tt.body, bearer(phoenixSecret))
			starts, claims, keys := len(r.starter.Calls()), d.claims.Load(), dbKeys(t, c)
			if tt.wantBody == "" {
				wantStatus(t, resp, 200)
				if starts != 1 || claims != 1 || len(keys) != 1 {
					t.Errorf("accepted: got %d start(s), %d claim(s), records %q; want 1, 1 and one record", starts, claims, keys)
				}
				return
			}
			wantStatus(t, resp, 400)
			wantBody(t, resp, tt.wantBody)
			if starts != 0 || claims != 0 || len(keys) != 0 {
				t.Errorf("refused: got %d start(s), %d claim(s), records %q; want none", starts, claims, keys)
			}
		})
	}
}

// TestUnusableIDFieldNames: each provider names the unusable field as its
// engineers know it, or generically where the ID is built from several.
func TestUnusableIDFieldNames(t *testing.T) {
	const secret = "field-names-secret"
	token := strings.Repeat("t", 32) + strings.Repeat("u", 32)
	long := strings.Repeat("x", 600)
	up42 := func(id, orderID string) ([]byte, map[string]string) {
		b := fmt.Appendf(nil, `{"id":%q,"event":"order.status","data":{"orderId":%q,"status":"RUNNING"}}`, id, orderID)
		return b, map[string]string{providers.UP42SignatureHeader: providers.UP42Signature([]byte(secret), b, signature.Hex)}
	}
	fenix := func(eventID, tracking string) ([]byte, map[string]string) {
		b := fmt.Appendf(nil, `{"tracking_number":%q,"status":"in_transit"}`, tracking)
		return b, map[string]string{
			providers.FenixSignatureHeader: providers.FenixSignature([]byte(secret), b),
			providers.FenixTopicHeader:     providers.FenixTrackingUpdated,
			providers.FenixEventIDHeader:   eventID,
		}
	}
	phosphor := func(id, item string) ([]byte, map[string]string) {
		b := fmt.Appendf(nil, `{"id":%q,"type":"TOKEN_TX","data":{"item":{"id":%q},"tx_type":"TRANSFER"}}`, id, item)
		return b, map[string]string{providers.PhosphorSecretHeader: secret}
	}
	phantom := func(typ, id string) ([]byte, map[string]string) {
		b := fmt.Appendf(nil, `{"type":%q,"created":1,"data":{"id":%q}}`, typ, id)
		return b, map[string]string{providers.PhantomTokenHeader: providers.PhantomAuthorization(token)}
	}
	tests := []struct {
		name      string
		route     string
		build     func(a, b string) ([]byte, map[string]string)
		a, b      string
		wantField string
	}{
		{"up42 entity", "/webhooks/up42", up42, "evt-1", long, "data.orderId"},
		{"up42 event", "/webhooks/up42", up42, long, "ord-1", "id"},
		{"fenix entity", "/webhooks/fenix", fenix, "evt-1", "1Z\n99", "tracking_number"},
		{"fenix event ID header, invalid UTF-8", "/webhooks/fenix", fenix, "evt-\xff", "1Z99", "X-Fenix-Event-Id"},
		{"phosphor entity", "/webhooks/phosphor", phosphor, "evt-1", long, "entityId"},
		{"phosphor event", "/webhooks/phosphor", phosphor, long, "item-1", "eventId"},
		{"phantom entity", "/webhooks/phantom", phantom, "transaction.applied", long, "data.id"},
		{"phantom built event ID", "/webhooks/phantom", phantom, "transaction." + long, "tx-1", "eventId"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake, dedup := &fakeStarter{}, newMemDedup()
			rcv := receivers.New(receivers.Options{Start: starter.Starter{Client: fake}, Dedup: dedup, Log: slog.New(slog.DiscardHandler), MaxBodyBytes: 4096})
			app := receivers.NewApp(rcv, []receivers.Provider{
				providers.UP42(providers.UP42Verifier(providers.UP42SignatureHeader, signature.Hex, []string{secret})),
				providers.Fenix(providers.FenixVerifier([]string{secret})),
				providers.Phosphor(providers.PhosphorVerifier([]string{secret})),
				providers.Phantom(providers.PhantomVerifier([]string{token})),
			})
			body, headers := tt.build(tt.a, tt.b)
			resp := post(t, app, tt.route, body, headers)
			wantStatus(t, resp, 400)
			wantBody(t, resp, `{"error":"invalid `+tt.wantField+`"}`)
			if n := len(fake.Calls()); n != 0 || dedup.claims != 0 {
				t.Errorf("got %d start(s) and %d claim(s), want none", n, dedup.claims)
			}
		})
	}
}

// TestTemporalRefusal: Temporal's permanent refusal (invalid argument) is a
// 400 without Retry-After that leaves no dedup record, so the provider stops
// retrying; any other failure stays a 503 to retry.
func TestTemporalRefusal(t *testing.T) {
	body, vec := loadVector(t, fulfilledFile)
	store, c := deduptest.NewRedis(t)
	invalid := serviceerror.NewInvalidArgument("WorkflowId length exceeds limit.")
	tests := []struct {
		name        string
		err         error
		status      int
		retryAfter  bool
		wantOutcome receivers.Outcome
	}{
		{"invalid argument", invalid, 400, false, receivers.OutcomeRejected},
		{"invalid argument wrapped", fmt.Errorf("shared starter: %w", invalid), 400, false, receivers.OutcomeRejected},
		{"unavailable", serviceerror.NewUnavailable("frontend down"), 503, true, receivers.OutcomeUnavailable},
		{"other error", errors.New("connection refused"), 503, true, receivers.OutcomeUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Cleanup(func() { c.FlushDB(context.Background()) })
			m := &countingMetrics{}
			r, d := redisRig(t, store, func(o *receivers.Options) { o.Metrics = m })
			r.starter.setErr(tt.err)

			resp := post(t, r.app, "/webhooks/phoenix", body, vec.Headers)
			wantStatus(t, resp, tt.status)
			if got := resp.header.Get("Retry-After") != ""; got != tt.retryAfter {
				t.Errorf("Retry-After set: got %v, want %v", got, tt.retryAfter)
			}
			msg, _ := resp.json(t)["error"].(string)
			if msg == "" || strings.Contains(msg, "WorkflowId") || strings.Contains(msg, "frontend") {
				t.Errorf("body %s: want an error message of our own", resp.body)
			}
			if n, claims := len(r.starter.Calls()), d.claims.Load(); n != 1 || claims != 1 {
				t.Errorf("got %d start(s) and %d claim(s), want 1 and 1", n, claims)
			}
			if keys := dbKeys(t, c); len(keys) != 0 {
				t.Errorf("dedup records left: %q, want none", keys)
			}
			m.mu.Lock()
			defer m.mu.Unlock()
			if len(m.outcomes) != 1 || m.outcomes[0] != tt.wantOutcome {
				t.Errorf("outcomes: got %v, want [%s]", m.outcomes, tt.wantOutcome)
			}
		})
	}
}

// TestLogsClipLongValues: values taken from the request are cut in log
// lines, with their full length, however long the request made them.
func TestLogsClipLongValues(t *testing.T) {
	tests := []struct {
		name   string
		long   string // the request-derived value that must not be logged whole
		body   func(long string) []byte
		status int
	}{
		{"refused 1500-character orderId", strings.Repeat("o", 1500),
			func(s string) []byte { return phoenixEvent(t, "evt-1", s, "pending") }, 400},
		{"accepted 512-byte event ID", strings.Repeat("e", 512),
			func(s string) []byte { return phoenixEvent(t, s, "ord-1", "pending") }, 200},
		{"accepted 300-byte event type", strings.Repeat("t", 300),
			func(s string) []byte {
				return fmt.Appendf(nil, `{"id":"evt-1","event":%q,"data":{"orderId":"ord-1","orderStatus":"pending"}}`, s)
			}, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs testenv.SyncBuffer
			r := newRig(t, func(o *receivers.Options) { o.Log = slog.New(slog.NewJSONHandler(&logs, nil)) })
			wantStatus(t, post(t, r.app, "/webhooks/phoenix", tt.body(tt.long), bearer(phoenixSecret)), tt.status)

			got := logs.String()
			if got == "" {
				t.Fatal("nothing logged")
			}
			if strings.Contains(got, tt.long[:129]) {
				t.Errorf("a log line holds more than 128 bytes of the value:\n%s", got)
			}
			if want := tt.long[:128] + "…[truncated, " + fmt.Sprint(len(tt.long)) + " bytes]"; !strings.Contains(got, want) {
				t.Errorf("logs lack the clipped value %q…:\n%s", want[100:], got)
			}
		})
	}
}
