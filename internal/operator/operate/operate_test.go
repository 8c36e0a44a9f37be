package operate

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/hookflow/hookflow/providers"
)

// TestTargetsSelection checks that exactly one way of naming targets is
// accepted and that IDs come back distinct, in the order given; neither
// needs Temporal.
func TestTargetsSelection(t *testing.T) {
	tests := []struct {
		name string
		s    Selection
		want []string
		err  string
	}{
		{"IDs", Selection{IDs: []string{"b", "a", "b"}}, []string{"b", "a"}, ""},
		{"none", Selection{}, nil, "exactly one of them"},
		{"two ways", Selection{IDs: []string{"a"}, Query: "x"}, nil, "exactly one of them"},
		{"entity alone", Selection{Entity: "o-1"}, nil, "--provider and --entity go together"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Targets(context.Background(), nil, "default", tt.s, nil)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("got %v, %v; want an error saying %q", got, err, tt.err)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}

// TestSendRefusesNonEntityIDs checks that an ID naming no provider entity
// fails on its own, before any call to Temporal, and that progress counts
// every target.
func TestSendRefusesNonEntityIDs(t *testing.T) {
	reg, err := providers.NewRegistry(nil)
	if err != nil {
		t.Fatal(err)
	}
	s := Sender{Providers: reg, Rate: 1000}
	var done []int
	id, failed, err := s.Send(context.Background(), []string{"not-an-id", "nobody-thing:1"},
		Signal{Name: "reprocess", Payload: func(string) any { return nil }}, func(n int) { done = append(done, n) })
	if err != nil || !strings.HasPrefix(id, "reprocess-") {
		t.Fatalf("Send: request %q, %v", id, err)
	}
	if len(failed) != 2 || !strings.Contains(failed[0].Err.Error(), "not an entity workflow ID") ||
		!strings.Contains(failed[1].Err.Error(), "no provider entities") {
		t.Errorf("failures %v", failed)
	}
	if !reflect.DeepEqual(done, []int{1, 2}) {
		t.Errorf("progress %v, want [1 2]", done)
	}
}

// TestBackfillTargets: --provider with --file names every listed entity's
// workflow, by the receivers' own rules, whether it exists or not, and
// refuses what a backfill cannot do.
func TestBackfillTargets(t *testing.T) {
	reg, err := providers.NewRegistry(nil)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "orders.txt")
	if err := os.WriteFile(file, []byte("order-1\r\n\n  Müller-42\t\norder-1\norder 2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	want := []string{"phoenix-order:order-1", "phoenix-order%:M%C3%BCller-42", "phoenix-order:order 2"}
	got, err := Targets(context.Background(), nil, "default", Selection{Providers: reg, Provider: "phoenix", File: file}, nil)
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("from a file: got %q, %v; want %q", got, err, want)
	}
	got, err = Targets(context.Background(), nil, "default", Selection{Providers: reg, Provider: "phoenix", File: "-"}, strings.NewReader("order-1\n"))
	if err != nil || !reflect.DeepEqual(got, want[:1]) {
		t.Errorf("from standard input: got %q, %v; want %q", got, err, want[:1])
	}
	bad := filepath.Join(dir, "bad.txt")
	if err := os.WriteFile(bad, []byte("order-1\n"+strings.Repeat("x", 257)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		s    Selection
		err  string
	}{
		{"no API to read", Selection{Provider: "fenix", File: file}, "no API"},
		{"several entity types", Selection{Provider: "phosphor", File: file}, "entity types"},
		{"with --entity", Selection{Provider: "phoenix", Entity: "x", File: file}, "without --entity"},
		{"an ID the receivers would refuse", Selection{Provider: "phoenix", File: bad}, "entry 2"},
		{"no such file", Selection{Provider: "phoenix", File: filepath.Join(dir, "none")}, "--file"},
		{"unknown provider", Selection{Provider: "nope", File: file}, "nope"},
	} {
		tt.s.Providers = reg
		if _, err := Targets(context.Background(), nil, "default", tt.s, nil); err == nil || !strings.Contains(err.Error(), tt.err) {
			t.Errorf("%s: got %v, want an error saying %q", tt.name, err, tt.err)
		}
	}
}

// TestBalanced: a query joined to the entity clause as "(query)" is one
// clause, or it is refused.
func TestBalanced(t *testing.T) {
	for _, tt := range []struct {
		query string
		want  bool
	}{
		{``, true},
		{`EntityStatus = "DELIVERED"`, true},
		{`(A = 1 OR B = 2) AND C = "x)y"`, true},
		{`A = 'it''s (' AND B = "\")"`, true},
		{`A = 1) OR (B = 2`, false},
		{`A = 1) OR WorkflowType = "X"`, false},
		{`A = "unclosed`, false},
		{`A = 1 /* ( */) OR (B = 2 /* ) */`, false},
		{`A = 1 -- (`, false},
		{`A = 1 # x`, false},
		{`((A = 1)`, false},
	} {
		if got := balanced(tt.query); got != tt.want {
			t.Errorf("balanced(%q) = %v, want %v", tt.query, got, tt.want)
		}
	}
}

// TestEntityQuery: a listing's query is one parenthesised clause after
// the entity restriction and, for a tenant, the tenant's; a query that
// could escape its parentheses and a tenant ID that could escape its
// quotes are refused.
func TestEntityQuery(t *testing.T) {
	tests := []struct {
		name, tenant, query, want string
		wantErr                   bool
	}{
		{"all", "", "", `WorkflowType = "Entity"`, false},
		{"query", "", `EntityStatus = "x"`, `WorkflowType = "Entity" AND (EntityStatus = "x")`, false},
		{"tenant", "a.example", "", `WorkflowType = "Entity" AND Tenant = "a.example"`, false},
		{"tenant, OR", "a", `EntityID = "1" OR Tenant = "b"`, `WorkflowType = "Entity" AND Tenant = "a" AND (EntityID = "1" OR Tenant = "b")`, false},
		{"tenant, unbalanced", "a", `EntityID = "1") OR (Tenant = "b"`, "", true},
		{"tenant with a quote", `a" OR Tenant != "`, "", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := EntityQuery(tt.tenant, tt.query)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("EntityQuery(%q, %q) = %q, %v; want %q, error %v", tt.tenant, tt.query, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

// fakeVisibility records every visibility query and finds one workflow,
// fenix-shipment@a:1, for each.
type fakeVisibility struct {
	client.Client // nil: any other call panics
	queries       []string
}

func (f *fakeVisibility) ListWorkflow(_ context.Context, req *workflowservice.ListWorkflowExecutionsRequest) (*workflowservice.ListWorkflowExecutionsResponse, error) {
	f.queries = append(f.queries, req.GetQuery())
	return &workflowservice.ListWorkflowExecutionsResponse{Executions: []*workflowpb.WorkflowExecutionInfo{
		{Execution: &commonpb.WorkflowExecution{WorkflowId: "fenix-shipment@a:1"}},
	}}, nil
}

// TestTargetsTenant: --tenant keeps every way of naming targets to the
// tenant's entities: a query and --provider with --entity are sent inside
// the tenant's restriction (EntityQuery, as the admin API sends a tenant
// token's), a backfill names the tenant's workflow IDs, and a default-tenant
// workflow ID is taken as the tenant's; another tenant's ID, an invalid
// tenant and a query that could escape its parentheses are refused before
// Temporal is asked. Without --tenant the queries are as written.
func TestTargetsTenant(t *testing.T) {
	reg, err := providers.NewRegistry(nil)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "orders.txt")
	if err := os.WriteFile(file, []byte("order-1\nMüller-42\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		s         Selection
		want      []string // targets
		wantQuery string   // the visibility query sent, "" for none
		err       string
	}{
		{"query", Selection{Query: `EntityStatus = "pending"`, Tenant: "a"}, []string{"fenix-shipment@a:1"},
			`WorkflowType = "Entity" AND Tenant = "a" AND (EntityStatus = "pending")`, ""},
		{"query with OR", Selection{Query: `EntityStatus = "pending" OR Tenant = "b"`, Tenant: "a"}, []string{"fenix-shipment@a:1"},
			`WorkflowType = "Entity" AND Tenant = "a" AND (EntityStatus = "pending" OR Tenant = "b")`, ""},
		{"query escaping its parentheses", Selection{Query: `EntityID = "1") OR (Tenant = "b"`, Tenant: "a"}, nil, "", "unbalanced"},
		{"query, no tenant", Selection{Query: `EntityStatus = "pending"`}, []string{"fenix-shipment@a:1"}, `EntityStatus = "pending"`, ""},
		{"provider and entity", Selection{Provider: "fenix", Entity: "1", Tenant: "a"}, []string{"fenix-shipment@a:1"},
			`WorkflowType = "Entity" AND Tenant = "a" AND (WebhookProvider = "fenix" AND EntityID = "1")`, ""},
		{"provider and entity, no tenant", Selection{Provider: "fenix", Entity: "1"}, []string{"fenix-shipment@a:1"},
			`WebhookProvider = "fenix" AND EntityID = "1"`, ""},
		{"IDs", Selection{IDs: []string{"fenix-shipment:1", "fenix-shipment@a:1", "phoenix-order:Müller"}, Tenant: "a.example"}, nil, "",
			"fenix-shipment@a:1 is tenant a's entity, not a.example's"},
		{"default-tenant IDs", Selection{IDs: []string{"fenix-shipment:1", "phoenix-order:Müller", "fenix-shipment@a.example:1"}, Tenant: "a.example"},
			[]string{"fenix-shipment@a.example:1", "phoenix-order@a.example%:M%C3%BCller"}, "", ""},
		{"not an entity ID", Selection{IDs: []string{"hookflow-backfill"}, Tenant: "a"}, nil, "", "not an entity workflow ID"},
		{"backfill", Selection{Provider: "phoenix", File: file, Tenant: "a"},
			[]string{"phoenix-order@a:order-1", "phoenix-order@a%:M%C3%BCller-42"}, "", ""},
		{"invalid tenant", Selection{Query: `EntityStatus = "pending"`, Tenant: `a" OR Tenant != "`}, nil, "", "is not a tenant ID"},
		{"upper-case tenant", Selection{Provider: "fenix", Entity: "1", Tenant: "A"}, nil, "", "is not a tenant ID"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := &fakeVisibility{}
			tt.s.Providers = reg
			got, err := Targets(context.Background(), fake, "default", tt.s, nil)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("got %v, %v; want an error saying %q", got, err, tt.err)
				}
			} else if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %v, %v; want %v", got, err, tt.want)
			}
			var wantQueries []string
			if tt.wantQuery != "" {
				wantQueries = []string{tt.wantQuery}
			}
			if !reflect.DeepEqual(fake.queries, wantQueries) {
				t.Errorf("visibility queries %q, want %q", fake.queries, wantQueries)
			}
		})
	}
}
