package starter

import (
	"github.com/hookflow/hookflow/config"
	"github.com/hookflow/hookflow/workflows"
)

// New is the Starter of a process configured by cfg: the one way it hands
// events and reprocess requests to entity workflows over c.
func New(cfg *config.Config, c Client) Starter {
	s := Starter{
		Client: c, TaskQueue: cfg.TaskQueue,
		Linger: cfg.Linger, IdleTimeout: cfg.IdleTimeout, NotFoundWindow: cfg.NotFoundWindow,
		Targets: Targets(cfg, ""), Horizon: cfg.ForwardHorizon,
		MaxEventsPerRun: cfg.MaxEventsPerRun, Tables: cfg.Providers.Table,
		Reconcile: cfg.ReconcileSchedule,
	}
	// "*" is no tenant's ID, so it owns no destination: its targets are
	// the shared ones alone.
	s.SharedTargets = Targets(cfg, "*")
	if len(cfg.Tenants) > 0 {
		s.TenantTargets = map[string][]workflows.Target{}
		for _, t := range cfg.Tenants {
			s.TenantTargets[t.ID] = Targets(cfg, t.ID)
		}
	}
	if cfg.Overdue {
		s.Overdue = cfg.Providers.Overdue
	}
	return s
}

// ReconciledProviders are the providers whose entities are reconciled: those
// with an API, when a schedule is set. Each has its ReconcileQueue.
func ReconciledProviders(cfg *config.Config) []string {
	if len(cfg.ReconcileSchedule) == 0 {
		return nil
	}
	var names []string
	for _, p := range cfg.Providers.All() {
		for _, t := range p.Tables {
			if t.API {
				names = append(names, p.Name)
				break
			}
		}
	}
	return names
}

// Targets are where tenant's applied transitions go, "" the default tenant
// (config.DestinationsFor): each destination, named so its URL stays with
// the activity and out of histories, on its own queue (DeliveryQueue); then
// the user's handler, which is every tenant's.
func Targets(cfg *config.Config, tenant string) []workflows.Target {
	var ts []workflows.Target
	for _, d := range cfg.DestinationsFor(tenant) {
		ts = append(ts, workflows.Target{
			ID: d.Name, Label: d.Name, Name: d.Name, Queue: DeliveryQueue(cfg.TaskQueue, d.Name),
			Filter: d.Filter, Horizon: d.Horizon,
		})
	}
	if cfg.HandlerQueue != "" {
		ts = append(ts, workflows.Target{
			ID: "handler:" + cfg.HandlerQueue, Label: cfg.HandlerActivity + " on " + cfg.HandlerQueue,
			Name: config.HandlerDestination, Queue: cfg.HandlerQueue, Activity: cfg.HandlerActivity, Filter: cfg.HandlerFilter,
		})
	}
	return ts
}

// DeliveryQueue is the task queue of a destination's deliveries: one per
// destination, so its rate is TaskQueueActivitiesPerSecond, which the server
// enforces across every worker polling it, and a slow destination takes no
// activity slot of another's. Every destination has one, rated or not, so a
// rate added or removed later never strands a run's deliveries on a queue
// nobody polls (the queue is in the run's input).
func DeliveryQueue(taskQueue, destination string) string {
	return taskQueue + "-deliver-" + destination
}
