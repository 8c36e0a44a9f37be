package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/hookflow/hookflow/internal/dev/testenv"
	"github.com/hookflow/hookflow/workflows"
)

// TestRevision3AgainstDevServer runs revision 3's new paths against a real
// dev server: a run that continues as new mid-burst with a malformed
// signal and a reprocess among its events, and an entity cancelled with
// deliveries in flight and reopened by its next event. With
// HOOKFLOW_RECORD_HISTORIES=1 it records their histories beside the older
// ones in workflows/testdata, which TestReplay then replays for ever.
func TestRevision3AgainstDevServer(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	sink := newRecordingSink(t)
	env := sink.env()
	env["PHOSPHOR_WEBHOOK_SECRET"] = "rev3-phosphor"
	env["FENIX_CLIENT_SECRET"] = "rev3-fenix"
	env["HOOKFLOW_MAX_EVENTS_PER_RUN"] = "40"
	env["HOOKFLOW_LINGER"] = "1s"
	s := newStack(t, env)

	t.Run("burst continues as new", func(t *testing.T) {
		const item, wf = "rev3-item", "phosphor-item:rev3-item"
		s.send("phosphor", item, "MINT")
		for i := 0; i < 99; i++ {
			s.send("phosphor", item, "TRANSFER")
			if i == 50 {
				if err := s.tc.SignalWorkflow(context.Background(), wf, "", workflows.SignalWebhookEvent, "not an event"); err != nil {
					t.Fatal(err)
				}
				if err := s.tc.SignalWorkflow(context.Background(), wf, "", workflows.SignalReprocess, workflows.ReprocessRequest{RequestID: "rev3"}); err != nil {
					t.Fatal(err)
				}
			}
		}
		s.send("phosphor", item, "BURN")
		st := s.waitState(wf, func(st workflows.State) bool { return st.Processed == 101 && st.Status == "BURN" })
		if st.Rejected != 1 {
			t.Errorf("rejected %d, want the one malformed signal", st.Rejected)
		}
		var ids []string
		ok, why := within(30*time.Second, 500*time.Millisecond, func() (bool, string) {
			var status map[string]enums.WorkflowExecutionStatus
			var err error
			if ids, status, err = s.runs(wf); err != nil {
				return false, err.Error()
			}
			continued := 0
			for _, id := range ids {
				if status[id] == enums.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW {
					continued++
				}
			}
			return continued >= 2, fmt.Sprintf("%d runs, %d continued as new", len(ids), continued)
		})
		if !ok {
			t.Fatalf("want the burst to continue as new (40 events a run): %s", why)
		}
		ok, why = within(30*time.Second, 500*time.Millisecond, func() (bool, string) {
			seqs, _, _ := sink.firstArrivals(wf)
			return len(seqs) >= st.Sequence, fmt.Sprintf("%d of %d transitions delivered", len(seqs), st.Sequence)
		})
		if !ok {
			t.Errorf("deliveries: %s", why)
		}
		checkInOrder(t, sink, wf, st.Sequence)
		last := s.waitClosed(wf)
		recordRun(t, s, wf, ids[len(ids)-1], "phosphor-item-rev3-burst-first-run") // visibility lists the newest first
		recordRun(t, s, wf, last, "phosphor-item-rev3-burst-last-run")
	})

	t.Run("cancelled with deliveries in flight, then reopened", func(t *testing.T) {
		const shipment, wf = "rev3-ship", "fenix-shipment:rev3-ship"
		sink.delay.Store(int64(2 * time.Second))
		s.send("fenix", shipment, "LABEL_CREATED")
		s.send("fenix", shipment, "PICKED_BY_CARRIER")
		s.waitState(wf, func(st workflows.State) bool { return st.Sequence == 2 })
		if err := s.tc.CancelWorkflow(context.Background(), wf, ""); err != nil {
			t.Fatal(err)
		}
		var cancelled string
		testenv.Eventually(t, 20*time.Second, func() (bool, string) {
			d, err := s.tc.DescribeWorkflowExecution(context.Background(), wf, "")
			if err != nil {
				return false, err.Error()
			}
			cancelled = d.GetWorkflowExecutionInfo().GetExecution().GetRunId()
			status := d.GetWorkflowExecutionInfo().GetStatus()
			return status == enums.WORKFLOW_EXECUTION_STATUS_CANCELED, "status " + status.String()
		})
		sink.delay.Store(0)
		s.send("fenix", shipment, "IN_TRANSIT")
		s.send("fenix", shipment, "DELIVERED")
		st := s.waitState(wf, func(st workflows.State) bool { return st.Status == "DELIVERED" })
		if st.Sequence != 4 || st.Processed != 4 {
			t.Errorf("reopened: sequence %d, processed %d; want 4 and 4 (the cancelled run's state carried)", st.Sequence, st.Processed)
		}
		ok, why := within(30*time.Second, 500*time.Millisecond, func() (bool, string) {
			seqs, _, _ := sink.firstArrivals(wf)
			return len(seqs) >= 4, fmt.Sprintf("delivered %v", seqs)
		})
		if !ok {
			t.Errorf("deliveries: %s", why)
		}
		checkInOrder(t, sink, wf, 4)
		reopened := s.waitClosed(wf)
		recordRun(t, s, wf, cancelled, "fenix-shipment-rev3-cancelled")
		recordRun(t, s, wf, reopened, "fenix-shipment-rev3-reopened-after-cancel")
	})
}

// checkInOrder checks that the sink got wf's transitions 1..n, each first
// arriving once and in order, every one verified under a single webhook-id.
func checkInOrder(t *testing.T, sink *recordingSink, wf string, n int) {
	t.Helper()
	if seqs, _, _ := sink.firstArrivals(wf); !slices.Equal(seqs, wantSeqs(1, n)) {
		t.Errorf("%s: delivered seqs %v, want 1..%d in order", wf, seqs, n)
	}
	if p := sink.problems(); len(p) > 0 {
		t.Errorf("destination problems: %q", p)
	}
}

// recordRun writes one run's history to workflows/testdata under a new
// name when HOOKFLOW_RECORD_HISTORIES=1; a file already there is never
// overwritten (recorded histories are only added).
func recordRun(t *testing.T, s *stack, workflowID, runID, name string) {
	t.Helper()
	if !recording() {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	it := s.tc.GetWorkflowHistory(ctx, workflowID, runID, false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	var h historypb.History
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		h.Events = append(h.Events, ev)
	}
	raw, err := protojson.MarshalOptions{Multiline: true, Indent: "  "}.Marshal(&h)
	if err != nil {
		t.Fatal(err)
	}
	writeHistory(t, name, raw)
}

func recording() bool { return os.Getenv("HOOKFLOW_RECORD_HISTORIES") == "1" }

// writeHistory adds workflows/testdata/<name>.history.json, refusing to
// replace a history already recorded.
func writeHistory(t *testing.T, name string, raw []byte) {
	t.Helper()
	file := filepath.Join("..", "..", "workflows", "testdata", name+".history.json")
	f, err := os.OpenFile(file, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		t.Fatalf("record %s: %v (recorded histories are never replaced: name a new one)", name, err)
	}
	defer f.Close()
	if _, err := f.Write(raw); err != nil {
		t.Fatal(err)
	}
	t.Logf("recorded %s", file)
}
