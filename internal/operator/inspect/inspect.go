// Package inspect reads what operators ask of an entity workflow: its run,
// its pending activities and its state, live from the workflow's query when
// a worker answers within a short wait, else as the run last published it
// (its snapshot memo and search attributes), which costs no worker. A
// Report writes itself as text for `hookflow status` and `hookflow events`.
package inspect

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"

	"github.com/hookflow/hookflow/config"
	"github.com/hookflow/hookflow/event"
	"github.com/hookflow/hookflow/event/lifecycle"
	"github.com/hookflow/hookflow/workflows"
)

// Report is what `hookflow status` and `events` show of one entity
// workflow.
type Report struct {
	WorkflowID string            `json:"workflowId"`
	RunID      string            `json:"runId"`
	RunStatus  string            `json:"runStatus"` // Running, Completed, …
	UIURL      string            `json:"uiUrl"`
	State      workflows.State   `json:"state"`
	Pending    []PendingActivity `json:"pendingActivities,omitempty"`
	// WorkflowTaskFailure is set while the run's workflow task keeps
	// failing (a panic, a deadlock, a non-deterministic replay, a
	// completion too large): the entity is stuck until that is fixed.
	WorkflowTaskFailure *WorkflowTaskFailure `json:"workflowTaskFailure,omitempty"`
	// Source is SourceLive when the workflow answered its state query, or
	// SourcePublished when State is what the workflow last published (its
	// snapshot memo and search attributes) because it did not answer.
	Source string `json:"source"`
	// PublishedAt is when the published snapshot was saved: zero for a live
	// state, or when the run has published none yet.
	PublishedAt time.Time `json:"publishedAt,omitzero"`
	// LiveQuery says why the live query gave no state, for a published one.
	LiveQuery string `json:"liveQuery,omitempty"`
}

// Where an Report's State comes from.
const (
	SourceLive      = "live"
	SourcePublished = "published"
)

// LiveQueryWait is how long status and events wait for the workflow to
// answer its state query. During a workflow-task backlog the query waits
// behind the backlog and would time out; past this wait the report shows the
// state the workflow last published instead, which costs no worker.
const LiveQueryWait = 2 * time.Second

// PendingActivity is an activity the workflow waits on, with its retries.
type PendingActivity struct {
	Type      string    `json:"type"`
	State     string    `json:"state"`
	Attempt   int32     `json:"attempt"`
	LastError string    `json:"lastError,omitempty"`
	NextRetry time.Time `json:"nextRetry,omitzero"`
}

// IsEntity returns a NotFound error, as Temporal answers for an unknown
// workflow, when the workflow of that ID runs as workflowType and that is
// not the entity workflow: operators' tools read and signal entities only.
func IsEntity(workflowID, workflowType string) error {
	if workflowType == workflows.WorkflowType {
		return nil
	}
	return serviceerror.NewNotFound("workflow " + workflowID + " is not an entity workflow")
}

// Describe describes the latest run of an entity workflow and queries
// its state, waiting at most wait for the answer; when none comes, the state
// is the one the run last published.
func Describe(ctx context.Context, tc client.Client, cfg *config.Config, workflowID string, wait time.Duration) (Report, error) {
	// Operators may write an entity ID as it is ("phoenix-order:Müller");
	// the workflow's ID is its encoding (event.WorkflowID).
	workflowID = cfg.Providers.WorkflowID(workflowID)
	rep := Report{WorkflowID: workflowID}
	d, err := tc.DescribeWorkflowExecution(ctx, workflowID, "")
	if err != nil {
		return rep, fmt.Errorf("describe %s: %w", workflowID, err)
	}
	info := d.GetWorkflowExecutionInfo()
	if err := IsEntity(workflowID, info.GetType().GetName()); err != nil {
		return rep, err
	}
	rep.RunID = info.GetExecution().GetRunId()
	rep.RunStatus = info.GetStatus().String()
	rep.UIURL = strings.TrimRight(cfg.UIURL, "/") + "/namespaces/" + url.PathEscape(cfg.TemporalNamespace) +
		"/workflows/" + url.PathEscape(workflowID) + "/" + url.PathEscape(rep.RunID)
	for _, pa := range d.GetPendingActivities() {
		p := PendingActivity{
			Type:    pa.GetActivityType().GetName(),
			State:   strings.ToLower(strings.TrimPrefix(pa.GetState().String(), "PENDING_ACTIVITY_STATE_")),
			Attempt: pa.GetAttempt(),
		}
		if f := pa.GetLastFailure(); f != nil {
			p.LastError = f.GetMessage()
		}
		if t := pa.GetScheduledTime(); t != nil && p.Attempt > 1 {
			p.NextRetry = t.AsTime()
		}
		rep.Pending = append(rep.Pending, p)
	}
	// A second attempt follows a failed or timed-out one; the query below
	// then fails too (or waits), so this is what says why.
	if wt := d.GetPendingWorkflowTask(); wt.GetAttempt() > 1 {
		rep.WorkflowTaskFailure = workflowTaskFailure(ctx, tc, cfg.TemporalNamespace, workflowID, rep.RunID, wt.GetAttempt())
	}

	qctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	v, qerr := tc.QueryWorkflow(qctx, workflowID, rep.RunID, workflows.QueryState)
	if qerr == nil {
		rep.Source = SourceLive
		if err := v.Get(&rep.State); err != nil {
			return rep, fmt.Errorf("decode state of %s: %w", workflowID, err)
		}
		rep.State.Tenant = tenantOf(workflowID)
		return rep, nil
	}
	if ctx.Err() != nil {
		return rep, fmt.Errorf("query %s: %w", workflowID, qerr)
	}
	// No worker answered: a backlog, no worker running, or a closed run
	// that no worker replays. What the run published is current as of its
	// last applied transition.
	st, savedAt, err := publishedState(info, cfg.Providers.Table)
	if err != nil {
		return rep, fmt.Errorf("query %s: %w; published state: %w", workflowID, qerr, err)
	}
	if st.Provider == "" && savedAt.IsZero() {
		if f := rep.WorkflowTaskFailure; f != nil {
			return rep, fmt.Errorf("query %s: %w (and it has published no state); workflow task failing: %s", workflowID, qerr, f)
		}
		return rep, fmt.Errorf("query %s: %w (and it has published no state)", workflowID, qerr)
	}
	rep.State, rep.PublishedAt, rep.Source = st, savedAt, SourcePublished
	rep.State.Tenant = tenantOf(workflowID)
	var deadline *serviceerror.DeadlineExceeded
	if qctx.Err() != nil || errors.As(qerr, &deadline) {
		rep.LiveQuery = fmt.Sprintf("did not answer within %s (workflow task backlog?)", wait)
	} else {
		rep.LiveQuery = "failed: " + qerr.Error()
	}
	return rep, nil
}

