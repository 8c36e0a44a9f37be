package registration_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/hookflow/hookflow/internal/dev/devtools"
	"github.com/hookflow/hookflow/providers"
	"github.com/hookflow/hookflow/providers/registration"
	"github.com/hookflow/hookflow/signature"
)

// call is one request a stand-in received.
type call struct {
	Method, Path string
	Body         []byte
}

// stand serves a registration stand-in and records the calls it gets.
type stand struct {
	*httptest.Server
	mu    sync.Mutex
	calls []call
}

func newStand(t *testing.T, h http.Handler) *stand {
	t.Helper()
	s := &stand{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.calls = append(s.calls, call{r.Method, r.URL.Path, body})
		s.mu.Unlock()
		r.Body = io.NopCloser(bytes.NewReader(body))
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

// posts are the bodies of the calls made with method to a path ending in suffix.
func (s *stand) posts(method, suffix string) [][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out [][]byte
	for _, c := range s.calls {
		if c.Method == method && strings.HasSuffix(c.Path, suffix) {
			out = append(out, c.Body)
		}
	}
	return out
}

func (s *stand) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.calls)
}

// receiver records the webhooks sent to it and answers 200.
type receiver struct {
	*httptest.Server
	mu         sync.Mutex
	bodies     [][]byte
	signatures []string
}

func newReceiver(t *testing.T) *receiver {
	t.Helper()
	rc := &receiver{}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		defer rc.mu.Unlock()
		rc.bodies = append(rc.bodies, body)
		rc.signatures = append(rc.signatures, r.Header.Get(providers.UP42SignatureHeader))
	}))
	t.Cleanup(rc.Close)
	return rc
}

const fenixFilters = `[{"carrier":"FEDEX","sub_filter":{"delivery_statuses":["IN_TRANSIT","DELIVERED"]}}]`

// side is one provider's registrar against its stand-in.
type side struct {
	name string
	// stand is a new stand-in; registrar a client of it.
	stand     func() http.Handler
	registrar func(base string) registration.Registrar
	want      func(url string) registration.Want
	// created is the exact registration body want is registered with.
	created func(want registration.Want) string
	// create is the path suffix a registration is posted to.
	create string
	// disable breaks webhook id at the provider, as the provider would.
	disable func(t *testing.T, base string, want registration.Want, id string)
	// disabled is the drift reported for a disabled webhook.
	disabled string
}

func sides() []side {
	return []side{
		{
			name:      "up42",
			stand:     func() http.Handler { return devtools.NewUP42Sandbox(devtools.SandboxOptions{}) },
			registrar: func(base string) registration.Registrar { return registration.UP42(base, nil) },
			want: func(url string) registration.Want {
				return registration.Want{Tenant: "ws-1", URL: url, Secret: "whsec-1", AccessToken: "up42-token"}
			},
			created: func(w registration.Want) string {
				return fmt.Sprintf(`{"name":"hookflow","url":%q,"events":["order.status"],"secret":%q,"active":true}`, w.URL, w.Secret)
			},
			create: "/workspaces/ws-1/webhooks",
			disable: func(t *testing.T, base string, w registration.Want, id string) {
				body := fmt.Sprintf(`{"name":"hookflow","url":%q,"events":["order.status"],"secret":%q,"active":false}`, w.URL, w.Secret)
				send(t, http.MethodPut, base+"/workspaces/"+w.Tenant+"/webhooks/"+id, body, "Authorization", "Bearer "+w.AccessToken)
			},
			disabled: "webhook is inactive",
		},
		{
			name:      "fenix",
			stand:     func() http.Handler { return devtools.NewFenixSandbox(devtools.SandboxOptions{}) },
			registrar: func(base string) registration.Registrar { return registration.Fenix(base, nil) },
			want: func(url string) registration.Want {
				return registration.Want{Tenant: "shop-1.myshopify.com", URL: url, AccessToken: "store-token", Filters: json.RawMessage(fenixFilters)}
			},
			created: func(w registration.Want) string {
				return fmt.Sprintf(`{"store_name":%q,"topic":"tracking/updated","address":%q,"format":"json","api_version":"2024-07","filters":%s}`,
					w.Tenant, w.URL, w.Filters)
			},
			create: "/admin/api/2024-07/webhooks",
			disable: func(t *testing.T, base string, w registration.Want, id string) {
				send(t, http.MethodPost, base+"/admin/api/2024-07/webhooks/"+id+"/status", `{"status":"DISABLED"}`, "X-Access-Token", w.AccessToken)
			},
			disabled: "webhook status is DISABLED, not ACTIVE",
		},
	}
}

