package workflows

// Machine is an entity's state table. Statuses have ranks; an event never
// moves an entity to a lower rank, and a terminal status is final, except
// along the explicit Retry edges.
type Machine struct {
	Rank     map[string]int      // every known status and its place in the lifecycle
	Terminal map[string]bool     // statuses after which the workflow lingers, then completes
	Repeat   map[string]bool     // statuses applied again each time (a transfer after a transfer)
	Retry    map[string][]string // from → statuses allowed although not higher (FAILED → BEING_FULFILLED)
}

// Verdict says whether and why a status is applied.
type Verdict string

// The verdicts of Machine.Allows.
const (
	Apply     Verdict = "applied"
	Same      Verdict = "unchanged"         // already in that status
	Backwards Verdict = "ignored-backwards" // would move back, or out of a terminal status
	Unknown   Verdict = "ignored-unknown"   // a status the table does not know
)

// Allows reports what applying status to to an entity in status from does.
// from is "" for a new entity.
func (m Machine) Allows(from, to string) Verdict {
	rankTo, ok := m.Rank[to]
	switch {
	case !ok:
		return Unknown
	case from == "":
		return Apply
	case from == to && !m.Repeat[to]:
		return Same
	}
	for _, next := range m.Retry[from] {
		if next == to {
			return Apply
		}
	}
	if m.Terminal[from] {
		return Backwards
	}
	if rankTo < m.Rank[from] || (rankTo == m.Rank[from] && from != to) {
		return Backwards
	}
	return Apply
}

// Kind is what the workflow knows of one provider's entity type.
type Kind struct {
	Machine
	// API is true when the provider has an API whose status is authoritative
	// and each event re-queries it (Phoenix orders).
	API bool
}

// kinds maps provider-entityType to its Kind.
var kinds = map[string]Kind{
	"phoenix-order": {
		Machine: Machine{
			Rank:     map[string]int{"pending": 0, "fulfilled": 1, "expired": 1},
			Terminal: map[string]bool{"fulfilled": true, "expired": true},
		},
		API: true,
	},
}

// KindOf returns the Kind of a provider's entity type, and false when
// hookflow has no state table for it.
func KindOf(provider, entityType string) (Kind, bool) {
	k, ok := kinds[provider+"-"+entityType]
	return k, ok
}
