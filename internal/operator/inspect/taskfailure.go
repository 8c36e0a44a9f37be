package inspect

import (
	"context"
	"fmt"
	"unicode/utf8"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
)

// WorkflowTaskFailure is a workflow task that keeps failing: the workflow
// makes no progress (its events wait unapplied) until the code or the
// payload is fixed. Attempt is the server's count for the pending task;
// Cause and Message are those of the newest WorkflowTaskFailed event, which
// the server writes for the first failure of a streak only (it records no
// event for the retries of a task that fails again).
type WorkflowTaskFailure struct {
	Attempt int32 `json:"attempt"`
	// Cause is the server's cause (NonDeterministicError,
	// WorkflowWorkerUnhandledFailure for a panic or a deadlock,
	// GrpcMessageTooLarge, …), or <type>Timeout when the streak began with
	// a task that timed out; "" when the history holds neither.
	Cause string `json:"cause,omitempty"`
	// Message is the failure's message, at most FailureMessageBound bytes.
	Message string `json:"message,omitempty"`
}

// FailureMessageBound caps WorkflowTaskFailure.Message: a panic or a
// non-determinism message says what went wrong in its first line; the
// rest (stack traces, payload dumps) is in the Temporal UI.
const FailureMessageBound = 300

// historyPageSize is how many events each reverse history page holds. The
// failure is usually among the newest few; signals that arrive while the
// task fails come after it.
const historyPageSize = 100

// workflowTaskFailure reads, newest first, the run's history back to the
// event that began the current streak of failed attempts. A
// WorkflowTaskCompleted found first means the streak began without a failed
// event (never, in practice): the report then holds the attempt alone. A
// history that cannot be read leaves the attempt and says so in Message,
// so status still shows the rest.
func workflowTaskFailure(ctx context.Context, tc client.Client, namespace, workflowID, runID string, attempt int32) *WorkflowTaskFailure {
	f := &WorkflowTaskFailure{Attempt: attempt}
	req := &workflowservice.GetWorkflowExecutionHistoryReverseRequest{
		Namespace:       namespace,
		Execution:       &commonpb.WorkflowExecution{WorkflowId: workflowID, RunId: runID},
		MaximumPageSize: historyPageSize,
	}
	for {
		resp, err := tc.WorkflowService().GetWorkflowExecutionHistoryReverse(ctx, req)
		if err != nil {
			f.Message = capBytes(fmt.Sprintf("(history not read: %v)", err), FailureMessageBound)
			return f
		}
		for _, ev := range resp.GetHistory().GetEvents() {
			switch ev.GetEventType() {
			case enumspb.EVENT_TYPE_WORKFLOW_TASK_FAILED:
				a := ev.GetWorkflowTaskFailedEventAttributes()
				f.Cause = a.GetCause().String()
				f.Message = capBytes(a.GetFailure().GetMessage(), FailureMessageBound)
				return f
			case enumspb.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT:
				f.Cause = ev.GetWorkflowTaskTimedOutEventAttributes().GetTimeoutType().String() + "Timeout"
				return f
			case enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
				return f
			}
		}
		if len(resp.GetNextPageToken()) == 0 {
			return f
		}
		req.NextPageToken = resp.GetNextPageToken()
	}
}

// capBytes cuts s to at most n bytes, on a rune boundary, marking the cut
// with "…".
func capBytes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	const mark = "…"
	cut := n - len(mark)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + mark
}

// String is the line status shows: "attempt 7: NonDeterministicError:
// <message>".
func (f WorkflowTaskFailure) String() string {
	s := fmt.Sprintf("attempt %d", f.Attempt)
	if f.Cause != "" {
		s += ": " + f.Cause
	}
	if f.Message != "" {
		s += ": " + f.Message
	}
	return s
}
