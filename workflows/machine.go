package workflows

// Machine is an entity's state table. Statuses have ranks; an event never
// moves an entity to a lower rank, and a terminal status is final, except
// along the explicit Retry edges.
type Machine struct {
	Rank     map[string]int      // every known status and its place in the lifecycle
	Terminal map[string]bool     // statuses after which the workflow lingers, then completes
	Repeat   map[string]bool     // statuses applied again each time (a transfer after a transfer)
	Retry    map[string][]string // from → statuses allowed although not higher (FAILED → BEING_FULFILLED)
	// Anytime are statuses reachable from any non-terminal status whatever
	// its rank (a shipment EXCEPTION); the workflow then judges the next
	// status against the status the interruption came from.
	Anytime map[string]bool
}

// Verdict says whether and why a status is applied.
type Verdict string

// The verdicts of Machine.Allows.
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
func (m Machine) Rankless(from, to string) bool {
	return from != "" && from != to && (m.retries(from, to) || m.Anytime[to])
}

func (m Machine) retries(from, to string) bool {
	for _, next := range m.Retry[from] {
		if next == to {
			return true
		}
	}
	return false
}

// Kind is what the workflow knows of one provider's entity type.
type Kind struct {
	Machine
	// API is true when the provider has an API whose status is authoritative
	// and each event re-queries it (Phoenix orders).
	API bool
}

// kinds maps provider-entityType to its Kind. Statuses are as the
// receivers normalize them: Phoenix lower case, Phosphor, UP42 and Fenix
// upper case, Phantom Core the event name after its entity type.
var kinds = map[string]Kind{
	"phoenix-order": {
		Machine: Machine{
			Rank:     map[string]int{"pending": 0, "fulfilled": 1, "expired": 1},
			Terminal: map[string]bool{"fulfilled": true, "expired": true},
		},
		API: true,
	},

	// An item's token is minted, transferred any number of times, burnt.
	"phosphor-item": {Machine: Machine{
		Rank:     map[string]int{"MINT": 0, "TRANSFER": 1, "BURN": 2},
		Terminal: map[string]bool{"BURN": true},
		Repeat:   map[string]bool{"TRANSFER": true},
	}},
	"phosphor-listing": {Machine: Machine{
		Rank:     map[string]int{"CREATED": 0, "COMPLETED": 1, "CANCELLED": 1},
		Terminal: map[string]bool{"COMPLETED": true, "CANCELLED": true},
	}},

	// A FAILED order may be retried (back to PLACED or BEING_FULFILLED) or
	// end; FAILED ranks below both ends so either can follow it.
	"up42-order": {Machine: Machine{
		Rank: map[string]int{
			"PLACED": 0, "BEING_FULFILLED": 1, "FAILED": 2, "FULFILLED": 3, "FAILED_PERMANENTLY": 3,
		},
		Terminal: map[string]bool{"FULFILLED": true, "FAILED_PERMANENTLY": true},
		Retry:    map[string][]string{"FAILED": {"PLACED", "BEING_FULFILLED"}},
	}},

	// A shipment moves forward through the carrier's scans. An EXCEPTION can
	// happen at any point before the end, and each one is recorded; after
	// it the shipment resumes from where it stood before the exception (the
	// workflow remembers that), never further back. RETURNED ends it like
	// DELIVERED.
	"fenix-shipment": {Machine: Machine{
		Rank: map[string]int{
			"LABEL_CREATED": 0, "EXCEPTION": 1, "PICKED_BY_CARRIER": 2, "IN_TRANSIT": 3,
			"OUT_FOR_DELIVERY": 4, "DELIVERED": 5, "RETURNED": 5,
		},
		Terminal: map[string]bool{"DELIVERED": true, "RETURNED": true},
		Repeat:   map[string]bool{"EXCEPTION": true},
		Anytime:  map[string]bool{"EXCEPTION": true},
	}},

	// A transaction enters the pool, is forged into a block (on the forging
	// node) and applied; applied is final unless a fork reverts it. Expired
	// and rejected transactions never make it into a block. Phantom event
	// IDs are <event>:<id>, so each status reaches a transaction once.
	"phantom-transaction": {Machine: Machine{
		Rank: map[string]int{
			"pool.added": 0, "forged": 1, "applied": 2, "expired": 3, "pool.rejected": 3, "reverted": 3,
		},
		Terminal: map[string]bool{"applied": true, "expired": true, "pool.rejected": true, "reverted": true},
		Retry:    map[string][]string{"applied": {"reverted"}},
	}},
	// A block is received from a peer or forged here, then applied or
	// disregarded; a disregarded block may still be applied once the node
	// catches up, and an applied one reverted by a fork.
	"phantom-block": {Machine: Machine{
		Rank: map[string]int{
			"received": 0, "forged": 1, "disregarded": 2, "applied": 3, "reverted": 4,
		},
		Terminal: map[string]bool{"disregarded": true, "applied": true, "reverted": true},
		Retry:    map[string][]string{"disregarded": {"applied"}, "applied": {"reverted"}},
	}},
}

// KindOf returns the Kind of a provider's entity type, and false when
// hookflow has no state table for it.
func KindOf(provider, entityType string) (Kind, bool) {
	k, ok := kinds[provider+"-"+entityType]
	return k, ok
}
