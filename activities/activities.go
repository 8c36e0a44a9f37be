// Package activities holds the side effects of the entity workflows: calls to
// provider APIs and reads of Temporal's visibility store. Each is a method on
// Activities, idempotent, with no retry loop of its own: Temporal retries,
// and permanent failures are non-retryable application errors of a named type.
package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
)

// Error types of permanent failures. Workflows list them as non-retryable.
const (
	// ErrOrderNotFound is the type of the error returned when the provider
	// API answers 404 for the entity.
	ErrOrderNotFound = "OrderNotFound"
	// ErrProviderRejected is the type of the error returned when the
	// provider API answers another 4xx (other than 408 and 429).
	ErrProviderRejected = "ProviderRejected"
	// ErrUnrecognizedResponse is the type of the error returned when the
	// provider API answers 2xx with a body hookflow cannot read a status
	// from; it is recorded rather than guessed at.
	ErrUnrecognizedResponse = "UnrecognizedResponse"
)

// MetricProviderAPICalls counts provider API calls, tagged provider and
// outcome (ok, not_found, rejected, unavailable, network_error, unrecognized).
const MetricProviderAPICalls = "hookflow_provider_api_calls_total"

// NonRetryable lists the error types no retry can fix.
var NonRetryable = []string{ErrOrderNotFound, ErrProviderRejected, ErrUnrecognizedResponse}

// Temporal is the part of the Temporal client the activities read runs
// with; client.Client satisfies it.
type Temporal interface {
	ListWorkflow(ctx context.Context, request *workflowservice.ListWorkflowExecutionsRequest) (*workflowservice.ListWorkflowExecutionsResponse, error)
	DescribeWorkflowExecution(ctx context.Context, workflowID, runID string) (*workflowservice.DescribeWorkflowExecutionResponse, error)
	QueryWorkflow(ctx context.Context, workflowID, runID, queryType string, args ...any) (converter.EncodedValue, error)
}

// Activities holds the activities' dependencies; the worker registers one
// filled instance, workflows call its methods through a nil pointer.
type Activities struct {
	HTTP      *http.Client // client for provider APIs, with a timeout
	Temporal  Temporal     // for reading closed runs' memos
	Namespace string       // the workflows' Temporal namespace
	Forward   *Forward     // HTTP delivery of transitions; nil when none is configured
	// APIs are the providers' APIs, Phoenix's and the configured ones', by
	// provider name.
	APIs map[string]EntityAPI
}

// FetchOrderInput names the order to look up.
type FetchOrderInput struct {
	OrderID string
}

// OrderStatus is what the provider API says of an order.
type OrderStatus struct {
	Status string
}

// BuiltInOrderRead is the activity type runs of revisions 0 to 3 read
// the built-in order API with (FetchPhoenixOrder); later runs read every
// provider's API with FetchEntityStatus.
const BuiltInOrderRead = "FetchPhoenixOrder"

// FetchPhoenixOrder asks the Phoenix orders API (APIs["phoenix"]) for the
// order's current status, with FetchEntityStatus's answers. Runs of
// revisions 0 to 3 call it, and their histories replay with it, so it
// stays registered.
func (a *Activities) FetchPhoenixOrder(ctx context.Context, in FetchOrderInput) (out OrderStatus, err error) {
	outcome := "ok"
	defer func() {
		activity.GetMetricsHandler(ctx).WithTags(map[string]string{"provider": "phoenix", "outcome": outcome}).
			Counter(MetricProviderAPICalls).Inc(1)
	}()
	out, outcome, err = a.read(ctx, "phoenix", "phoenix order "+in.OrderID, in.OrderID)
	return out, err
}

// EntityAPI is a provider's API (providers.API) as the activity reads it: the URL of an entity, the credential header and its
// value (kept here, never in a workflow's history), and where the status is
// in the answer.
type EntityAPI struct {
	URL      func(entityID string) string
	Header   string
	Value    string
	StatusOf func(body []byte) (string, bool)
}

// FetchStatusInput names the entity whose status to read.
type FetchStatusInput struct {
	Provider string
	EntityID string
}

// FetchEntityStatus reads a provider's API (APIs) for the entity's current
// status: 5xx, 408, 429 and network errors retryable, 404
// ErrOrderNotFound, other 4xx ErrProviderRejected, an answer without the
// status ErrUnrecognizedResponse.
func (a *Activities) FetchEntityStatus(ctx context.Context, in FetchStatusInput) (out OrderStatus, err error) {
	outcome := "ok"
	defer func() {
		activity.GetMetricsHandler(ctx).WithTags(map[string]string{"provider": in.Provider, "outcome": outcome}).
			Counter(MetricProviderAPICalls).Inc(1)
	}()
	out, outcome, err = a.read(ctx, in.Provider, in.Provider+" "+in.EntityID, in.EntityID)
	return out, err
}

