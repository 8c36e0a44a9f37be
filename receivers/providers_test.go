package receivers_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/gofiber/fiber/v2"
	"go.temporal.io/sdk/client"

	"github.com/hookflow/hookflow/event"
	"github.com/hookflow/hookflow/providers"
	"github.com/hookflow/hookflow/receivers"
	"github.com/hookflow/hookflow/receivers/starter"
	"github.com/hookflow/hookflow/signature"
)

// The accept path of the Phosphor, UP42, Fenix and Phantom receivers: their
// fixtures accepted once and then duplicates on every route, their 401s and
// their answers. How each provider verifies and parses is tested in
// providers; Phoenix's accept path in accept_test.go.

// builtIn are the providers tested here, each built with the given secrets.
var builtIn = []func(secrets []string) receivers.Provider{
	func(s []string) receivers.Provider { return providers.Phosphor(providers.PhosphorVerifier(s)) },
	func(s []string) receivers.Provider {
		return providers.UP42(providers.UP42Verifier(providers.UP42SignatureHeader, signature.Hex, s))
	},
	func(s []string) receivers.Provider { return providers.Fenix(providers.FenixVerifier(s)) },
	func(s []string) receivers.Provider { return providers.Phantom(providers.PhantomVerifier(s)) },
}

// provider returns the one of builtIn named name.
func provider(t *testing.T, name string) func([]string) receivers.Provider {
	t.Helper()
	for _, p := range builtIn {
		if p(nil).Name == name {
			return p
		}
	}
	t.Fatalf("no provider %q", name)
	return nil
}

// TestProvidersFixtures: every fixture of each provider is accepted once,
// then every route answers duplicate for it, and what is handed to Temporal
// is the parsed event with the body as sent.
func TestProvidersFixtures(t *testing.T) {
	vectors := loadVectors(t)
	for _, provider := range builtIn {
		name := provider(nil).Name
		tested := 0
		for file, vec := range vectors {
			if !strings.HasPrefix(file, name+"-") {
				continue
			}
			tested++
			t.Run(file, func(t *testing.T) {
				body := fixture(t, file)
				p := provider([]string{vec.Secret})
				ev, err := p.Parse(body, headerOf(vec.Headers))
				if err != nil {
					t.Fatalf("Parse: %v", err)
				}
				wfID := event.WorkflowID(p.Name, ev.EntityType, ev.EntityID)
				a := newProviderApp(p)
				for i, route := range append([]string{p.Routes[0]}, p.Routes...) {
					status, got := a.post(t, route, body, vec.Headers)
					if status != vec.Expect {
						t.Fatalf("POST %s: got %d %v, want %d", route, status, got, vec.Expect)
					}
					want := map[string]any{"success": true, "duplicate": i > 0, "eventId": ev.ID, "workflowId": wfID}
					if !reflect.DeepEqual(got, want) {
						t.Errorf("POST %s answer: got %v, want %v", route, got, want)
					}
				}
				started, workflows := a.starter.started()
				if len(started) != 1 {
					t.Fatalf("started %d workflows, want 1", len(started))
				}
				s := started[0]
				if workflows[0] != wfID || s.Provider != p.Name || s.ID != ev.ID || s.Status != ev.Status ||
					!reflect.DeepEqual(s.Attributes, ev.Attributes) || !bytes.Equal(s.Body, body) {
					t.Errorf("handed to Temporal: %s %+v, want %s with the parsed event and the body", workflows[0], s, wfID)
				}
			})
		}
		if tested == 0 {
			t.Errorf("no fixture of %s", name)
		}
	}
}

// TestProvidersUnauthorized: a delivery that does not verify is answered
// 401 with the provider's message, and nothing is started.
func TestProvidersUnauthorized(t *testing.T) {
	tests := []struct {
		provider     string
		file         string
		header       string // the credential's header
		unauthorized string // the provider's documented 401 message, if any
	}{
		{"phosphor", "phosphor-token-tx.json", providers.PhosphorSecretHeader, ""},
		{"up42", "up42-order-status-fulfilled.json", providers.UP42SignatureHeader, ""},
		{"fenix", "fenix-tracking-updated.json", providers.FenixSignatureHeader, "Invalid Source: Unmatched HMAC code"},
		{"phantom", "phantom-block-forged.json", providers.PhantomTokenHeader, ""},
	}
	for _, tc := range tests {
		body, vec := loadVector(t, tc.file)
		missingMsg, invalidMsg := "Missing or invalid authorization header", "Invalid credentials"
		if tc.unauthorized != "" {
			missingMsg, invalidMsg = tc.unauthorized, tc.unauthorized
		}
		without := map[string]string{}
		for k, v := range vec.Headers {
			if !strings.EqualFold(k, tc.header) {
				without[k] = v
			}
		}
		cases := []struct {
			name    string
			secrets []string
			headers map[string]string
			want    int
			wantErr string
		}{
			{"vector headers", []string{vec.Secret}, vec.Headers, 200, ""},
			{"wrong secret", []string{"other"}, vec.Headers, 401, invalidMsg},
			{"missing header", []string{vec.Secret}, without, 401, missingMsg},
		}
		for _, tt := range cases {
			t.Run(tc.provider+"/"+tt.name, func(t *testing.T) {
				p := provider(t, tc.provider)(tt.secrets)
				a := newProviderApp(p)
				status, got := a.post(t, p.Routes[0], body, tt.headers)
				if status != tt.want {
					t.Fatalf("got %d %v, want %d", status, got, tt.want)
				}
				if tt.wantErr != "" && !reflect.DeepEqual(got, map[string]any{"error": tt.wantErr}) {
					t.Errorf("answer: got %v, want error %q", got, tt.wantErr)
				}
				started, _ := a.starter.started()
				if wantStarted := tt.want == 200; (len(started) == 1) != wantStarted {
					t.Errorf("started %d workflows, want started %v", len(started), wantStarted)
				}
			})
		}
	}
}

