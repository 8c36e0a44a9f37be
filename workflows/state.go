package workflows

import (
	"encoding/json"
	"fmt"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/workflow"

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

// Carry is what a run hands to its continuation.
type Carry struct {
	State State
	// Seen is the event-ID memory (fixed-size hashes, oldest first), and
	// SeenTimes its chunk times (revision 3).
	Seen      []byte  `json:",omitempty"`
	SeenTimes []int64 `json:",omitempty"`
	// EventIDs is the memory as revision 0 runs carried it, newest last.
	EventIDs []string `json:",omitempty"`
	// Bodies are the original bodies held for pending deliveries, by seq.
	Bodies       map[int]json.RawMessage `json:",omitempty"`
	TerminalAt   time.Time               // when the terminal status was reached, so lingering goes on
	LastActivity time.Time               `json:",omitzero"` // the last event or reprocess, so the idle clock goes on
	// CheckFrom and CheckStep are where the reconcile schedule stands.
	CheckFrom time.Time `json:",omitzero"`
	CheckStep int       `json:",omitempty"`
}

// State is the entity's state, returned by QueryState and by the workflow.
type State struct {
	Provider    string             `json:"provider"`
	EntityType  string             `json:"entityType"`
	EntityID    string             `json:"entityId"`
	Tenant      string             `json:"tenant,omitempty"` // contract section 17; none for the default tenant
	Status      string             `json:"status"`
	ResumeFrom  string             `json:"resumeFrom,omitempty"` // the status an Anytime status (EXCEPTION) interrupted
	Terminal    bool               `json:"terminal"`
	Sequence    int                `json:"sequence"`    // transitions applied in the entity's life
	Transitions []event.Transition `json:"transitions"` // the latest, oldest first
	Processed   int                `json:"processed"`   // distinct events processed
	Duplicates  int                `json:"duplicates"`  // redeliveries ignored by the event memory
	Events      []event.Received   `json:"events"`      // the latest, oldest first
	LastError   string             `json:"lastError,omitempty"`
	// LastReconciledAt is the last check that read the provider API.
	LastReconciledAt time.Time `json:"lastReconciledAt,omitzero"`
	// Overdue is set while the entity is past its status's deadline,
	// OverdueSince being that deadline; Notices are the entity.overdue
	// events kept for delivery.
	Overdue      bool      `json:"overdue,omitempty"`
	OverdueSince time.Time `json:"overdueSince,omitzero"`
	Notices      []Notice  `json:"notices,omitempty"`
	// Deliveries are the transitions' deliveries to the configured targets:
	// every unfinished one, and the latest finished.
	Deliveries []Delivery `json:"deliveries,omitempty"`
	// Waiting is set while events wait for a slow destination to take
	// the transitions held for it (revision 3).
	Waiting bool `json:"waiting,omitempty"`
	// ForgottenUpTo is the event-ID memory's watermark: an event the
	// memory no longer holds, stamped by the provider at or before it, is
	// a redelivery and judged stale (revision 3).
	ForgottenUpTo time.Time `json:"forgottenUpTo,omitzero"`
	// Rejected counts the signals dropped as malformed, the latest of
	// them in Rejections.
	Rejected   int         `json:"rejected,omitempty"`
	Rejections []Rejection `json:"rejections,omitempty"`
}

// record is the entity's state in the one shape a run works on: State,
// the query's answer and the workflow's result, with what a run keeps
// beside it. The shapes it travels in are converted here, and only here:
// Carry (ContinueAsNew's input), Snapshot (QuerySnapshot's answer, and the
// memo of runs before revision 3) and the summary memo (MemoSummaryKey).
// Their JSON never changes: recorded histories and old runs' inputs
// decode as they were written.
type record struct {
	state  State
	memory *memory
	// bodies are the original bodies held for pending deliveries, by seq;
	// looked up only, never iterated.
	bodies map[int]json.RawMessage
	// terminalAt is when the terminal status was reached, so lingering
	// goes on across runs.
	terminalAt time.Time
	// lastActivity is the last event or reprocess; zero until the first,
	// when the idle clock runs from the run's start.
	lastActivity time.Time
	// checkFrom is the last event, reprocess or check the reconcile
	// schedule runs from, checkStep the step it is at (revision 2).
	checkFrom time.Time
	checkStep int
}

// carry is the record as a run hands it to its continuation.
func (r *record) carry() *Carry {
	c := &Carry{State: r.state, Seen: r.memory.packed(), SeenTimes: r.memory.times(), Bodies: r.bodies,
		TerminalAt: r.terminalAt, LastActivity: r.lastActivity, CheckFrom: r.checkFrom, CheckStep: r.checkStep}
	c.State.Waiting = false
	return c
}

// takeCarry takes the record a run was handed by the run it continues.
func (r *record) takeCarry(c Carry) {
	r.state = c.State
	r.terminalAt = c.TerminalAt
	r.lastActivity = c.LastActivity
	r.checkFrom, r.checkStep = c.CheckFrom, c.CheckStep
	r.memory.load(c.Seen, c.EventIDs, c.SeenTimes)
	r.memory.forgotten = r.state.ForgottenUpTo.UnixMilli()
	if r.state.ForgottenUpTo.IsZero() {
		r.memory.forgotten = 0
	}
	if c.Bodies != nil {
		r.bodies = c.Bodies
	}
}

// restore takes a previous run's snapshot as this run's state.
func (e *entity) restore(s Snapshot) {
	e.state.Status, e.state.ResumeFrom, e.state.Sequence = s.Status, s.ResumeFrom, s.Sequence
	e.state.Processed, e.state.Duplicates = s.Processed, s.Duplicates
	e.state.Transitions, e.state.Events = s.Transitions, s.Events
	e.state.Terminal = e.kind.Terminal[s.Status]
	e.state.LastError = ""
	e.state.Deliveries = s.Deliveries
	if s.Bodies != nil {
		e.bodies = s.Bodies
	}
	e.memory.load(s.Seen, s.EventIDs, s.SeenTimes)
	if e.does.querySnapshot {
		e.state.Notices, e.state.Overdue, e.state.OverdueSince = s.Notices, s.Overdue, s.OverdueSince
		e.state.Rejected = s.Rejected
		e.state.ForgottenUpTo = s.ForgottenUpTo
		if !s.ForgottenUpTo.IsZero() {
			e.memory.forgotten = s.ForgottenUpTo.UnixMilli()
		}
	}
}

// snapshot is what this run leaves in its memo for the next.
func (e *entity) snapshot(ctx workflow.Context) Snapshot {
	s := Snapshot{
		Status: e.state.Status, ResumeFrom: e.state.ResumeFrom, Processed: e.state.Processed, Duplicates: e.state.Duplicates,
		Sequence: e.state.Sequence, Transitions: e.state.Transitions, Events: e.state.Events,
		Seen: e.memory.packed(), Deliveries: e.state.Deliveries, Bodies: e.bodies, SavedAt: workflow.Now(ctx),
	}
	if e.does.querySnapshot {
		s.SeenTimes, s.ForgottenUpTo = e.memory.times(), e.state.ForgottenUpTo
		s.Notices, s.Overdue, s.OverdueSince = e.state.Notices, e.state.Overdue, e.state.OverdueSince
		s.Rejected, s.Unloaded = e.state.Rejected, e.unloaded
	}
	return s
}

// summary is the state as published in the memo (MemoSummaryKey): the
// status, counts, last error and the latest transitions (without details)
// and events, within summaryBytes.
func (e *entity) summary() Snapshot {
	s := e.state
	ts := s.Transitions[max(0, len(s.Transitions)-summaryKept):]
	kept := make([]event.Transition, 0, len(ts))
	for _, t := range ts {
		t.Details = nil
		kept = append(kept, t)
	}
	return Snapshot{
		Status: s.Status, ResumeFrom: s.ResumeFrom, Processed: s.Processed, Duplicates: s.Duplicates, Sequence: s.Sequence,
		Transitions: keepLast(kept, summaryBytes/2), Events: keepLast(s.Events[max(0, len(s.Events)-summaryKept):], summaryBytes/4),
		Overdue: s.Overdue, OverdueSince: s.OverdueSince, Rejected: s.Rejected,
	}
}

// sameSummary reports whether a and b publish the same state.
func sameSummary(a, b Snapshot) bool {
	return a.Status == b.Status && a.ResumeFrom == b.ResumeFrom && a.Processed == b.Processed && a.Duplicates == b.Duplicates &&
		a.Sequence == b.Sequence && a.Overdue == b.Overdue && a.Rejected == b.Rejected
}
