package workflows

import (
	"crypto/sha256"
	"strconv"
	"time"

	"github.com/hookflow/hookflow/event"
)

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
// fixed-size hashes, bounded to the latest maxRemembered. Revision 5 runs
// remember an event's signed body too where it has a digest (bodyKey), as
// one more ID, which counts against the bound like any. Revision 3 runs
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

// addAt remembers ids, each a key of one event the provider stamped at
// (Unix milliseconds, 0 when unknown), forgetting the oldest past the
// bound.
func (m *memory) addAt(at int64, ids ...string) {
	for _, id := range ids {
		m.addHash(hashID(id), at)
	}
	m.trim()
}

// bodyKey is the memory's key of a signed body, by its digest
// (event.Event.BodyDigest): no event ID the receivers take holds a NUL,
// so none is taken for a body.
func bodyKey(digest string) string { return "\x00sha256:" + digest }

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

// holds reports whether the memory holds ev: its event ID, or (revision
// 5) its signed body, whatever event ID that came with.
func (e *entity) holds(ev event.Event) bool {
	if e.memory.has(ev.ID) {
		return true
	}
	return e.does.digestMemory && ev.BodyDigest != "" && e.memory.has(bodyKey(ev.BodyDigest))
}

// remember adds ev to the event memory and counts it processed: its event
// ID, and (revision 5) its signed body.
func (e *entity) remember(ev event.Event) {
	e.state.Processed++
	if !e.does.chunkedMemory {
		e.memory.add(ev.ID)
		return
	}
	var at int64
	if t, ok := providerInstant(ev.ProviderTime); ok {
		at = t.UnixMilli()
	}
	if e.does.digestMemory && ev.BodyDigest != "" {
		e.memory.addAt(at, ev.ID, bodyKey(ev.BodyDigest))
	} else {
		e.memory.addAt(at, ev.ID)
	}
	if e.memory.forgotten > 0 {
		e.state.ForgottenUpTo = time.UnixMilli(e.memory.forgotten).UTC()
	}
}

// forgotten reports whether ev, which the memory does not hold, was stamped
// by the provider at or before the latest event the memory has forgotten.
// Without a readable provider time it cannot tell and says no.
func (e *entity) forgotten(ev event.Event) bool {
	if e.state.ForgottenUpTo.IsZero() {
		return false
	}
	at, ok := providerInstant(ev.ProviderTime)
	return ok && !at.After(e.state.ForgottenUpTo)
}

// providerInstant reads a provider timestamp: RFC 3339 or Unix seconds or
// milliseconds, as providers stamp their events.
func providerInstant(s string) (time.Time, bool) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, true
	}
	n, err := strconv.ParseInt(s, 10, 64)
	switch {
	case err != nil || n <= 0:
		return time.Time{}, false
	case n >= 1e12:
		return time.UnixMilli(n), true
	default:
		return time.Unix(n, 0), true
	}
}
