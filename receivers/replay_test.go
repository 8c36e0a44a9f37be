package receivers_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"reflect"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.temporal.io/api/serviceerror"

	"github.com/hookflow/hookflow/event"
	"github.com/hookflow/hookflow/internal/dev/deduptest"
	"github.com/hookflow/hookflow/internal/dev/testenv"
	"github.com/hookflow/hookflow/providers"
	"github.com/hookflow/hookflow/receivers"
	"github.com/hookflow/hookflow/receivers/dedup"
	"github.com/hookflow/hookflow/receivers/starter"
)

const fenixFile = "fenix-tracking-updated.json"

// fenixRig is a Fenix receiver, with the fixture's secret, on store.
func fenixRig(t *testing.T, store receivers.Dedup, secret string) *rig {
	t.Helper()
	r := &rig{starter: &fakeStarter{}}
	rcv := receivers.New(receivers.Options{
		Start:        starter.Starter{Client: r.starter, TaskQueue: testTaskQueue},
		Dedup:        store,
		Log:          slog.New(slog.DiscardHandler),
		MaxBodyBytes: 4096,
		StartTimeout: time.Second,
	})
	r.app = receivers.NewApp(rcv, []receivers.Provider{providers.Fenix(providers.FenixVerifier([]string{secret}))})
	return r
}

// sha256Hex is the oracle of a body's digest.
func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// resigned is the Fenix fixture's headers with the event ID set to id and,
// for another body, its own signature.
func resigned(vec vector, body []byte, id string) map[string]string {
	h := map[string]string{}
	for k, v := range vec.Headers {
		h[k] = v
	}
	h[providers.FenixEventIDHeader] = id
	h[providers.FenixSignatureHeader] = providers.FenixSignature([]byte(vec.Secret), body)
	return h
}

// wantRecords checks the store holds exactly records (key → value) and
// nothing else.
func wantRecords(t *testing.T, c *redis.Client, records map[string]string) {
	t.Helper()
	var want []string
	for key := range records {
		want = append(want, deduptest.Prefix+key)
		if v, _ := deduptest.Record(t, c, key); v != records[key] {
			t.Errorf("record %s = %q, want %q", key, v, records[key])
		}
	}
	got := dbKeys(t, c)
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("records %q, want %q", got, want)
	}
}

// TestReplayedFenixBody: Fenix's event ID (X-Fenix-Event-Id) is outside its
// signature, so a captured body replayed under a fresh event ID is answered
// as a duplicate, from the body's own dedup record, and Temporal never sees
// it; another body is an event of its own; a failed start leaves neither
// record behind (contract section 17).
func TestReplayedFenixBody(t *testing.T) {
	body, vec := loadVector(t, fenixFile)
	store, c := deduptest.NewRedis(t)
	r := fenixRig(t, store, vec.Secret)
	eventKey, bodyKey := "fenix:"+vec.Headers[providers.FenixEventIDHeader], "fenix#sha256:"+sha256Hex(body)

	first := post(t, r.app, "/webhooks/fenix", body, vec.Headers)
	wantStatus(t, first, 200)
	calls := r.starter.Calls()
	if len(calls) != 1 {
		t.Fatalf("%d starts, want 1", len(calls))
	}
	if ev, _ := calls[0].arg.(event.Event); ev.BodyDigest != sha256Hex(body) {
		t.Errorf("signalled BodyDigest %q, want the SHA-256 of the body as sent, %s", ev.BodyDigest, sha256Hex(body))
	}
	wantRecords(t, c, map[string]string{eventKey: "done", bodyKey: "done"})

	// Fenix's own redelivery, and the body under a fresh event ID: both
	// answered as a duplicate is, neither reaching Temporal.
	redelivered := post(t, r.app, "/webhooks/fenix", body, vec.Headers)
	replayed := post(t, r.app, "/webhooks/fenix", body, resigned(vec, body, "evt-replayed"))
	wantStatus(t, redelivered, 200)
	wantStatus(t, replayed, 200)
	want := redelivered.json(t)
	if want["duplicate"] != true {
		t.Fatalf("redelivery answered %s, want a duplicate", redelivered.body)
	}
	want["eventId"] = "evt-replayed"
	if got := replayed.json(t); !reflect.DeepEqual(got, want) {
		t.Errorf("replay answered %v, want a duplicate's answer %v", got, want)
	}
	if n := len(r.starter.Calls()); n != 1 {
		t.Errorf("%d starts after the replay, want 1", n)
	}
	wantRecords(t, c, map[string]string{eventKey: "done", bodyKey: "done"})

	// Another body is another event, under any event ID.
	other := bytes.Replace(body, []byte(`"OUT_FOR_DELIVERY"`), []byte(`"DELIVERED"`), 1)
	accepted := post(t, r.app, "/webhooks/fenix", other, resigned(vec, other, "evt-other"))
	wantStatus(t, accepted, 200)
	if accepted.json(t)["duplicate"] != false {
		t.Errorf("another body answered %s, want accepted", accepted.body)
	}
	if n := len(r.starter.Calls()); n != 2 {
		t.Errorf("%d starts after another body, want 2", n)
	}
	otherKeys := map[string]string{eventKey: "done", bodyKey: "done", "fenix:evt-other": "done", "fenix#sha256:" + sha256Hex(other): "done"}
	wantRecords(t, c, otherKeys)

	// A failed start releases both of its records, so the retry gets
	// through.
	third := bytes.Replace(body, []byte(`"OUT_FOR_DELIVERY"`), []byte(`"EXCEPTION"`), 1)
	r.starter.setErr(serviceerror.NewUnavailable("frontend down"))
	wantStatus(t, post(t, r.app, "/webhooks/fenix", third, resigned(vec, third, "evt-third")), 503)
	wantRecords(t, c, otherKeys)
	r.starter.setErr(nil)
	retried := post(t, r.app, "/webhooks/fenix", third, resigned(vec, third, "evt-third"))
	wantStatus(t, retried, 200)
	if retried.json(t)["duplicate"] != false || len(r.starter.Calls()) != 4 {
		t.Errorf("retry after a failed start: %s, %d starts; want accepted, 4", retried.body, len(r.starter.Calls()))
	}
}

