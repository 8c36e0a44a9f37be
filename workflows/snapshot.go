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
// fixed-size hashes, bounded to the latest maxRemembered.
type memory struct {
	seen  map[idHash]bool // looked up only, never iterated
	order []idHash        // oldest first
}

func newMemory() *memory { return &memory{seen: map[idHash]bool{}} }

func (m *memory) has(id string) bool { return m.seen[hashID(id)] }

// add remembers ids, forgetting the oldest past the bound.
func (m *memory) add(ids ...string) {
	for _, id := range ids {
		m.addHash(hashID(id))
	}
	m.trim()
}

func (m *memory) addHash(h idHash) {
	if m.seen[h] {
		return
	}
	m.seen[h] = true
	m.order = append(m.order, h)
}

func (m *memory) trim() {
	if over := len(m.order) - maxRemembered; over > 0 {
		for _, h := range m.order[:over] {
			delete(m.seen, h)
		}
		m.order = append([]idHash(nil), m.order[over:]...)
	}
}

// load adds a packed memory (Snapshot.Seen, Carry.Seen) and IDs written by
// earlier runs in full.
func (m *memory) load(packed []byte, legacy []string) {
	for i := 0; i+idHashSize <= len(packed); i += idHashSize {
		m.addHash(idHash(packed[i : i+idHashSize]))
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

// keepLast keeps the newest of s: at most maxKept, and at most budget bytes
// of JSON. The newest one is always kept.
func keepLast[T any](s []T, budget int) []T {
	if len(s) > maxKept {
		s = s[len(s)-maxKept:]
	}
	used, keep := 0, 0
	for i := len(s) - 1; i >= 0; i-- {
		// encoding/json is deterministic for these plain structs (fields in
		// order, maps sorted); workflowcheck flags its reflection caches.
		//workflowcheck:ignore
		b, err := json.Marshal(s[i])
		if err != nil || (keep > 0 && used+len(b)+1 > budget) {
			break
		}
		used += len(b) + 1
		keep++
	}
	if keep == len(s) {
		return s
	}
	return append([]T(nil), s[len(s)-keep:]...)
}
