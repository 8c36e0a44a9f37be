package workflows

import (
	"encoding/json"

	"github.com/hookflow/hookflow/event"
)

// MaxPayloadBytes is the size each thing a run carries (event-ID memory,
// snapshot memo, ContinueAsNew input) stays within: Temporal's default
// blob-size warning limit, far below its hard one.
const MaxPayloadBytes = 256 << 10

// Bounds of what a run keeps. The event-ID memory is a fixed-size hash per
// ID, so its size never depends on what the IDs look like; the latest
// transitions and deliveries are kept by count and by encoded size, so that
// the snapshot, the state and the ContinueAsNew input all fit
// MaxPayloadBytes together with a full memory.
const (
	// maxRemembered bounds the event-ID memory carried from run to run; an
	// entity sees far fewer events than this in its life.
	maxRemembered = 10000
	// maxKept bounds the transitions and received events kept in State.
	maxKept = 200
	// transitionBytes and receivedBytes bound the JSON size of the kept
	// transitions and received events.
	transitionBytes = 32 << 10
	receivedBytes   = 20 << 10
)

// keepLast keeps the newest of s: at most maxKept, and at most budget bytes
// of JSON (as sizeOf reckons it). The newest one is always kept.
func keepLast[T any](s []T, budget int) []T {
	if len(s) > maxKept {
		s = s[len(s)-maxKept:]
	}
	used, keep := 0, 0
	for i := len(s) - 1; i >= 0; i-- {
		n := sizeOf(s[i])
		if keep > 0 && used+n+1 > budget {
			break
		}
		used += n + 1
		keep++
	}
	if keep == len(s) {
		return s
	}
	return append([]T(nil), s[len(s)-keep:]...)
}

// sizeOf is the JSON size of v, reckoned without encoding it for the
// records a run keeps many of, since a workflow task may keep thousands of
// them: an upper bound for the fields that vary, plus their names and
// numbers.
func sizeOf(v any) int {
	switch v := v.(type) {
	case event.Received:
		return 120 + jsonLen(v.EventID) + jsonLen(v.Type) + jsonLen(v.Status) + jsonLen(v.Outcome)
	case event.Transition:
		return transitionSize(v)
	case Delivery:
		n := 160 + jsonLen(v.Target) + jsonLen(v.Label) + jsonLen(v.Status) + jsonLen(v.LastAnswer)
		if v.Transition != nil {
			n += transitionSize(*v.Transition)
		}
		return n
	}
	// encoding/json is deterministic for these plain structs (fields in
	// order, maps sorted); workflowcheck flags its reflection caches.
	//workflowcheck:ignore
	b, err := json.Marshal(v)
	if err != nil {
		return 0
	}
	return len(b)
}

// transitionSize reckons the JSON size of t, as sizeOf.
func transitionSize(t event.Transition) int {
	n := 200 + jsonLen(t.From) + jsonLen(t.To) + jsonLen(t.EventID) + jsonLen(t.Source) + jsonLen(t.ProviderTime)
	// A sum does not depend on the order the map is ranged in.
	//workflowcheck:ignore
	for k, v := range t.Details {
		n += jsonLen(k) + jsonLen(v) + 6
	}
	return n
}

// jsonLen is an upper bound of the length of s as a JSON string, quotes
// included: encoding/json escapes control characters, quotes, backslashes
// and <, >, & (up to 6 bytes each) and writes invalid UTF-8 as U+FFFD.
func jsonLen(s string) int {
	n := 2 + len(s)
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c < 0x20, c == '<', c == '>', c == '&':
			n += 5
		case c == '"', c == '\\':
			n++
		case c >= 0x80:
			n += 2 // U+FFFD for an invalid byte, U+2028/9 escaped: at most 3 more per 1
		}
	}
	return n
}
