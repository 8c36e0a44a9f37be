package metrics

import (
	"log/slog"
	"reflect"
	"testing"
	"time"
)

// TestDelivery: each provider and outcome counts its own deliveries and
// their latency, in the registry that is served.
func TestDelivery(t *testing.T) {
	m, err := New(slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	m.Delivery("phoenix", "duplicate", time.Millisecond)
	m.Delivery("phoenix", "duplicate", 3*time.Millisecond)
	m.Delivery("phoenix", "accepted", time.Second)
	m.Delivery("fenix", "duplicate", time.Millisecond)

	families, err := m.registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	counts, observed := map[string]float64{}, map[string]uint64{}
	for _, f := range families {
		for _, s := range f.GetMetric() {
			labels := ""
			for _, l := range s.GetLabel() {
				labels += l.GetName() + "=" + l.GetValue() + " "
			}
			switch f.GetName() {
			case "hookflow_webhook_requests_total":
				counts[labels] = s.GetCounter().GetValue()
			case "hookflow_webhook_accept_seconds":
				observed[labels] = s.GetHistogram().GetSampleCount()
			}
		}
	}
	wantCounts := map[string]float64{
		"outcome=accepted provider=phoenix ":  1,
		"outcome=duplicate provider=phoenix ": 2,
		"outcome=duplicate provider=fenix ":   1,
	}
	if !reflect.DeepEqual(counts, wantCounts) {
		t.Errorf("hookflow_webhook_requests_total: got %v, want %v", counts, wantCounts)
	}
	wantObserved := map[string]uint64{
		"outcome=accepted provider=phoenix ":  1,
		"outcome=duplicate provider=phoenix ": 2,
		"outcome=duplicate provider=fenix ":   1,
	}
	if !reflect.DeepEqual(observed, wantObserved) {
		t.Errorf("hookflow_webhook_accept_seconds sample counts: got %v, want %v", observed, wantObserved)
	}
}

// TestThrottled: each tenant and reason counts its own throttled
// deliveries.
func TestThrottled(t *testing.T) {
	m, err := New(slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	m.Throttled("store-a", "in_flight")
	m.Throttled("store-a", "in_flight")
	m.Throttled("store-a", "rate")
	m.Throttled("store-b", "rate")
	families, err := m.registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range families {
		if f.GetName() != "hookflow_tenant_throttled_total" {
			continue
		}
		for _, s := range f.GetMetric() {
			labels := ""
			for _, l := range s.GetLabel() {
				labels += l.GetName() + "=" + l.GetValue() + " "
			}
			got[labels] = s.GetCounter().GetValue()
		}
	}
	want := map[string]float64{
		"reason=in_flight tenant=store-a ": 2,
		"reason=rate tenant=store-a ":      1,
		"reason=rate tenant=store-b ":      1,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("hookflow_tenant_throttled_total: got %v, want %v", got, want)
	}
}
