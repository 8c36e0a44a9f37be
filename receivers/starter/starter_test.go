package starter

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/hookflow/hookflow/event/lifecycle"
	"github.com/hookflow/hookflow/workflows"
)

// call is one SignalWithStartWorkflow a fakeClient received.
type call struct {
	policy enums.WorkflowIdReusePolicy
	in     workflows.EntityInput
	opts   client.StartWorkflowOptions
}

// fakeClient answers SignalWithStartWorkflow from a script of errors, one
// per call (nil past its end), and records the calls.
type fakeClient struct {
	mu     sync.Mutex
	script []error
	calls  []call
}

func (f *fakeClient) SignalWithStartWorkflow(_ context.Context, _, _ string, _ any,
	opts client.StartWorkflowOptions, _ any, args ...any) (client.WorkflowRun, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	in, _ := args[0].(workflows.EntityInput)
	f.calls = append(f.calls, call{policy: opts.WorkflowIDReusePolicy, in: in, opts: opts})
	if n := len(f.calls); n <= len(f.script) && f.script[n-1] != nil {
		return nil, f.script[n-1]
	}
	return nil, nil
}

func TestSignal(t *testing.T) {
	closed := serviceerror.NewWorkflowExecutionAlreadyStarted("already started", "req-1", "run-closed")
	tests := []struct {
		name     string
		script   []error
		wantRuns []string // PreviousRunID of each call
		wantErr  bool
	}{
		{"new or running entity: one call, nothing to load", nil, []string{""}, false},
		{"closed entity: the second call names the closed run", []error{closed}, []string{"", "run-closed"}, false},
		{"refusal without a run ID", []error{serviceerror.NewWorkflowExecutionAlreadyStarted("x", "", "")}, []string{""}, true},
		{"other error", []error{serviceerror.NewUnavailable("down")}, []string{""}, true},
		{"second call fails", []error{closed, serviceerror.NewUnavailable("down")}, []string{"", "run-closed"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fc := &fakeClient{script: tt.script}
			s := Starter{Client: fc, TaskQueue: "q"}
			_, err := s.Signal(context.Background(), "fenix", "shipment", "s1", workflows.SignalWebhookEvent, "ev")
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			var unavailable *serviceerror.Unavailable
			if tt.wantErr && len(tt.script) > 0 && errors.As(tt.script[len(tt.script)-1], &unavailable) && !errors.As(err, &unavailable) {
				t.Errorf("err = %v does not wrap the Temporal error", err)
			}
			if len(fc.calls) != len(tt.wantRuns) {
				t.Fatalf("calls = %d, want %d", len(fc.calls), len(tt.wantRuns))
			}
			for i, c := range fc.calls {
				if c.in.PreviousRunID != tt.wantRuns[i] || c.in.Revision != workflows.Revision {
					t.Errorf("call %d input = %+v, want previous run %q at revision %d", i, c.in, tt.wantRuns[i], workflows.Revision)
				}
			}
			// Only a start that follows a named closed run may reuse the ID.
			if fc.calls[0].policy != enums.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE {
				t.Errorf("first call reuse policy = %v, want REJECT_DUPLICATE", fc.calls[0].policy)
			}
			if len(fc.calls) == 2 && fc.calls[1].policy != enums.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE {
				t.Errorf("second call reuse policy = %v, want ALLOW_DUPLICATE", fc.calls[1].policy)
			}
		})
	}
}

// TestTenantSearchAttribute: a tenant's start sets the search attribute
// Tenant; a default-tenant start sets the three identifying attributes and
// nothing more, as before tenants.
func TestTenantSearchAttribute(t *testing.T) {
	tests := []struct {
		name       string
		tenant     string
		wantTenant string // "" for none
		wantID     string
	}{
		{"default tenant", "", "", "fenix-shipment:s1"},
		{"tenant", "a.example", "a.example", "fenix-shipment@a.example:s1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fc := &fakeClient{}
			s := Starter{Client: fc, TaskQueue: "q"}
			if _, err := s.SignalTenant(context.Background(), tt.tenant, "fenix", "shipment", "s1", workflows.SignalWebhookEvent, "ev"); err != nil {
				t.Fatal(err)
			}
			opts := fc.calls[0].opts
			if opts.ID != tt.wantID {
				t.Errorf("ID = %q, want %q", opts.ID, tt.wantID)
			}
			got, ok := opts.TypedSearchAttributes.GetKeyword(workflows.TenantKey)
			if ok != (tt.wantTenant != "") || got != tt.wantTenant {
				t.Errorf("Tenant = %q (set %v), want %q", got, ok, tt.wantTenant)
			}
			want := 3
			if tt.wantTenant != "" {
				want = 4
			}
			if n := opts.TypedSearchAttributes.Size(); n != want {
				t.Errorf("%d search attributes, want %d", n, want)
			}
		})
	}
}

