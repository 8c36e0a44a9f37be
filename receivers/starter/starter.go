// Package starter hands events and reprocess requests to entity workflows:
// the one place that builds an entity's workflow input and start options and
// calls SignalWithStart, for the receivers, `hookflow reprocess` and the
// bench baseline alike.
package starter

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/hookflow/hookflow/event"
	"github.com/hookflow/hookflow/event/lifecycle"
	"github.com/hookflow/hookflow/workflows"
)

// Client is the part of the Temporal client a Starter needs; client.Client
// satisfies it.
type Client interface {
	SignalWithStartWorkflow(ctx context.Context, workflowID, signalName string, signalArg any,
		options client.StartWorkflowOptions, workflow any, workflowArgs ...any) (client.WorkflowRun, error)
}

// Starter signals entity workflows, starting them when they are not running.
type Starter struct {
	Client    Client
	TaskQueue string
	// Settings passed to every new run; zero values mean the workflow's
	// defaults.
	Linger          time.Duration
	IdleTimeout     time.Duration
	NotFoundWindow  time.Duration
	MaxEventsPerRun int
	// Targets and Horizon: where the default tenant's applied transitions
	// are delivered, and for how long each delivery is retried.
	// TenantTargets are each file tenant's (contract section 17);
	// SharedTargets those of a tenant not in it, added at runtime: the
	// destinations every tenant shares.
	Targets       []workflows.Target
	TenantTargets map[string][]workflows.Target
	SharedTargets []workflows.Target
	Horizon       time.Duration
	// Reconcile is the reconcile schedule of new runs whose provider has an
	// API (nil: off); their reads go to ReconcileQueue's queue.
	Reconcile []time.Duration
	// Overdue looks up a provider's deadlines by status; nil: off.
	Overdue func(provider string) map[string]time.Duration
	// Tables looks up the state table each new run carries in its input
	// (providers.Registry's Table); a run started without one replays
	// with the frozen built-in tables (see workflows.EntityInput.Table).
	Tables func(provider, entityType string) (lifecycle.Table, bool)
}

// Input is the input of a new run of the entity's workflow.
func (s Starter) Input(provider, entityType, entityID string) workflows.EntityInput {
	in := workflows.EntityInput{
		Provider: provider, EntityType: entityType, EntityID: entityID,
		Revision: workflows.Revision,
		Linger:   s.Linger, IdleTimeout: s.IdleTimeout, NotFoundWindow: s.NotFoundWindow,
		MaxEventsPerRun: s.MaxEventsPerRun,
		Targets:         s.Targets, Horizon: s.Horizon,
	}
	if s.Overdue != nil {
		in.Overdue = s.Overdue(provider)
	}
	if s.Tables != nil {
		if t, ok := s.Tables(provider, entityType); ok {
			in.Table = &t
			if t.API && len(s.Reconcile) > 0 {
				in.Reconcile, in.ReconcileQueue = s.Reconcile, ReconcileQueue(s.TaskQueue, provider)
			}
		}
	}
	return in
}

// ReconcileQueue is the task queue of provider's reconcile reads: one per
// provider, served by every worker at the provider's rate (the server
// dispatches at most TaskQueueActivitiesPerSecond across all of them).
func ReconcileQueue(taskQueue, provider string) string {
	return taskQueue + "-reconcile-" + provider
}

// Options are the start options of the entity's workflow: its ID, its
// identifying search attributes, a readable summary for the Temporal UI,
// and a reuse policy that refuses to start over a closed run unseen (see
// Signal).
func (s Starter) Options(in workflows.EntityInput) client.StartWorkflowOptions {
	return s.tenantOptions("", in)
}