// send makes a raw call to a stand-in, as a test breaking a webhook does.
func send(t *testing.T, method, url, body, header, value string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set(header, value)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s %s = %d", method, url, resp.StatusCode)
	}
}

// sameJSON says whether a and b are the same JSON value.
func sameJSON(t *testing.T, a, b []byte) bool {
	t.Helper()
	var va, vb any
	if err := json.Unmarshal(a, &va); err != nil {
		t.Fatalf("%s: %v", a, err)
	}
	if err := json.Unmarshal(b, &vb); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	return reflect.DeepEqual(va, vb)
}

// TestCreateAndFind registers at each stand-in with exactly the seed's body
// fields, and Find finds that webhook afterwards (and nothing before, in
// another tenant or at another URL), so a retried Create can be skipped.
func TestCreateAndFind(t *testing.T) {
	ctx := context.Background()
	for _, sd := range sides() {
		t.Run(sd.name, func(t *testing.T) {
			st := newStand(t, sd.stand())
			r := sd.registrar(st.URL)
			want := sd.want("https://hookflow.test/webhooks/" + sd.name + "/t1")

			if _, ok, err := r.Find(ctx, want); err != nil || ok {
				t.Fatalf("Find before Create = %v, %v; want not found", ok, err)
			}
			got, err := r.Create(ctx, want)
			if err != nil {
				t.Fatal(err)
			}
			if got.ID == "" || !got.Active || got.URL != want.URL || len(r.Drift(want, got)) != 0 {
				t.Errorf("Create = %+v, want an active webhook at %s without drift (%v)", got, want.URL, r.Drift(want, got))
			}
			bodies := st.posts(http.MethodPost, sd.create)
			if len(bodies) != 1 || !sameJSON(t, bodies[0], []byte(sd.created(want))) {
				t.Errorf("registered %q, want exactly %s", bodies, sd.created(want))
			}

			found, ok, err := r.Find(ctx, want)
			if err != nil || !ok || found.ID != got.ID {
				t.Errorf("Find after Create = %+v, %v, %v; want %s", found, ok, err, got.ID)
			}
			other := want
			other.Tenant = "other-tenant"
			if _, ok, err := r.Find(ctx, other); err != nil || ok {
				t.Errorf("Find in another tenant = %v, %v; want not found", ok, err)
			}
			other = want
			other.URL = "https://hookflow.test/elsewhere"
			if _, ok, err := r.Find(ctx, other); err != nil || ok {
				t.Errorf("Find at another URL = %v, %v; want not found", ok, err)
			}
		})
	}
}

