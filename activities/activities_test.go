package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/hookflow/hookflow/providers"
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
			a := &Activities{HTTP: api.Client(), APIs: phoenixAPIs(api.URL + "/")}
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
	a := &Activities{HTTP: &http.Client{Timeout: 50 * time.Millisecond}, APIs: phoenixAPIs(api.URL)}
	env.RegisterActivity(a)
	_, err := env.ExecuteActivity(a.FetchPhoenixOrder, FetchOrderInput{OrderID: "o1"})
	var app *temporal.ApplicationError
	if err == nil || !errors.As(err, &app) || app.NonRetryable() {
		t.Fatalf("err = %v, want a retryable failure", err)
	}
}

// TestProviderReadsFollowRedirectsOnlyOnTheirHost: a provider API read
// follows a redirect on the API's own host, and answers a redirect to
// another host with a retryable failure, sending nothing there.
func TestProviderReadsFollowRedirectsOnlyOnTheirHost(t *testing.T) {
	var mu sync.Mutex
	elsewhereGot := 0
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		elsewhereGot++
		mu.Unlock()
		_, _ = w.Write([]byte(`{"status":"stolen"}`))
	}))
	defer elsewhere.Close()
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/orders/moved":
			http.Redirect(w, r, "/v2/orders/moved", http.StatusMovedPermanently)
		case "/v2/orders/moved":
			_, _ = w.Write([]byte(`{"status":"fulfilled"}`))
		default:
			http.Redirect(w, r, elsewhere.URL+r.URL.Path, http.StatusFound)
		}
	}))
	defer api.Close()
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	a := &Activities{HTTP: &http.Client{Timeout: 5 * time.Second}, APIs: phoenixAPIs(api.URL)}
	env.RegisterActivity(a)

	v, err := env.ExecuteActivity(a.FetchPhoenixOrder, FetchOrderInput{OrderID: "moved"})
	var out OrderStatus
	if err == nil {
		err = v.Get(&out)
	}
	if err != nil || out.Status != "fulfilled" {
		t.Errorf("same-host redirect: %+v, %v; want fulfilled", out, err)
	}
	_, err = env.ExecuteActivity(a.FetchPhoenixOrder, FetchOrderInput{OrderID: "away"})
	var app *temporal.ApplicationError
	if err == nil || !errors.As(err, &app) || app.NonRetryable() || !strings.Contains(err.Error(), "302 Found to another host") {
		t.Errorf("redirect to another host: err = %v, want a retryable failure naming it", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if elsewhereGot != 0 {
		t.Errorf("the other host got %d requests, want none", elsewhereGot)
	}
}

// snapshot is the part of the workflow's snapshot these tests look at.
type snapshot struct {
	Status string `json:"status"`
}

// memoKey is the memo field entity workflows keep their snapshot in.
const memoKey = "hookflow.snapshot"

// fakeVisibility serves pages of executions, in order, whatever the query,
// and describes the runs it was given.
type fakeVisibility struct {
	pages   [][]*workflowpb.WorkflowExecutionInfo
	queries []string
	err     error // DescribeWorkflowExecution's error
	// answers are QueryWorkflow's answers, by run ID.
	answers map[string]any
}

func (f *fakeVisibility) QueryWorkflow(_ context.Context, _, runID, _ string, _ ...any) (converter.EncodedValue, error) {
	v, ok := f.answers[runID]
	if !ok {
		return nil, serviceerror.NewNotFound("no answer")
	}
	p, err := converter.GetDefaultDataConverter().ToPayloads(v)
	if err != nil {
		return nil, err
	}
	return encodedValue{p}, nil
}

// encodedValue is a query answer as the client returns it.
type encodedValue struct{ p *commonpb.Payloads }

func (v encodedValue) HasValue() bool { return v.p != nil }
func (v encodedValue) Get(to any) error {
	return converter.GetDefaultDataConverter().FromPayloads(v.p, to)
}

func (f *fakeVisibility) DescribeWorkflowExecution(_ context.Context, workflowID, runID string) (*workflowservice.DescribeWorkflowExecutionResponse, error) {
	if f.err != nil {
		return nil, f.err
	}
	for _, page := range f.pages {
		for _, ex := range page {
			if ex.GetExecution().GetWorkflowId() == workflowID && ex.GetExecution().GetRunId() == runID {
				return &workflowservice.DescribeWorkflowExecutionResponse{WorkflowExecutionInfo: ex}, nil
			}
		}
	}
	return nil, serviceerror.NewNotFound("workflow execution not found")
}

func (f *fakeVisibility) ListWorkflow(_ context.Context, req *workflowservice.ListWorkflowExecutionsRequest) (*workflowservice.ListWorkflowExecutionsResponse, error) {
	f.queries = append(f.queries, req.GetQuery())
	page := 0
	if tok := req.GetNextPageToken(); len(tok) > 0 {
		page = int(tok[0])
	}
	resp := &workflowservice.ListWorkflowExecutionsResponse{}
	if page < len(f.pages) {
		resp.Executions = f.pages[page]
	}
	if page+1 < len(f.pages) {
		resp.NextPageToken = []byte{byte(page + 1)}
	}
	return resp, nil
}

func TestLoadPreviousRun(t *testing.T) {
	const wfID = "fenix-shipment:1Z999"
	closedAt := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	run := func(id string, status enums.WorkflowExecutionStatus, closed time.Duration, snap *snapshot) *workflowpb.WorkflowExecutionInfo {
		info := &workflowpb.WorkflowExecutionInfo{
			Execution: &commonpb.WorkflowExecution{WorkflowId: wfID, RunId: id},
			Status:    status,
		}
		if status != enums.WORKFLOW_EXECUTION_STATUS_RUNNING {
			info.CloseTime = timestamppb.New(closedAt.Add(closed))
		}
		if snap != nil {
			p, err := converter.GetDefaultDataConverter().ToPayload(snap)
			if err != nil {
				t.Fatal(err)
			}
			info.Memo = &commonpb.Memo{Fields: map[string]*commonpb.Payload{memoKey: p}}
		}
		return info
	}
	const (
		running   = enums.WORKFLOW_EXECUTION_STATUS_RUNNING
		completed = enums.WORKFLOW_EXECUTION_STATUS_COMPLETED
		continued = enums.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW
	)
	older := &snapshot{Status: "IN_TRANSIT"}
	newer := &snapshot{Status: "DELIVERED"}

	tests := []struct {
		name       string
		pages      [][]*workflowpb.WorkflowExecutionInfo
		wantRun    string // "" for not found
		wantStatus string
		wantErr    string // substring; "" for none
	}{
		{"only the asking run", [][]*workflowpb.WorkflowExecutionInfo{{run("self", running, 0, nil)}}, "", "", ""},
		{"latest snapshot wins", [][]*workflowpb.WorkflowExecutionInfo{{
			run("self", running, 0, nil),
			run("r1", completed, -2*time.Hour, older),
			run("r3", completed, -time.Hour, newer),
			run("r2", continued, -90*time.Minute, nil),
		}}, "r3", "DELIVERED", ""},
		{"snapshot on a later page", [][]*workflowpb.WorkflowExecutionInfo{
			{run("self", running, 0, nil), run("r2", continued, -time.Hour, nil)},
			{run("r1", completed, -2*time.Hour, newer)},
		}, "r1", "DELIVERED", ""},
		{"previous run still listed as running", [][]*workflowpb.WorkflowExecutionInfo{{
			run("self", running, 0, nil), run("r1", running, 0, nil), run("r0", completed, -time.Hour, older),
		}}, "", "", ErrVisibilityBehind},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vis := &fakeVisibility{pages: tt.pages}
			a := &Activities{Temporal: vis, Namespace: "default"}
			got, err := a.LoadPreviousRun(context.Background(), LoadPreviousInput{WorkflowID: wfID, RunID: "self"})
			if tt.wantErr != "" {
				var app *temporal.ApplicationError
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || (errors.As(err, &app) && app.NonRetryable()) {
					t.Fatalf("err = %v, want a retryable error containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("LoadPreviousRun: %v", err)
			}
			var snap snapshot
			if got.Found {
				if err := json.Unmarshal(got.Snapshot, &snap); err != nil {
					t.Fatalf("snapshot %s: %v", got.Snapshot, err)
				}
			}
			if got.Found != (tt.wantRun != "") || got.RunID != tt.wantRun || snap.Status != tt.wantStatus {
				t.Errorf("got %+v, want run %q with status %q", got, tt.wantRun, tt.wantStatus)
			}
			if want := `WorkflowId = "` + wfID + `"`; vis.queries[0] != want {
				t.Errorf("query = %s, want %s", vis.queries[0], want)
			}
		})
	}

	t.Run("undecodable snapshot is permanent", func(t *testing.T) {
		bad := run("r1", completed, -time.Hour, nil)
		bad.Memo = &commonpb.Memo{Fields: map[string]*commonpb.Payload{memoKey: {
			Metadata: map[string][]byte{"encoding": []byte("json/plain")}, Data: []byte("{not json"),
		}}}
		a := &Activities{Temporal: &fakeVisibility{pages: [][]*workflowpb.WorkflowExecutionInfo{{bad}}}}
		_, err := a.LoadPreviousRun(context.Background(), LoadPreviousInput{WorkflowID: wfID, RunID: "self"})
		var app *temporal.ApplicationError
		if !errors.As(err, &app) || !app.NonRetryable() || app.Type() != ErrUnrecognizedResponse {
			t.Errorf("err = %v, want a non-retryable %s", err, ErrUnrecognizedResponse)
		}
	})
}

func TestDescribeRun(t *testing.T) {
	const wfID = "fenix-shipment:1Z999"
	memo := func(data string) *commonpb.Memo {
		return &commonpb.Memo{Fields: map[string]*commonpb.Payload{memoKey: {
			Metadata: map[string][]byte{"encoding": []byte("json/plain")}, Data: []byte(data),
		}}}
	}
	info := func(id string, status enums.WorkflowExecutionStatus, m *commonpb.Memo) *workflowpb.WorkflowExecutionInfo {
		return &workflowpb.WorkflowExecutionInfo{Execution: &commonpb.WorkflowExecution{WorkflowId: wfID, RunId: id}, Status: status, Memo: m}
	}
	runs := [][]*workflowpb.WorkflowExecutionInfo{{
		info("closed", enums.WORKFLOW_EXECUTION_STATUS_TERMINATED, memo(`{"status":"IN_TRANSIT"}`)),
		info("bare", enums.WORKFLOW_EXECUTION_STATUS_COMPLETED, nil),
		info("open", enums.WORKFLOW_EXECUTION_STATUS_RUNNING, nil),
		info("garbled", enums.WORKFLOW_EXECUTION_STATUS_COMPLETED, memo(`{not json`)),
	}}
	tests := []struct {
		run      string
		query    string
		err      error
		want     Run
		wantErr  bool
		wantPerm bool
	}{
		{run: "closed", want: Run{Memo: json.RawMessage(`{"status":"IN_TRANSIT"}`)}},
		{run: "closed", query: "snapshot", want: Run{Memo: json.RawMessage(`{"status":"IN_TRANSIT"}`)}},
		{run: "bare", want: Run{}},
		{run: "bare", query: "snapshot", want: Run{Memo: json.RawMessage(`{"status":"DELIVERED"}`)}},
		{run: "open", query: "snapshot", want: Run{Running: true}},
		{run: "open", want: Run{Running: true}},
		{run: "deleted", want: Run{Gone: true}},
		{run: "garbled", wantErr: true, wantPerm: true},
		{run: "closed", err: serviceerror.NewUnavailable("frontend down"), wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.run+tt.query+fmt.Sprint(tt.err != nil), func(t *testing.T) {
			answers := map[string]any{"bare": map[string]string{"status": "DELIVERED"}, "open": map[string]string{"status": "x"}}
			a := &Activities{Temporal: &fakeVisibility{pages: runs, err: tt.err, answers: answers}}
			got, err := a.DescribeRun(context.Background(), DescribeRunInput{WorkflowID: wfID, RunID: tt.run, MemoField: memoKey, Query: tt.query})
			var app *temporal.ApplicationError
			switch {
			case tt.wantErr && err == nil:
				t.Fatalf("got %+v, want an error", got)
			case tt.wantErr && (errors.As(err, &app) && app.NonRetryable()) != tt.wantPerm:
				t.Fatalf("err = %v, want permanent %v", err, tt.wantPerm)
			case !tt.wantErr && err != nil:
				t.Fatalf("DescribeRun: %v", err)
			case !tt.wantErr && (got.Gone != tt.want.Gone || got.Running != tt.want.Running || string(got.Memo) != string(tt.want.Memo)):
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

// phoenixAPIs are APIs holding Phoenix's, at base, as the worker wires it.
func phoenixAPIs(base string) map[string]EntityAPI {
	api := providers.Phoenix(nil).API.At(base)
	return map[string]EntityAPI{"phoenix": {URL: api.URLFor, StatusOf: api.StatusOf}}
}
