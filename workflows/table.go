package workflows

import (
	_ "embed"
	"encoding/json"

	"github.com/hookflow/hookflow/event/lifecycle"
)

// The verdicts the workflow gives each status, recorded as the outcome of
// each delivery in State.Events.
type Verdict = lifecycle.Verdict

// The verdicts; see lifecycle.
const (
	Apply     = lifecycle.Apply
	Same      = lifecycle.Same
	Backwards = lifecycle.Backwards
	Unknown   = lifecycle.Unknown
	Stale     = lifecycle.Stale
)

// How the state table is versioned: a run's table is in its input
// (EntityInput.Table), so it is in the run's history. The Starter puts the
// provider's current table (built-in or configured) into every new run,
// and ContinueAsNew carries the run's table on, so a running entity replays
// with the table it started with, whatever the provider's table or the
// configuration says later. A changed table applies to the entity's next
// run (after it closes), which loads the closed run's state and judges the
// next event by the new table.
//
// Inputs without a table are from before tables travelled in the input.
// They replay with the built-in tables as they were compiled into workers
// then, frozen in tables-before-input.json; that file never changes. Only
// the five built-in kinds can have such runs, and their providers' own
// tables are free to change: no running run reads them.

//go:embed tables-before-input.json
var tablesBeforeInputJSON []byte

// tablesBeforeInput are the built-in tables runs without a table in their
// input replay with, by provider-entityType.
var tablesBeforeInput = func() map[string]lifecycle.Table {
	var m map[string]lifecycle.Table
	if err := json.Unmarshal(tablesBeforeInputJSON, &m); err != nil {
		panic("workflows: tables-before-input.json: " + err.Error())
	}
	return m
}()

// tableOf is the state table a run follows: the one in its input, or for
// a run from before tables travelled, its kind's frozen built-in table.
func tableOf(in EntityInput) (lifecycle.Table, bool) {
	if in.Table != nil {
		return *in.Table, true
	}
	t, ok := tablesBeforeInput[in.Provider+"-"+in.EntityType]
	return t, ok
}
