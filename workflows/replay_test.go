package workflows_test

import (
	"os"
	"path/filepath"
	"testing"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/hookflow/hookflow/workflows"
)

// TestReplay replays every recorded history in testdata against the current
// Entity, so a change that makes existing runs non-deterministic fails here
// before it reaches a worker. Record a new one from a dev server with
//
//	temporal workflow show -w <workflow-id> --output json > testdata/<name>.history.json
func TestReplay(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.history.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no testdata/*.history.json to replay")
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
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
			replayer := worker.NewWorkflowReplayer()
			replayer.RegisterWorkflow(workflows.Entity)
			if err := replayer.ReplayWorkflowHistory(nil, history); err != nil {
				t.Errorf("replay: %v", err)
			}
		})
	}
}
