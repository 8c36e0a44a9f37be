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
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/gofiber/fiber/v2"
	"go.temporal.io/sdk/client"

	"github.com/hookflow/hookflow/event"
	"github.com/hookflow/hookflow/providers"
	"github.com/hookflow/hookflow/receivers"
	"github.com/hookflow/hookflow/receivers/dedup"
	"github.com/hookflow/hookflow/receivers/starter"
)

// This file holds the Phosphor tests and the harness the Phosphor, UP42,
// Fenix and Phantom tests share. Its names end in 3 to keep clear of the
// accept path's own test helpers in this package.

func phosphorProvider3(secrets []string) receivers.Provider {
	return providers.Phosphor(providers.PhosphorVerifier(secrets))
}

func TestPhosphorFixtures(t *testing.T) {
	checkFixtures3(t, phosphorProvider3, []fixtureCase3{
		{
			file: "phosphor-token-tx.json", eventID: "998e6642-2333-4fa7-9abb-2fbf5bfda797",
			entityType: "item", status: "TRANSFER",
			attributes: map[string]string{
				"from":         "0xfc186E95c40e5F96C05F811fE821d9433c9394F4",
				"to":           "0x75A181dc9A3E1b746D62E0be6819f7Bdf1110895",
				"tx_hash":      "0x72641cefc85e187e998be6e8e2752104808d74273f000d992b77457e7b8e3f15",
				"block_number": "12345",
				"log_index":    "2",
				"quantity":     "1",
			},
			providerTime: "2024-06-07T18:08:15+00:00",
		},
		{
			file: "phosphor-listing-created.json", entityType: "listing", status: "CREATED",
			attributes: map[string]string{"item_id": "7b5451bc-ad18-435c-a454-c7357f73707f"},
		},
	})
}

func TestPhosphorAuth(t *testing.T) {
	checkAuth3(t, authCase3{
		provider: phosphorProvider3,
		file:     "phosphor-token-tx.json",
		header:   providers.PhosphorSecretHeader,
		// The shared secret is sent as it is; it does not cover the body.
		signsBody: false,
	})
}

