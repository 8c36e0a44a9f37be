package activities

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/hookflow/hookflow/event"
)

func TestExcerpt(t *testing.T) {
	huge := "503 " + strings.Repeat("x", 3<<20)
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"empty", "", ""},
		{"a status line", "503 Service Unavailable", "503 Service Unavailable"},
		{"at the bound", strings.Repeat("a", 256), strings.Repeat("a", 256)},
		{"one past the bound", strings.Repeat("a", 257), strings.Repeat("a", 253) + "…"},
		{"a 3 MB status line", huge, huge[:253] + "…"},
		{"cut inside a rune", "5" + strings.Repeat("é", 200), "5" + strings.Repeat("é", 126) + "…"},
		{"invalid UTF-8", "502 Bad\xffGateway", "502 Bad\uFFFDGateway"},
		{"invalid UTF-8 that grows past the bound", strings.Repeat("\xffa", 128), strings.Repeat("\uFFFDa", 63) + "…"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := excerpt(tt.in)
			if got != tt.want {
				t.Errorf("excerpt = %.40q… (%d bytes), want %.40q… (%d bytes)", got, len(got), tt.want, len(tt.want))
			}
			if len(got) > maxExcerpt || !utf8.ValidString(got) {
				t.Errorf("excerpt is %d bytes, valid UTF-8 %v: want at most %d, valid", len(got), utf8.ValidString(got), maxExcerpt)
			}
		})
	}
}

// rawAnswer is an HTTP server that reads the request and answers with raw
// bytes, however malformed.
func rawAnswer(t *testing.T, raw string) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		conn, buf, err := w.(http.Hijacker).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		defer conn.Close()
		_, _ = buf.WriteString(raw)
		_ = buf.Flush()
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestAnswersQuotedInErrorsAreBounded sends the activities that read an
// answer to servers answering megabytes where a status line goes: each
// error quotes a bounded excerpt of it, and stays retryable.
func TestAnswersQuotedInErrorsAreBounded(t *testing.T) {
	junk := strings.Repeat("x", 3<<20)
	answers := []struct {
		name        string
		raw         string
		deliverOnly bool // provider reads follow redirects
	}{
		{"3 MB reason phrase", "HTTP/1.1 503 " + junk + "\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", false},
		{"3 MB redirect reason phrase", "HTTP/1.1 302 " + junk + "\r\nLocation: /x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", true},
		{"3 MB malformed status line", "HTTP/1.1" + junk + "\r\n\r\n", false},
	}
	msg := event.Outbound{
		Type: event.OutboundType, Provider: "fenix", EntityType: "shipment", EntityID: "1",
		WorkflowID: "fenix-shipment:1", Seq: 1, To: "DELIVERED", At: time.Unix(1764000000, 0).UTC(), Body: []byte(`{}`),
	}
	for _, ans := range answers {
		t.Run(ans.name, func(t *testing.T) {
			srv := rawAnswer(t, ans.raw)
			f, err := NewForward([]Destination{{Name: "raw", URL: srv.URL, Secrets: []string{specSecret}}})
			if err != nil {
				t.Fatal(err)
			}
			a := &Activities{HTTP: &http.Client{Timeout: 5 * time.Second}, APIs: phoenixAPIs(srv.URL), Forward: f}
			calls := map[string]func(env *testsuite.TestActivityEnvironment) error{
				"Deliver": func(env *testsuite.TestActivityEnvironment) error {
					_, err := env.ExecuteActivity(a.Deliver, DeliverInput{Target: "raw", Message: msg})
					return err
				},
				"FetchPhoenixOrder": func(env *testsuite.TestActivityEnvironment) error {
					_, err := env.ExecuteActivity(a.FetchPhoenixOrder, FetchOrderInput{OrderID: "o1"})
					return err
				},
			}
			if ans.deliverOnly {
				delete(calls, "FetchPhoenixOrder")
			}
			for name, call := range calls {
				var suite testsuite.WorkflowTestSuite
				env := suite.NewTestActivityEnvironment()
				env.RegisterActivity(a)
				err := call(env)
				var app *temporal.ApplicationError
				if !errors.As(err, &app) || app.NonRetryable() {
					t.Fatalf("%s: err = %.200v, want a retryable failure", name, err)
				}
				if got := app.Message(); len(got) > 2*maxExcerpt || !strings.Contains(got, "xxx…") {
					t.Errorf("%s: error message is %d bytes (%.120q…), want a bounded excerpt of the answer", name, len(got), got)
				}
			}
		})
	}
}
