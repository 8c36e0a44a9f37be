package activities

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/hookflow/hookflow/event"
)

// The Standard Webhooks specification's published example.
const (
	specSecret    = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	specID        = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	specTimestamp = 1614265330
	specPayload   = `{"test": 2432232314}`
	specSignature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
)

func TestHeadersMatchTheSpecVector(t *testing.T) {
	f, err := NewSigner([]string{specSecret})
	if err != nil {
		t.Fatal(err)
	}
	h := f.Headers(specID, time.Unix(specTimestamp, 0), []byte(specPayload))
	if got := h["webhook-signature"]; got != specSignature {
		t.Errorf("signature = %q, want the spec's %q", got, specSignature)
	}
	if h["webhook-id"] != specID || h["webhook-timestamp"] != "1614265330" {
		t.Errorf("headers = %v", h)
	}
	// Independently of the library: HMAC-SHA256 of "id.timestamp.body"
	// keyed with the base64-decoded secret.
	key, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(specSecret, "whsec_"))
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(specID + ".1614265330." + specPayload))
	if want := "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil)); want != specSignature {
		t.Errorf("independent signature %q differs from the spec's", want)
	}
}

// sink is a forward target that records deliveries and answers from a
// script of status codes (200 past its end).
type sink struct {
	mu      sync.Mutex
	script  []int
	got     []*http.Request
	bodies  [][]byte
	srv     *httptest.Server
	secrets []string
}

func newSink(t *testing.T, script ...int) *sink {
	s := &sink{script: script}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		n := len(s.got)
		s.got, s.bodies = append(s.got, r), append(s.bodies, body)
		s.mu.Unlock()
		code := http.StatusOK
		if n < len(s.script) {
			code = s.script[n]
		}
		w.WriteHeader(code)
	}))
	t.Cleanup(s.srv.Close)
	return s
}

func TestDeliver(t *testing.T) {
	msg := event.Outbound{
		Type: event.OutboundType, Provider: "fenix", EntityType: "shipment", EntityID: "794698751234",
		WorkflowID: "fenix-shipment:794698751234", Seq: 3, From: "IN_TRANSIT", To: "OUT_FOR_DELIVERY",
		EventID: "evt-1", Source: "webhook", At: time.Unix(1764000000, 0).UTC(), Body: []byte(`{"status":"out_for_delivery"}`),
	}
	const rotated = "whsec_" + "c2Vjb25kLXNlY3JldC1mb3Itcm90YXRpb24=" // "second-secret-for-rotation"
	tests := []struct {
		name     string
		code     int
		wantType string // "" for success; "retry" for a retryable error
	}{
		{"2xx is delivered", http.StatusNoContent, ""},
		{"410 stops", http.StatusGone, ErrDeliveryGone},
		{"400 is rejected", http.StatusBadRequest, ErrDeliveryRejected},
		{"409 is rejected", http.StatusConflict, ErrDeliveryRejected},
		{"429 is retried", http.StatusTooManyRequests, "retry"},
		{"503 is retried", http.StatusServiceUnavailable, "retry"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSink(t, tt.code)
			url := s.srv.URL + "/hooks?token=not-for-logs"
			f, err := NewForward([]Destination{{Name: "sink", URL: url, Secrets: []string{specSecret, rotated}, Headers: map[string]string{"X-Api-Key": "k-1"}}})
			if err != nil {
				t.Fatal(err)
			}
			var suite testsuite.WorkflowTestSuite
			env := suite.NewTestActivityEnvironment()
			a := &Activities{HTTP: &http.Client{Timeout: 5 * time.Second}, Forward: f}
			env.RegisterActivity(a)
			_, err = env.ExecuteActivity(a.Deliver, DeliverInput{Target: "sink", Message: msg})
			var app *temporal.ApplicationError
			switch {
			case tt.wantType == "" && err != nil:
				t.Fatalf("err = %v, want delivered", err)
			case tt.wantType == "retry" && (err == nil || (errors.As(err, &app) && app.NonRetryable())):
				t.Fatalf("err = %v, want a retryable error", err)
			case tt.wantType != "" && tt.wantType != "retry" && (!errors.As(err, &app) || app.Type() != tt.wantType || !app.NonRetryable()):
				t.Fatalf("err = %v, want non-retryable %s", err, tt.wantType)
			}
			if err != nil && strings.Contains(err.Error(), "not-for-logs") {
				t.Errorf("error %q shows the URL's query", err)
			}
			if len(s.got) != 1 {
				t.Fatalf("sink got %d requests, want 1", len(s.got))
			}
			r, body := s.got[0], s.bodies[0]
			if r.Header.Get("webhook-id") != "fenix-shipment:794698751234:3" {
				t.Errorf("webhook-id = %q", r.Header.Get("webhook-id"))
			}
			if n := len(strings.Fields(r.Header.Get("webhook-signature"))); n != 2 {
				t.Errorf("%d signatures, want one per secret", n)
			}
			// Each secret alone verifies it, with the library's verifier.
			for _, secret := range []string{specSecret, rotated} {
				wh, _ := standardwebhooks.NewWebhook(secret)
				if err := wh.Verify(body, r.Header); err != nil {
					t.Errorf("verify with one of the secrets: %v", err)
				}
			}
			wh, _ := standardwebhooks.NewWebhook(specSecret)
			if err := wh.Verify(append([]byte(nil), append(body[:len(body)-1], ' ', '}')...), r.Header); err == nil {
				t.Error("a tampered body verified")
			}
			if !strings.Contains(string(body), `"type":"entity.transition"`) || !strings.Contains(string(body), `"body":{"status":"out_for_delivery"}`) {
				t.Errorf("body = %s", body)
			}
		})
	}

	t.Run("a target no longer configured is rejected", func(t *testing.T) {
		var suite testsuite.WorkflowTestSuite
		env := suite.NewTestActivityEnvironment()
		f, _ := NewForward([]Destination{{Name: "gone", URL: "http://127.0.0.1:1/x", Secrets: []string{specSecret}}})
		a := &Activities{HTTP: http.DefaultClient, Forward: f}
		env.RegisterActivity(a)
		_, err := env.ExecuteActivity(a.Deliver, DeliverInput{Target: "000000000000", Message: msg})
		var app *temporal.ApplicationError
		if !errors.As(err, &app) || app.Type() != ErrDeliveryRejected {
			t.Errorf("err = %v, want %s", err, ErrDeliveryRejected)
		}
	})
}

