package providers_test

import (
	"bytes"
	"errors"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/hookflow/hookflow/event"
	"github.com/hookflow/hookflow/internal/dev/testenv"
	"github.com/hookflow/hookflow/providers"
	"github.com/hookflow/hookflow/signature"
)

// The harness the Phoenix, Phosphor, UP42, Fenix and Phantom tests share:
// each provider's verifier and parser, over the shared fixtures. What the
// receiver answers for them is tested with the accept path, in receivers.

// vector is one entry of vectors.json: how a provider sends one body file.
type vector = testenv.Vector

// loadVectors reads vectors.json, keyed by body file name.
func loadVectors(t *testing.T) map[string]vector { return testenv.Vectors(t) }

// loadVector returns one body file's exact bytes and its vector.
func loadVector(t *testing.T, name string) ([]byte, vector) { return testenv.LoadVector(t, name) }

// fixture returns a body file's exact bytes, trailing newline included.
func fixture(t *testing.T, name string) []byte { return testenv.Fixture(t, name) }

// headerOf returns a case-insensitive Header lookup over m, as a request's
// headers behave.
func headerOf(m map[string]string) signature.Header { return testenv.Lookup(m) }

// with returns a copy of m with the given header set, or removed when
// value is "".
func with(m map[string]string, name, value string) map[string]string {
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

// recase returns m with every header name passed through f.
func recase(m map[string]string, f func(string) string) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		out[f(k)] = v
	}
	return out
}

// fixtureCase is what a fixture must parse to, beside what vectors.json
// says; eventID is checked against vectors.json's where it gives one.
type fixtureCase struct {
	file         string
	eventID      string
	entityType   string
	status       string
	attributes   map[string]string
	providerTime string
}

// checkFixtures checks every fixture of the provider: its vector's headers
// verify over the exact bytes, and Parse gives the expected event and
// workflow IDs.
func checkFixtures(t *testing.T, provider func([]string) providers.Provider, cases []fixtureCase) {
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
			if vec.Expect != 200 {
				t.Fatalf("vectors.json expects %d for %s, want a fixture that is accepted", vec.Expect, tc.file)
			}
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
		})
	}
}

// authCase describes how a provider authenticates, for checkAuth.
type authCase struct {
	provider     func([]string) providers.Provider
	file         string // a fixture to send
	header       string // the credential's header
	signsBody    bool   // whether the credential covers the body
	unauthorized string // the provider's documented 401 message, if any
}

// The ways a verification ends, for checkAuth: the receiver answers 401
// with its "missing" message for one and its "invalid credentials" message
// for the other, unless the provider documents one message for both
// (providers.Provider.Unauthorized).
const (
	verified = "verified"
	missing  = "missing"
	invalid  = "invalid"
)

// verdict is how a Verify that returned err ended.
func verdict(err error) string {
	switch {
	case err == nil:
		return verified
	case errors.Is(err, signature.ErrInvalidCredentials):
		return invalid
	}
	return missing
}

// checkAuth verifies a fixture with good, wrong, missing, rotated and
// re-cased credentials and a tampered body.
func checkAuth(t *testing.T, ac authCase) {
	t.Helper()
	body, vec := loadVector(t, ac.file)
	if p := ac.provider(nil); p.Unauthorized != ac.unauthorized {
		t.Errorf("Unauthorized: got %q, want %q", p.Unauthorized, ac.unauthorized)
	}
	tampered := bytes.Replace(body, []byte(`"`), []byte(` "`), 1)
	tamperedWant := verified
	if ac.signsBody {
		tamperedWant = invalid
	}
	tests := []struct {
		name    string
		secrets []string
		body    []byte
		headers map[string]string
		want    string
	}{
		{"vector headers", []string{vec.Secret}, body, vec.Headers, verified},
		{"rotated second secret", []string{"other", vec.Secret}, body, vec.Headers, verified},
		{"rotated first secret", []string{vec.Secret, "other"}, body, vec.Headers, verified},
		{"wrong secret", []string{"other"}, body, vec.Headers, invalid},
		{"missing header", []string{vec.Secret}, body, with(vec.Headers, ac.header, ""), missing},
		{"credential in another header", []string{vec.Secret}, body,
			with(with(vec.Headers, ac.header, ""), "X-Other", vec.Headers[ac.header]), missing},
		{"tampered body", []string{vec.Secret}, tampered, vec.Headers, tamperedWant},
		{"lower-case header names", []string{vec.Secret}, body, recase(vec.Headers, strings.ToLower), verified},
		{"upper-case header names", []string{vec.Secret}, body, recase(vec.Headers, strings.ToUpper), verified},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := ac.provider(tt.secrets)
			err := p.Verifier.Verify(tt.body, headerOf(tt.headers))
			if got := verdict(err); got != tt.want {
				t.Fatalf("Verify: got %s (%v), want %s", got, err, tt.want)
			}
			if err != nil {
				return
			}
			// A verified fixture is one the receiver hands on.
			if _, err := p.Parse(tt.body, headerOf(tt.headers)); err != nil {
				t.Errorf("Parse after Verify: %v", err)
			}
		})
	}
}

// errMissing stands for any *providers.MissingFieldsError in parseCase.
var errMissing = errors.New("missing required fields")

// parseCase is one body (and headers) and what Parse must make of it.
type parseCase struct {
	name       string
	body       string
	headers    map[string]string
	wantErr    error // nil, errMissing, providers.ErrIgnored or providers.ErrInvalidJSON
	wantID     string
	wantEntity string // entityType:entityID
	wantStatus string
	wantAttrs  map[string]string // checked when not nil
}

func runParse(t *testing.T, p providers.Provider, tests []parseCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, err := p.Parse([]byte(tt.body), headerOf(tt.headers))
			var missing *providers.MissingFieldsError
			if errors.As(err, &missing) {
				err = errMissing
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
