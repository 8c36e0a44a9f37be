package inspect

import (
	"bytes"
	"strings"
	"testing"
	"time"
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
