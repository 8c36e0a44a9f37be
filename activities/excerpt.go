package activities

import (
	"strings"
	"unicode/utf8"
)

// maxExcerpt bounds, in bytes, the text of a destination's or provider
// API's answer (status line, transport error) that an activity quotes in
// an error: errors land in workflow history and state, and a status line
// can be megabytes long.
const maxExcerpt = 256

// excerpt is s as an error may quote it: valid UTF-8 (invalid bytes become
// U+FFFD) and at most maxExcerpt bytes, cut on a rune boundary and ended
// with "…" when cut.
func excerpt(s string) string {
	cut := len(s) > maxExcerpt
	if cut {
		s = s[:maxExcerpt] // a rune split here turns into U+FFFD, cut away below
	}
	s = strings.ToValidUTF8(s, "\uFFFD")
	if !cut && len(s) <= maxExcerpt {
		return s
	}
	n := maxExcerpt - len("…")
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
