package workflows_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/hookflow/hookflow/providers"
	"github.com/hookflow/hookflow/telemetry/tracing"
	"github.com/hookflow/hookflow/workflows"
)

// TestReplay replays every recorded history in testdata against the
// current workflow of its type (Entity, Tenant, Connection), so a change
// that makes existing runs non-deterministic fails here before it reaches
// a worker. Record a new one from a dev server with
//
//	temporal workflow show -w <workflow-id> --output json > testdata/<name>.history.json
//
// or with HOOKFLOW_RECORD_HISTORIES=1 from the integration tests in
// cmd/hookflow that record one.
func TestReplay(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.history.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no testdata/*.history.json to replay")
	}
	replayed := map[string]int{} // histories by workflow type
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			history := loadHistory(t, file)
			replayed[workflowType(history)]++
			replayer := worker.NewWorkflowReplayer()
			registerReplayed(replayer)
			if err := replayer.ReplayWorkflowHistory(nil, history); err != nil {
				t.Errorf("replay: %v", err)
			}
			// And as a worker with tracing on replays it: the interceptor
			// and the events' trace contexts change no command.
			traced, err := worker.NewWorkflowReplayerWithOptions(worker.WorkflowReplayerOptions{
				Interceptors: []interceptor.WorkerInterceptor{tracingInterceptor(t)},
			})
			if err != nil {
				t.Fatal(err)
			}
			registerReplayed(traced)
			if err := traced.ReplayWorkflowHistory(nil, history); err != nil {
				t.Errorf("replay with tracing on: %v", err)
			}
		})
	}
	// Every workflow type a worker runs has at least one recorded history.
	for _, typ := range []string{workflows.WorkflowType, workflows.TenantWorkflowType, workflows.ConnectionWorkflowType} {
		if replayed[typ] == 0 {
			t.Errorf("no recorded history of a %s workflow in testdata", typ)
		}
	}
}

// registerReplayed registers every workflow type a worker runs, under the
// name it runs as: the replayer picks one by the type in the history's
// first event. Connection is registered alone, as RegisterConnection does
// it, since a replayer takes no activities.
func registerReplayed(r worker.WorkflowReplayer) {
	r.RegisterWorkflow(workflows.Entity)
	r.RegisterWorkflow(workflows.Tenant)
	r.RegisterWorkflowWithOptions(workflows.Connection, workflow.RegisterOptions{Name: workflows.ConnectionWorkflowType})
}

// loadHistory reads a recorded history in `temporal workflow show --output
// json` form.
func loadHistory(t *testing.T, file string) *historypb.History {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	history, err := client.HistoryFromJSON(f, client.HistoryJSONOptions{})
	if err != nil {
		t.Fatalf("load history: %v", err)
	}
	if len(history.GetEvents()) == 0 {
		t.Fatal("history has no events")
	}
	return history
}

// workflowType is the type a recorded run was started as, from its
// WorkflowExecutionStarted event.
func workflowType(h *historypb.History) string {
	return h.GetEvents()[0].GetWorkflowExecutionStartedEventAttributes().GetWorkflowType().GetName()
}

// tracingInterceptor is a worker's tracing interceptor, exporting nowhere.
func tracingInterceptor(t *testing.T) interceptor.WorkerInterceptor {
	tr, err := tracing.New(context.Background(), "replay", tracetest.NewInMemoryExporter())
	if err != nil {
		t.Fatal(err)
	}
	ti, err := tr.Interceptor()
	if err != nil {
		t.Fatal(err)
	}
	return ti
}

// TestReplayFollowsTableInInput: a run started with a state table in its
// input replays with that table, not the provider's. The recorded run's
// table makes DELIVERED an ordinary status before OUT_FOR_DELIVERY, where
// Fenix's table (and the frozen one for inputs without a table) ends the
// shipment at DELIVERED; replayed with either of those, the run would
// start its linger timer early and fail as non-deterministic.
func TestReplayFollowsTableInInput(t *testing.T) {
	f, err := os.Open(filepath.Join("testdata", "fenix-shipment-table-in-input.history.json"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	history, err := client.HistoryFromJSON(f, client.HistoryJSONOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var in workflows.EntityInput
	start := history.GetEvents()[0].GetWorkflowExecutionStartedEventAttributes()
	if err := converter.GetDefaultDataConverter().FromPayloads(start.GetInput(), &in); err != nil {
		t.Fatal(err)
	}
	registry := providers.Fenix(nil).Tables["shipment"]
	if in.Table == nil || in.Table.Terminal["DELIVERED"] == registry.Terminal["DELIVERED"] {
		t.Fatalf("the recorded input's table %+v does not differ from Fenix's on DELIVERED", in.Table)
	}
	replayer := worker.NewWorkflowReplayer()
	replayer.RegisterWorkflow(workflows.Entity)
	if err := replayer.ReplayWorkflowHistory(nil, history); err != nil {
		t.Errorf("replay with the table in the input: %v", err)
	}
}

// TestReplayRevision5NeedsDigestMemory: the recorded revision 5 run whose
// EXCEPTION came back under a fresh event ID, Redis having forgotten it,
// replays as recorded, and fails to replay as a revision 4 run: without
// the body in the event memory, the replay would have been a second
// EXCEPTION, and a run started at revision 5 never becomes one that
// applies it.
func TestReplayRevision5NeedsDigestMemory(t *testing.T) {
	replay := func(revision int) error {
		f, err := os.Open(filepath.Join("testdata", "fenix-shipment-rev5-replayed-body.history.json"))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		history, err := client.HistoryFromJSON(f, client.HistoryJSONOptions{})
		if err != nil {
			t.Fatal(err)
		}
		start := history.GetEvents()[0].GetWorkflowExecutionStartedEventAttributes()
		payload := start.GetInput().GetPayloads()[0]
		var in map[string]any // as recorded, whatever fields it has
		if err := json.Unmarshal(payload.GetData(), &in); err != nil {
			t.Fatal(err)
		}
		if in["Revision"] != float64(5) {
			t.Fatalf("recorded input revision %v, want 5", in["Revision"])
		}
		in["Revision"] = revision
		if payload.Data, err = json.Marshal(in); err != nil {
			t.Fatal(err)
		}
		replayer := worker.NewWorkflowReplayer()
		replayer.RegisterWorkflow(workflows.Entity)
		return replayer.ReplayWorkflowHistory(nil, history)
	}
	if err := replay(5); err != nil {
		t.Fatalf("replay as recorded: %v", err)
	}
	// TMPRL1100: the SDK's nondeterminism, here a Deliver of a transition
	// the recorded run never made.
	if err := replay(4); err == nil || !strings.Contains(err.Error(), "TMPRL1100") {
		t.Fatalf("replay as revision 4: %v, want a nondeterminism error: the body's replay applied again", err)
	}
}