// TestGetAfterDelete: Get finds a webhook until it is deleted and then says
// gone; deleting it again succeeds.
func TestGetAfterDelete(t *testing.T) {
	ctx := context.Background()
	for _, sd := range sides() {
		t.Run(sd.name, func(t *testing.T) {
			st := newStand(t, sd.stand())
			r := sd.registrar(st.URL)
			want := sd.want("https://hookflow.test/webhooks/" + sd.name)
			created, err := r.Create(ctx, want)
			if err != nil {
				t.Fatal(err)
			}
			if got, ok, err := r.Get(ctx, want, created.ID); err != nil || !ok || got.ID != created.ID || !sameJSON(t, mustJSON(got), mustJSON(created)) {
				t.Fatalf("Get = %+v, %v, %v; want %+v", got, ok, err, created)
			}
			for i := range 2 {
				if err := r.Delete(ctx, want, created.ID); err != nil {
					t.Errorf("Delete %d = %v, want nil", i+1, err)
				}
			}
			if got, ok, err := r.Get(ctx, want, created.ID); err != nil || ok {
				t.Errorf("Get after Delete = %+v, %v, %v; want gone", got, ok, err)
			}
			if _, ok, err := r.Find(ctx, want); err != nil || ok {
				t.Errorf("Find after Delete = %v, %v; want not found", ok, err)
			}
		})
	}
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// TestDriftAndRepair breaks a webhook at the provider (UP42: inactive;
// Fenix: DISABLED), sees Drift report it and another URL, and Update
// repair it, twice without registering a second webhook.
func TestDriftAndRepair(t *testing.T) {
	ctx := context.Background()
	for _, sd := range sides() {
		t.Run(sd.name, func(t *testing.T) {
			st := newStand(t, sd.stand())
			r := sd.registrar(st.URL)
			want := sd.want("https://hookflow.test/webhooks/" + sd.name)
			created, err := r.Create(ctx, want)
			if err != nil {
				t.Fatal(err)
			}
			sd.disable(t, st.URL, want, created.ID)
			got, ok, err := r.Get(ctx, want, created.ID)
			if err != nil || !ok {
				t.Fatalf("Get = %v, %v", ok, err)
			}
			if drift := r.Drift(want, got); !slices.Contains(drift, sd.disabled) {
				t.Errorf("Drift of a broken webhook = %q, want %q", drift, sd.disabled)
			}
			moved := want
			moved.URL = "https://hookflow.test/moved"
			wantMoved := "webhook posts to " + want.URL + ", not " + moved.URL
			if drift := r.Drift(moved, got); !slices.Contains(drift, wantMoved) {
				t.Errorf("Drift at another URL = %q, want %q", drift, wantMoved)
			}

			repaired, err := r.Update(ctx, moved, created.ID)
			if err != nil {
				t.Fatal(err)
			}
			again, err := r.Update(ctx, moved, repaired.ID)
			if err != nil || again.ID != repaired.ID {
				t.Errorf("Update of a repaired webhook = %+v, %v; want %s kept", again, err, repaired.ID)
			}
			got, ok, err = r.Get(ctx, moved, repaired.ID)
			if err != nil || !ok || len(r.Drift(moved, got)) != 0 {
				t.Errorf("Get after Update = %+v, %v, %v; want no drift, got %q", got, ok, err, r.Drift(moved, got))
			}
			if repaired.ID != created.ID {
				if _, ok, err := r.Get(ctx, moved, created.ID); err != nil || ok {
					t.Errorf("the replaced webhook: Get = %v, %v; want gone", ok, err)
				}
			}
			if n := len(st.posts(http.MethodPost, sd.create)); n > 2 {
				t.Errorf("%d registrations, want at most 2 (the first and one replacement)", n)
			}
		})
	}
}

// TestDrift checks the reasons Drift gives for webhooks differing by data.
func TestDrift(t *testing.T) {
	up42, fenix := registration.UP42("http://x.test", nil), registration.Fenix("http://x.test", nil)
	const u = "https://hookflow.test/h"
	up42Want := registration.Want{Tenant: "ws", URL: u, Secret: "s", AccessToken: "t"}
	fenixWant := registration.Want{Tenant: "shop", URL: u, AccessToken: "t", Filters: json.RawMessage(fenixFilters)}
	fenixGot := func(status, topic, filters string) registration.Webhook {
		return registration.Webhook{ID: "1", URL: u, Events: []string{topic}, Active: status == "ACTIVE", Status: status, Filters: json.RawMessage(filters)}
	}
	for _, tc := range []struct {
		name  string
		r     registration.Registrar
		want  registration.Want
		got   registration.Webhook
		drift []string
	}{
		{"up42 as wanted", up42, up42Want, registration.Webhook{ID: "1", URL: u, Events: []string{"job.status", "order.status"}, Active: true}, nil},
		{"up42 without order.status", up42, up42Want, registration.Webhook{ID: "1", URL: u, Events: []string{"job.status"}, Active: true},
			[]string{"webhook lacks event order.status"}},
		{"up42 inactive elsewhere", up42, up42Want, registration.Webhook{ID: "1", URL: "https://old.test/h", Events: []string{"order.status"}},
			[]string{"webhook is inactive", "webhook posts to https://old.test/h, not " + u}},
		{"fenix as wanted", fenix, fenixWant, fenixGot("ACTIVE", "tracking/updated", fenixFilters), nil},
		{"fenix filters spaced and reordered", fenix, fenixWant,
			fenixGot("ACTIVE", "tracking/updated", `[ {"sub_filter":{"delivery_statuses":["IN_TRANSIT","DELIVERED"]}, "carrier":"FEDEX"} ]`), nil},
		{"fenix no filters as null", fenix, registration.Want{Tenant: "shop", URL: u, AccessToken: "t"}, fenixGot("ACTIVE", "tracking/updated", "null"), nil},
		{"fenix inactive", fenix, fenixWant, fenixGot("INACTIVE", "tracking/updated", fenixFilters), []string{"webhook status is INACTIVE, not ACTIVE"}},
		{"fenix other topic", fenix, fenixWant, fenixGot("ACTIVE", "orders/create", fenixFilters), []string{"webhook topic is [orders/create], not tracking/updated"}},
		{"fenix other filters", fenix, fenixWant, fenixGot("ACTIVE", "tracking/updated", `[{"carrier":"UPS","sub_filter":{"delivery_statuses":[]}}]`),
			[]string{`webhook filters are [{"carrier":"UPS","sub_filter":{"delivery_statuses":[]}}], not ` + fenixFilters}},
		{"fenix filters dropped", fenix, fenixWant, fenixGot("ACTIVE", "tracking/updated", "[]"), []string{"webhook filters are [], not " + fenixFilters}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.r.Drift(tc.want, tc.got); !slices.Equal(got, tc.drift) {
				t.Errorf("Drift = %q, want %q", got, tc.drift)
			}
		})
	}
}