func TestPhosphorAnswers(t *testing.T) {
	secret := []string{"s3"}
	headers := map[string]string{providers.PhosphorSecretHeader: "s3"}
	checkAnswers(t, provider(t, "phosphor")(secret), []answerCase{
		{
			name: "ignored type", body: `{"id":"x","type":"PURCHASE_INTENT"}`, headers: headers,
			want: 200, wantBody: map[string]any{"success": true, "ignored": true},
		},
		{
			name: "missing fields", body: `{"type":"TOKEN_TX","data":{"item":{"id":"i1"},"tx_type":"MINT"}}`, headers: headers,
			want: 400, wantBody: map[string]any{
				"error":    "Missing required fields",
				"required": []any{"id", "type", "data.item.id (or data.contract_address and data.token_id)", "data.tx_type"},
			},
		},
		{
			name: "invalid JSON", body: `{"type":`, headers: headers,
			want: 400, wantBody: map[string]any{"error": "invalid JSON body"},
		},
	})
}

func TestUP42Answers(t *testing.T) {
	const secret = "up42-test-secret"
	signed := func(body string) map[string]string {
		return map[string]string{"X-Up42-Signature": providers.UP42Signature([]byte(secret), []byte(body), signature.Hex)}
	}
	job := `{"id":"e3","event":"job.status","data":{"jobId":"j1","status":"SUCCEEDED"}}`
	missing := `{"id":"e6","event":"order.status","data":{"status":"PLACED"}}`
	notJSON := `order.status`
	checkAnswers(t, provider(t, "up42")([]string{secret}), []answerCase{
		{
			name: "job status is ignored", body: job, headers: signed(job),
			want: 200, wantBody: map[string]any{"success": true, "ignored": true},
		},
		{
			name: "missing fields", body: missing, headers: signed(missing),
			want: 400, wantBody: map[string]any{
				"error": "Missing required fields", "required": []any{"id", "event", "data.orderId", "data.status"},
			},
		},
		{
			name: "invalid JSON", body: notJSON, headers: signed(notJSON),
			want: 400, wantBody: map[string]any{"error": "invalid JSON body"},
		},
		{
			name: "invalid JSON unsigned is refused first", body: notJSON,
			want: 401, wantBody: map[string]any{"error": "Missing or invalid authorization header"},
		},
	})
}

func TestFenixAnswers(t *testing.T) {
	const secret = "fenix-test-secret"
	const update = `{"tracking_number":"T1","status":"DELIVERED"}`
	const other = `{"order_number":"#1"}`
	checkAnswers(t, provider(t, "fenix")([]string{secret}), []answerCase{
		{
			name: "second route", path: "/shipment-track-status", body: update, headers: fenixHeaders(secret, update),
			want: 200, wantBody: map[string]any{"success": true, "duplicate": false, "eventId": "evt-1", "workflowId": "fenix-shipment:T1"},
		},
		{
			name: "other topic is ignored", body: other, headers: fenixHeaders(secret, other, "X-Fenix-Topic", "orders/created"),
			want: 200, wantBody: map[string]any{"success": true, "ignored": true},
		},
		{
			name: "missing event ID", body: update, headers: fenixHeaders(secret, update, "X-Fenix-Event-Id", ""),
			want: 400, wantBody: map[string]any{
				"error":    "Missing required fields",
				"required": []any{"X-Fenix-Event-Id", "X-Fenix-Topic", "tracking_number", "status"},
			},
		},
		{
			name: "signature of another body", body: update, headers: fenixHeaders(secret, other),
			want: 401, wantBody: map[string]any{"error": "Invalid Source: Unmatched HMAC code"},
		},
		{
			name: "signature not base64", body: update, headers: fenixHeaders(secret, update, "X-Fenix-Hmac-Sha256", "%%%"),
			want: 401, wantBody: map[string]any{"error": "Invalid Source: Unmatched HMAC code"},
		},
	})
}

