package workflows

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"

	"github.com/hookflow/hookflow/event"
)

// MemoKey is the memo field in which an entity workflow keeps its snapshot:
// upserted at every applied transition, before ContinueAsNew and when the run
// closes, so the next run of the entity (even after a terminate or a reset)
// continues from the last applied transition.
const MemoKey = "hookflow.snapshot"

// MemoSummaryKey is the memo field in which a revision 3 run publishes a
// summary of its state for operators' tools (`hookflow status` without a
// worker): a Snapshot of the status, the counts and the latest few
// transitions and events, under summaryBytes. It is upserted at most once
// per workflow task, only when it changed; the whole state is not in the
// memo (the next run queries it, QuerySnapshot).
const MemoSummaryKey = "hookflow.summary"

// summaryKept is how many of the latest transitions and events the summary
// holds, and summaryBytes the bound of its JSON.
const (
	summaryKept  = 8
	summaryBytes = 16 << 10
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

// Snapshot is what a run leaves in its memo for the next run of the entity.
type Snapshot struct {
	Status      string             `json:"status"`
	ResumeFrom  string             `json:"resumeFrom,omitempty"`
	Processed   int                `json:"processed"`
	Duplicates  int                `json:"duplicates"`
	Sequence    int                `json:"sequence"`              // transitions applied so far
	Transitions []event.Transition `json:"transitions,omitempty"` // the latest, oldest first
	Events      []event.Received   `json:"events,omitempty"`      // the latest, oldest first
	// Seen is the event-ID memory: idHashSize bytes per ID, oldest first.
	Seen []byte `json:"seen,omitempty"`
	// EventIDs is the memory as runs before hashed IDs wrote it.
	EventIDs []string `json:"eventIds,omitempty"`
	// Deliveries and Bodies are the transitions' deliveries and the bodies
	// held for the pending ones.
	Deliveries []Delivery              `json:"deliveries,omitempty"`
	Bodies     map[int]json.RawMessage `json:"bodies,omitempty"`
	SavedAt    time.Time               `json:"savedAt,omitzero"`

	// Revision 3 runs leave no memo: the next run asks a closed run for
	// its Snapshot with QuerySnapshot, and these carry the rest of it.

	// SeenTimes are the event-ID memory's chunk times, ForgottenUpTo its
	// watermark (see memory).
	SeenTimes     []int64   `json:"seenTimes,omitempty"`
	ForgottenUpTo time.Time `json:"forgottenUpTo,omitzero"`
	// Notices, Overdue and OverdueSince are as in State.
	Notices      []Notice  `json:"notices,omitempty"`
	Overdue      bool      `json:"overdue,omitempty"`
	OverdueSince time.Time `json:"overdueSince,omitzero"`
	// Rejected counts the signals the entity dropped.
	Rejected int `json:"rejected,omitempty"`
	// Unloaded names the run this run was started to continue from and had
	// not loaded yet when it closed (terminated or cancelled before its
	// load succeeded): the next run loads that one instead.
	Unloaded string `json:"unloaded,omitempty"`
}

// DecodeSnapshot reads the snapshot from an entity workflow's memo field
// (MemoKey), for operators' tools reading a run from outside.
func DecodeSnapshot(p *commonpb.Payload) (Snapshot, error) {
	var s Snapshot
	if err := converter.GetDefaultDataConverter().FromPayload(p, &s); err != nil {
		return Snapshot{}, fmt.Errorf("decode snapshot: %w", err)
	}
	return s, nil
}

// idHashSize is how many bytes of an event ID's SHA-256 the memory keeps:
// 96 bits, so two distinct IDs of one entity are taken for each other with a
// probability below 1e-20 even with a full memory, whatever their length.
const idHashSize = 12

type idHash [idHashSize]byte

func hashID(id string) idHash {
	sum := sha256.Sum256([]byte(id))
	var h idHash
	copy(h[:], sum[:idHashSize])
	return h
}

// memory is an entity's event-ID memory: the IDs it has processed, as
// fixed-size hashes, bounded to the latest maxRemembered. Revision 3 runs
// forget in chunks of memoryChunk IDs and keep, for each chunk, the latest
// provider time of its events; forgotten is the latest provider time of
// any ID forgotten so far, the watermark below which an unremembered event
// is a redelivery (see entity.onEvent).
type memory struct {
	seen  map[idHash]bool // looked up only, never iterated
	order []idHash        // oldest first
	// chunked: forget whole chunks and keep their times (revision 3).
	chunked bool
	// chunkMax is, per chunk of order, the latest provider time of its IDs
	// (Unix milliseconds; 0 when none was readable).
	chunkMax []int64
	// forgotten is the latest provider time of a forgotten ID (Unix
	// milliseconds), 0 while none was forgotten.
	forgotten int64
}

// memoryChunk is how many IDs a revision 3 memory forgets at once.
const memoryChunk = 100

func newMemory() *memory { return &memory{seen: map[idHash]bool{}} }

func (m *memory) has(id string) bool { return m.seen[hashID(id)] }

// add remembers ids, forgetting the oldest past the bound.
func (m *memory) add(ids ...string) {
	for _, id := range ids {
		m.addHash(hashID(id), 0)
	}
	m.trim()
}

// addAt remembers id, whose event the provider stamped at (Unix
// milliseconds, 0 when unknown).
func (m *memory) addAt(id string, at int64) {
	m.addHash(hashID(id), at)
	m.trim()
}

func (m *memory) addHash(h idHash, at int64) {
	if m.seen[h] {
		return
	}
	m.seen[h] = true
	m.order = append(m.order, h)
	if !m.chunked {
		return
	}
	if c := (len(m.order) - 1) / memoryChunk; c >= len(m.chunkMax) {
		m.chunkMax = append(m.chunkMax, at)
	} else {
		m.chunkMax[c] = max(m.chunkMax[c], at)
	}
}

func (m *memory) trim() {
	over := len(m.order) - maxRemembered
	if over <= 0 {
		return
	}
	if m.chunked {
		// Whole chunks, so the chunk times stay aligned with order.
		chunks := (over + memoryChunk - 1) / memoryChunk
		over = min(chunks*memoryChunk, len(m.order))
		for _, t := range m.chunkMax[:min(chunks, len(m.chunkMax))] {
			m.forgotten = max(m.forgotten, t)
		}
		m.chunkMax = append([]int64(nil), m.chunkMax[min(chunks, len(m.chunkMax)):]...)
	}
	for _, h := range m.order[:over] {
		delete(m.seen, h)
	}
	m.order = append([]idHash(nil), m.order[over:]...)
}

// load adds a packed memory (Snapshot.Seen, Carry.Seen) and IDs written by
// earlier runs in full. times are the packed memory's chunk times
// (revision 3); a memory packed without them has unknown times.
func (m *memory) load(packed []byte, legacy []string, times []int64) {
	for i := 0; i+idHashSize <= len(packed); i += idHashSize {
		m.addHash(idHash(packed[i:i+idHashSize]), 0)
	}
	if m.chunked && len(times) == len(m.chunkMax) {
		copy(m.chunkMax, times)
	}
	m.add(legacy...)
}

// packed is the memory as carried: the hashes, oldest first.
func (m *memory) packed() []byte {
	out := make([]byte, 0, len(m.order)*idHashSize)
	for _, h := range m.order {
		out = append(out, h[:]...)
	}
	return out
}

// times is the chunk times as carried beside packed (revision 3).
func (m *memory) times() []int64 {
	if !m.chunked {
		return nil
	}
	return append([]int64(nil), m.chunkMax...)
}

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
