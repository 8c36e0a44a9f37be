package starter

import (
	"context"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/api/enums/v1"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/hookflow/hookflow/internal/dev/testenv"
	"github.com/hookflow/hookflow/internal/process/searchattr"
	"github.com/hookflow/hookflow/workflows"
)

// TestFairDispatchByTenant: against the test harness's dev server (fair
// dispatch on, as hookflow dev's), tenants whose one event each is queued
// behind another tenant's backlog are served from the start, not after
// it. The backlog is written with no worker polling, then a worker takes
// workflow tasks two at a time, so the order its tasks start in is the
// order the server dispatched them.
//
// Fairness holds within each of the queue's four partitions, which the
// server fills at random and drains in an order of its own, so the test
// reads no exact order: with eight quiet tenants, some partition's front
// is a quiet tenant's task, and one of them runs among the first few. First
// in, first out, every quiet task waits behind its partition's share of
// the busy tenant's forty (seen from the 12th task on, with fairness off).
func TestFairDispatchByTenant(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Temporal dev server")
	}
	tp := testenv.StartTemporal(t)
	c, err := client.Dial(client.Options{HostPort: tp.HostPort, Logger: tlog.NewStructuredLogger(slog.New(slog.DiscardHandler))})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	const queue, busy, quiet = "fair-test", 40, 8
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if _, err := searchattr.Register(ctx, c, "default"); err != nil {
		t.Fatal(err)
	}
	s := Starter{Client: c, TaskQueue: queue}
	for i := range busy {
		if _, err := s.SignalTenant(ctx, "busy", "fenix", "shipment", "b"+strconv.Itoa(i), workflows.SignalWebhookEvent, "ev"); err != nil {
			t.Fatal(err)
		}
	}
	for i := range quiet {
		if _, err := s.SignalTenant(ctx, "quiet-"+strconv.Itoa(i), "fenix", "shipment", "q", workflows.SignalWebhookEvent, "ev"); err != nil {
			t.Fatal(err)
		}
	}
	// SignalWithStart returns before the server has queued the run's
	// first workflow task; a task queued after the worker starts would be
	// served as it comes, fairly or not. Wait for the whole backlog.
	waitBacklog(t, ctx, c, queue, busy+quiet)

	var mu sync.Mutex
	var order []string // workflow IDs, in the order their first task started
	w := worker.New(c, queue, worker.Options{MaxConcurrentWorkflowTaskExecutionSize: 2, MaxConcurrentWorkflowTaskPollers: 2})
	w.RegisterWorkflowWithOptions(func(ctx workflow.Context, _ workflows.EntityInput) error {
		id := workflow.GetInfo(ctx).WorkflowExecution.ID
		mu.Lock()
		if !slices.Contains(order, id) {
			order = append(order, id)
		}
		mu.Unlock()
		return nil
	}, workflow.RegisterOptions{Name: "Entity"})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer w.Stop()

	deadline := time.Now().Add(time.Minute)
	for {
		mu.Lock()
		ran := slices.Clone(order)
		mu.Unlock()
		if len(ran) == busy+quiet {
			var at []int
			for i, id := range ran {
				if strings.Contains(id, "@quiet-") {
					at = append(at, i+1)
				}
			}
			t.Logf("the quiet tenants' tasks ran at %v of %d", at, len(ran))
			if at[0] > 4 {
				t.Errorf("the first quiet tenant's task ran %d of %d: the quiet tenants waited behind the busy tenant's backlog (they ran at %v)", at[0], len(ran), at)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d workflow tasks ran", len(ran), busy+quiet)
		}
		time.Sleep(20 * time.Millisecond) // polling, with the deadline above
	}
}

// waitBacklog waits, with a deadline, until queue's workflow task backlog
// holds n tasks.
func waitBacklog(t *testing.T, ctx context.Context, c client.Client, queue string, n int64) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		resp, err := c.WorkflowService().DescribeTaskQueue(ctx, &workflowservice.DescribeTaskQueueRequest{
			Namespace: "default", TaskQueue: &taskqueuepb.TaskQueue{Name: queue},
			TaskQueueType: enums.TASK_QUEUE_TYPE_WORKFLOW, ReportStats: true,
		})
		if err != nil {
			t.Fatal(err)
		}
		got := resp.GetStats().GetApproximateBacklogCount()
		if got >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("backlog of %s: %d tasks, want %d", queue, got, n)
		}
		time.Sleep(50 * time.Millisecond) // polling, with the deadline above
	}
}
