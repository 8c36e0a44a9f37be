package inspect

import (
	"bytes"
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	failurepb "go.temporal.io/api/failure/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"google.golang.org/grpc"

	"github.com/hookflow/hookflow/config"
	"github.com/hookflow/hookflow/workflows"
)

// fakeTemporal answers Describe's calls: DescribeWorkflowExecution with
// described, the state query with queryErr (a failing workflow task fails
// its queries too), and the reverse history from pages, newest first.
type fakeTemporal struct {
	client.Client
	described *workflowservice.DescribeWorkflowExecutionResponse
	queryErr  error
	history   fakeHistory
}

func (f *fakeTemporal) DescribeWorkflowExecution(context.Context, string, string) (*workflowservice.DescribeWorkflowExecutionResponse, error) {
	return f.described, nil
}

func (f *fakeTemporal) QueryWorkflow(context.Context, string, string, string, ...interface{}) (converter.EncodedValue, error) {
	return nil, f.queryErr
}

func (f *fakeTemporal) WorkflowService() workflowservice.WorkflowServiceClient { return &f.history }

// fakeHistory serves pages of history events, newest first, the page
// token being the next page's index; err fails every call. It records the
// requests it answered.
type fakeHistory struct {
	workflowservice.WorkflowServiceClient
	pages [][]*historypb.HistoryEvent
	err   error
	reqs  []*workflowservice.GetWorkflowExecutionHistoryReverseRequest
}

func (h *fakeHistory) GetWorkflowExecutionHistoryReverse(_ context.Context, req *workflowservice.GetWorkflowExecutionHistoryReverseRequest, _ ...grpc.CallOption) (*workflowservice.GetWorkflowExecutionHistoryReverseResponse, error) {
	h.reqs = append(h.reqs, req)
	if h.err != nil {
		return nil, h.err
	}
	i := 0
	if len(req.GetNextPageToken()) > 0 {
		i, _ = strconv.Atoi(string(req.GetNextPageToken()))
	}
	resp := &workflowservice.GetWorkflowExecutionHistoryReverseResponse{History: &historypb.History{}}
	if i < len(h.pages) {
		resp.History.Events = h.pages[i]
	}
	if i+1 < len(h.pages) {
		resp.NextPageToken = []byte(strconv.Itoa(i + 1))
	}
	return resp, nil
}

func taskFailed(cause enumspb.WorkflowTaskFailedCause, msg string) *historypb.HistoryEvent {
	return &historypb.HistoryEvent{EventType: enumspb.EVENT_TYPE_WORKFLOW_TASK_FAILED,
		Attributes: &historypb.HistoryEvent_WorkflowTaskFailedEventAttributes{WorkflowTaskFailedEventAttributes: &historypb.WorkflowTaskFailedEventAttributes{
			Cause: cause, Failure: &failurepb.Failure{Message: msg}}}}
}

func taskTimedOut() *historypb.HistoryEvent {
	return &historypb.HistoryEvent{EventType: enumspb.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT,
		Attributes: &historypb.HistoryEvent_WorkflowTaskTimedOutEventAttributes{WorkflowTaskTimedOutEventAttributes: &historypb.WorkflowTaskTimedOutEventAttributes{
			TimeoutType: enumspb.TIMEOUT_TYPE_START_TO_CLOSE}}}
}

func ofType(t enumspb.EventType) *historypb.HistoryEvent {
	return &historypb.HistoryEvent{EventType: t}
}

