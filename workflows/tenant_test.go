package workflows

import (
	"errors"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
)

// tenantRun runs a Tenant workflow that is sent signals, a minute apart,
// and returns the record its query answered after each, and whether the
// run ended (a Remove) or continued as new.
func tenantRun(t *testing.T, in TenantInput, signals ...any) (records []TenantRecord, env *testsuite.TestWorkflowEnvironment) {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	env = s.NewTestWorkflowEnvironment()
	env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: TenantWorkflowID("demo")})
	for i, sig := range signals {
		env.RegisterDelayedCallback(func() {
			env.SignalWorkflow(SignalTenantChange, sig)
		}, time.Duration(i+1)*time.Minute)
		env.RegisterDelayedCallback(func() {
			v, err := env.QueryWorkflow(QueryTenant)
			if err != nil {
				t.Errorf("query after signal %d: %v", i, err)
				return
			}
			var r TenantRecord
			if err := v.Get(&r); err != nil {
				t.Errorf("query after signal %d: %v", i, err)
			}
			records = append(records, r)
		}, time.Duration(i+1)*time.Minute+time.Second)
	}
	env.ExecuteWorkflow(Tenant, in)
	return records, env
}

func TestTenantAppliesChangesInOrder(t *testing.T) {
	records, env := tenantRun(t, TenantInput{},
		TenantChange{Replace: true, Secrets: map[string][]string{"up42": {"v1.s1"}}, AccessTokens: map[string]string{"fenix": "v1.t1"}},
		TenantChange{Secrets: map[string][]string{"up42": {"v1.s2", "v1.s1"}}},
		"not a change",
		TenantChange{Secrets: map[string][]string{"up42": {"a", "b", "c", "d", "e"}}}, // past MaxTenantSecrets
		TenantChange{AccessTokens: map[string]string{"fenix": ""}},
		TenantChange{Remove: true},
	)
	if !env.IsWorkflowCompleted() || env.GetWorkflowError() != nil {
		t.Fatalf("completed %v, error %v; want the remove to end the run", env.IsWorkflowCompleted(), env.GetWorkflowError())
	}
	if len(records) < 5 {
		t.Fatalf("%d answers, want 5 before the remove", len(records))
	}
	if r := records[0]; r.ID != "demo" || r.Revision != 1 || r.Secrets["up42"][0] != "v1.s1" || r.AccessTokens["fenix"] != "v1.t1" {
		t.Errorf("after the first change: %+v", r)
	}
	if r := records[1]; r.Revision != 2 || strings.Join(r.Secrets["up42"], ",") != "v1.s2,v1.s1" || r.AccessTokens["fenix"] != "v1.t1" {
		t.Errorf("after the merge: %+v, want both secrets and the token kept", r)
	}
	if r := records[3]; r.Revision != 2 || len(r.Secrets["up42"]) != 2 {
		t.Errorf("a malformed change and one past the bound changed the record: %+v", r)
	}
	if r := records[4]; r.Revision != 3 || len(r.AccessTokens) != 0 || len(r.Secrets["up42"]) != 2 {
		t.Errorf("an empty token did not remove only the token: %+v", r)
	}
}

// TestTenantContinuesAsNew: past maxTenantChangesPerRun changes, the run
// continues as new with its record.
func TestTenantContinuesAsNew(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: TenantWorkflowID("demo")})
	env.RegisterDelayedCallback(func() {
		for i := range maxTenantChangesPerRun {
			env.SignalWorkflow(SignalTenantChange, TenantChange{Secrets: map[string][]string{"up42": {strings.Repeat("s", i%10+1)}}})
		}
	}, time.Minute)
	env.ExecuteWorkflow(Tenant, TenantInput{})
	if err := env.GetWorkflowError(); err == nil || !strings.Contains(err.Error(), "continue as new") {
		t.Fatalf("after %d changes: %v, want continue-as-new", maxTenantChangesPerRun, err)
	}
}

// TestTenantCancelled: the Temporal UI's Cancel ends the run, as a removal
// does (the receivers drop a tenant whose workflow is not running).
func TestTenantCancelled(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: TenantWorkflowID("demo")})
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(SignalTenantChange, TenantChange{Secrets: map[string][]string{"up42": {"v1.s"}}})
	}, time.Minute)
	env.RegisterDelayedCallback(env.CancelWorkflow, 2*time.Minute)
	env.ExecuteWorkflow(Tenant, TenantInput{})
	var canceled *temporal.CanceledError
	if !env.IsWorkflowCompleted() || !errors.As(env.GetWorkflowError(), &canceled) {
		t.Fatalf("completed %v, error %v; want the cancel to end the run", env.IsWorkflowCompleted(), env.GetWorkflowError())
	}
}
