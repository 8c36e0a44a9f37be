package event_test

import (
	"encoding/json"
	"testing"

	"github.com/hookflow/hookflow/event"
)

func TestFilterTakes(t *testing.T) {
	delivered := event.Outbound{Type: event.OutboundType, Provider: "fenix", EntityType: "shipment", To: "DELIVERED"}
	body := json.RawMessage(`{"data":{"carrier":"UPS","weight":12,"signed":true,"tags":["a"]}}`)
	carrier := func(vs ...string) []event.BodyMatch { return []event.BodyMatch{{Path: "data.carrier", Values: vs}} }
	tests := []struct {
		name   string
		filter event.Filter
		o      event.Outbound
		body   json.RawMessage
		want   bool
	}{
		{"zero filter takes everything", event.Filter{}, delivered, nil, true},
		{"provider in list", event.Filter{Providers: []string{"phoenix", "fenix"}}, delivered, nil, true},
		{"provider not in list", event.Filter{Providers: []string{"phoenix"}}, delivered, nil, false},
		{"entity type", event.Filter{EntityTypes: []string{"order"}}, delivered, nil, false},
		{"to matches", event.Filter{To: []string{"DELIVERED", "RETURNED"}}, delivered, nil, true},
		{"to does not", event.Filter{To: []string{"RETURNED"}}, delivered, nil, false},
		{"types", event.Filter{Types: []string{event.OverdueType}}, delivered, nil, false},
		{"every key must match", event.Filter{Providers: []string{"fenix"}, To: []string{"RETURNED"}}, delivered, nil, false},
		{"body value", event.Filter{Body: carrier("FEDEX", "UPS")}, delivered, body, true},
		{"body other value", event.Filter{Body: carrier("FEDEX")}, delivered, body, false},
		{"body number", event.Filter{Body: []event.BodyMatch{{Path: "data.weight", Values: []string{"12"}}}}, delivered, body, true},
		{"body boolean", event.Filter{Body: []event.BodyMatch{{Path: "data.signed", Values: []string{"true"}}}}, delivered, body, true},
		{"body list is no value", event.Filter{Body: []event.BodyMatch{{Path: "data.tags", Values: []string{"a"}}}}, delivered, body, false},
		{"body path absent", event.Filter{Body: []event.BodyMatch{{Path: "data.nope", Values: []string{""}}}}, delivered, body, false},
		{"no body (a reconcile)", event.Filter{Body: carrier("UPS")}, delivered, nil, false},
		{"body not JSON", event.Filter{Body: carrier("UPS")}, delivered, json.RawMessage(`nope`), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.filter.Takes(tt.o, tt.body); got != tt.want {
				t.Errorf("Takes = %v, want %v", got, tt.want)
			}
		})
	}
}
