package inspect

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/hookflow/hookflow/workflows"
)

func TestWriteTextSaysWhenNotLive(t *testing.T) {
	saved := time.Date(2026, 11, 23, 10, 0, 3, 0, time.UTC)
	tests := []struct {
		name string
		rep  Report
		want string // "" for no note
	}{
		{"live", Report{Source: SourceLive}, ""},
		{"published", Report{Source: SourcePublished, PublishedAt: saved, LiveQuery: "did not answer within 2s (workflow task backlog?)"},
			"note:       live query did not answer within 2s (workflow task backlog?); showing the state last published at 2026-11-23T10:00:03Z\n"},
		{"nothing published yet", Report{Source: SourcePublished, LiveQuery: "did not answer within 2s (workflow task backlog?)"},
			"note:       live query did not answer within 2s (workflow task backlog?); showing the search attributes only (no state published yet)\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			_ = tt.rep.WriteText(&out)
			first, _, _ := strings.Cut(out.String(), "\n")
			got := ""
			if strings.HasPrefix(first, "note:") {
				got = first + "\n"
			}
			if got != tt.want {
				t.Errorf("first line %q, want note %q", first, tt.want)
			}
		})
	}
}

// TestWriteTextSaysWhatTheEntityDropped: rejected signals and events
// waiting for a slow destination are shown, not hidden in the JSON.
func TestWriteTextSaysWhatTheEntityDropped(t *testing.T) {
	at := time.Date(2026, 11, 23, 10, 0, 3, 0, time.UTC)
	rep := Report{Source: SourceLive}
	rep.State.Waiting = true
	rep.State.Rejected = 3
	rep.State.Rejections = []workflows.Rejection{{Signal: "reprocess", Reason: "payload is not a workflows.ReprocessRequest", At: at}}
	var out bytes.Buffer
	if err := rep.WriteText(&out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"waiting:    events wait for a slow destination",
		"rejected:   3 malformed signal(s), the latest reprocess at 2026-11-23T10:00:03Z: payload is not a workflows.ReprocessRequest",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("status text lacks %q:\n%s", want, out.String())
		}
	}
}

// TestWriteTextNamesTheTenant: a tenant's entity says whose it is; the
// default tenant's says nothing of tenants.
func TestWriteTextNamesTheTenant(t *testing.T) {
	for _, tt := range []struct{ id, want string }{
		{"fenix-shipment@wearhumans.myshopify.com:T1", "tenant:     wearhumans.myshopify.com\n"},
		{"fenix-shipment:T1", ""},
	} {
		rep := Report{WorkflowID: tt.id, Source: SourceLive, State: workflows.State{Provider: "fenix", EntityType: "shipment", EntityID: "T1", Tenant: tenantOf(tt.id)}}
		var out bytes.Buffer
		_ = rep.WriteText(&out)
		got := ""
		for _, line := range strings.SplitAfter(out.String(), "\n") {
			if strings.HasPrefix(line, "tenant:") {
				got = line
			}
		}
		if got != tt.want {
			t.Errorf("%s: tenant line %q, want %q", tt.id, got, tt.want)
		}
	}
}
