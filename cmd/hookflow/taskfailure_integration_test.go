package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/hookflow/hookflow/internal/dev/testenv"
	"github.com/hookflow/hookflow/workflows"
)

// panicMessage is what panicsInTest panics with.
const panicMessage = "a bug in the workflow"

// panicsInTest is a workflow registered only in tests: each of its
// workflow tasks panics, as an entity's would on a bug, so its task fails
// and the server retries it for ever.
func panicsInTest(workflow.Context) error { panic(panicMessage) }

// startFailingWorkflow runs panicsInTest as workflowID on a worker and task
// queue of its own, through the stack's client (so the SDK counts its
// failures on the stack's metrics registry), with an entity's search
// attributes, and returns once its workflow task has failed at least once
// (the server shows the pending task's second attempt).
func startFailingWorkflow(t *testing.T, s *stack, workflowID string) {
	t.Helper()
	const queue = "hookflow-test-panics"
	w := worker.New(s.tc, queue, worker.Options{})
	// Registered as the entity workflow type: status reads entities only.
	w.RegisterWorkflowWithOptions(panicsInTest, workflow.RegisterOptions{Name: workflows.WorkflowType})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err := s.tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: workflowID, TaskQueue: queue,
		TypedSearchAttributes: temporal.NewSearchAttributes(workflows.ProviderKey.ValueSet("phoenix"),
			workflows.EntityTypeKey.ValueSet("order"), workflows.EntityIDKey.ValueSet(strings.TrimPrefix(workflowID, "phoenix-order:")),
			workflows.EntityStatusKey.ValueSet("pending")),
	}, workflows.WorkflowType)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.tc.TerminateWorkflow(context.Background(), workflowID, "", "test over") })
	testenv.Eventually(t, 30*time.Second, func() (bool, string) {
		d, err := s.tc.DescribeWorkflowExecution(ctx, workflowID, "")
		if err != nil {
			return false, err.Error()
		}
		return d.GetPendingWorkflowTask().GetAttempt() > 1, "workflow task not failed yet: " + d.GetPendingWorkflowTask().String()
	})
}

// TestStatusShowsFailingWorkflowTask: an entity whose workflow task keeps
// failing shows the failure, its cause and its attempt in `hookflow status`
// and `status --json`, from the real server's describe and history.
func TestStatusShowsFailingWorkflowTask(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	s := newStack(t, nil)
	t.Setenv("HOOKFLOW_CONFIG", "")
	t.Setenv("TEMPORAL_ADDRESS", s.temporal.HostPort)
	t.Setenv("TEMPORAL_NAMESPACE", s.cfg.TemporalNamespace)
	const wfID = "phoenix-order:stuck-1"
	startFailingWorkflow(t, s, wfID)

	rep, _ := statusJSON(t, wfID)
	f := rep.WorkflowTaskFailure
	if f == nil {
		t.Fatalf("status --json has no workflowTaskFailure: %+v", rep)
	}
	if f.Attempt < 2 || f.Cause != "WorkflowWorkerUnhandledFailure" || !strings.Contains(f.Message, panicMessage) {
		t.Errorf("workflowTaskFailure %+v, want attempt > 1, WorkflowWorkerUnhandledFailure, a message with %q", f, panicMessage)
	}
	if rep.State.Provider != "phoenix" || rep.State.EntityID != "stuck-1" {
		t.Errorf("state %+v, want the published phoenix order stuck-1", rep.State)
	}

	out, _ := runOperatorCmd(t, newStatusCmd, wfID)
	var line string
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "workflow task failing: attempt ") {
			line = l
		}
	}
	if !strings.Contains(line, ": WorkflowWorkerUnhandledFailure: ") || !strings.Contains(line, panicMessage) {
		t.Errorf("status output has no line 'workflow task failing: attempt N: WorkflowWorkerUnhandledFailure: …%s':\n%s", panicMessage, out)
	}
}
