package metrics

import (
	"fmt"
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

// TestSetConnections: each call replaces every hookflow_connections series,
// so a connection that changed state or went away leaves no stale series,
// and an unknown state is left out and named.
func TestSetConnections(t *testing.T) {
	m, err := New(slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	gather := func() map[string]float64 {
		t.Helper()
		families, err := m.registry.Gather()
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]float64{}
		for _, f := range families {
			if f.GetName() != "hookflow_connections" {
				continue
			}
			for _, s := range f.GetMetric() {
				labels := ""
				for _, l := range s.GetLabel() {
					labels += l.GetName() + "=" + l.GetValue() + " "
				}
				got[labels] = s.GetGauge().GetValue()
			}
		}
		return got
	}
	steps := []struct {
		name    string
		counts  map[ConnectionKey]int
		want    map[string]float64
		wantErr string
	}{
		{
			name: "set",
			counts: map[ConnectionKey]int{
				{"up42", ConnectionActive}:    3,
				{"up42", ConnectionDrifted}:   1,
				{"fenix", ConnectionFailing}:  2,
				{"phoenix", ConnectionManual}: 1,
			},
			want: map[string]float64{
				"provider=up42 state=active ":    3,
				"provider=up42 state=drifted ":   1,
				"provider=fenix state=failing ":  2,
				"provider=phoenix state=manual ": 1,
			},
		},
		{
			// The drifted up42 connection was repaired, fenix's was
			// disconnected, phoenix's removed: none of their old series stay.
			name: "replace",
			counts: map[ConnectionKey]int{
				{"up42", ConnectionActive}:        4,
				{"fenix", ConnectionDisconnected}: 2,
			},
			want: map[string]float64{
				"provider=up42 state=active ":        4,
				"provider=fenix state=disconnected ": 2,
			},
		},
		{
			name: "unknown state left out",
			counts: map[ConnectionKey]int{
				{"up42", ConnectionRegistering}: 1,
				{"up42", "broken"}:              1,
			},
			want:    map[string]float64{"provider=up42 state=registering ": 1},
			wantErr: "hookflow_connections: unknown states left out: up42/broken",
		},
		{name: "none", counts: nil, want: map[string]float64{}},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			err := m.SetConnections(st.counts)
			if got := fmt.Sprint(err); (err != nil || st.wantErr != "") && got != st.wantErr {
				t.Errorf("SetConnections: got error %v, want %q", err, st.wantErr)
			}
			if got := gather(); !reflect.DeepEqual(got, st.want) {
				t.Errorf("hookflow_connections: got %v, want %v", got, st.want)
			}
		})
	}
}