// read reads provider's API for entityID; what names the entity in errors.
func (a *Activities) read(ctx context.Context, provider, what, entityID string) (OrderStatus, string, error) {
	api, ok := a.APIs[provider]
	if !ok {
		return OrderStatus{}, "rejected", temporal.NewNonRetryableApplicationError("no API configured for provider "+provider, ErrProviderRejected, nil)
	}
	return a.readStatus(ctx, what, api.URL(entityID), api.Header, api.Value, api.StatusOf)
}

// readStatus GETs u (with header: value when header is set) and finds the
// status in the answer with statusOf; what names the entity in errors.
func (a *Activities) readStatus(ctx context.Context, what, u, header, value string, statusOf func([]byte) (string, bool)) (OrderStatus, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return OrderStatus{}, "rejected", temporal.NewNonRetryableApplicationError("build request for "+what, ErrProviderRejected, err)
	}
	req.Header.Set("Accept", "application/json")
	if header != "" {
		req.Header.Set(header, value)
	}
	resp, err := sameHostRedirects(a.HTTP).Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // not the URL: a configured one may carry a key
		}
		// Quoted, not wrapped: a malformed answer's text is in the error.
		return OrderStatus{}, "network_error", fmt.Errorf("fetch %s: %s", what, excerpt(err.Error()))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return OrderStatus{}, "network_error", fmt.Errorf("read %s: %s", what, excerpt(err.Error()))
	}
	switch code := resp.StatusCode; {
	case code == http.StatusNotFound:
		return OrderStatus{}, "not_found", temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("%s: not found (404)", what), ErrOrderNotFound, nil)
	case code == http.StatusTooManyRequests || code == http.StatusRequestTimeout || code >= 500:
		return OrderStatus{}, "unavailable", fmt.Errorf("fetch %s: %s", what, excerpt(resp.Status))
	case code >= 400:
		return OrderStatus{}, "rejected", temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("%s: %s", what, excerpt(resp.Status)), ErrProviderRejected, nil)
	case code >= 300 && code <= 399:
		return OrderStatus{}, "unavailable", fmt.Errorf("fetch %s: %s to another host (not followed)", what, excerpt(resp.Status))
	case code < 200 || code > 299:
		return OrderStatus{}, "unavailable", fmt.Errorf("fetch %s: unexpected %s", what, excerpt(resp.Status))
	}
	status, ok := statusOf(body)
	if !ok {
		return OrderStatus{}, "unrecognized", temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("%s: no status in the API response", what), ErrUnrecognizedResponse, nil)
	}
	return OrderStatus{Status: status}, "ok", nil
}

// LoadPreviousInput names the entity workflow whose last closed run to read.
type LoadPreviousInput struct {
	WorkflowID string
	RunID      string // the asking run, skipped
	// MemoField is the memo field holding the snapshot; empty means
	// "hookflow.snapshot", the field of runs that did not name it.
	MemoField string `json:",omitempty"`
}

// PreviousRun is a closed run's snapshot, if there is one, as the JSON the
// workflow wrote: its format belongs to the workflow.
type PreviousRun struct {
	Found    bool
	RunID    string
	Snapshot json.RawMessage
}

// ErrVisibilityBehind is the message of the retryable error LoadPreviousRun
// returns while visibility still shows an earlier run of the workflow as
// running: its close, and the snapshot it left, are not readable yet.
const ErrVisibilityBehind = "visibility has not recorded the previous run's close yet"

// maxRunPages bounds how many pages of an entity's runs LoadPreviousRun reads.
const maxRunPages = 50