// TestFenixRefused: Fenix's 400 surfaces as a permanent *RefusedError with
// its identifier and description.
func TestFenixRefused(t *testing.T) {
	st := newStand(t, devtools.NewFenixSandbox(devtools.SandboxOptions{}))
	r := registration.Fenix(st.URL, nil)
	want := registration.Want{Tenant: "shop", URL: "https://hookflow.test/h", AccessToken: "t",
		Filters: json.RawMessage(`[{"carrier":"UPS","sub_filter":{"delivery_statuses":["LOST"]}}]`)}
	_, err := r.Create(context.Background(), want)
	var refused *registration.RefusedError
	if !errors.As(err, &refused) {
		t.Fatalf("Create = %v, want a *RefusedError", err)
	}
	if refused.Provider != "fenix" || refused.Status != 400 || refused.Identifier != "INVALID_PARAMETERS" || !strings.Contains(refused.Description, `"LOST"`) {
		t.Errorf("refusal = %+v, want fenix 400 INVALID_PARAMETERS describing LOST", refused)
	}
	if msg := err.Error(); !strings.Contains(msg, "INVALID_PARAMETERS") || !strings.Contains(msg, refused.Description) {
		t.Errorf("error %q does not name the identifier and description", msg)
	}
	if !refused.Permanent() || !registration.Permanent(err) {
		t.Errorf("a 400 is not permanent")
	}
}

// TestPermanent classifies the answers and errors a Registrar returns.
func TestPermanent(t *testing.T) {
	ctx := context.Background()
	want := registration.Want{Tenant: "shop", URL: "https://hookflow.test/h", AccessToken: "t"}
	for _, tc := range []struct {
		status    int
		permanent bool
	}{
		{400, true}, {401, true}, {403, true}, {409, true}, {422, true},
		{408, false}, {429, false}, {500, false}, {502, false}, {503, false},
	} {
		t.Run(fmt.Sprint(tc.status), func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.WriteHeader(tc.status)
				_, _ = io.WriteString(w, "<html>gateway says no</html>")
			}))
			defer srv.Close()
			_, err := registration.Fenix(srv.URL, nil).Create(ctx, want)
			var refused *registration.RefusedError
			if !errors.As(err, &refused) || refused.Status != tc.status || refused.Description != "<html>gateway says no</html>" {
				t.Fatalf("Create = %v, want a %d refusal quoting the answer", err, tc.status)
			}
			if refused.Permanent() != tc.permanent || registration.Permanent(err) != tc.permanent {
				t.Errorf("Permanent = %v, want %v", refused.Permanent(), tc.permanent)
			}
		})
	}

	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	_, err := registration.Fenix(closed.URL, nil).Create(ctx, want)
	if err == nil || registration.Permanent(err) {
		t.Errorf("unreachable provider: %v, permanent %v; want a retryable error", err, registration.Permanent(err))
	}
	_, err = registration.Fenix(closed.URL, nil).Test(ctx, want, "id")
	if !errors.Is(err, registration.ErrUnsupported) || !errors.Is(err, errors.ErrUnsupported) || !registration.Permanent(err) {
		t.Errorf("Fenix Test = %v, want a permanent ErrUnsupported", err)
	}
	if _, err := registration.New("phoenix", closed.URL, nil); !errors.Is(err, registration.ErrNoRegistrationAPI) {
		t.Errorf("New(phoenix) = %v, want ErrNoRegistrationAPI", err)
	}
}