// tenantOptions are Options for an entity of tenant, "" the default
// tenant: its workflow ID and summary name the tenant.
func (s Starter) tenantOptions(tenant string, in workflows.EntityInput) client.StartWorkflowOptions {
	summary := in.Provider + " " + in.EntityType + " " + in.EntityID
	if tenant != "" {
		summary = in.Provider + " " + in.EntityType + "@" + tenant + " " + in.EntityID
	}
	attrs := []temporal.SearchAttributeUpdate{
		workflows.ProviderKey.ValueSet(in.Provider),
		workflows.EntityTypeKey.ValueSet(in.EntityType),
		workflows.EntityIDKey.ValueSet(in.EntityID),
	}
	if tenant != "" {
		// Only a tenant's start names one: a default-tenant start stays
		// as it was before tenants.
		attrs = append(attrs, workflows.TenantKey.ValueSet(tenant))
	}
	return client.StartWorkflowOptions{
		ID:                    event.TenantWorkflowID(tenant, in.Provider, in.EntityType, in.EntityID),
		TaskQueue:             s.TaskQueue,
		WorkflowIDReusePolicy: enums.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		StaticSummary:         summary,
		TypedSearchAttributes: temporal.NewSearchAttributes(attrs...),
		Priority:              fairness(tenant),
	}
}

// fairness is the task priority of tenant's runs: the tenant as the
// fairness key, so that where the server dispatches fairly
// (matching.enableFairness, Temporal 1.29 and later) one tenant's backlog
// takes its share of the task queue and no more. Their workflow tasks,
// activities (reconcile reads, deliveries) and continued runs inherit it.
// The default tenant's is the zero Priority, which the SDK does not send:
// its starts stay as they were before tenants. A tenant ID
// (event.MaxTenantIDBytes) always fits the server's 64-byte key.
func fairness(tenant string) temporal.Priority {
	return temporal.Priority{FairnessKey: tenant}
}

// Signal sends signal with arg to the entity's workflow, starting a run when
// none is running, and returns once Temporal has recorded it.
//
// A brand-new entity costs one call. For an entity whose last run has
// closed, the first call is refused (the reuse policy rejects duplicates)
// with an error that names the closed run; the second starts a run told to
// load that run's state by name, a strongly consistent read that needs no
// visibility query. When two callers reopen the same entity at once, one
// second call starts the run and the other signals it, so one run holds the
// full state and both signals.
func (s Starter) Signal(ctx context.Context, provider, entityType, entityID, signal string, arg any) (client.WorkflowRun, error) {
	return s.SignalTenant(ctx, "", provider, entityType, entityID, signal, arg)
}

// SignalTenant is Signal for an entity of tenant, "" the default tenant
// (contract section 17): the workflow ID names the tenant, which the run
// reads back from it; the run's targets are the tenant's own; the start
// options set the search attribute Tenant.
func (s Starter) SignalTenant(ctx context.Context, tenant, provider, entityType, entityID, signal string, arg any) (client.WorkflowRun, error) {
	in := s.Input(provider, entityType, entityID)
	if tenant != "" {
		ts, ok := s.TenantTargets[tenant]
		if !ok { // a runtime tenant: it owns no destination
			ts = s.SharedTargets
		}
		in.Targets = ts
	}
	opts := s.tenantOptions(tenant, in)
	run, err := s.Client.SignalWithStartWorkflow(ctx, opts.ID, signal, arg, opts, workflows.Entity, in)
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	if !errors.As(err, &started) {
		if err != nil {
			return nil, fmt.Errorf("signal with start %s: %w", opts.ID, err)
		}
		return run, nil
	}
	if started.RunId == "" {
		return nil, fmt.Errorf("signal with start %s: refused without naming the closed run: %w", opts.ID, err)
	}
	in.PreviousRunID = started.RunId
	opts.WorkflowIDReusePolicy = enums.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE
	run, err = s.Client.SignalWithStartWorkflow(ctx, opts.ID, signal, arg, opts, workflows.Entity, in)
	if err != nil {
		return nil, fmt.Errorf("signal with start %s after run %s: %w", opts.ID, started.RunId, err)
	}
	return run, nil
}
