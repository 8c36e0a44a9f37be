package operate

import (
	"context"
	"fmt"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/hookflow/hookflow/workflows"
)

// Entity is one entity workflow as a visibility query finds it: its
// status and flags as its search attributes say.
type Entity struct {
	WorkflowID     string `json:"workflowId"`
	RunStatus      string `json:"runStatus"` // Running, Completed, …
	Status         string `json:"status"`    // EntityStatus
	DeliveryFailed bool   `json:"deliveryFailed"`
	Overdue        bool   `json:"overdue"`
}

// Page is one page of a listing; NextPageToken is empty on the last.
type Page struct {
	Entities      []Entity
	NextPageToken []byte
}

// ListEntities returns one page of the entity workflows a visibility query
// finds ("" finds them all), at most pageSize of them, from token on.
func ListEntities(ctx context.Context, tc client.Client, namespace, query string, pageSize int, token []byte) (Page, error) {
	if query == "" {
		query = fmt.Sprintf("WorkflowType = %q", "Entity")
	}
	resp, err := tc.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
		Namespace: namespace, Query: query, PageSize: int32(pageSize), NextPageToken: token,
	})
	if err != nil {
		return Page{}, fmt.Errorf("visibility query %s: %w", query, err)
	}
	page := Page{Entities: []Entity{}, NextPageToken: resp.GetNextPageToken()}
	for _, ex := range resp.GetExecutions() {
		attrs := ex.GetSearchAttributes().GetIndexedFields()
		e := Entity{
			WorkflowID: ex.GetExecution().GetWorkflowId(),
			RunStatus:  ex.GetStatus().String(),
		}
		decode(attrs[workflows.EntityStatusKey.GetName()], &e.Status)
		decode(attrs[workflows.DeliveryFailedKey.GetName()], &e.DeliveryFailed)
		decode(attrs[workflows.OverdueKey.GetName()], &e.Overdue)
		page.Entities = append(page.Entities, e)
	}
	return page, nil
}

// decode reads a search attribute's payload into v, leaving v as it is
// when the attribute is absent or unreadable.
func decode(p *commonpb.Payload, v any) {
	if p != nil {
		_ = converter.GetDefaultDataConverter().FromPayload(p, v)
	}
}
