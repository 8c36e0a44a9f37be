package main

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/hookflow/hookflow/internal/dev/testenv"
	"github.com/hookflow/hookflow/workflows"
)

// TestProviderLifecycles drives one entity of every provider through its
// lifecycle with `hookflow send`'s signing, over HTTP, to its terminal status
// in the state query and in the EntityStatus search attribute.
func TestProviderLifecycles(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	env := map[string]string{}
	for name, secret := range devSecrets() {
		env[name] = secret
	}
	s := newStack(t, env)
	tests := []struct {
		provider, entity, workflowID string
		statuses                     []string
		want                         string // terminal status
		transitions                  int
	}{
		{"phoenix", "lc-order", "phoenix-order:lc-order", []string{"pending", "fulfilled"}, "fulfilled", 2},
		{"phosphor", "lc-item", "phosphor-item:lc-item", []string{"MINT", "TRANSFER", "TRANSFER", "BURN"}, "BURN", 4},
		{"phosphor", "lc-listing", "phosphor-listing:lc-listing", []string{"CREATED", "COMPLETED"}, "COMPLETED", 2},
		{"up42", "lc-order", "up42-order:lc-order", []string{"PLACED", "BEING_FULFILLED", "FAILED", "BEING_FULFILLED", "FULFILLED"}, "FULFILLED", 5},
		{"fenix", "lc-shipment", "fenix-shipment:lc-shipment", []string{"LABEL_CREATED", "PICKED_BY_CARRIER", "IN_TRANSIT", "OUT_FOR_DELIVERY", "DELIVERED"}, "DELIVERED", 5},
		{"phantom", "lc-tx", "phantom-transaction:lc-tx", []string{"transaction.pool.added", "transaction.forged", "transaction.applied"}, "applied", 3},
	}
	for _, tt := range tests {
		t.Run(tt.workflowID, func(t *testing.T) {
			s.t = t
			for i, status := range tt.statuses {
				if tt.provider == "phoenix" {
					s.api.set(tt.entity, status)
				}
				s.send(tt.provider, tt.entity, status)
				// In order: each step is applied before the next is sent,
				// as a provider's deliveries are spaced in real life.
				s.waitState(tt.workflowID, func(st workflows.State) bool { return len(st.Events) == i+1 })
			}
			st := s.waitState(tt.workflowID, func(st workflows.State) bool { return st.Terminal })
			if st.Status != tt.want || st.Sequence != tt.transitions {
				t.Errorf("got %s after %d transitions, want %s after %d (%+v)", st.Status, st.Sequence, tt.want, tt.transitions, st.Transitions)
			}
			query := fmt.Sprintf(`WebhookProvider = %q AND EntityStatus = %q`, tt.provider, tt.want)
			testenv.Eventually(t, 30*time.Second, func() (bool, string) { return s.visible(query, tt.workflowID) })
		})
	}
}

// TestIdleEntityClosesAndReopens: a shipment that stops getting events
// closes after HOOKFLOW_IDLE_TIMEOUT; its next event reopens it from where
// it stood, with its history.
func TestIdleEntityClosesAndReopens(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	s := newStack(t, map[string]string{"FENIX_CLIENT_SECRET": devSecrets()["FENIX_CLIENT_SECRET"], "HOOKFLOW_IDLE_TIMEOUT": "2s"})
	const wfID = "fenix-shipment:idle-1"
	s.send("fenix", "idle-1", "IN_TRANSIT")
	firstRun := s.waitClosed(wfID)
	testenv.Eventually(t, 30*time.Second, func() (bool, string) {
		return s.visible(`WorkflowId = "`+wfID+`" AND ExecutionStatus = "Completed" AND EntityStatus = "IN_TRANSIT"`, wfID)
	})

	s.send("fenix", "idle-1", "DELIVERED")
	st := s.waitState(wfID, func(st workflows.State) bool { return st.Terminal })
	if st.Status != "DELIVERED" || st.Sequence != 2 || len(st.Transitions) != 2 || st.Transitions[0].To != "IN_TRANSIT" {
		t.Errorf("reopened shipment: status %s, sequence %d, transitions %+v; want DELIVERED after IN_TRANSIT", st.Status, st.Sequence, st.Transitions)
	}
	d, err := s.tc.DescribeWorkflowExecution(context.Background(), wfID, "")
	if err != nil {
		t.Fatal(err)
	}
	if d.GetWorkflowExecutionInfo().GetExecution().GetRunId() == firstRun {
		t.Error("the event after the idle close went to the closed run")
	}
}
