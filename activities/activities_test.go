package activities

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
)

func TestFetchPhoenixOrder(t *testing.T) {
	tests := []struct {
		name          string
		code          int
		body          string
		wantStatus    string
		wantErrType   string // "" for success
		wantRetryable bool
	}{
		{"status at top level", 200, `{"id":"o1","status":"fulfilled"}`, "fulfilled", "", false},
		{"orderStatus at top level", 200, `{"orderStatus":"Pending"}`, "pending", "", false},
		{"under order", 200, `{"order":{"id":"o1","status":"expired"}}`, "expired", "", false},
		{"under data", 200, `{"data":{"orderStatus":"fulfilled"}}`, "fulfilled", "", false},
		{"unknown shape", 200, `{"state":"fulfilled"}`, "", ErrUnrecognizedResponse, false},
		{"not JSON", 200, `<html>`, "", ErrUnrecognizedResponse, false},
		{"not found", 404, `{"error":"not found"}`, "", ErrOrderNotFound, false},
		{"other 4xx", 403, ``, "", ErrProviderRejected, false},
		{"server error", 502, ``, "", "", true},
		{"rate limited", 429, ``, "", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var gotPath string
			api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				gotPath = r.URL.Path
				w.WriteHeader(tt.code)
				_, _ = w.Write([]byte(tt.body))
			}))
			defer api.Close()
			var s testsuite.WorkflowTestSuite
			env := s.NewTestActivityEnvironment()
			a := &Activities{HTTP: api.Client(), PhoenixAPIURL: api.URL + "/"}
			env.RegisterActivity(a)

			val, err := env.ExecuteActivity(a.FetchPhoenixOrder, FetchOrderInput{OrderID: "o 1"})
			if gotPath != "/orders/o 1" {
				t.Errorf("path = %q, want /orders/o 1 (escaped on the wire)", gotPath)
			}
			if tt.wantErrType == "" && !tt.wantRetryable {
				if err != nil {
					t.Fatalf("err = %v, want none", err)
				}
				var got OrderStatus
				if err := val.Get(&got); err != nil {
					t.Fatal(err)
				}
				if got.Status != tt.wantStatus {
					t.Errorf("status = %q, want %q", got.Status, tt.wantStatus)
				}
				return
			}
			if err == nil {
				t.Fatal("err = nil, want a failure")
			}
			var app *temporal.ApplicationError
			if !errors.As(err, &app) {
				t.Fatalf("err = %v, want an application error", err)
			}
			if got := app.NonRetryable(); got == tt.wantRetryable {
				t.Errorf("non-retryable = %v, want %v", got, !tt.wantRetryable)
			}
			if tt.wantErrType != "" && app.Type() != tt.wantErrType {
				t.Errorf("error type = %q, want %q", app.Type(), tt.wantErrType)
			}
		})
	}
}

func TestFetchPhoenixOrderTimeoutIsRetryable(t *testing.T) {
	release := make(chan struct{})
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer api.Close()
	defer close(release)
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	a := &Activities{HTTP: &http.Client{Timeout: 50 * time.Millisecond}, PhoenixAPIURL: api.URL}
	env.RegisterActivity(a)
	_, err := env.ExecuteActivity(a.FetchPhoenixOrder, FetchOrderInput{OrderID: "o1"})
	var app *temporal.ApplicationError
	if err == nil || !errors.As(err, &app) || app.NonRetryable() {
		t.Fatalf("err = %v, want a retryable failure", err)
	}
}
