package dedup_test

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hookflow/hookflow/internal/dev/deduptest"
	"github.com/hookflow/hookflow/internal/dev/testenv"
	"github.com/hookflow/hookflow/receivers/dedup"
)

// wantClaim claims key and checks the state found; it returns the claim.
func wantClaim(t *testing.T, d dedup.Store, key string, want dedup.State) dedup.Claim {
	t.Helper()
	got, err := d.Claim(context.Background(), key)
	if err != nil {
		t.Fatalf("Claim(%s): %v", key, err)
	}
	if got.State != want {
		t.Fatalf("Claim(%s): got %v, want %v", key, got.State, want)
	}
	return got
}

func TestRedisClaimFinish(t *testing.T) {
	d, c := deduptest.NewRedis(t)
	ctx := context.Background()
	const key = "phoenix:evt_1"

	claim := wantClaim(t, d, key, dedup.Claimed)
	if len(claim.Token) != 32 {
		t.Errorf("token %q: want 32 hex digits (16 random bytes)", claim.Token)
	}
	v, ttl := deduptest.Record(t, c, key)
	if want := "pending:" + claim.Token; v != want {
		t.Errorf("after Claim: got %q, want %q", v, want)
	}
	deduptest.WantTTL(t, ttl, deduptest.PendingTTL)

	if other := wantClaim(t, d, key, dedup.InFlight); other.Token != "" {
		t.Errorf("InFlight claim has token %q, want none: it owns nothing", other.Token)
	}

	if err := d.Finish(ctx, claim.Token, key); err != nil {
		t.Fatalf("Finish: %v", err)
	}
	v, ttl = deduptest.Record(t, c, key)
	if v != "done" {
		t.Errorf("after Finish: got %q, want done", v)
	}
	deduptest.WantTTL(t, ttl, deduptest.DoneTTL)

	wantClaim(t, d, key, dedup.Done)
	// A Claim of a done key must not turn it back into pending or shorten it.
	v, ttl = deduptest.Record(t, c, key)
	if v != "done" {
		t.Errorf("after Claim of a done key: got %q, want done", v)
	}
	deduptest.WantTTL(t, ttl, deduptest.DoneTTL)

	// Other keys, including another provider's same event ID, are separate,
	// and every claim gets its own token.
	a := wantClaim(t, d, "phoenix:evt_2", dedup.Claimed)
	b := wantClaim(t, d, "up42:evt_1", dedup.Claimed)
	if a.Token == b.Token || a.Token == claim.Token {
		t.Errorf("tokens %q, %q, %q: want each claim's own", claim.Token, a.Token, b.Token)
	}
}

func TestRedisRelease(t *testing.T) {
	d, c := deduptest.NewRedis(t)
	ctx := context.Background()

	t.Run("pending key deleted", func(t *testing.T) {
		const key = "phoenix:pending"
		claim := wantClaim(t, d, key, dedup.Claimed)
		if err := d.Release(ctx, claim.Token, key); err != nil {
			t.Fatalf("Release: %v", err)
		}
		if v, _ := deduptest.Record(t, c, key); v != "" {
			t.Errorf("after Release: got %q, want no record", v)
		}
		// The provider's retry gets through.
		wantClaim(t, d, key, dedup.Claimed)
	})
	t.Run("done key kept", func(t *testing.T) {
		const key = "phoenix:done"
		claim := wantClaim(t, d, key, dedup.Claimed)
		if err := d.Finish(ctx, claim.Token, key); err != nil {
			t.Fatalf("Finish: %v", err)
		}
		if err := d.Release(ctx, claim.Token, key); err != nil {
			t.Fatalf("Release: %v", err)
		}
		v, ttl := deduptest.Record(t, c, key)
		if v != "done" {
			t.Errorf("after Release of a done key: got %q, want done", v)
		}
		deduptest.WantTTL(t, ttl, deduptest.DoneTTL)
		wantClaim(t, d, key, dedup.Done)
	})
	t.Run("absent key", func(t *testing.T) {
		if err := d.Release(ctx, "0123", "phoenix:absent"); err != nil {
			t.Errorf("Release of an absent key: %v", err)
		}
		if v, _ := deduptest.Record(t, c, "phoenix:absent"); v != "" {
			t.Errorf("after Release of an absent key: got %q, want no record", v)
		}
	})
}

