package operate

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/hookflow/hookflow/providers"
)

// TestTargetsSelection checks that exactly one way of naming targets is
// accepted and that IDs come back distinct, in the order given; neither
// needs Temporal.
func TestTargetsSelection(t *testing.T) {
	tests := []struct {
		name string
		s    Selection
		want []string
		err  string
	}{
		{"IDs", Selection{IDs: []string{"b", "a", "b"}}, []string{"b", "a"}, ""},
		{"none", Selection{}, nil, "exactly one of them"},
		{"two ways", Selection{IDs: []string{"a"}, Query: "x"}, nil, "exactly one of them"},
		{"entity alone", Selection{Entity: "o-1"}, nil, "--provider and --entity go together"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Targets(context.Background(), nil, "default", tt.s)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("got %v, %v; want an error saying %q", got, err, tt.err)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}

// TestSendRefusesNonEntityIDs checks that an ID naming no provider entity
// fails on its own, before any call to Temporal, and that progress counts
// every target.
func TestSendRefusesNonEntityIDs(t *testing.T) {
	reg, err := providers.NewRegistry(nil)
	if err != nil {
		t.Fatal(err)
	}
	s := Sender{Providers: reg, Rate: 1000}
	var done []int
	id, failed, err := s.Send(context.Background(), []string{"not-an-id", "nobody-thing:1"},
		Signal{Name: "reprocess", Payload: func(string) any { return nil }}, func(n int) { done = append(done, n) })
	if err != nil || !strings.HasPrefix(id, "reprocess-") {
		t.Fatalf("Send: request %q, %v", id, err)
	}
	if len(failed) != 2 || !strings.Contains(failed[0].Err.Error(), "not an entity workflow ID") ||
		!strings.Contains(failed[1].Err.Error(), "no provider entities") {
		t.Errorf("failures %v", failed)
	}
	if !reflect.DeepEqual(done, []int{1, 2}) {
		t.Errorf("progress %v, want [1 2]", done)
	}
}