// TestBodyKeyOnlyWhereEventIDUnsigned: a provider whose event ID is signed
// keeps its one record per event, and its events carry no digest.
func TestBodyKeyOnlyWhereEventIDUnsigned(t *testing.T) {
	body, vec := loadVector(t, fulfilledFile)
	store, c := deduptest.NewRedis(t)
	r, _ := redisRig(t, store, nil)
	wantStatus(t, post(t, r.app, "/webhooks/phoenix", body, vec.Headers), 200)
	wantRecords(t, c, map[string]string{fulfilledKey: "done"})
	if ev, _ := r.starter.Calls()[0].arg.(event.Event); ev.BodyDigest != "" {
		t.Errorf("Phoenix event carries BodyDigest %q, want none", ev.BodyDigest)
	}
}

// TestTenantBodyKey: a tenant's Fenix body record is namespaced by the
// tenant, as its event's is.
func TestTenantBodyKey(t *testing.T) {
	r := newTenantRig(t, testTenants)
	headers := fenixHeaders(storeAFnx, fenixUpdate, providers.FenixStoreHeader, "store-a")
	wantStatus(t, post(t, r.app, "/webhooks/fenix", []byte(fenixUpdate), headers), 200)
	for _, key := range []string{"fenix@store-a:evt-1", "fenix@store-a#sha256:" + sha256Hex([]byte(fenixUpdate))} {
		if got := r.dedup.state(key); got != "done" {
			t.Errorf("record %s = %q, want done", key, got)
		}
	}
}

// TestFenixWithoutRedis: while Redis is down, a Fenix delivery is accepted
// as any other is, the workflow's memory deduplicating it.
func TestFenixWithoutRedis(t *testing.T) {
	body, vec := loadVector(t, fenixFile)
	down := testenv.StartRedis(t)
	down.Stop()
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:" + strconv.Itoa(down.Port), MaxRetries: -1, DialTimeout: time.Second})
	t.Cleanup(func() { c.Close() })
	store := dedup.NewStore(c, deduptest.PendingTTL, deduptest.DoneTTL)
	r := fenixRig(t, store, vec.Secret)
	for i, id := range []string{"evt-1", "evt-2"} {
		resp := post(t, r.app, "/webhooks/fenix", body, resigned(vec, body, id))
		wantStatus(t, resp, 200)
		if n := len(r.starter.Calls()); n != i+1 {
			t.Errorf("delivery %d: %d starts, want %d", i+1, n, i+1)
		}
	}
}