func TestRedisConcurrentClaims(t *testing.T) {
	d, _ := deduptest.NewRedis(t)
	const n = 20
	var (
		wg     sync.WaitGroup
		start  = make(chan struct{})
		claims = make([]dedup.Claim, n)
		errs   = make([]error, n)
	)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			claims[i], errs[i] = d.Claim(context.Background(), "phoenix:race")
		}()
	}
	close(start)
	wg.Wait()

	count := map[dedup.State]int{}
	for i := range claims {
		if errs[i] != nil {
			t.Fatalf("Claim %d: %v", i, errs[i])
		}
		count[claims[i].State]++
	}
	if count[dedup.Claimed] != 1 || count[dedup.InFlight] != n-1 {
		t.Errorf("got %d Claimed, %d InFlight, %d Done; want 1, %d, 0",
			count[dedup.Claimed], count[dedup.InFlight], count[dedup.Done], n-1)
	}
}

func TestRedisUnreachable(t *testing.T) {
	r := testenv.StartRedis(t)
	r.Stop()
	addr := "127.0.0.1:" + strconv.Itoa(r.Port)
	c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialTimeout: time.Second})
	t.Cleanup(func() { c.Close() })
	d := &dedup.Redis{Client: c, Prefix: deduptest.Prefix, PendingTTL: deduptest.PendingTTL, DoneTTL: deduptest.DoneTTL}
	ctx := context.Background()
	for _, keys := range [][]string{{"phoenix:x"}, {"fenix:x", "fenix#sha256:aa"}} {
		claim, err := d.Claim(ctx, keys...)
		if err == nil {
			t.Errorf("Claim(%q): got nil error from a stopped Redis", keys)
		}
		if claim.State != dedup.Claimed || claim.Token == "" {
			t.Errorf("Claim(%q): got %v with token %q, want Claimed with a token (its SETs may have applied)", keys, claim.State, claim.Token)
		}
		if err := d.Finish(ctx, "0123", keys...); err == nil {
			t.Errorf("Finish(%q): got nil error from a stopped Redis", keys)
		}
		if err := d.Release(ctx, "0123", keys...); err == nil {
			t.Errorf("Release(%q): got nil error from a stopped Redis", keys)
		}
	}
}

// TestRedisOwnedClaims is the race of two requests for one event: request
// A claims it, A's pending record expires during a slow start, request B
// claims it, and then A's late Release or Finish arrives. It must leave B's
// record as it is; an older receiver's records are read and left alone too.
func TestRedisOwnedClaims(t *testing.T) {
	d, c := deduptest.NewRedis(t)
	ctx := context.Background()
	type action struct {
		name string
		do   func(key, token string) error
	}
	late := []action{
		{"release", func(key, token string) error { return d.Release(ctx, token, key) }},
		{"finish", func(key, token string) error { return d.Finish(ctx, token, key) }},
	}
	tests := []struct {
		name  string
		other func(t *testing.T, key string) string // B's record, after A's expired
		state dedup.State                           // what a third claim finds
	}{
		{"B in flight", func(t *testing.T, key string) string {
			b := wantClaim(t, d, key, dedup.Claimed)
			if err := c.PExpire(ctx, deduptest.Prefix+key, deduptest.OtherTTL).Err(); err != nil {
				t.Fatal(err)
			}
			return "pending:" + b.Token
		}, dedup.InFlight},
		{"B done", func(t *testing.T, key string) string {
			b := wantClaim(t, d, key, dedup.Claimed)
			if err := d.Finish(ctx, b.Token, key); err != nil {
				t.Fatalf("B's Finish: %v", err)
			}
			if err := c.PExpire(ctx, deduptest.Prefix+key, deduptest.OtherTTL).Err(); err != nil {
				t.Fatal(err)
			}
			return "done"
		}, dedup.Done},
		{"older receiver's pending", func(t *testing.T, key string) string {
			deduptest.SetRecord(t, c, key, "pending")
			return "pending"
		}, dedup.InFlight},
		{"older receiver's done", func(t *testing.T, key string) string {
			deduptest.SetRecord(t, c, key, "done")
			return "done"
		}, dedup.Done},
	}
	for _, tt := range tests {
		for _, act := range late {
			t.Run(tt.name+"/A's late "+act.name, func(t *testing.T) {
				key := "phoenix:" + strings.NewReplacer(" ", "-", "'", "").Replace(tt.name+"/"+act.name)
				a := wantClaim(t, d, key, dedup.Claimed)
				// A's pending TTL runs out while its start is slow.
				if err := c.Del(ctx, deduptest.Prefix+key).Err(); err != nil {
					t.Fatal(err)
				}
				want := tt.other(t, key)
				if err := act.do(key, a.Token); err != nil {
					t.Fatalf("A's %s: %v", act.name, err)
				}
				deduptest.WantRecord(t, c, key, want, deduptest.OtherTTL)
				wantClaim(t, d, key, tt.state)
				deduptest.WantRecord(t, c, key, want, deduptest.OtherTTL) // a claim changes no record either
			})
		}
	}
}

