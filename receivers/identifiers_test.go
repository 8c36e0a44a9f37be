package receivers_test

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/converter"

	"github.com/hookflow/hookflow/event"
	"github.com/hookflow/hookflow/providers"
	"github.com/hookflow/hookflow/receivers"
	"github.com/hookflow/hookflow/receivers/starter"
	"github.com/hookflow/hookflow/signature"
)

// vectorApp serves every built-in provider with the secrets of vectors.json.
func vectorApp(t *testing.T, client starter.Client) (*receivers.Receiver, []receivers.Provider) {
	t.Helper()
	settings := map[string]string{}
	for _, v := range loadVectors(t) {
		settings[v.SecretEnv] = v.Secret
	}
	var bound []receivers.Provider
	for _, p := range providers.Builtins() {
		for _, o := range p.Options {
			settings[o.Env] = o.Default
		}
		b, err := p.Bind(func(name string) string { return settings[name] })
		if err != nil {
			t.Fatal(err)
		}
		bound = append(bound, b)
	}
	r := receivers.New(receivers.Options{Start: starter.Starter{Client: client}, Log: slog.New(slog.DiscardHandler)})
	return r, bound
}

// rawPost writes one HTTP/1.1 request to addr byte for byte, header values
// as given (net/http would trim them), and returns the answer's status.
func rawPost(t *testing.T, addr, path string, body []byte, headers map[string]string) int {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	var b strings.Builder
	fmt.Fprintf(&b, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\nConnection: close\r\n", path, addr, len(body))
	for k, v := range headers {
		fmt.Fprintf(&b, "%s:%s\r\n", k, v)
	}
	b.WriteString("\r\n")
	if _, err := conn.Write(append([]byte(b.String()), body...)); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("read answer: %v", err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestPaddedHeaders: spaces and tabs around a header's value are not part
// of it (RFC 9110), for every provider's secret and signature headers
// alike: each fixture padded so is accepted as it is unpadded.
func TestPaddedHeaders(t *testing.T) {
	r, bound := vectorApp(t, &fakeStarter{})
	app := receivers.NewApp(r, bound)
	addr := strings.TrimPrefix(serve(t, app), "http://")
	route := map[string]string{}
	for _, p := range bound {
		route[p.Secret.Env] = p.Routes[0]
	}
	files := make([]string, 0)
	vectors := loadVectors(t)
	for f := range vectors {
		files = append(files, f)
	}
	sort.Strings(files)
	for _, file := range files {
		vec := vectors[file]
		if vec.Expect != http.StatusOK {
			continue
		}
		for _, pad := range []string{"  ", "\t", " \t "} {
			t.Run(fmt.Sprintf("%s/%q", file, pad), func(t *testing.T) {
				padded := map[string]string{}
				for k, v := range vec.Headers {
					padded[k] = pad + v + pad
				}
				if got := rawPost(t, addr, route[vec.SecretEnv], fixture(t, file), padded); got != http.StatusOK {
					t.Errorf("padded %s: got %d, want 200", file, got)
				}
			})
		}
	}
}

func TestFieldValue(t *testing.T) {
	for raw, want := range map[string]string{
		"secret": "secret", " secret": "secret", "secret\t": "secret", " \t secret \t ": "secret",
		"a b": "a b", "": "", "  ": "", "\u00a0secret": "\u00a0secret", // only SP and HTAB are whitespace here
	} {
		if got := signature.FieldValue([]byte(raw)); got != want {
			t.Errorf("FieldValue(%q) = %q, want %q", raw, got, want)
		}
	}
}

// TestDerivedEventIDs: an event ID built from body fields is the same as
// it always was when its parts hold no ':' before the last, and two events
// whose parts differ never share one.
func TestDerivedEventIDs(t *testing.T) {
	p := providers.Phoenix(nil)
	derive := func(orderID, status, ts string) string {
		t.Helper()
		body := fmt.Sprintf(`{"event":"order.status.updated","timestamp":%q,"data":{"orderId":%q,"orderStatus":%q}}`, ts, orderID, status)
		ev, err := p.Parse([]byte(body), headerOf(nil))
		if err != nil {
			t.Fatalf("parse %s: %v", body, err)
		}
		return ev.ID
	}
	// Recorded before the change: the shared vectors' event ID of the
	// fixture without an id.
	want := loadVectors(t)["phoenix-order-status-pending-noid.json"].EventID
	if got := derive("tpT9KpKVyHU1P24RjZcW1o", "pending", "2026-11-20T10:01:02.000Z"); got != want {
		t.Errorf("derived ID without ':' in its parts changed: got %q, want %q", got, want)
	}
	// Each pair was one ID before: joined with ':', the parts could not be told apart.
	for _, pair := range [][2][3]string{
		{{"a:b", "pending", "t"}, {"a", "b:pending", "t"}},
		{{"a", "b:pending", "t"}, {"a", "b", "pending:t"}},
		{{"a:b", "pending", "t"}, {"a", "b", "pending:t"}},
		{{"a%3Ab", "pending", "t"}, {"a:b", "pending", "t"}},
		{{"a%%b", "pending", "t"}, {"a:b", "pending", "t"}},
		{{"a", "b%%c", "t:x"}, {"a:x", "b", "c%%t"}},
	} {
		x, y := derive(pair[0][0], pair[0][1], pair[0][2]), derive(pair[1][0], pair[1][1], pair[1][2])
		if x == y {
			t.Errorf("%q and %q share event ID %q", pair[0], pair[1], x)
		}
	}

	phantom := providers.Phantom(nil)
	phantomID := func(name, id string) string {
		t.Helper()
		ev, err := phantom.Parse([]byte(fmt.Sprintf(`{"event":%q,"timestamp":1,"data":{"id":%q}}`, name, id)), headerOf(nil))
		if err != nil {
			t.Fatal(err)
		}
		return ev.ID
	}
	if got, want := phantomID("transaction.applied", "b0bc:1"), "transaction.applied:b0bc:1"; got != want {
		t.Errorf("phantom ID: got %q, want %q", got, want)
	}
	if x, y := phantomID("transaction.a:b", "c"), phantomID("transaction.a", "b:c"); x == y {
		t.Errorf("phantom events of different entities share event ID %q", x)
	}
}

// TestRefusalClasses: every error that fails the same way on each retry is
// a 400 naming the field, counted as rejected, leaving no dedup record;
// everything else is a 503 with Retry-After.
func TestRefusalClasses(t *testing.T) {
	body, vec := loadVector(t, fulfilledFile)
	tests := []struct {
		name   string
		err    error
		status int
		field  string
	}{
		{"workflow ID over Temporal's limit", serviceerror.NewInvalidArgument("WorkflowId length exceeds limit."), 400, "data.orderId"},
		{"payload over the blob size limit", serviceerror.NewInvalidArgument("Blob data size exceeds limit."), 400, "body"},
		{"other invalid argument", serviceerror.NewInvalidArgument("bad"), 400, "event"},
		{"header value gRPC refuses", serviceerror.NewInternal(`header key "temporal-resource-id" contains value with non-printable ASCII characters`), 400, "data.orderId"},
		{"message over gRPC's size limit", serviceerror.NewResourceExhausted(0, "grpc: trying to send message larger than max (5000000 vs. 4194304)"), 400, "body"},
		{"payload the converter cannot encode", fmt.Errorf("signal with start: %w: json: unsupported value", converter.ErrUnableToEncode), 400, "event"},
		{"Temporal unavailable", serviceerror.NewUnavailable("connection refused"), 503, ""},
		{"Temporal rate limit", serviceerror.NewResourceExhausted(0, "namespace rate limit exceeded"), 503, ""},
		{"Temporal internal error", serviceerror.NewInternal("persistence failure"), 503, ""},
		{"timed out", context.DeadlineExceeded, 503, ""},
		{"deadline exceeded", serviceerror.NewDeadlineExceeded("deadline exceeded"), 503, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := &countingMetrics{}
			r := newRig(t, func(o *receivers.Options) { o.Metrics = m })
			r.starter.setErr(tt.err)
			resp := post(t, r.app, "/webhooks/phoenix", body, vec.Headers)
			wantStatus(t, resp, tt.status)
			if tt.status == 400 {
				wantBody(t, resp, `{"error":"invalid `+tt.field+`"}`)
				if want := []receivers.Outcome{receivers.OutcomeRejected}; !slices.Equal(m.outcomes, want) {
					t.Errorf("outcomes: got %v, want %v", m.outcomes, want)
				}
			} else {
				wantRetryAfter(t, resp, "5")
			}
			if len(r.dedup.keys) != 0 {
				t.Errorf("dedup records left: %v", r.dedup.keys)
			}
		})
	}
}

// TestNonASCIIWorkflowIDs: an entity ID outside printable ASCII is
// accepted; its workflow ID is printable ASCII, distinct from every other
// entity's, and the event keeps the original ID.
func TestNonASCIIWorkflowIDs(t *testing.T) {
	for _, orderID := range []string{"order-📦-1", "Müller-42", strings.Repeat("€", 85) + "x", "注文-1"} {
		t.Run(orderID, func(t *testing.T) {
			r := newRig(t, nil)
			resp := post(t, r.app, "/webhooks/phoenix", phoenixEvent(t, "", orderID, "pending"), bearer(phoenixSecret))
			wantStatus(t, resp, 200)
			calls := r.starter.Calls()
			if len(calls) != 1 {
				t.Fatalf("starts: got %d, want 1", len(calls))
			}
			wfID := calls[0].workflowID
			for i := 0; i < len(wfID); i++ {
				if wfID[i] < 0x20 || wfID[i] > 0x7e {
					t.Fatalf("workflow ID %q holds byte %#x, which gRPC refuses in a header", wfID, wfID[i])
				}
			}
			if got := resp.json(t)["workflowId"]; got != wfID {
				t.Errorf("answer's workflowId %v, started %q", got, wfID)
			}
			if ev, _ := calls[0].arg.(event.Event); ev.EntityID != orderID {
				t.Errorf("event's entity ID %q, want the original %q", ev.EntityID, orderID)
			}
		})
	}
}