// LoadPreviousRun reads the snapshot memo of the most recently closed run of
// the workflow through a visibility list query. Entity runs started before
// runs were told which run to load use it; visibility is rate-limited and
// only eventually consistent, so new runs read the run they name with
// DescribeRun instead. Only one run of a workflow ID runs at a time, so
// another run still listed as running means visibility lags behind its close:
// that is returned as a retryable error rather than read as "no previous run".
func (a *Activities) LoadPreviousRun(ctx context.Context, in LoadPreviousInput) (PreviousRun, error) {
	field := in.MemoField
	if field == "" {
		field = "hookflow.snapshot"
	}
	req := &workflowservice.ListWorkflowExecutionsRequest{
		Namespace: a.Namespace, Query: fmt.Sprintf("WorkflowId = %q", in.WorkflowID), PageSize: 20, // memos can be large: keep pages small
	}
	var best PreviousRun
	var bestClose time.Time
	for page := 0; page < maxRunPages; page++ {
		resp, err := a.Temporal.ListWorkflow(ctx, req)
		if err != nil {
			return PreviousRun{}, fmt.Errorf("list runs of %s: %w", in.WorkflowID, err)
		}
		for _, ex := range resp.GetExecutions() {
			runID := ex.GetExecution().GetRunId()
			if runID == in.RunID {
				continue
			}
			if ex.GetStatus() == enums.WORKFLOW_EXECUTION_STATUS_RUNNING {
				return PreviousRun{}, fmt.Errorf("%s: run %s of %s is still listed as running", ErrVisibilityBehind, runID, in.WorkflowID)
			}
			p, ok := ex.GetMemo().GetFields()[field]
			if !ok {
				continue // continued as new, failed or terminated: no snapshot
			}
			closed := ex.GetCloseTime().AsTime()
			if best.Found && !closed.After(bestClose) {
				continue
			}
			raw, err := jsonOf(p)
			if err != nil {
				return PreviousRun{}, temporal.NewNonRetryableApplicationError(
					fmt.Sprintf("snapshot of %s: %v", in.WorkflowID, err), ErrUnrecognizedResponse, err)
			}
			best, bestClose = PreviousRun{Found: true, RunID: runID, Snapshot: raw}, closed
		}
		if len(resp.GetNextPageToken()) == 0 {
			break
		}
		req.NextPageToken = resp.GetNextPageToken()
	}
	return best, nil
}

// DescribeRunInput names one run of a workflow and the memo field to read.
// Query, when set, is the query that answers the run's state when it left
// no memo field: a closed run is queried by replaying its history, so the
// answer is its state as of its last completed workflow task, whether it
// completed, was cancelled, terminated or reset.
type DescribeRunInput struct {
	WorkflowID string
	RunID      string
	MemoField  string
	Query      string `json:",omitempty"`
}

// Run is what DescribeRun read of a run.
type Run struct {
	// Gone is true when the server no longer has the run: it closed longer
	// ago than the namespace's retention.
	Gone bool
	// Running is true while the run is still open.
	Running bool
	// Memo is the memo field as the workflow wrote it (JSON), or else the
	// answer to DescribeRunInput.Query; empty when there is neither.
	Memo json.RawMessage
}

// DescribeRun reads one run's memo field with DescribeWorkflowExecution: a
// strongly consistent read served by the history service, not visibility, so
// it is neither eventually consistent nor subject to visibility rate limits.
// A run the server no longer has is reported Gone; any other failure is
// returned for Temporal to retry.
func (a *Activities) DescribeRun(ctx context.Context, in DescribeRunInput) (Run, error) {
	resp, err := a.Temporal.DescribeWorkflowExecution(ctx, in.WorkflowID, in.RunID)
	var notFound *serviceerror.NotFound
	switch {
	case errors.As(err, &notFound):
		return Run{Gone: true}, nil
	case err != nil:
		return Run{}, fmt.Errorf("describe run %s of %s: %w", in.RunID, in.WorkflowID, err)
	}
	info := resp.GetWorkflowExecutionInfo()
	out := Run{Running: info.GetStatus() == enums.WORKFLOW_EXECUTION_STATUS_RUNNING}
	if p, ok := info.GetMemo().GetFields()[in.MemoField]; ok {
		if out.Memo, err = jsonOf(p); err != nil {
			return Run{}, temporal.NewNonRetryableApplicationError(
				fmt.Sprintf("memo %s of run %s of %s: %v", in.MemoField, in.RunID, in.WorkflowID, err), ErrUnrecognizedResponse, err)
		}
	}
	if len(out.Memo) > 0 || out.Running || in.Query == "" {
		return out, nil
	}
	v, err := a.Temporal.QueryWorkflow(ctx, in.WorkflowID, in.RunID, in.Query)
	if err != nil {
		return Run{}, fmt.Errorf("query %s of run %s of %s: %w", in.Query, in.RunID, in.WorkflowID, err)
	}
	if err := v.Get(&out.Memo); err != nil {
		return Run{}, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("query %s of run %s of %s: %v", in.Query, in.RunID, in.WorkflowID, err), ErrUnrecognizedResponse, err)
	}
	return out, nil
}

// jsonOf returns the JSON a payload written by the default data converter
// holds.
func jsonOf(p *commonpb.Payload) (json.RawMessage, error) {
	if enc := string(p.GetMetadata()[converter.MetadataEncoding]); enc != converter.MetadataEncodingJSON {
		return nil, fmt.Errorf("payload encoding %q, want %q", enc, converter.MetadataEncodingJSON)
	}
	if !json.Valid(p.GetData()) {
		return nil, errors.New("payload is not valid JSON")
	}
	return json.RawMessage(p.GetData()), nil
}
