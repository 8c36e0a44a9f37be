// Package activities holds the side effects of the entity workflows: calls to
// provider APIs and reads of Temporal's visibility store. Each is a method on
// Activities, idempotent, with no retry loop of its own: Temporal retries,
// and permanent failures are non-retryable application errors of a named type.
package activities

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"

	"github.com/hookflow/hookflow/event"
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

// Visibility is the part of the Temporal client LoadPreviousRun needs;
// client.Client satisfies it.
type Visibility interface {
	ListWorkflow(ctx context.Context, request *workflowservice.ListWorkflowExecutionsRequest) (*workflowservice.ListWorkflowExecutionsResponse, error)
}

// Activities holds the activities' dependencies; the worker registers one
// filled instance, workflows call its methods through a nil pointer.
type Activities struct {
	HTTP          *http.Client // client for provider APIs, with a timeout
	PhoenixAPIURL string       // base URL of the Phoenix orders API
	Visibility    Visibility   // for reading closed runs' memos
	Namespace     string       // the workflows' Temporal namespace
}

// FetchOrderInput names the order to look up.
type FetchOrderInput struct {
	OrderID string
}

// OrderStatus is what the provider API says of an order.
type OrderStatus struct {
	Status string
}

// FetchPhoenixOrder asks the Phoenix orders API for the order's current
// status: GET {PhoenixAPIURL}/orders/{orderId}. 5xx, 408, 429 and network
// errors are returned as retryable; 404 as ErrOrderNotFound, other 4xx as
// ErrProviderRejected, an unreadable 2xx body as ErrUnrecognizedResponse.
func (a *Activities) FetchPhoenixOrder(ctx context.Context, in FetchOrderInput) (out OrderStatus, err error) {
	outcome := "ok"
	defer func() {
		activity.GetMetricsHandler(ctx).WithTags(map[string]string{"provider": "phoenix", "outcome": outcome}).
			Counter(MetricProviderAPICalls).Inc(1)
	}()
	out, outcome, err = a.fetchPhoenixOrder(ctx, in)
	return out, err
}

func (a *Activities) fetchPhoenixOrder(ctx context.Context, in FetchOrderInput) (OrderStatus, string, error) {
	u := strings.TrimRight(a.PhoenixAPIURL, "/") + "/orders/" + url.PathEscape(in.OrderID)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return OrderStatus{}, "rejected", temporal.NewNonRetryableApplicationError(fmt.Sprintf("build request for order %s", in.OrderID), ErrProviderRejected, err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := a.HTTP.Do(req)
	if err != nil {
		return OrderStatus{}, "network_error", fmt.Errorf("fetch phoenix order %s: %w", in.OrderID, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return OrderStatus{}, "network_error", fmt.Errorf("read phoenix order %s: %w", in.OrderID, err)
	}
	switch code := resp.StatusCode; {
	case code == http.StatusNotFound:
		return OrderStatus{}, "not_found", temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("phoenix order %s: not found (404)", in.OrderID), ErrOrderNotFound, nil)
	case code == http.StatusTooManyRequests || code == http.StatusRequestTimeout || code >= 500:
		return OrderStatus{}, "unavailable", fmt.Errorf("fetch phoenix order %s: %s", in.OrderID, resp.Status)
	case code >= 400:
		return OrderStatus{}, "rejected", temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("phoenix order %s: %s", in.OrderID, resp.Status), ErrProviderRejected, nil)
	case code < 200 || code > 299:
		return OrderStatus{}, "unavailable", fmt.Errorf("fetch phoenix order %s: unexpected %s", in.OrderID, resp.Status)
	}
	status, ok := orderStatusOf(body)
	if !ok {
		return OrderStatus{}, "unrecognized", temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("phoenix order %s: no status in the API response", in.OrderID), ErrUnrecognizedResponse, nil)
	}
	return OrderStatus{Status: strings.ToLower(status)}, "ok", nil
}