// TestRedisFinishAfterExpiry: a start slower than the pending TTL still
// leaves done behind when no other request claimed the event meanwhile.
func TestRedisFinishAfterExpiry(t *testing.T) {
	d, c := deduptest.NewRedis(t)
	const key = "phoenix:slow"
	a := wantClaim(t, d, key, dedup.Claimed)
	if err := c.Del(context.Background(), deduptest.Prefix+key).Err(); err != nil {
		t.Fatal(err)
	}
	if err := d.Finish(context.Background(), a.Token, key); err != nil {
		t.Fatalf("Finish: %v", err)
	}
	deduptest.WantRecord(t, c, key, "done", deduptest.DoneTTL)
}

// TestRedisLostReply: a claim whose SET reached Redis but whose reply was
// lost. Retried by the client, it recognises its own record; not retried,
// it fails but keeps its token, and its Release or Finish reaches its own
// record when the SET applied, and never another request's.
func TestRedisLostReply(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name       string
		maxRetries int
		other      string // a record already there, "" for none
		wantState  dedup.State
		wantErr    bool
		after      string // the record after the claim: "own" for its pending:<token>
		release    string // the record after the claim's Release
		finish     string // the record after the claim's Finish
	}{
		{"applied, retried by the client", 1, "", dedup.Claimed, false, "own", "", "done"},
		{"applied, not retried", -1, "", dedup.Claimed, true, "own", "", "done"},
		{"another's record, retried", 1, "pending:bbbb", dedup.InFlight, false, "pending:bbbb", "pending:bbbb", "pending:bbbb"},
		{"another's record, not retried", -1, "pending:bbbb", dedup.Claimed, true, "pending:bbbb", "pending:bbbb", "pending:bbbb"},
		{"older receiver's pending, not retried", -1, "pending", dedup.Claimed, true, "pending", "pending", "pending"},
		{"done, not retried", -1, "done", dedup.Claimed, true, "done", "done", "done"},
	}
	for _, tt := range tests {
		for _, then := range []string{"release", "finish"} {
			t.Run(tt.name+"/"+then, func(t *testing.T) {
				d, c, lose := deduptest.NewLossyRedis(t, tt.maxRetries)
				const key = "phoenix:lost"
				if tt.other != "" {
					deduptest.SetRecord(t, c, key, tt.other)
				}
				lose.Store(true)
				claim, err := d.Claim(ctx, key)
				if lose.Load() {
					t.Fatal("no SET reply was lost")
				}
				if (err != nil) != tt.wantErr || claim.State != tt.wantState {
					t.Fatalf("Claim: got %v, %v; want %v with error %v", claim.State, err, tt.wantState, tt.wantErr)
				}
				if tt.wantState == dedup.Claimed && claim.Token == "" {
					t.Fatal("Claim: no token, so its record could never be released")
				}
				resolve := func(v string) (string, time.Duration) {
					switch {
					case v == "own":
						return "pending:" + claim.Token, deduptest.PendingTTL
					case v == "done" && tt.other != "done":
						return v, deduptest.DoneTTL
					}
					return v, deduptest.OtherTTL
				}
				want, ttl := resolve(tt.after)
				deduptest.WantRecord(t, c, key, want, ttl)

				var final string
				if then == "release" {
					err, final = d.Release(ctx, claim.Token, key), tt.release
				} else {
					err, final = d.Finish(ctx, claim.Token, key), tt.finish
				}
				if err != nil {
					t.Fatalf("%s: %v", then, err)
				}
				want, ttl = resolve(final)
				deduptest.WantRecord(t, c, key, want, ttl)
			})
		}
	}
}

