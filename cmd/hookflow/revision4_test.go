package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"go.temporal.io/api/enums/v1"

	"github.com/hookflow/hookflow/workflows"
)

// TestRevision4AgainstDevServer runs a Phoenix order of revision 4 against
// a real dev server: its orders API is read with FetchEntityStatus, as
// every provider's, never with FetchPhoenixOrder, and the API calls are
// still counted under provider phoenix. With HOOKFLOW_RECORD_HISTORIES=1
// it records the run's history beside the older ones in
// workflows/testdata, which TestReplay then replays for ever.
func TestRevision4AgainstDevServer(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	const secret, order, wf = "rev4-phoenix", "rev4-order", "phoenix-order:rev4-order"
	s := newStack(t, map[string]string{"PHOENIX_WEBHOOK_SECRET": secret, "HOOKFLOW_LINGER": "1s"})
	for i, status := range []string{"pending", "fulfilled"} {
		s.api.set(order, status)
		body, headers := phoenixEvent(secret, fmt.Sprintf("evt-rev4-%d", i+1), order, status)
		if r := s.post("/webhooks/phoenix", body, headers); r.status != 200 {
			t.Fatalf("event %d: %d %v", i+1, r.status, r.body)
		}
		s.waitState(wf, func(st workflows.State) bool { return st.Sequence == i+1 && st.Transitions[i].Source == "api" })
	}
	run := s.waitClosed(wf)

	reads := map[string]int{}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	it := s.tc.GetWorkflowHistory(ctx, wf, run, false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range ev.GetMarkerRecordedEventAttributes().GetDetails()["data"].GetPayloads() {
			for _, name := range []string{"FetchEntityStatus", "FetchPhoenixOrder"} {
				if strings.Contains(string(p.GetData()), `"ActivityType":"`+name+`"`) {
					reads[name]++
				}
			}
		}
	}
	if reads["FetchEntityStatus"] != 2 || reads["FetchPhoenixOrder"] != 0 {
		t.Errorf("API reads recorded by activity: %v, want FetchEntityStatus twice and nothing else", reads)
	}
	if got := s.metricValue("hookflow_provider_api_calls_total", map[string]string{"provider": "phoenix", "outcome": "ok"}); got < 2 {
		t.Errorf("hookflow_provider_api_calls_total{provider=phoenix,outcome=ok} = %v, want at least 2", got)
	}
	recordRun(t, s, wf, run, "phoenix-order-rev4-fulfilled")
}