func TestDescribeWorkflowTaskFailure(t *testing.T) {
	var (
		signaled  = ofType(enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED)
		started   = ofType(enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED)
		scheduled = ofType(enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED)
		completed = ofType(enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED)
		panicked  = taskFailed(enumspb.WORKFLOW_TASK_FAILED_CAUSE_WORKFLOW_WORKER_UNHANDLED_FAILURE, "boom")
		replay    = taskFailed(enumspb.WORKFLOW_TASK_FAILED_CAUSE_NON_DETERMINISTIC_ERROR, "[TMPRL1100] nondeterministic workflow: history event is ActivityTaskScheduled, replay command is StartTimer")
	)
	long := strings.Repeat("é", FailureMessageBound) // two bytes each: the cut falls inside a rune
	tests := []struct {
		name       string
		attempt    int32 // the pending workflow task's; 0 for none
		pages      [][]*historypb.HistoryEvent
		historyErr error
		want       *WorkflowTaskFailure
		wantReads  int // reverse history pages read
		wantLine   string
	}{
		{name: "no pending workflow task", want: nil},
		{name: "first attempt: not read", attempt: 1, pages: [][]*historypb.HistoryEvent{{panicked}}, want: nil},
		{
			name:    "the newest failure, under signals that came after it",
			attempt: 7,
			pages:   [][]*historypb.HistoryEvent{{signaled, signaled, replay, started, scheduled, completed, panicked}},
			want: &WorkflowTaskFailure{Attempt: 7, Cause: "NonDeterministicError",
				Message: "[TMPRL1100] nondeterministic workflow: history event is ActivityTaskScheduled, replay command is StartTimer"},
			wantReads: 1,
			wantLine:  "workflow task failing: attempt 7: NonDeterministicError: [TMPRL1100] nondeterministic workflow: history event is ActivityTaskScheduled, replay command is StartTimer\n",
		},
		{
			name:      "on a later page",
			attempt:   3,
			pages:     [][]*historypb.HistoryEvent{{signaled, signaled}, {signaled}, {panicked, started, scheduled}},
			want:      &WorkflowTaskFailure{Attempt: 3, Cause: "WorkflowWorkerUnhandledFailure", Message: "boom"},
			wantReads: 3,
			wantLine:  "workflow task failing: attempt 3: WorkflowWorkerUnhandledFailure: boom\n",
		},
		{
			name:      "a completed task after an old failure: that one is over",
			attempt:   2,
			pages:     [][]*historypb.HistoryEvent{{signaled, completed, started, scheduled, panicked}},
			want:      &WorkflowTaskFailure{Attempt: 2},
			wantReads: 1,
			wantLine:  "workflow task failing: attempt 2\n",
		},
		{
			name:      "the streak began with a timeout",
			attempt:   4,
			pages:     [][]*historypb.HistoryEvent{{taskTimedOut(), started, panicked}},
			want:      &WorkflowTaskFailure{Attempt: 4, Cause: "StartToCloseTimeout"},
			wantReads: 1,
			wantLine:  "workflow task failing: attempt 4: StartToCloseTimeout\n",
		},
		{
			name:      "a message past the bound is cut on a rune",
			attempt:   2,
			pages:     [][]*historypb.HistoryEvent{{taskFailed(enumspb.WORKFLOW_TASK_FAILED_CAUSE_GRPC_MESSAGE_TOO_LARGE, long)}},
			want:      &WorkflowTaskFailure{Attempt: 2, Cause: "GrpcMessageTooLarge", Message: long[:FailureMessageBound-4] + "…"},
			wantReads: 1,
		},
		{
			name:       "an unreadable history keeps the attempt",
			attempt:    5,
			historyErr: serviceerror.NewUnavailable("history down"),
			want:       &WorkflowTaskFailure{Attempt: 5, Message: "(history not read: history down)"},
			wantReads:  1,
		},
	}
	cfg, err := config.Load("", func(k string) string { return map[string]string{"TEMPORAL_NAMESPACE": "hookflow-ns"}[k] })
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := &workflowservice.DescribeWorkflowExecutionResponse{WorkflowExecutionInfo: describedRun(t,
				map[string]string{"WebhookProvider": "phoenix", "EntityType": "order", "EntityID": "o-1", "EntityStatus": "pending"}, nil)}
			d.WorkflowExecutionInfo.Execution = &commonpb.WorkflowExecution{WorkflowId: "phoenix-order:o-1", RunId: "run-1"}
			d.WorkflowExecutionInfo.Status = enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING
			if tt.attempt > 0 {
				d.PendingWorkflowTask = &workflowpb.PendingWorkflowTaskInfo{State: enumspb.PENDING_WORKFLOW_TASK_STATE_SCHEDULED, Attempt: tt.attempt}
			}
			tc := &fakeTemporal{described: d, queryErr: errors.New("workflow task failed"),
				history: fakeHistory{pages: tt.pages, err: tt.historyErr}}

			rep, err := Describe(context.Background(), tc, cfg, "phoenix-order:o-1", LiveQueryWait)
			if err != nil {
				t.Fatal(err)
			}
			got := rep.WorkflowTaskFailure
			if (got == nil) != (tt.want == nil) || got != nil && *got != *tt.want {
				t.Errorf("workflowTaskFailure\n got %+v\nwant %+v", got, tt.want)
			}
			if got != nil && (len(got.Message) > FailureMessageBound || !utf8.ValidString(got.Message)) {
				t.Errorf("message of %d bytes (valid UTF-8: %t), want at most %d", len(got.Message), utf8.ValidString(got.Message), FailureMessageBound)
			}
			if len(tc.history.reqs) != tt.wantReads {
				t.Errorf("%d history pages read, want %d", len(tc.history.reqs), tt.wantReads)
			}
			for _, req := range tc.history.reqs {
				if req.GetNamespace() != "hookflow-ns" || req.GetExecution().GetWorkflowId() != "phoenix-order:o-1" || req.GetExecution().GetRunId() != "run-1" {
					t.Errorf("history of %s %v, want the described run in hookflow-ns", req.GetNamespace(), req.GetExecution())
				}
			}

			var out bytes.Buffer
			if err := rep.WriteText(&out); err != nil {
				t.Fatal(err)
			}
			var line string
			for _, l := range strings.SplitAfter(out.String(), "\n") {
				if strings.HasPrefix(l, "workflow task failing:") {
					line = l
				}
			}
			if tt.want == nil && line != "" {
				t.Errorf("status shows %q for a task that is not failing", line)
			}
			if tt.wantLine != "" && line != tt.wantLine {
				t.Errorf("status line\n got %q\nwant %q", line, tt.wantLine)
			}
		})
	}

	t.Run("no state published: the error says why", func(t *testing.T) {
		d := &workflowservice.DescribeWorkflowExecutionResponse{
			WorkflowExecutionInfo: &workflowpb.WorkflowExecutionInfo{
				Type:      &commonpb.WorkflowType{Name: workflows.WorkflowType},
				Execution: &commonpb.WorkflowExecution{WorkflowId: "phoenix-order:o-2", RunId: "run-2"},
			},
			PendingWorkflowTask: &workflowpb.PendingWorkflowTaskInfo{Attempt: 9},
		}
		tc := &fakeTemporal{described: d, queryErr: errors.New("workflow task failed"), history: fakeHistory{pages: [][]*historypb.HistoryEvent{{panicked}}}}
		_, err := Describe(context.Background(), tc, cfg, "phoenix-order:o-2", LiveQueryWait)
		if err == nil || !strings.Contains(err.Error(), "workflow task failing: attempt 9: WorkflowWorkerUnhandledFailure: boom") {
			t.Errorf("error %v, want it to name the failing workflow task", err)
		}
	})
}
