package receivers

import (
	"strings"
	"testing"
)

func TestClip(t *testing.T) {
	tests := []struct {
		name string
		s    string
		max  int
		want string
	}{
		{"short", "evt-1", 8, "evt-1"},
		{"exactly max", "12345678", 8, "12345678"},
		{"one over", "123456789", 8, "12345678…[truncated, 9 bytes]"},
		{"long", strings.Repeat("o", 1500), 4, "oooo…[truncated, 1500 bytes]"},
		// "é" is 2 bytes: a cut inside it backs off to the rune before.
		{"inside a rune", "aéé", 2, "a…[truncated, 5 bytes]"},
		{"on a rune boundary", "aéé", 3, "aé…[truncated, 5 bytes]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := clip(tt.s, tt.max); got != tt.want {
				t.Errorf("clip(%.20q, %d): got %q, want %q", tt.s, tt.max, got, tt.want)
			}
		})
	}
}
