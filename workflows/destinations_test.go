package workflows

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/hookflow/hookflow/activities"
	"github.com/hookflow/hookflow/event"
)

// destinations are the issue's: a warehouse that takes only Fenix
// DELIVERED and RETURNED, one that takes UPS shipments only (a body key),
// and one that takes everything.
var destinations = []Target{
	{ID: "warehouse", Label: "warehouse", Name: "warehouse", Filter: event.Filter{
		Providers: []string{"fenix"}, EntityTypes: []string{"shipment"}, To: []string{"DELIVERED", "RETURNED"},
	}},
	{ID: "ups", Label: "ups", Name: "ups", Filter: event.Filter{
		Body: []event.BodyMatch{{Path: "data.carrier", Values: []string{"UPS"}}},
	}},
	{ID: "all", Label: "all", Name: "all"},
}

// lifecycle sends a Fenix shipment's four statuses, a second apart; only
// the last one's body names UPS as the carrier.
func (h *deliveryHarness) lifecycle() {
	for i, status := range []string{"LABEL_CREATED", "IN_TRANSIT", "OUT_FOR_DELIVERY", "DELIVERED"} {
		carrier := "FEDEX"
		if status == "DELIVERED" {
			carrier = "UPS"
		}
		id := "f" + string(rune('1'+i))
		ev := event.Event{Provider: "fenix", ID: id, EntityType: "shipment", EntityID: "s1", Status: status,
			Body: []byte(`{"id":"` + id + `","data":{"carrier":"` + carrier + `"}}`)}
		h.env.RegisterDelayedCallback(func() { h.env.SignalWorkflow(SignalWebhookEvent, ev) }, time.Duration(i+1)*time.Second)
	}
}

// TestDestinationFilters: each destination receives exactly what its
// filter takes, in order; one that takes a transition never waits for
// those it does not take.
func TestDestinationFilters(t *testing.T) {
	h := newDeliveryHarness(t, func(string, int, int) error { return nil })
	h.lifecycle()
	in := h.input()
	in.Targets = destinations
	st := h.run(in)

	checkStrings(t, "calls to warehouse", h.callsTo("warehouse"), []string{"warehouse:4@4s"})
	checkStrings(t, "calls to ups", h.callsTo("ups"), []string{"ups:4@4s"})
	checkStrings(t, "calls to all", h.callsTo("all"), []string{"all:1@1s", "all:2@2s", "all:3@3s", "all:4@4s"})
	checkStrings(t, "deliveries", deliveries(st.Deliveries), []string{
		"all:1 delivered", "all:2 delivered", "all:3 delivered", "all:4 delivered", "ups:4 delivered", "warehouse:4 delivered",
	})
}

// TestDestinationFailureHoldsOnlyItsQueue: a destination that rejects a
// delivery holds its own later transitions and no other destination's;
// redeliver naming another destination releases nothing, naming it
// releases its queue in order.
func TestDestinationFailureHoldsOnlyItsQueue(t *testing.T) {
	rejected := temporal.NewNonRetryableApplicationError("all answered 400 Bad Request", activities.ErrDeliveryRejected, nil)
	h := newDeliveryHarness(t, func(target string, seq, call int) error {
		if target == "all" && seq == 1 && call == 0 {
			return rejected
		}
		return nil
	})
	h.lifecycle()
	in := h.input()
	in.Targets = destinations
	during := h.queryAtTime(10 * time.Second)
	h.env.RegisterDelayedCallback(func() {
		h.env.SignalWorkflow(SignalRedeliver, RedeliverRequest{RequestID: "r1", Destination: "warehouse"})
	}, 15*time.Second)
	after := h.queryAtTime(16 * time.Second)
	h.env.RegisterDelayedCallback(func() {
		h.env.SignalWorkflow(SignalRedeliver, RedeliverRequest{RequestID: "r2", Destination: "all"})
	}, 20*time.Second)
	st := h.run(in)

	checkStrings(t, "deliveries while all failed", deliveries(during.Deliveries), []string{
		"all:1 failed", "all:2 pending", "all:3 pending", "all:4 pending", "ups:4 delivered", "warehouse:4 delivered",
	})
	checkStrings(t, "after redeliver --destination warehouse", deliveries(after.Deliveries), deliveries(during.Deliveries))
	checkStrings(t, "calls to all", h.callsTo("all"), []string{"all:1@1s", "all:1@20s", "all:2@20s", "all:3@20s", "all:4@20s"})
	checkStrings(t, "deliveries", deliveries(st.Deliveries), []string{
		"all:1 delivered", "all:2 delivered", "all:3 delivered", "all:4 delivered", "ups:4 delivered", "warehouse:4 delivered",
	})
}

// TestTenantDeliveries: a tenant's entity, whose workflow ID names its
// tenant, delivers events that carry the tenant and that workflow ID (so
// the webhook-id is not another tenant's), and a destination whose filter
// lists other tenants takes none of them.
func TestTenantDeliveries(t *testing.T) {
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	env.SetStartTime(t0)
	env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: event.TenantWorkflowID("store-a", "fenix", "shipment", "s1")})
	env.RegisterWorkflow(Entity)
	env.RegisterActivity(&activities.Activities{})
	var mu sync.Mutex
	var got []event.Outbound
	env.OnActivity("Deliver", mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.DeliverInput) (activities.Delivered, error) {
			mu.Lock()
			defer mu.Unlock()
			if in.Target != "a-sink" {
				t.Errorf("delivered to %s, whose filter takes only store b's", in.Target)
			}
			got = append(got, in.Message)
			return activities.Delivered{Attempts: 1}, nil
		})
	ev := event.Event{Provider: "fenix", Tenant: "store-a", ID: "f1", EntityType: "shipment", EntityID: "s1", Status: "DELIVERED", Body: []byte(`{"id":"f1"}`)}
	env.RegisterDelayedCallback(func() { env.SignalWorkflow(SignalWebhookEvent, ev) }, time.Second)
	var st State
	env.RegisterDelayedCallback(func() {
		v, err := env.QueryWorkflow(QueryState)
		if err == nil {
			err = v.Get(&st)
		}
		if err != nil {
			t.Error(err)
		}
	}, 30*time.Second)
	env.ExecuteWorkflow(Entity, EntityInput{
		Provider: "fenix", EntityType: "shipment", EntityID: "s1", Revision: Revision, Linger: time.Minute, Horizon: time.Hour,
		Targets: []Target{
			{ID: "a-sink", Label: "a-sink", Name: "a-sink"},
			{ID: "b-only", Label: "b-only", Name: "b-only", Filter: event.Filter{Tenants: []string{"store-b"}}},
		},
	})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 {
		t.Fatalf("delivered %d events, want 1: %+v", len(got), got)
	}
	if o := got[0]; o.Tenant != "store-a" || o.WorkflowID != "fenix-shipment@store-a:s1" || o.ID() != "fenix-shipment@store-a:s1:1" {
		t.Errorf("delivered tenant %q, workflowId %q, webhook-id %q; want store-a, fenix-shipment@store-a:s1, fenix-shipment@store-a:s1:1", o.Tenant, o.WorkflowID, o.ID())
	}
	if st.Tenant != "store-a" {
		t.Errorf("state's tenant = %q, want store-a", st.Tenant)
	}
}