// TestInvalidWant: a Want that cannot be registered is refused before any
// call, permanently.
func TestInvalidWant(t *testing.T) {
	ctx := context.Background()
	st := newStand(t, http.NotFoundHandler())
	good := registration.Want{Tenant: "t", URL: "https://hookflow.test/h", Secret: "s", AccessToken: "a"}
	for _, tc := range []struct {
		name     string
		provider string
		edit     func(*registration.Want)
	}{
		{"no tenant", "up42", func(w *registration.Want) { w.Tenant = "" }},
		{"relative URL", "fenix", func(w *registration.Want) { w.URL = "/webhooks/fenix" }},
		{"no token", "fenix", func(w *registration.Want) { w.AccessToken = "" }},
		{"up42 without secret", "up42", func(w *registration.Want) { w.Secret = "" }},
		{"fenix filters not an array", "fenix", func(w *registration.Want) { w.Filters = json.RawMessage(`{"carrier":"UPS"}`) }},
		{"fenix filters past the bound", "fenix", func(w *registration.Want) {
			w.Filters = json.RawMessage(`["` + strings.Repeat("x", registration.MaxFilters) + `"]`)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := good
			tc.edit(&want)
			r, err := registration.New(tc.provider, st.URL, nil)
			if err != nil {
				t.Fatal(err)
			}
			_, err = r.Create(ctx, want)
			if !errors.Is(err, registration.ErrInvalidWant) || !registration.Permanent(err) {
				t.Errorf("Create = %v, want a permanent ErrInvalidWant", err)
			}
			if n := st.count(); n != 0 {
				t.Errorf("%d calls made, want none", n)
			}
		})
	}
}

// TestUP42Test: UP42's test answers its counts, and the stand-in has sent
// the receiver an order.status webhook signed with the registered secret;
// after a rotation (Update with a new secret), with the new one.
func TestUP42Test(t *testing.T) {
	ctx := context.Background()
	rc := newReceiver(t)
	st := newStand(t, devtools.NewUP42Sandbox(devtools.SandboxOptions{}))
	r := registration.UP42(st.URL, nil)
	want := registration.Want{Tenant: "ws-1", URL: rc.URL + "/webhooks/up42", Secret: "whsec-old", AccessToken: "token"}
	created, err := r.Create(ctx, want)
	if err != nil {
		t.Fatal(err)
	}
	rotated := want
	rotated.Secret = "whsec-new"
	for i, w := range []registration.Want{want, rotated} {
		if i == 1 {
			if _, err := r.Update(ctx, w, created.ID); err != nil {
				t.Fatal(err)
			}
		}
		got, err := r.Test(ctx, w, created.ID)
		if err != nil || got != (registration.TestResult{Run: 1, Succeeded: 1}) {
			t.Fatalf("Test with %s = %+v, %v; want 1 run, 1 succeeded", w.Secret, got, err)
		}
		rc.mu.Lock()
		if len(rc.bodies) != i+1 {
			t.Fatalf("receiver got %d webhooks, want %d", len(rc.bodies), i+1)
		}
		body, sig := rc.bodies[i], rc.signatures[i]
		rc.mu.Unlock()
		if wantSig := hex.EncodeToString(signature.Sign([]byte(w.Secret), body)); sig != wantSig {
			t.Errorf("test webhook signed %q, want the HMAC with %s, %q", sig, w.Secret, wantSig)
		}
		var ev struct{ Event string }
		if err := json.Unmarshal(body, &ev); err != nil || ev.Event != "order.status" {
			t.Errorf("test webhook %s, want an order.status event", body)
		}
	}
}

