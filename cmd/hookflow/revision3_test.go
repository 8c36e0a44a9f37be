package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/hookflow/hookflow/internal/testenv"
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
	var mu sync.Mutex
	var slow bool
	got := map[string][]string{} // webhook-ids by entity workflow, in arrival order
	dest := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		wait := slow
		mu.Unlock()
		if wait {
			select {
			case <-time.After(2 * time.Second):
			case <-r.Context().Done():
				return
			}
		}
		id := r.Header.Get("webhook-id")
		mu.Lock()
		wf := id[:len(id)-len(fmt.Sprint(seqOf(id)))-1]
		got[wf] = append(got[wf], id)
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(dest.Close)
	s := newStack(t, map[string]string{
		"PHOSPHOR_WEBHOOK_SECRET":     "rev3-phosphor",
		"FENIX_CLIENT_SECRET":         "rev3-fenix",
		"HOOKFLOW_FORWARD_URL":        dest.URL,
		"HOOKFLOW_FORWARD_SECRET":     "whsec_cmV2aXNpb24tMy1zZWNyZXQ=",
		"HOOKFLOW_MAX_EVENTS_PER_RUN": "40",
		"HOOKFLOW_LINGER":             "1s",
	})
	delivered := func(wf string) []string {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(got[wf])
	}

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
		runs := runsOf(t, s, wf)
		if len(runs) < 3 {
			t.Errorf("%d runs, want the burst to continue as new (40 events a run)", len(runs))
		}
		testenv.Eventually(t, 30*time.Second, func() (bool, string) {
			n := len(delivered(wf))
			return n >= st.Sequence, fmt.Sprintf("%d of %d transitions delivered", n, st.Sequence)
		})
		checkWebhookIDs(t, wf, delivered(wf))
		last := s.waitClosed(wf)
		recordRun(t, s, wf, runs[0], "phosphor-item-rev3-burst-first-run")
		recordRun(t, s, wf, last, "phosphor-item-rev3-burst-last-run")
	})

	t.Run("cancelled with deliveries in flight, then reopened", func(t *testing.T) {
		const shipment, wf = "rev3-ship", "fenix-shipment:rev3-ship"
		mu.Lock()
		slow = true
		mu.Unlock()
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
		mu.Lock()
		slow = false
		mu.Unlock()
		s.send("fenix", shipment, "IN_TRANSIT")
		s.send("fenix", shipment, "DELIVERED")
		st := s.waitState(wf, func(st workflows.State) bool { return st.Status == "DELIVERED" })
		if st.Sequence != 4 || st.Processed != 4 {
			t.Errorf("reopened: sequence %d, processed %d; want 4 and 4 (the cancelled run's state carried)", st.Sequence, st.Processed)
		}
		testenv.Eventually(t, 30*time.Second, func() (bool, string) {
			ids := slices.Compact(slices.Sorted(slices.Values(delivered(wf))))
			return len(ids) == 4, fmt.Sprintf("delivered %q", ids)
		})
		checkWebhookIDs(t, wf, delivered(wf))
		reopened := s.waitClosed(wf)
		recordRun(t, s, wf, cancelled, "fenix-shipment-rev3-cancelled")
		recordRun(t, s, wf, reopened, "fenix-shipment-rev3-reopened-after-cancel")
	})
}

// seqOf is the seq a webhook-id (<workflowId>:<seq>) ends with.
func seqOf(id string) int {
	var n, mul = 0, 1
	for i := len(id) - 1; i >= 0 && id[i] >= '0' && id[i] <= '9'; i-- {
		n += int(id[i]-'0') * mul
		mul *= 10
	}
	return n
}

// checkWebhookIDs checks that a destination got transitions in order: each
// webhook-id's seq at least the previous one's (a retry repeats one).
func checkWebhookIDs(t *testing.T, wf string, ids []string) {
	t.Helper()
	last := 0
	for _, id := range ids {
		if seq := seqOf(id); seq < last {
			t.Errorf("%s: %s arrived after seq %d", wf, id, last)
		} else {
			last = seq
		}
	}
}

// runsOf lists the runs of workflowID, oldest first, through visibility.
func runsOf(t *testing.T, s *stack, workflowID string) []string {
	t.Helper()
	var runs []string
	testenv.Eventually(t, 30*time.Second, func() (bool, string) {
		resp, err := s.tc.ListWorkflow(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{
			Namespace: s.cfg.TemporalNamespace, Query: fmt.Sprintf("WorkflowId = %q", workflowID),
		})
		if err != nil {
			return false, err.Error()
		}
		runs = runs[:0]
		continued := 0
		for _, ex := range resp.GetExecutions() {
			runs = append(runs, ex.GetExecution().GetRunId())
			if ex.GetStatus() == enums.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW {
				continued++
			}
		}
		slices.Reverse(runs) // visibility lists the newest first
		return continued >= 2, fmt.Sprintf("%d runs, %d continued as new", len(runs), continued)
	})
	return runs
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