// tenantOf is the tenant an entity workflow ID names (contract section
// 17), "" for the default tenant's: runs from before the state carried
// its tenant, and published states, have it from there.
func tenantOf(workflowID string) string {
	tenant, _, _, _, _ := event.ParseTenantWorkflowID(workflowID)
	return tenant
}

// publishedState is the entity's state as its run last published it: the
// search attributes, kept current at every change, and the snapshot memo
// (workflows.MemoKey, saved at every applied transition by runs before
// revision 3) or the summary memo (workflows.MemoSummaryKey, the latest
// transitions, once per workflow task) for the history.
// savedAt is the snapshot's time, zero when the run has saved none yet (its
// first event still queued). The live-only LastError is not published;
// whether the status is terminal is read from the provider's table.
func publishedState(info *workflowpb.WorkflowExecutionInfo, tables func(provider, entityType string) (lifecycle.Table, bool)) (st workflows.State, savedAt time.Time, err error) {
	attrs := info.GetSearchAttributes().GetIndexedFields()
	keyword := func(key temporal.SearchAttributeKeyKeyword) (string, error) {
		var s string
		p, ok := attrs[key.GetName()]
		if !ok {
			return "", nil
		}
		if err := converter.GetDefaultDataConverter().FromPayload(p, &s); err != nil {
			return "", fmt.Errorf("search attribute %s: %w", key.GetName(), err)
		}
		return s, nil
	}
	for _, f := range []struct {
		key temporal.SearchAttributeKeyKeyword
		to  *string
	}{
		{workflows.ProviderKey, &st.Provider},
		{workflows.EntityTypeKey, &st.EntityType},
		{workflows.EntityIDKey, &st.EntityID},
		{workflows.EntityStatusKey, &st.Status},
	} {
		if *f.to, err = keyword(f.key); err != nil {
			return workflows.State{}, time.Time{}, err
		}
	}
	p, ok := info.GetMemo().GetFields()[workflows.MemoKey]
	if !ok {
		p, ok = info.GetMemo().GetFields()[workflows.MemoSummaryKey]
	}
	if ok {
		snap, err := workflows.DecodeSnapshot(p)
		if err != nil {
			return workflows.State{}, time.Time{}, err
		}
		if st.Status == "" {
			st.Status = snap.Status
		}
		st.ResumeFrom, st.Sequence, st.Transitions = snap.ResumeFrom, snap.Sequence, snap.Transitions
		st.Processed, st.Duplicates, st.Events = snap.Processed, snap.Duplicates, snap.Events
		st.Deliveries = snap.Deliveries
		savedAt = snap.SavedAt
	}
	if kind, ok := tables(st.Provider, st.EntityType); ok {
		st.Terminal = kind.Terminal[st.Status]
	}
	return st, savedAt, nil
}

// Note is the line that says a report's state is not live, or "" when it
// is.
func (rep Report) Note() string {
	if rep.Source != SourcePublished {
		return ""
	}
	if rep.PublishedAt.IsZero() {
		return "live query " + rep.LiveQuery + "; showing the search attributes only (no state published yet)"
	}
	return "live query " + rep.LiveQuery + "; showing the state last published at " + rep.PublishedAt.UTC().Format(time.RFC3339)
}
