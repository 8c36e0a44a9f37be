package inspect

import (
	"reflect"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/sdk/converter"

	"github.com/hookflow/hookflow/event"
	"github.com/hookflow/hookflow/event/lifecycle"
	"github.com/hookflow/hookflow/providers"
	"github.com/hookflow/hookflow/workflows"
)

// describedRun is a run as DescribeWorkflowExecution shows it: search
// attributes (name to value) and, unless nil, a snapshot memo.
func describedRun(t *testing.T, attrs map[string]string, snap *workflows.Snapshot) *workflowpb.WorkflowExecutionInfo {
	t.Helper()
	dc := converter.GetDefaultDataConverter()
	info := &workflowpb.WorkflowExecutionInfo{
		Type:             &commonpb.WorkflowType{Name: workflows.WorkflowType},
		SearchAttributes: &commonpb.SearchAttributes{IndexedFields: map[string]*commonpb.Payload{}},
	}
	for name, v := range attrs {
		p, err := dc.ToPayload(v)
		if err != nil {
			t.Fatal(err)
		}
		info.SearchAttributes.IndexedFields[name] = p
	}
	if snap != nil {
		p, err := dc.ToPayload(*snap)
		if err != nil {
			t.Fatal(err)
		}
		info.Memo = &commonpb.Memo{Fields: map[string]*commonpb.Payload{workflows.MemoKey: p}}
	}
	return info
}

func TestPublishedState(t *testing.T) {
	saved := time.Date(2026, 11, 23, 10, 0, 3, 0, time.UTC)
	at := saved.Add(-time.Minute)
	transitions := []event.Transition{
		{Seq: 1, To: "pending", EventID: "evt-1", Source: "api", At: at},
		{Seq: 2, From: "pending", To: "fulfilled", EventID: "evt-2", Source: "api", At: saved},
	}
	events := []event.Received{
		{EventID: "evt-1", Type: "order.status.change", Status: "pending", ReceivedAt: at, Outcome: "applied"},
		{EventID: "evt-2", Type: "order.status.change", Status: "fulfilled", ReceivedAt: saved, Outcome: "applied"},
	}
	order := map[string]string{"WebhookProvider": "phoenix", "EntityType": "order", "EntityID": "o-1"}
	with := func(attrs map[string]string, k, v string) map[string]string {
		out := map[string]string{k: v}
		for k, v := range attrs {
			if _, set := out[k]; !set {
				out[k] = v
			}
		}
		return out
	}

	tests := []struct {
		name        string
		attrs       map[string]string
		snap        *workflows.Snapshot
		want        workflows.State
		wantSavedAt time.Time
	}{
		{
			name:  "snapshot and search attributes",
			attrs: with(order, "EntityStatus", "fulfilled"),
			snap: &workflows.Snapshot{Status: "fulfilled", Processed: 2, Duplicates: 1, Sequence: 2,
				Transitions: transitions, Events: events, Seen: []byte("0123456789ab"), SavedAt: saved},
			want: workflows.State{Provider: "phoenix", EntityType: "order", EntityID: "o-1", Status: "fulfilled", Terminal: true,
				Sequence: 2, Transitions: transitions, Processed: 2, Duplicates: 1, Events: events},
			wantSavedAt: saved,
		},
		{
			name:  "a non-terminal status resumed from",
			attrs: map[string]string{"WebhookProvider": "fenix", "EntityType": "shipment", "EntityID": "s-1", "EntityStatus": "EXCEPTION"},
			snap:  &workflows.Snapshot{Status: "EXCEPTION", ResumeFrom: "IN_TRANSIT", Processed: 3, Sequence: 3, SavedAt: saved},
			want: workflows.State{Provider: "fenix", EntityType: "shipment", EntityID: "s-1", Status: "EXCEPTION", ResumeFrom: "IN_TRANSIT",
				Sequence: 3, Processed: 3},
			wantSavedAt: saved,
		},
		{
			name:  "brand-new entity: search attributes only",
			attrs: order,
			want:  workflows.State{Provider: "phoenix", EntityType: "order", EntityID: "o-1"},
		},
		{
			name:        "status from the snapshot when the attribute is missing",
			attrs:       order,
			snap:        &workflows.Snapshot{Status: "expired", Sequence: 1, SavedAt: saved},
			want:        workflows.State{Provider: "phoenix", EntityType: "order", EntityID: "o-1", Status: "expired", Terminal: true, Sequence: 1},
			wantSavedAt: saved,
		},
		{
			// A run of revision 0 saves its snapshot only when it closes or
			// continues; its search attributes are current.
			name:        "the status attribute is newer than the snapshot",
			attrs:       with(order, "EntityStatus", "fulfilled"),
			snap:        &workflows.Snapshot{Status: "pending", Sequence: 1, SavedAt: saved},
			want:        workflows.State{Provider: "phoenix", EntityType: "order", EntityID: "o-1", Status: "fulfilled", Terminal: true, Sequence: 1},
			wantSavedAt: saved,
		},
		{
			name:  "unknown kind is never terminal",
			attrs: map[string]string{"WebhookProvider": "acme", "EntityType": "order", "EntityID": "a-1", "EntityStatus": "fulfilled"},
			want:  workflows.State{Provider: "acme", EntityType: "order", EntityID: "a-1", Status: "fulfilled"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, savedAt, err := publishedState(describedRun(t, tt.attrs, tt.snap), builtinTable)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("state\n got %+v\nwant %+v", got, tt.want)
			}
			if !savedAt.Equal(tt.wantSavedAt) {
				t.Errorf("savedAt = %v, want %v", savedAt, tt.wantSavedAt)
			}
		})
	}

	t.Run("unreadable snapshot is an error", func(t *testing.T) {
		info := describedRun(t, order, nil)
		info.Memo = &commonpb.Memo{Fields: map[string]*commonpb.Payload{workflows.MemoKey: {
			Metadata: map[string][]byte{converter.MetadataEncoding: []byte(converter.MetadataEncodingJSON)},
			Data:     []byte(`{"status":`),
		}}}
		if _, _, err := publishedState(info, builtinTable); err == nil {
			t.Error("no error for a truncated snapshot")
		}
	})
}

// builtinTable is the built-in providers' state tables.
func builtinTable(provider, entityType string) (lifecycle.Table, bool) {
	for _, p := range providers.Builtins() {
		if p.Name == provider {
			t, ok := p.Tables[entityType]
			return t, ok
		}
	}
	return lifecycle.Table{}, false
}