// orderStatusOf finds the order status in the shapes the Phoenix API is known
// or likely to answer with: status or orderStatus, at the top level or under
// order or data.
func orderStatusOf(body []byte) (string, bool) {
	type statuses struct {
		Status      string `json:"status"`
		OrderStatus string `json:"orderStatus"`
	}
	var doc struct {
		statuses
		Order *statuses `json:"order"`
		Data  *statuses `json:"data"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return "", false
	}
	for _, s := range []*statuses{&doc.statuses, doc.Order, doc.Data} {
		switch {
		case s == nil:
		case s.Status != "":
			return s.Status, true
		case s.OrderStatus != "":
			return s.OrderStatus, true
		}
	}
	return "", false
}

// MemoKey is the memo field in which an entity workflow leaves its final
// snapshot when it completes, for the next run of the same entity.
const MemoKey = "hookflow.snapshot"

// Snapshot is what one run of an entity workflow hands to the next: its state,
// its latest history and the IDs of the events it processed.
type Snapshot struct {
	Status      string             `json:"status"`
	Processed   int                `json:"processed"`
	Duplicates  int                `json:"duplicates"`
	Sequence    int                `json:"sequence"`              // transitions applied so far
	Transitions []event.Transition `json:"transitions,omitempty"` // the latest, oldest first
	Events      []event.Received   `json:"events,omitempty"`      // the latest, oldest first
	EventIDs    []string           `json:"eventIds"`              // newest last, bounded
	ClosedAt    time.Time          `json:"closedAt"`
}

// LoadPreviousInput names the entity workflow whose last closed run to read.
type LoadPreviousInput struct {
	WorkflowID string
	RunID      string // the asking run, skipped
}

// PreviousRun is the last closed run's snapshot, if there is one.
type PreviousRun struct {
	Found    bool
	RunID    string
	Snapshot Snapshot
}

// ErrVisibilityBehind is the message of the retryable error LoadPreviousRun
// returns while visibility still shows an earlier run of the workflow as
// running: its close, and the snapshot it left, are not readable yet.
const ErrVisibilityBehind = "visibility has not recorded the previous run's close yet"

// maxRunPages bounds how many pages of an entity's runs LoadPreviousRun reads.
const maxRunPages = 50

// LoadPreviousRun reads the snapshot memo of the most recently closed run of
// the workflow, so a new run of a closed entity continues from its final
// state and event memory. Only one run of a workflow ID runs at a time, so
// another run still listed as running means visibility lags behind its close:
// that is returned as a retryable error rather than read as "no previous run".
func (a *Activities) LoadPreviousRun(ctx context.Context, in LoadPreviousInput) (PreviousRun, error) {
	req := &workflowservice.ListWorkflowExecutionsRequest{
		Namespace: a.Namespace, Query: fmt.Sprintf("WorkflowId = %q", in.WorkflowID), PageSize: 20, // memos can be large: keep pages small
	}
	var best PreviousRun
	var bestClose time.Time
	for page := 0; page < maxRunPages; page++ {
		resp, err := a.Visibility.ListWorkflow(ctx, req)
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
			field, ok := ex.GetMemo().GetFields()[MemoKey]
			if !ok {
				continue // continued as new, failed or terminated: no snapshot
			}
			closed := ex.GetCloseTime().AsTime()
			if best.Found && !closed.After(bestClose) {
				continue
			}
			var snap Snapshot
			if err := converter.GetDefaultDataConverter().FromPayload(field, &snap); err != nil {
				return PreviousRun{}, temporal.NewNonRetryableApplicationError(
					fmt.Sprintf("decode snapshot of %s: %v", in.WorkflowID, err), ErrUnrecognizedResponse, err)
			}
			best, bestClose = PreviousRun{Found: true, RunID: runID, Snapshot: snap}, closed
		}
		if len(resp.GetNextPageToken()) == 0 {
			break
		}
		req.NextPageToken = resp.GetNextPageToken()
	}
	return best, nil
}