func TestPhosphorParse(t *testing.T) {
	tests := []parseCase3{
		{
			name:       "transfer with item",
			body:       `{"id":"e1","type":"TOKEN_TX","data":{"item":{"id":"i1"},"tx_type":"TRANSFER","from_addr":"0xa","to_addr":"0xb","tx_hash":"0xh","block_number":7}}`,
			wantID:     "e1",
			wantEntity: "item:i1",
			wantStatus: "TRANSFER",
			wantAttrs:  map[string]string{"from": "0xa", "to": "0xb", "tx_hash": "0xh", "block_number": "7"},
		},
		{
			name:       "item null falls back to contract and token",
			body:       `{"id":"e2","type":"TOKEN_TX","data":{"item":null,"contract_address":"0xc","token_id":42,"tx_type":"MINT"}}`,
			wantID:     "e2",
			wantEntity: "item:0xc:42",
			wantStatus: "MINT",
		},
		{
			name:       "item without id falls back to contract and token",
			body:       `{"id":"e3","type":"TOKEN_TX","data":{"item":{},"contract_address":"0xc","token_id":"9","tx_type":"BURN"}}`,
			wantID:     "e3",
			wantEntity: "item:0xc:9",
			wantStatus: "BURN",
		},
		{
			name:       "tx_type is upper-cased",
			body:       `{"id":"e4","type":"TOKEN_TX","data":{"item":{"id":"i1"},"tx_type":"transfer"}}`,
			wantID:     "e4",
			wantEntity: "item:i1",
			wantStatus: "TRANSFER",
		},
		{name: "token tx without id", body: `{"type":"TOKEN_TX","data":{"item":{"id":"i1"},"tx_type":"MINT"}}`, wantErr: errMissing3},
		{name: "token tx without tx_type", body: `{"id":"e","type":"TOKEN_TX","data":{"item":{"id":"i1"}}}`, wantErr: errMissing3},
		{name: "token tx without item or token", body: `{"id":"e","type":"TOKEN_TX","data":{"item":null,"contract_address":"0xc","tx_type":"MINT"}}`, wantErr: errMissing3},
		{name: "token tx without data", body: `{"id":"e","type":"TOKEN_TX"}`, wantErr: errMissing3},
		{
			name:       "listing cancelled",
			body:       `{"type":"CANCELLED","listing":{"id":"L1","item_id":"i1"}}`,
			wantID:     "L1:CANCELLED",
			wantEntity: "listing:L1",
			wantStatus: "CANCELLED",
			wantAttrs:  map[string]string{"item_id": "i1"},
		},
		{
			name:       "listing completed",
			body:       `{"type":"COMPLETED","listing":{"id":"L1"}}`,
			wantID:     "L1:COMPLETED",
			wantEntity: "listing:L1",
			wantStatus: "COMPLETED",
		},
		{name: "listing without id", body: `{"type":"CREATED","listing":{"price":"0"}}`, wantErr: errMissing3},
		{name: "listing type without listing", body: `{"type":"CREATED","purchase":{"id":"p1"}}`, wantErr: receivers.ErrIgnored},
		{name: "other type", body: `{"id":"x","type":"PURCHASE_INTENT","data":{}}`, wantErr: receivers.ErrIgnored},
		{name: "no type", body: `{"id":"x","data":{}}`, wantErr: errMissing3},
		{name: "not JSON", body: `type=TOKEN_TX`, wantErr: receivers.ErrInvalidJSON},
		{name: "JSON array", body: `[{"type":"TOKEN_TX"}]`, wantErr: receivers.ErrInvalidJSON},
	}
	runParse3(t, phosphorProvider3(nil), tests)
}

func TestPhosphorAnswers(t *testing.T) {
	secret := []string{"s3"}
	headers := map[string]string{providers.PhosphorSecretHeader: "s3"}
	checkAnswers3(t, phosphorProvider3(secret), []answerCase3{
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

// --- the harness shared by the provider tests ---

// with3 returns a copy of m with the given header set, or removed when
// value is "".
func with3(m map[string]string, name, value string) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		if !strings.EqualFold(k, name) {
			out[k] = v
		}
	}
	if value != "" {
		out[name] = value
	}
	return out
}

// recase3 returns m with every header name passed through f.
func recase3(m map[string]string, f func(string) string) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		out[f(k)] = v
	}
	return out
}

// fakeStarter3 stands in for Temporal and records what it is handed.
type fakeStarter3 struct {
	mu        sync.Mutex
	events    []event.Event
	workflows []string
}

func (f *fakeStarter3) SignalWithStartWorkflow(_ context.Context, workflowID, _ string, signalArg any,
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

func (f *fakeStarter3) started() ([]event.Event, []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]event.Event(nil), f.events...), append([]string(nil), f.workflows...)
}

// fakeDedup3 is an in-memory Dedup.
type fakeDedup3 struct {
	mu   sync.Mutex
	keys map[string]bool // true once done
}

func (d *fakeDedup3) Claim(_ context.Context, key string) (dedup.Claim, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	done, ok := d.keys[key]
	switch {
	case !ok:
		d.keys[key] = false
		return dedup.Claim{State: dedup.Claimed}, nil
	case done:
		return dedup.Claim{State: dedup.Done}, nil
	}
	return dedup.Claim{State: dedup.InFlight}, nil
}

func (d *fakeDedup3) Finish(_ context.Context, key, _ string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.keys[key] = true
	return nil
}

func (d *fakeDedup3) Release(_ context.Context, key, _ string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.keys, key)
	return nil
}

// app3 is a receivers app serving one provider, with fake Temporal and Redis.
type app3 struct {
	app     *fiber.App
	starter *fakeStarter3
}

