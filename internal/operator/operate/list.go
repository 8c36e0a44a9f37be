package operate

import (
	"context"
	"errors"
	"fmt"
	"strings"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/hookflow/hookflow/event"
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

// ErrQueryUnbalanced is returned by ListEntities for a query whose
// parentheses or quotes do not balance, or that holds a comment: joined to
// the clause that keeps a listing to entity workflows, it could escape it.
var ErrQueryUnbalanced = errors.New("query: unbalanced parentheses or quotes, or a comment")

// ListEntities returns one page of the entity workflows a visibility query
// finds ("" finds them all), at most pageSize of them, from token on. It
// finds entity workflows only, whatever the query says, and with a tenant
// ("" for every one) only that tenant's (search attribute Tenant, contract
// section 17).
func ListEntities(ctx context.Context, tc client.Client, namespace, tenant, query string, pageSize int, token []byte) (Page, error) {
	full, err := EntityQuery(tenant, query)
	if err != nil {
		return Page{}, err
	}
	query = full
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

// EntityQuery is the visibility query that ListEntities sends for query:
// query as one parenthesised clause after the clauses that keep it to
// entity workflows, and to tenant's when tenant is not "". It returns
// ErrQueryUnbalanced for a query that could escape its parentheses, and an
// error for a tenant that is not a valid tenant ID (which could escape its
// quotes).
func EntityQuery(tenant, query string) (string, error) {
	if !balanced(query) {
		return "", ErrQueryUnbalanced
	}
	scope := fmt.Sprintf("WorkflowType = %q", workflows.WorkflowType)
	if tenant != "" {
		if !event.ValidTenantID(tenant) {
			return "", fmt.Errorf("tenant %q: not a valid tenant ID", tenant)
		}
		// A valid tenant ID holds no quote or backslash: %q quotes it as is.
		scope += fmt.Sprintf(" AND %s = %q", workflows.TenantKey.GetName(), tenant)
	}
	if query == "" {
		return scope, nil
	}
	return scope + " AND (" + query + ")", nil
}

// decode reads a search attribute's payload into v, leaving v as it is
// when the attribute is absent or unreadable.
func decode(p *commonpb.Payload, v any) {
	if p != nil {
		_ = converter.GetDefaultDataConverter().FromPayload(p, v)
	}
}

// balanced reports whether query's parentheses pair up outside its quoted
// strings, every string is closed, and no comment could hide a parenthesis
// from this count, so that "(query)" is one clause.
func balanced(query string) bool {
	depth := 0
	var quote byte // the open string's quote, 0 outside one
	for i := 0; i < len(query); i++ {
		b := query[i]
		switch {
		case quote != 0 && b == '\\':
			i++ // an escaped character, whatever it is
		case quote != 0:
			if b == quote {
				quote = 0
			}
		case b == '\'' || b == '"' || b == '`':
			quote = b
		case b == '#' || strings.HasPrefix(query[i:], "--") || strings.HasPrefix(query[i:], "/*"):
			return false // a comment's start: what it hides is not counted
		case b == '(':
			depth++
		case b == ')':
			depth--
			if depth < 0 {
				return false
			}
		}
	}
	return depth == 0 && quote == 0
}