func TestPhantomAnswers(t *testing.T) {
	const token = "fe944e318edb02b979d6bf0c87978b640c8e74e1cbfe36404386d33a5bbd8b66"
	auth := map[string]string{"Authorization": token[:32]}
	checkAnswers(t, provider(t, "phantom")([]string{token}), []answerCase{
		{
			name: "transaction accepted", body: `{"event":"transaction.expired","data":{"id":"abc"}}`, headers: auth,
			want: 200, wantBody: map[string]any{
				"success": true, "duplicate": false, "eventId": "transaction.expired:abc", "workflowId": "phantom-transaction:abc",
			},
		},
		{
			name: "wallet event ignored", body: `{"event":"wallet.vote","data":{}}`, headers: auth,
			want: 200, wantBody: map[string]any{"success": true, "ignored": true},
		},
		{
			name: "block without id", body: `{"event":"block.forged","data":{"height":1}}`, headers: auth,
			want: 400, wantBody: map[string]any{
				"error": "Missing required fields", "required": []any{"type (Core 2) or event (Core 3)", "data.id"},
			},
		},
	})
}

// fenixHeaders are the headers of a tracking update, signed over body.
func fenixHeaders(secret, body string, set ...string) map[string]string {
	h := map[string]string{
		"X-Fenix-Hmac-Sha256": providers.FenixSignature([]byte(secret), []byte(body)),
		"X-Fenix-Topic":       "tracking/updated",
		"X-Fenix-Event-Id":    "evt-1",
	}
	for i := 0; i+1 < len(set); i += 2 {
		if set[i+1] == "" {
			delete(h, set[i])
			continue
		}
		h[set[i]] = set[i+1]
	}
	return h
}

// --- the harness ---

// eventStarter stands in for Temporal and records what it is handed.
type eventStarter struct {
	mu        sync.Mutex
	events    []event.Event
	workflows []string
}

func (f *eventStarter) SignalWithStartWorkflow(_ context.Context, workflowID, _ string, signalArg any,
	_ client.StartWorkflowOptions, _ any, _ ...any) (client.WorkflowRun, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	ev, ok := signalArg.(event.Event)
	if !ok {
		return nil, errors.New("signal argument is not an event.Event")
	}
	f.events = append(f.events, ev)
	f.workflows = append(f.workflows, workflowID)
	return nil, nil
}

func (f *eventStarter) started() ([]event.Event, []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]event.Event(nil), f.events...), append([]string(nil), f.workflows...)
}

// providerApp is a receivers app serving one provider, with fake Temporal and Redis.
type providerApp struct {
	app     *fiber.App
	starter *eventStarter
}

func newProviderApp(p receivers.Provider) *providerApp {
	s := &eventStarter{}
	r := receivers.New(receivers.Options{
		Start: starter.Starter{Client: s},
		Dedup: newMemDedup(),
		Log:   slog.New(slog.DiscardHandler),
	})
	return &providerApp{app: receivers.NewApp(r, []receivers.Provider{p}), starter: s}
}

// post sends body to path with headers spelt exactly as given (so header
// names reach the server in the case the test chose) and returns the status
// and the decoded JSON answer.
func (a *providerApp) post(t *testing.T, path string, body []byte, headers map[string]string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, path, bytes.NewReader(body))
	if err != nil {
		t.Fatalf("build request: %v", err)
	}
	for k, v := range headers {
		req.Header[k] = []string{v}
	}
	resp, err := a.app.Test(req, -1)
	if err != nil {
		t.Fatalf("post %s: %v", path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read answer: %v", err)
	}
	var got map[string]any
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatalf("answer %d is not JSON: %q", resp.StatusCode, raw)
	}
	return resp.StatusCode, got
}

// answerCase is one authenticated request and the receiver's answer.
type answerCase struct {
	name     string
	path     string // default the provider's first route
	body     string
	headers  map[string]string
	want     int
	wantBody map[string]any
}

func checkAnswers(t *testing.T, p receivers.Provider, tests []answerCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newProviderApp(p)
			path := tt.path
			if path == "" {
				path = p.Routes[0]
			}
			status, got := a.post(t, path, []byte(tt.body), tt.headers)
			if status != tt.want || !reflect.DeepEqual(got, tt.wantBody) {
				t.Errorf("got %d %v, want %d %v", status, got, tt.want, tt.wantBody)
			}
			started, _ := a.starter.started()
			if wantStarted := tt.want == 200 && tt.wantBody["ignored"] != true; (len(started) == 1) != wantStarted {
				t.Errorf("started %d workflows, want started %v", len(started), wantStarted)
			}
		})
	}
}