// TestUP42EventFromList: the event registered is the one UP42 lists; when
// UP42 does not list order.status, Create fails permanently without
// registering.
func TestUP42EventFromList(t *testing.T) {
	sandbox := devtools.NewUP42Sandbox(devtools.SandboxOptions{})
	st := newStand(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/webhooks/events" {
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"data":[{"name":"job.status"}],"error":null}`)
			return
		}
		sandbox.ServeHTTP(w, r)
	}))
	r := registration.UP42(st.URL, nil)
	want := registration.Want{Tenant: "ws-1", URL: "https://hookflow.test/h", Secret: "s", AccessToken: "t"}
	_, err := r.Create(context.Background(), want)
	if !errors.Is(err, registration.ErrNoEvent) || !registration.Permanent(err) {
		t.Errorf("Create = %v, want a permanent ErrNoEvent", err)
	}
	if n := len(st.posts(http.MethodPost, "/webhooks")); n != 0 {
		t.Errorf("%d registrations, want none", n)
	}
}

// TestBounds: lists and answers past their bounds are errors, at the bound
// they are read.
func TestBounds(t *testing.T) {
	ctx := context.Background()
	list := func(n int) string {
		hooks := make([]string, n)
		for i := range hooks {
			hooks[i] = fmt.Sprintf(`{"id":"%d","store_name":"shop","topic":"tracking/updated","address":"https://other.test/%d","status":"ACTIVE"}`, i, i)
		}
		return `{"webhooks":[` + strings.Join(hooks, ",") + `]}`
	}
	events := func(n int) string {
		names := make([]string, n)
		for i := range names {
			names[i] = fmt.Sprintf(`{"name":"e%d"}`, i)
		}
		names[n-1] = `{"name":"order.status"}`
		return `{"data":[` + strings.Join(names, ",") + `],"error":null}`
	}
	fenixWant := registration.Want{Tenant: "shop", URL: "https://hookflow.test/h", AccessToken: "t"}
	up42Want := registration.Want{Tenant: "ws", URL: "https://hookflow.test/h", Secret: "s", AccessToken: "t"}
	for _, tc := range []struct {
		name   string
		answer string
		do     func(base string) error
		ok     bool
		err    string // in the error when not ok
	}{
		{"fenix list at the bound", list(registration.MaxWebhooks), func(b string) error {
			_, _, err := registration.Fenix(b, nil).Find(ctx, fenixWant)
			return err
		}, true, ""},
		{"fenix list past the bound", list(registration.MaxWebhooks + 1), func(b string) error {
			_, _, err := registration.Fenix(b, nil).Find(ctx, fenixWant)
			return err
		}, false, "more than 1000"},
		{"answer past the bound", `{"webhooks":[],"pad":"` + strings.Repeat("x", registration.MaxResponseBody) + `"}`, func(b string) error {
			_, _, err := registration.Fenix(b, nil).Find(ctx, fenixWant)
			return err
		}, false, "answer larger than 1048576 bytes"},
		{"up42 events at the bound", events(registration.MaxEvents), func(b string) error {
			_, err := registration.UP42(b, nil).Create(ctx, up42Want)
			return err
		}, true, ""},
		{"up42 events past the bound", events(registration.MaxEvents + 1), func(b string) error {
			_, err := registration.UP42(b, nil).Create(ctx, up42Want)
			return err
		}, false, "more than 100"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Method == http.MethodPost { // UP42's registration, after its events
					w.WriteHeader(http.StatusCreated)
					_, _ = io.WriteString(w, `{"data":{"id":"1","url":"https://hookflow.test/h","events":["order.status"],"active":true},"error":null}`)
					return
				}
				_, _ = io.WriteString(w, tc.answer)
			}))
			defer srv.Close()
			err := tc.do(srv.URL)
			if (err == nil) != tc.ok || err != nil && !strings.Contains(err.Error(), tc.err) {
				t.Errorf("err = %v, want ok %v or %q", err, tc.ok, tc.err)
			}
		})
	}
}

// TestFenixOtherStore: the store_name filter of Fenix's list is assumed,
// so a webhook of another store at the same URL is never taken for the
// tenant's, by Find or Get.
func TestFenixOtherStore(t *testing.T) {
	const u = "https://hookflow.test/webhooks/fenix"
	hook := `{"id":"1","store_name":"other-shop","topic":"tracking/updated","address":"` + u + `","status":"ACTIVE"}`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/webhooks") {
			_, _ = io.WriteString(w, `{"webhooks":[`+hook+`]}`)
			return
		}
		_, _ = io.WriteString(w, `{"webhook":`+hook+`}`)
	}))
	defer srv.Close()
	r := registration.Fenix(srv.URL, nil)
	want := registration.Want{Tenant: "shop", URL: u, AccessToken: "t"}
	if got, ok, err := r.Find(context.Background(), want); err != nil || ok {
		t.Errorf("Find = %+v, %v, %v; want not found", got, ok, err)
	}
	if got, ok, err := r.Get(context.Background(), want, "1"); err != nil || ok {
		t.Errorf("Get = %+v, %v, %v; want gone", got, ok, err)
	}
}

// TestNeedsSecret: UP42 signs with a secret hookflow registers, Fenix with
// its own.
func TestNeedsSecret(t *testing.T) {
	for name, want := range map[string]bool{"up42": true, "fenix": false} {
		r, err := registration.New(name, "http://x.test", nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := r.NeedsSecret(); got != want {
			t.Errorf("%s NeedsSecret = %v, want %v", name, got, want)
		}
	}
}
