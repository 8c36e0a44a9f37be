package main

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"testing"

	"github.com/hookflow/hookflow/providers"
	"github.com/hookflow/hookflow/workflows"
)

// flushRedis makes Redis forget every dedup record, as an eviction or a
// lost Redis would.
func (s *stack) flushRedis() {
	s.t.Helper()
	if err := s.rdb.FlushAll(context.Background()).Err(); err != nil {
		s.t.Fatal(err)
	}
}

// postFenix posts body as Fenix sends it, under eventID, signed as
// `hookflow send fenix` signs.
func (s *stack) postFenix(body []byte, eventID string) reply {
	s.t.Helper()
	p := builtin("fenix")
	d := providers.Delivery{EventID: eventID}
	return s.post(p.Routes[0], body, p.Sample.Headers(d, body, p.SendSecret(s.cfg.Setting), s.cfg.Setting))
}

// TestReplayedFenixBodyEndToEnd: the signed Fenix fixture sent twice under
// different event IDs, with Redis flushed in between, is one event: the
// workflow knows its body (contract section 17). Before the flush, the
// receiver already answers a replay as a duplicate.
func TestReplayedFenixBodyEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	const file = "fenix-tracking-updated.json"
	vec, body := loadVectors(t)[file], fixture(t, file)
	s := newStack(t, map[string]string{"FENIX_CLIENT_SECRET": vec.Secret})
	wf := vec.WorkflowID
	under := func(id string) map[string]string { // the fixture's headers, under another event ID
		h := maps.Clone(vec.Headers)
		h[providers.FenixEventIDHeader] = id
		return h
	}

	if r := s.post("/webhooks/fenix", body, vec.Headers); r.status != 200 || r.body["duplicate"] != false {
		t.Fatalf("first delivery: %d %v", r.status, r.body)
	}
	s.waitState(wf, func(st workflows.State) bool { return st.Processed == 1 })
	if r := s.post("/webhooks/fenix", body, under("evt-replayed-1")); r.status != 200 || r.body["duplicate"] != true {
		t.Errorf("replay while Redis remembers: %d %v, want 200 and a duplicate", r.status, r.body)
	}

	s.flushRedis()
	if r := s.post("/webhooks/fenix", body, under("evt-replayed-2")); r.status != 200 || r.body["duplicate"] != false {
		t.Fatalf("replay after Redis forgot: %d %v, want accepted (the workflow decides)", r.status, r.body)
	}
	st := s.waitState(wf, func(st workflows.State) bool { return st.Processed+st.Duplicates >= 2 })
	if st.Sequence != 1 || len(st.Transitions) != 1 || st.Processed != 1 || st.Duplicates != 1 {
		t.Errorf("sequence %d, transitions %d, processed %d, duplicates %d; want one transition, one event and one duplicate",
			st.Sequence, len(st.Transitions), st.Processed, st.Duplicates)
	}
	if last := st.Events[len(st.Events)-1]; last.EventID != "evt-replayed-2" || last.Outcome != "duplicate" {
		t.Errorf("the replay was recorded %+v, want evt-replayed-2 as a duplicate", last)
	}
}

// TestRevision5AgainstDevServer runs a Fenix shipment of revision 5
// against a real dev server: its EXCEPTION, a status a shipment may take
// again and again, is replayed under a fresh event ID after Redis forgot
// it, and is still applied and delivered once. With
// HOOKFLOW_RECORD_HISTORIES=1 it records the run's history beside the
// older ones in workflows/testdata, which TestReplay then replays for
// ever (and TestReplayRevision5NeedsDigestMemory without revision 5).
func TestRevision5AgainstDevServer(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	sink := newRecordingSink(t)
	env := sink.env()
	env["FENIX_CLIENT_SECRET"] = "rev5-fenix"
	env["HOOKFLOW_LINGER"] = "1s"
	s := newStack(t, env)
	const wf = "fenix-shipment:rev5-ship"
	fixtureBody := fixture(t, "fenix-tracking-updated.json")
	// The fixture's body for the shipment, in status at the minute given.
	bodyOf := func(status string, minute int) []byte {
		b := bytes.Replace(fixtureBody, []byte(`"794698751234"`), []byte(`"rev5-ship"`), 1)
		b = bytes.Replace(b, []byte(`"OUT_FOR_DELIVERY"`), []byte(`"`+status+`"`), 1)
		return bytes.Replace(b, []byte(`"2024-07-06T01:12:34-05:00"`), []byte(fmt.Sprintf(`"2024-07-06T01:%02d:34-05:00"`, 12+minute)), 1)
	}
	exception := bodyOf("EXCEPTION", 2)
	var st workflows.State
	for i, step := range []struct {
		body    []byte
		eventID string
		flush   bool // Redis forgets everything first
	}{
		{bodyOf("IN_TRANSIT", 1), "evt-rev5-1", false},
		{exception, "evt-rev5-2", false},
		{exception, "evt-rev5-replayed", true},
		{bodyOf("DELIVERED", 3), "evt-rev5-3", false},
	} {
		if step.flush {
			s.flushRedis()
		}
		if r := s.postFenix(step.body, step.eventID); r.status != 200 || r.body["duplicate"] != false {
			t.Fatalf("event %d: %d %v", i+1, r.status, r.body)
		}
		// One at a time: each event is in the run's history before the next.
		st = s.waitState(wf, func(st workflows.State) bool { return st.Processed+st.Duplicates == i+1 })
	}
	if st.Sequence != 3 || st.Duplicates != 1 || st.Status != "DELIVERED" {
		t.Errorf("sequence %d, duplicates %d, status %s; want 3, 1 (the replay), DELIVERED", st.Sequence, st.Duplicates, st.Status)
	}
	// A run closes only once its deliveries are done: the sink has them all.
	run := s.waitClosed(wf)
	checkInOrder(t, sink, wf, 3)
	recordRun(t, s, wf, run, "fenix-shipment-rev5-replayed-body")
}