func newApp3(p receivers.Provider) *app3 {
	s := &fakeStarter3{}
	r := receivers.New(receivers.Options{
		Start: starter.Starter{Client: s},
		Dedup: &fakeDedup3{keys: map[string]bool{}},
		Log:   slog.New(slog.DiscardHandler),
	})
	return &app3{app: receivers.NewApp(r, []receivers.Provider{p}), starter: s}
}

// post sends body to path with headers spelt exactly as given (so header
// names reach the server in the case the test chose) and returns the status
// and the decoded JSON answer.
func (a *app3) post(t *testing.T, path string, body []byte, headers map[string]string) (int, map[string]any) {
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

// fixtureCase3 is what a fixture must parse to, beside what vectors.json
// says; eventID is checked against vectors.json's where it gives one.
type fixtureCase3 struct {
	file         string
	eventID      string
	entityType   string
	status       string
	attributes   map[string]string
	providerTime string
}

// checkFixtures3 checks every fixture of the provider: its vector's headers
// verify over the exact bytes, Parse gives the expected event and workflow
// IDs, and the receiver accepts it once, then answers duplicate.
func checkFixtures3(t *testing.T, provider func([]string) receivers.Provider, cases []fixtureCase3) {
	t.Helper()
	name := provider(nil).Name
	var covered, all []string
	for _, c := range cases {
		covered = append(covered, c.file)
	}
	for file := range loadVectors(t) {
		if strings.HasPrefix(file, name+"-") {
			all = append(all, file)
		}
	}
	sort.Strings(covered)
	sort.Strings(all)
	if !reflect.DeepEqual(covered, all) {
		t.Errorf("%s fixtures tested %v, want every one of %v", name, covered, all)
	}

	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			body, vec := loadVector(t, tc.file)
			p := provider([]string{vec.Secret})
			header := headerOf(vec.Headers)
			if err := p.Verifier.Verify(body, header); err != nil {
				t.Fatalf("Verify with the vector's headers: %v", err)
			}
			ev, err := p.Parse(body, header)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			wantID := tc.eventID
			if vec.EventID != "" {
				if wantID != "" && wantID != vec.EventID {
					t.Fatalf("test table says event ID %q, vectors.json %q", wantID, vec.EventID)
				}
				wantID = vec.EventID
			}
			if ev.ID != wantID {
				t.Errorf("event ID: got %q, want %q", ev.ID, wantID)
			}
			wfID := event.WorkflowID(p.Name, ev.EntityType, ev.EntityID)
			if vec.WorkflowID != "" && wfID != vec.WorkflowID {
				t.Errorf("workflow ID: got %q, want %q", wfID, vec.WorkflowID)
			}
			if ev.EntityType != tc.entityType || ev.Status != tc.status {
				t.Errorf("entity type, status: got %q, %q, want %q, %q", ev.EntityType, ev.Status, tc.entityType, tc.status)
			}
			if !reflect.DeepEqual(ev.Attributes, tc.attributes) {
				t.Errorf("attributes: got %v, want %v", ev.Attributes, tc.attributes)
			}
			if tc.providerTime != "" && ev.ProviderTime != tc.providerTime {
				t.Errorf("provider time: got %q, want %q", ev.ProviderTime, tc.providerTime)
			}

			// The first delivery is accepted; every route then answers
			// duplicate for it.
			a := newApp3(p)
			for i, route := range append([]string{p.Routes[0]}, p.Routes...) {
				status, got := a.post(t, route, body, vec.Headers)
				if status != vec.Expect {
					t.Fatalf("POST %s: got %d %v, want %d", route, status, got, vec.Expect)
				}
				want := map[string]any{"success": true, "duplicate": i > 0, "eventId": wantID, "workflowId": wfID}
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
}

// authCase3 describes how a provider authenticates, for checkAuth3.
type authCase3 struct {
	provider     func([]string) receivers.Provider
	file         string // a fixture to send
	header       string // the credential's header
	signsBody    bool   // whether the credential covers the body
	unauthorized string // the provider's documented 401 message, if any
}

// checkAuth3 sends a fixture with good, wrong, missing, rotated and
// re-cased credentials and a tampered body, through the whole receiver.
func checkAuth3(t *testing.T, ac authCase3) {
	t.Helper()
	body, vec := loadVector(t, ac.file)
	missingMsg, invalidMsg := "Missing or invalid authorization header", "Invalid credentials"
	if ac.unauthorized != "" {
		missingMsg, invalidMsg = ac.unauthorized, ac.unauthorized
	}
	tampered := bytes.Replace(body, []byte(`"`), []byte(` "`), 1)
	tamperedWant, tamperedMsg := 200, ""
	if ac.signsBody {
		tamperedWant, tamperedMsg = 401, invalidMsg
	}
	tests := []struct {
		name    string
		secrets []string
		body    []byte
		headers map[string]string
		want    int
		wantErr string
	}{
		{"vector headers", []string{vec.Secret}, body, vec.Headers, 200, ""},
		{"rotated second secret", []string{"other", vec.Secret}, body, vec.Headers, 200, ""},
		{"rotated first secret", []string{vec.Secret, "other"}, body, vec.Headers, 200, ""},
		{"wrong secret", []string{"other"}, body, vec.Headers, 401, invalidMsg},
		{"missing header", []string{vec.Secret}, body, with3(vec.Headers, ac.header, ""), 401, missingMsg},
		{"credential in another header", []string{vec.Secret}, body,
			with3(with3(vec.Headers, ac.header, ""), "X-Other", vec.Headers[ac.header]), 401, missingMsg},
		{"tampered body", []string{vec.Secret}, tampered, vec.Headers, tamperedWant, tamperedMsg},
		{"lower-case header names", []string{vec.Secret}, body, recase3(vec.Headers, strings.ToLower), 200, ""},
		{"upper-case header names", []string{vec.Secret}, body, recase3(vec.Headers, strings.ToUpper), 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := ac.provider(tt.secrets)
			a := newApp3(p)
			status, got := a.post(t, p.Routes[0], tt.body, tt.headers)
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

// errMissing3 stands for any *receivers.MissingFieldsError in parseCase3.
var errMissing3 = errors.New("missing required fields")

// parseCase3 is one body (and headers) and what Parse must make of it.
type parseCase3 struct {
	name       string
	body       string
	headers    map[string]string
	wantErr    error // nil, errMissing3, receivers.ErrIgnored or receivers.ErrInvalidJSON
	wantID     string
	wantEntity string // entityType:entityID
	wantStatus string
	wantAttrs  map[string]string // checked when not nil
}

func runParse3(t *testing.T, p receivers.Provider, tests []parseCase3) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, err := p.Parse([]byte(tt.body), headerOf(tt.headers))
			var missing *receivers.MissingFieldsError
			if errors.As(err, &missing) {
				err = errMissing3
			}
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("error: got %v, want %v", err, tt.wantErr)
			}
			if tt.wantErr != nil {
				return
			}
			got := []string{ev.ID, ev.EntityType + ":" + ev.EntityID, ev.Status}
			want := []string{tt.wantID, tt.wantEntity, tt.wantStatus}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("event ID, entity, status: got %q, want %q", got, want)
			}
			if tt.wantAttrs != nil && !reflect.DeepEqual(ev.Attributes, tt.wantAttrs) {
				t.Errorf("attributes: got %v, want %v", ev.Attributes, tt.wantAttrs)
			}
		})
	}
}

// answerCase3 is one authenticated request and the receiver's answer.
type answerCase3 struct {
	name     string
	path     string // default the provider's first route
	body     string
	headers  map[string]string
	want     int
	wantBody map[string]any
}

func checkAnswers3(t *testing.T, p receivers.Provider, tests []answerCase3) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newApp3(p)
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
