// Package workflows holds the entity workflow: one Temporal workflow per
// order, shipment or other provider entity, which applies that entity's
// webhook events exactly once and in order through its state table.
//
// Everything here is deterministic: no I/O, no wall clock, no map iteration.
package workflows

import (
	"go.temporal.io/sdk/temporal"
)

// WorkflowType is the type every entity workflow runs as (the name Entity
// is registered under): operators' tools act on workflows of this type only.
const WorkflowType = "Entity"

// Signal and query names: the workflow's external interface.
const (
	// SignalWebhookEvent carries one event.Event.
	SignalWebhookEvent = "webhook-event"
	// SignalReprocess carries a ReprocessRequest.
	SignalReprocess = "reprocess"
	// SignalRedeliver carries a RedeliverRequest: failed deliveries are
	// retried and the queues behind them released.
	SignalRedeliver = "redeliver"
	// QueryState returns the State.
	QueryState = "state"
)

// MetricTransitionsApplied counts applied transitions through the SDK's
// replay-safe metrics handler, tagged provider and status.
const MetricTransitionsApplied = "hookflow_transitions_applied_total"

// MetricEventsHandled counts webhook events whose handling has finished,
// tagged provider and outcome (applied, ignored-…, duplicate, error): the
// end of an event's way through hookflow, which `hookflow bench --applied`
// waits for.
const MetricEventsHandled = "hookflow_events_handled_total"

// MetricDeliveries counts finished deliveries of transitions, tagged target
// and outcome (delivered, failed, stopped, skipped); MetricDeliveryLatency
// is the time from a transition to its acknowledged delivery, retries
// included.
const (
	MetricDeliveries      = "hookflow_deliveries_total"
	MetricDeliveryLatency = "hookflow_delivery_latency"
)

// Search attributes kept current on every entity workflow (TenantKey:
// set at start, on a tenant's entity only).
var (
	ProviderKey       = temporal.NewSearchAttributeKeyKeyword("WebhookProvider")
	EntityTypeKey     = temporal.NewSearchAttributeKeyKeyword("EntityType")
	EntityIDKey       = temporal.NewSearchAttributeKeyKeyword("EntityID")
	EntityStatusKey   = temporal.NewSearchAttributeKeyKeyword("EntityStatus")
	DeliveryFailedKey = temporal.NewSearchAttributeKeyBool("DeliveryFailed")
	OverdueKey        = temporal.NewSearchAttributeKeyBool("Overdue")
	// TenantKey names the tenant of a tenant's entity (contract section
	// 17). The starter sets it when it starts a tenant's run; a
	// default-tenant entity has none, so its start options are as before.
	TenantKey = temporal.NewSearchAttributeKeyKeyword("Tenant")
)

// SearchAttributes lists every search attribute hookflow needs registered.
func SearchAttributes() []temporal.SearchAttributeKey {
	return []temporal.SearchAttributeKey{ProviderKey, EntityTypeKey, EntityIDKey, EntityStatusKey, DeliveryFailedKey, OverdueKey, TenantKey}
}

// QuerySnapshot returns the Snapshot the entity's next run continues from:
// the whole state, event-ID memory and held deliveries. A closed run
// answers it too (the server replays its history), so a run that completed,
// was cancelled, terminated or reset leaves its state up to its last
// completed workflow task (revision 3; earlier runs left it in the memo).
const QuerySnapshot = "snapshot"
