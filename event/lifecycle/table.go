// Package lifecycle defines an entity's state table: which statuses an
// order, shipment or other provider entity has, in which order, and which
// end its life. Providers declare their tables (built-in ones in their own
// files, configured ones in YAML); the entity workflow receives its table in
// its input and judges every status by it.
//
// A Table is plain data, serialized as JSON into workflow inputs: nothing
// here may depend on map iteration order.
package lifecycle

// Table is an entity's state table. Statuses have ranks; an event never
// moves an entity to a lower rank, and a terminal status is final, except
// along the explicit Retry edges.
type Table struct {
	Rank     map[string]int      `json:",omitempty"` // every known status and its place in the lifecycle
	Terminal map[string]bool     `json:",omitempty"` // statuses after which the workflow lingers, then completes
	Repeat   map[string]bool     `json:",omitempty"` // statuses applied again each time (a transfer after a transfer)
	Retry    map[string][]string `json:",omitempty"` // from → statuses allowed although not higher (FAILED → BEING_FULFILLED)
	// Anytime are statuses reachable from any non-terminal status whatever
	// its rank (a shipment EXCEPTION); the workflow then judges the next
	// status against the status the interruption came from.
	Anytime map[string]bool `json:",omitempty"`
	// API is true when the provider has an API whose status is
	// authoritative and each event re-queries it (Phoenix orders).
	API bool `json:",omitempty"`
}

// Verdict says whether and why a status is applied.
type Verdict string

// The verdicts of Table.Allows.
const (
	Apply     Verdict = "applied"
	Same      Verdict = "unchanged"         // already in that status
	Backwards Verdict = "ignored-backwards" // would move back, or out of a terminal status
	Unknown   Verdict = "ignored-unknown"   // a status the table does not know
	// Stale is for a move that rank alone cannot judge (a Retry edge, an
	// Anytime status) carried by an event the provider stamped before the
	// one that set the current status: a late delivery, not a new turn.
	Stale Verdict = "ignored-stale"
)

// Ranked builds a table from ranked lists of statuses, earliest first
// (several statuses in one list are siblings: neither follows the other),
// the terminal statuses, and the anytime statuses, which rank below all
// others so that anything may follow an entity first seen in one.
func Ranked(ranks [][]string, terminal, anytime []string) Table {
	t := Table{Rank: map[string]int{}, Terminal: map[string]bool{}}
	for i, rank := range ranks {
		for _, s := range rank {
			t.Rank[s] = i
		}
	}
	for _, s := range terminal {
		t.Terminal[s] = true
	}
	for _, s := range anytime {
		if t.Anytime == nil {
			t.Anytime = map[string]bool{}
		}
		t.Anytime[s] = true
		t.Rank[s] = -1
	}
	return t
}

// Allows reports what applying status to to an entity in status from does.
// from is "" for a new entity.
func (m Table) Allows(from, to string) Verdict {
	rankTo, ok := m.Rank[to]
	switch {
	case !ok:
		return Unknown
	case from == "":
		return Apply
	case from == to && !m.Repeat[to]:
		return Same
	}
	if m.retries(from, to) {
		return Apply
	}
	if m.Terminal[from] {
		return Backwards
	}
	if m.Anytime[to] {
		return Apply
	}
	if rankTo < m.Rank[from] || (rankTo == m.Rank[from] && from != to) {
		return Backwards
	}
	return Apply
}

// Rankless reports whether Allows applies from → to by a rule other than
// rank order: a Retry edge or an Anytime status. Such a move is the one a
// late delivery of an older event could make wrongly, so the workflow also
// checks the provider's timestamps for it.
func (m Table) Rankless(from, to string) bool {
	return from != "" && from != to && (m.retries(from, to) || m.Anytime[to])
}

func (m Table) retries(from, to string) bool {
	for _, next := range m.Retry[from] {
		if next == to {
			return true
		}
	}
	return false
}
