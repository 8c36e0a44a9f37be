package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/hookflow/hookflow/inspect"
)

func TestPrintReportSaysWhenNotLive(t *testing.T) {
	saved := time.Date(2026, 11, 23, 10, 0, 3, 0, time.UTC)
	tests := []struct {
		name string
		rep  inspect.Report
		want string // "" for no note
	}{
		{"live", inspect.Report{Source: inspect.SourceLive}, ""},
		{"published", inspect.Report{Source: inspect.SourcePublished, PublishedAt: saved, LiveQuery: "did not answer within 2s (workflow task backlog?)"},
			"note:       live query did not answer within 2s (workflow task backlog?); showing the state last published at 2026-11-23T10:00:03Z\n"},
		{"nothing published yet", inspect.Report{Source: inspect.SourcePublished, LiveQuery: "did not answer within 2s (workflow task backlog?)"},
			"note:       live query did not answer within 2s (workflow task backlog?); showing the search attributes only (no state published yet)\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			printReport(&out, tt.rep)
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