// TestTenantFairnessKey: a tenant's start carries the tenant as its
// fairness key, so the server dispatches its tasks fairly against other
// tenants'; a default-tenant start carries no priority at all, as before
// tenants, whether it is the first call or the one after a closed run.
func TestTenantFairnessKey(t *testing.T) {
	closed := serviceerror.NewWorkflowExecutionAlreadyStarted("already started", "req-1", "run-closed")
	tests := []struct {
		name   string
		tenant string
		want   temporal.Priority
	}{
		{"default tenant", "", temporal.Priority{}},
		{"tenant", "wearhumans.myshopify.com", temporal.Priority{FairnessKey: "wearhumans.myshopify.com"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fc := &fakeClient{script: []error{closed}}
			s := Starter{Client: fc, TaskQueue: "q"}
			if _, err := s.SignalTenant(context.Background(), tt.tenant, "fenix", "shipment", "s1", workflows.SignalWebhookEvent, "ev"); err != nil {
				t.Fatal(err)
			}
			if len(fc.calls) != 2 {
				t.Fatalf("%d calls, want 2 (the closed run, then the reopening)", len(fc.calls))
			}
			for i, c := range fc.calls {
				if c.opts.Priority != tt.want {
					t.Errorf("call %d: Priority = %+v, want %+v", i, c.opts.Priority, tt.want)
				}
			}
		})
	}
	if got := (Starter{TaskQueue: "q"}).Options(workflows.EntityInput{Provider: "fenix", EntityType: "shipment", EntityID: "s1"}); got.Priority != (temporal.Priority{}) {
		t.Errorf("Options (reprocess, bench): Priority = %+v, want none", got.Priority)
	}
}

// TestInputCarriesTableAndSettings: every new run's input holds its kind's
// state table from Tables and the configured MaxEventsPerRun; a kind
// Tables does not know gets none.
func TestInputCarriesTableAndSettings(t *testing.T) {
	table := lifecycle.Ranked([][]string{{"created"}, {"paid"}}, []string{"paid"}, nil)
	s := Starter{
		Client: &fakeClient{}, TaskQueue: "q", MaxEventsPerRun: 7,
		Tables: func(provider, entityType string) (lifecycle.Table, bool) {
			return table, provider == "acme" && entityType == "order"
		},
	}
	if _, err := s.Signal(context.Background(), "acme", "order", "o-1", workflows.SignalWebhookEvent, nil); err != nil {
		t.Fatal(err)
	}
	in := s.Client.(*fakeClient).calls[0].in
	if in.Table == nil || in.Table.Rank["paid"] != 1 || !in.Table.Terminal["paid"] || in.MaxEventsPerRun != 7 {
		t.Errorf("input %+v, want acme's table and MaxEventsPerRun 7", in)
	}
	if in := s.Input("acme", "shipment", "s-1"); in.Table != nil {
		t.Errorf("input of an unknown kind carries table %+v", in.Table)
	}
}

// TestRefusedSignalLimit: an entity at its run's signal limit is busy, not
// refused: the provider must retry, whichever error the server says it with.
func TestRefusedSignalLimit(t *testing.T) {
	for _, err := range []error{
		serviceerror.NewInvalidArgument("exceeded workflow execution limit for signal events"),
		serviceerror.NewResourceExhausted(enums.RESOURCE_EXHAUSTED_CAUSE_SYSTEM_OVERLOADED, "exceeded workflow execution limit for signal events"),
	} {
		if part, refused := Refused(fmt.Errorf("signal with start x: %w", err)); refused {
			t.Errorf("Refused(%v) = %v, true; want a retryable failure", err, part)
		}
	}
	if _, refused := Refused(serviceerror.NewInvalidArgument("WorkflowId length exceeds limit.")); !refused {
		t.Error("a WorkflowId over its limit is no longer refused")
	}
}
