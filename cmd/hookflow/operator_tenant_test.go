package main

import (
	"bytes"
	"context"
	"reflect"
	"strings"
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
)

// fakeOperatorTemporal records the visibility queries and describes the
// operator commands make; a query finds fenix-shipment@a:1, a describe
// answers NotFound.
type fakeOperatorTemporal struct {
	client.Client // nil: any other call panics
	queries       []string
	described     []string
}

func (f *fakeOperatorTemporal) ListWorkflow(_ context.Context, req *workflowservice.ListWorkflowExecutionsRequest) (*workflowservice.ListWorkflowExecutionsResponse, error) {
	f.queries = append(f.queries, req.GetQuery())
	return &workflowservice.ListWorkflowExecutionsResponse{Executions: []*workflowpb.WorkflowExecutionInfo{
		{Execution: &commonpb.WorkflowExecution{WorkflowId: "fenix-shipment@a:1"}},
	}}, nil
}

func (f *fakeOperatorTemporal) DescribeWorkflowExecution(_ context.Context, id, _ string) (*workflowservice.DescribeWorkflowExecutionResponse, error) {
	f.described = append(f.described, id)
	return nil, serviceerror.NewNotFound("fake")
}

// TestOperatorCommandsTenant: status, events, reprocess and redeliver take
// --tenant; status describes the tenant's workflow of a default-tenant ID
// and refuses another tenant's without asking Temporal; reprocess and
// redeliver send their query and --provider/--entity lookups inside the
// tenant's restriction and list the tenant's targets.
func TestOperatorCommandsTenant(t *testing.T) {
	cfg, _ := tenantsConfig(t)
	a := &app{}
	for name, flags := range map[string]func() bool{
		"status":    func() bool { return newStatusCmd(a).Flags().Lookup("tenant") != nil },
		"events":    func() bool { return newEventsCmd(a).Flags().Lookup("tenant") != nil },
		"reprocess": func() bool { return newReprocessCmd(a).Flags().Lookup("tenant") != nil },
		"redeliver": func() bool { return newRedeliverCmd(a).Flags().Lookup("tenant") != nil },
	} {
		if !flags() {
			t.Errorf("%s has no --tenant", name)
		}
	}

	t.Run("status", func(t *testing.T) {
		for _, tt := range []struct {
			id, tenant    string
			wantDescribed []string
			wantErr       string
		}{
			{"fenix-shipment:1", "a", []string{"fenix-shipment@a:1"}, "describe "},
			{"fenix-shipment@a:1", "a", []string{"fenix-shipment@a:1"}, "describe "},
			{"fenix-shipment:1", "", []string{"fenix-shipment:1"}, "describe "},
			{"phoenix-order:Müller", "b.example", []string{"phoenix-order@b.example%:M%C3%BCller"}, "describe "},
			{"fenix-shipment@b.example:1", "a", nil, "tenant b.example's entity, not a's"},
		} {
			fake := &fakeOperatorTemporal{}
			_, err := describeEntity(context.Background(), fake, cfg, tt.id, tt.tenant)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !reflect.DeepEqual(fake.described, tt.wantDescribed) {
				t.Errorf("status --tenant %q %s: described %q, %v; want %q and an error saying %q", tt.tenant, tt.id, fake.described, err, tt.wantDescribed, tt.wantErr)
			}
		}
		if _, err := a.report(context.Background(), "fenix-shipment:1", "Not_A_Tenant"); err == nil || !strings.Contains(err.Error(), "is not a tenant ID") {
			t.Errorf("status --tenant Not_A_Tenant: %v, want it refused before dialling", err)
		}
	})

	for _, tt := range []struct {
		name      string
		o         reprocessOptions
		args      []string
		wantQuery string
		wantOut   string
	}{
		{"query", reprocessOptions{query: `EntityStatus = "pending"`, tenant: "a"}, nil,
			`WorkflowType = "Entity" AND Tenant = "a" AND (EntityStatus = "pending")`, "fenix-shipment@a:1\n1 target(s)"},
		{"provider and entity", reprocessOptions{provider: "fenix", entity: "1", tenant: "a"}, nil,
			`WorkflowType = "Entity" AND Tenant = "a" AND (WebhookProvider = "fenix" AND EntityID = "1")`, "fenix-shipment@a:1\n1 target(s)"},
		{"default-tenant IDs", reprocessOptions{tenant: "b.example"}, []string{"fenix-shipment:7", "phoenix-order:o-1"}, "",
			"fenix-shipment@b.example:7\nphoenix-order@b.example:o-1\n2 target(s)"},
	} {
		for _, command := range []string{"reprocess", "redeliver"} {
			t.Run(command+" "+tt.name, func(t *testing.T) {
				fake := &fakeOperatorTemporal{}
				o := tt.o
				o.dryRun, o.rate = true, 10
				var out bytes.Buffer
				var err error
				if command == "reprocess" {
					err = reprocess(context.Background(), nil, &out, fake, cfg, tt.args, o)
				} else {
					err = redeliver(context.Background(), nil, &out, fake, cfg, tt.args, o, "")
				}
				if err != nil {
					t.Fatalf("%s: %v", command, err)
				}
				var want []string
				if tt.wantQuery != "" {
					want = []string{tt.wantQuery}
				}
				if !reflect.DeepEqual(fake.queries, want) {
					t.Errorf("visibility queries %q, want %q", fake.queries, want)
				}
				if !strings.Contains(out.String(), tt.wantOut) {
					t.Errorf("output %q, want %q", out.String(), tt.wantOut)
				}
			})
		}
	}
}