// TestRedisClaimsEveryKey: an event of two keys (its event ID's and its
// signed body's) is claimed, finished and released as one: a key already
// done or in flight refuses the claim, which then holds neither key.
func TestRedisClaimsEveryKey(t *testing.T) {
	d, c := deduptest.NewRedis(t)
	ctx := context.Background()
	const (
		evt1, evt2, body = "fenix:evt-1", "fenix:evt-2", "fenix#sha256:aa"
		body2            = "fenix#sha256:bb"
	)
	claimKeys := func(want dedup.State, keys ...string) dedup.Claim {
		t.Helper()
		got, err := d.Claim(ctx, keys...)
		if err != nil || got.State != want {
			t.Fatalf("Claim(%q): got %v, %v; want %v", keys, got.State, err, want)
		}
		return got
	}

	a := claimKeys(dedup.Claimed, evt1, body)
	for _, key := range []string{evt1, body} {
		v, ttl := deduptest.Record(t, c, key)
		if want := "pending:" + a.Token; v != want {
			t.Errorf("after Claim, %s: got %q, want %q", key, v, want)
		}
		deduptest.WantTTL(t, ttl, deduptest.PendingTTL)
	}
	// In flight by its body alone, and by its event ID alone: the refused
	// claim gives back the key it took.
	claimKeys(dedup.InFlight, evt2, body)
	claimKeys(dedup.InFlight, evt1, body2)
	for _, key := range []string{evt2, body2} {
		deduptest.WantRecord(t, c, key, "", 0)
	}

	if err := d.Finish(ctx, a.Token, evt1, body); err != nil {
		t.Fatalf("Finish: %v", err)
	}
	for _, key := range []string{evt1, body} {
		deduptest.WantRecord(t, c, key, "done", deduptest.DoneTTL)
	}
	// Done by its body alone (a replay under a new event ID), and by its
	// event ID alone (a redelivery whose body changed).
	claimKeys(dedup.Done, evt2, body)
	claimKeys(dedup.Done, evt1, body2)
	for _, key := range []string{evt2, body2} {
		deduptest.WantRecord(t, c, key, "", 0)
	}

	// A failed start releases both; a release leaves a done record alone.
	b := claimKeys(dedup.Claimed, evt2, body2)
	if err := d.Release(ctx, b.Token, evt2, body2, evt1); err != nil {
		t.Fatalf("Release: %v", err)
	}
	for _, key := range []string{evt2, body2} {
		deduptest.WantRecord(t, c, key, "", 0)
	}
	deduptest.WantRecord(t, c, evt1, "done", deduptest.DoneTTL)
	claimKeys(dedup.Claimed, evt2, body2)
}

// TestRedisConcurrentClaimsOfOneBody: deliveries of one body under as many
// event IDs race; one gets it, and the others leave no record behind.
func TestRedisConcurrentClaimsOfOneBody(t *testing.T) {
	d, c := deduptest.NewRedis(t)
	const n = 20
	var (
		wg     sync.WaitGroup
		start  = make(chan struct{})
		claims = make([]dedup.Claim, n)
		errs   = make([]error, n)
	)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			claims[i], errs[i] = d.Claim(context.Background(), "fenix:evt-"+strconv.Itoa(i), "fenix#sha256:race")
		}()
	}
	close(start)
	wg.Wait()

	winner := -1
	for i := range claims {
		if errs[i] != nil {
			t.Fatalf("Claim %d: %v", i, errs[i])
		}
		switch claims[i].State {
		case dedup.Claimed:
			if winner >= 0 {
				t.Fatalf("claims %d and %d both got the body", winner, i)
			}
			winner = i
		case dedup.Done:
			t.Errorf("claim %d: Done, with nothing finished", i)
		}
	}
	if winner < 0 {
		t.Fatal("no claim got the body")
	}
	keys, err := c.Keys(context.Background(), deduptest.Prefix+"*").Result()
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(keys)
	want := []string{deduptest.Prefix + "fenix#sha256:race", deduptest.Prefix + "fenix:evt-" + strconv.Itoa(winner)}
	if !slices.Equal(keys, want) {
		t.Errorf("records %q, want only the winner's %q", keys, want)
	}
}