func TestDeliverDoesNotFollowRedirects(t *testing.T) {
	msg := event.Outbound{
		Type: event.OutboundType, Provider: "fenix", EntityType: "shipment", EntityID: "794698751234",
		WorkflowID: "fenix-shipment:794698751234", Seq: 3, From: "IN_TRANSIT", To: "OUT_FOR_DELIVERY",
		EventID: "evt-1", Source: "webhook", At: time.Unix(1764000000, 0).UTC(), Body: []byte(`{}`),
	}
	for _, code := range []int{http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther, http.StatusTemporaryRedirect, http.StatusPermanentRedirect} {
		t.Run(http.StatusText(code), func(t *testing.T) {
			elsewhere := newSink(t) // another host: answers 200 to anything
			dest := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, elsewhere.srv.URL+"/stolen", code)
			}))
			t.Cleanup(dest.Close)
			f, err := NewForward([]Destination{{Name: "moved", URL: dest.URL, Secrets: []string{specSecret}, Headers: map[string]string{"X-Api-Key": "k-1"}}})
			if err != nil {
				t.Fatal(err)
			}
			var suite testsuite.WorkflowTestSuite
			env := suite.NewTestActivityEnvironment()
			a := &Activities{HTTP: &http.Client{Timeout: 5 * time.Second}, Forward: f}
			env.RegisterActivity(a)
			_, err = env.ExecuteActivity(a.Deliver, DeliverInput{Target: "moved", Message: msg})
			elsewhere.mu.Lock()
			defer elsewhere.mu.Unlock()
			if n := len(elsewhere.got); n != 0 {
				t.Errorf("the redirect's target got %d requests (%s %s, X-Api-Key %q), want none",
					n, elsewhere.got[0].Method, elsewhere.got[0].URL, elsewhere.got[0].Header.Get("X-Api-Key"))
			}
			var app *temporal.ApplicationError
			if err == nil || !errors.As(err, &app) || app.NonRetryable() {
				t.Fatalf("err = %v, want a retryable failure", err)
			}
			if want := fmt.Sprintf("answered %d %s (redirects are not followed)", code, http.StatusText(code)); !strings.Contains(err.Error(), want) {
				t.Errorf("err = %q, want it to say %q", err, want)
			}
		})
	}
}

func TestTargetLabelHidesPathAndCredentials(t *testing.T) {
	got := TargetLabel("https://user:pass@sink.example.com:8443/hooks/abc?token=x")
	if got != "https://sink.example.com:8443" {
		t.Errorf("label = %q", got)
	}
}
