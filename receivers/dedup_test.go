package receivers_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hookflow/hookflow/receivers"
)

const (
	testPrefix     = "hookflow:dedup:"
	testPendingTTL = 30 * time.Second
	testDoneTTL    = 72 * time.Hour
)

// newRedisDedup returns the Redis Dedup on a fresh redis-server and a client
// to inspect it.
func newRedisDedup(t *testing.T) (*receivers.Redis, *redis.Client) {
	t.Helper()
	addr, _ := startRedis(t)
	c := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { c.Close() })
	return &receivers.Redis{Client: c, Prefix: testPrefix, PendingTTL: testPendingTTL, DoneTTL: testDoneTTL}, c
}

// record returns the stored value and TTL of key ("" and 0 when absent).
func record(t *testing.T, c *redis.Client, key string) (string, time.Duration) {
	t.Helper()
	ctx := context.Background()
	v, err := c.Get(ctx, testPrefix+key).Result()
	if errors.Is(err, redis.Nil) {
		return "", 0
	}
	if err != nil {
		t.Fatalf("GET %s: %v", key, err)
	}
	ttl, err := c.TTL(ctx, testPrefix+key).Result()
	if err != nil {
		t.Fatalf("TTL %s: %v", key, err)
	}
	return v, ttl
}

// wantTTL checks that a fresh record's TTL is set and close to want.
func wantTTL(t *testing.T, got, want time.Duration) {
	t.Helper()
	if got <= 0 || got > want || got < want-5*time.Second {
		t.Errorf("TTL: got %v, want about %v", got, want)
	}
}

// wantClaim claims key and checks the state found; it returns the claim.
func wantClaim(t *testing.T, d receivers.Dedup, key string, want receivers.State) receivers.Claim {
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
	d, c := newRedisDedup(t)
	ctx := context.Background()
	const key = "phoenix:evt_1"

	claim := wantClaim(t, d, key, receivers.Claimed)
	if len(claim.Token) != 32 {
		t.Errorf("token %q: want 32 hex digits (16 random bytes)", claim.Token)
	}
	v, ttl := record(t, c, key)
	if want := "pending:" + claim.Token; v != want {
		t.Errorf("after Claim: got %q, want %q", v, want)
	}
	wantTTL(t, ttl, testPendingTTL)

	if other := wantClaim(t, d, key, receivers.InFlight); other.Token != "" {
		t.Errorf("InFlight claim has token %q, want none: it owns nothing", other.Token)
	}

	if err := d.Finish(ctx, key, claim.Token); err != nil {
		t.Fatalf("Finish: %v", err)
	}
	v, ttl = record(t, c, key)
	if v != "done" {
		t.Errorf("after Finish: got %q, want done", v)
	}
	wantTTL(t, ttl, testDoneTTL)

	wantClaim(t, d, key, receivers.Done)
	// A Claim of a done key must not turn it back into pending or shorten it.
	v, ttl = record(t, c, key)
	if v != "done" {
		t.Errorf("after Claim of a done key: got %q, want done", v)
	}
	wantTTL(t, ttl, testDoneTTL)

	// Other keys, including another provider's same event ID, are separate,
	// and every claim gets its own token.
	a := wantClaim(t, d, "phoenix:evt_2", receivers.Claimed)
	b := wantClaim(t, d, "up42:evt_1", receivers.Claimed)
	if a.Token == b.Token || a.Token == claim.Token {
		t.Errorf("tokens %q, %q, %q: want each claim's own", claim.Token, a.Token, b.Token)
	}
}

func TestRedisRelease(t *testing.T) {
	d, c := newRedisDedup(t)
	ctx := context.Background()

	t.Run("pending key deleted", func(t *testing.T) {
		const key = "phoenix:pending"
		claim := wantClaim(t, d, key, receivers.Claimed)
		if err := d.Release(ctx, key, claim.Token); err != nil {
			t.Fatalf("Release: %v", err)
		}
		if v, _ := record(t, c, key); v != "" {
			t.Errorf("after Release: got %q, want no record", v)
		}
		// The provider's retry gets through.
		wantClaim(t, d, key, receivers.Claimed)
	})
	t.Run("done key kept", func(t *testing.T) {
		const key = "phoenix:done"
		claim := wantClaim(t, d, key, receivers.Claimed)
		if err := d.Finish(ctx, key, claim.Token); err != nil {
			t.Fatalf("Finish: %v", err)
		}
		if err := d.Release(ctx, key, claim.Token); err != nil {
			t.Fatalf("Release: %v", err)
		}
		v, ttl := record(t, c, key)
		if v != "done" {
			t.Errorf("after Release of a done key: got %q, want done", v)
		}
		wantTTL(t, ttl, testDoneTTL)
		wantClaim(t, d, key, receivers.Done)
	})
	t.Run("absent key", func(t *testing.T) {
		if err := d.Release(ctx, "phoenix:absent", "0123"); err != nil {
			t.Errorf("Release of an absent key: %v", err)
		}
		if v, _ := record(t, c, "phoenix:absent"); v != "" {
			t.Errorf("after Release of an absent key: got %q, want no record", v)
		}
	})
}

func TestRedisConcurrentClaims(t *testing.T) {
	d, _ := newRedisDedup(t)
	const n = 20
	var (
		wg     sync.WaitGroup
		start  = make(chan struct{})
		claims = make([]receivers.Claim, n)
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

	count := map[receivers.State]int{}
	for i := range claims {
		if errs[i] != nil {
			t.Fatalf("Claim %d: %v", i, errs[i])
		}
		count[claims[i].State]++
	}
	if count[receivers.Claimed] != 1 || count[receivers.InFlight] != n-1 {
		t.Errorf("got %d Claimed, %d InFlight, %d Done; want 1, %d, 0",
			count[receivers.Claimed], count[receivers.InFlight], count[receivers.Done], n-1)
	}
}

func TestRedisUnreachable(t *testing.T) {
	addr, stop := startRedis(t)
	stop()
	c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialTimeout: time.Second})
	t.Cleanup(func() { c.Close() })
	d := &receivers.Redis{Client: c, Prefix: testPrefix, PendingTTL: testPendingTTL, DoneTTL: testDoneTTL}
	ctx := context.Background()
	if _, err := d.Claim(ctx, "phoenix:x"); err == nil {
		t.Error("Claim: got nil error from a stopped Redis")
	}
	if err := d.Finish(ctx, "phoenix:x", "0123"); err == nil {
		t.Error("Finish: got nil error from a stopped Redis")
	}
	if err := d.Release(ctx, "phoenix:x", "0123"); err == nil {
		t.Error("Release: got nil error from a stopped Redis")
	}
}

// lossyConn is a connection to Redis that can lose the reply to one SET:
// the command reaches Redis and is applied, its reply is read off the wire
// and thrown away, and the client sees the connection drop.
type lossyConn struct {
	net.Conn
	lose *atomic.Bool // armed: the next SET's reply is lost
	drop bool         // this connection's next read loses the reply
}

func (c *lossyConn) Write(b []byte) (int, error) {
	if bytes.Contains(bytes.ToLower(b), []byte("$3\r\nset\r\n")) && c.lose.CompareAndSwap(true, false) {
		c.drop = true
	}
	return c.Conn.Write(b)
}

func (c *lossyConn) Read(b []byte) (int, error) {
	if !c.drop {
		return c.Conn.Read(b)
	}
	c.drop = false
	// Wait for the reply, so the SET has surely been applied, then lose it.
	if _, err := c.Conn.Read(b); err != nil {
		return 0, err
	}
	c.Conn.Close()
	return 0, io.EOF
}

// newLossyRedisDedup is newRedisDedup whose client loses the reply to the
// next SET once lose is set, and retries a failed command maxRetries times
// (-1: never).
func newLossyRedisDedup(t *testing.T, maxRetries int) (d *receivers.Redis, inspect *redis.Client, lose *atomic.Bool) {
	t.Helper()
	addr, _ := startRedis(t)
	lose = new(atomic.Bool)
	lossy := redis.NewClient(&redis.Options{
		Addr:       addr,
		MaxRetries: maxRetries,
		Dialer: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return &lossyConn{Conn: c, lose: lose}, nil
		},
	})
	inspect = redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { lossy.Close(); inspect.Close() })
	return &receivers.Redis{Client: lossy, Prefix: testPrefix, PendingTTL: testPendingTTL, DoneTTL: testDoneTTL}, inspect, lose
}

// setRecord writes key's record as another request (or an older receiver)
// would, with a TTL of its own, distinct from both of the store's TTLs so
// that a rewrite shows.
func setRecord(t *testing.T, c *redis.Client, key, value string) {
	t.Helper()
	if err := c.Set(context.Background(), testPrefix+key, value, otherTTL).Err(); err != nil {
		t.Fatalf("SET %s: %v", key, err)
	}
}

const otherTTL = time.Hour

// wantRecord checks that key still holds value with the TTL setRecord gave
// it, or holds no record when value is "".
func wantRecord(t *testing.T, c *redis.Client, key, value string, ttl time.Duration) {
	t.Helper()
	got, gotTTL := record(t, c, key)
	if got != value {
		t.Fatalf("record %s: got %q, want %q", key, got, value)
	}
	if value != "" {
		wantTTL(t, gotTTL, ttl)
	}
}

// TestRedisOwnedClaims is the race of two requests for one event: request
// A claims it, A's pending record expires during a slow start, request B
// claims it, and then A's late Release or Finish arrives. It must leave B's
// record as it is; an older receiver's records are read and left alone too.
func TestRedisOwnedClaims(t *testing.T) {
	d, c := newRedisDedup(t)
	ctx := context.Background()
	type action struct {
		name string
		do   func(key, token string) error
	}
	late := []action{
		{"release", func(key, token string) error { return d.Release(ctx, key, token) }},
		{"finish", func(key, token string) error { return d.Finish(ctx, key, token) }},
	}
	tests := []struct {
		name  string
		other func(t *testing.T, key string) string // B's record, after A's expired
		state receivers.State                       // what a third claim finds
	}{
		{"B in flight", func(t *testing.T, key string) string {
			b := wantClaim(t, d, key, receivers.Claimed)
			if err := c.PExpire(ctx, testPrefix+key, otherTTL).Err(); err != nil {
				t.Fatal(err)
			}
			return "pending:" + b.Token
		}, receivers.InFlight},
		{"B done", func(t *testing.T, key string) string {
			b := wantClaim(t, d, key, receivers.Claimed)
			if err := d.Finish(ctx, key, b.Token); err != nil {
				t.Fatalf("B's Finish: %v", err)
			}
			if err := c.PExpire(ctx, testPrefix+key, otherTTL).Err(); err != nil {
				t.Fatal(err)
			}
			return "done"
		}, receivers.Done},
		{"older receiver's pending", func(t *testing.T, key string) string {
			setRecord(t, c, key, "pending")
			return "pending"
		}, receivers.InFlight},
		{"older receiver's done", func(t *testing.T, key string) string {
			setRecord(t, c, key, "done")
			return "done"
		}, receivers.Done},
	}
	for _, tt := range tests {
		for _, act := range late {
			t.Run(tt.name+"/A's late "+act.name, func(t *testing.T) {
				key := "phoenix:" + strings.NewReplacer(" ", "-", "'", "").Replace(tt.name+"/"+act.name)
				a := wantClaim(t, d, key, receivers.Claimed)
				// A's pending TTL runs out while its start is slow.
				if err := c.Del(ctx, testPrefix+key).Err(); err != nil {
					t.Fatal(err)
				}
				want := tt.other(t, key)
				if err := act.do(key, a.Token); err != nil {
					t.Fatalf("A's %s: %v", act.name, err)
				}
				wantRecord(t, c, key, want, otherTTL)
				wantClaim(t, d, key, tt.state)
				wantRecord(t, c, key, want, otherTTL) // a claim changes no record either
			})
		}
	}
}

// TestRedisFinishAfterExpiry: a start slower than the pending TTL still
// leaves done behind when no other request claimed the event meanwhile.
func TestRedisFinishAfterExpiry(t *testing.T) {
	d, c := newRedisDedup(t)
	const key = "phoenix:slow"
	a := wantClaim(t, d, key, receivers.Claimed)
	if err := c.Del(context.Background(), testPrefix+key).Err(); err != nil {
		t.Fatal(err)
	}
	if err := d.Finish(context.Background(), key, a.Token); err != nil {
		t.Fatalf("Finish: %v", err)
	}
	wantRecord(t, c, key, "done", testDoneTTL)
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
		wantState  receivers.State
		wantErr    bool
		after      string // the record after the claim: "own" for its pending:<token>
		release    string // the record after the claim's Release
		finish     string // the record after the claim's Finish
	}{
		{"applied, retried by the client", 1, "", receivers.Claimed, false, "own", "", "done"},
		{"applied, not retried", -1, "", receivers.Claimed, true, "own", "", "done"},
		{"another's record, retried", 1, "pending:bbbb", receivers.InFlight, false, "pending:bbbb", "pending:bbbb", "pending:bbbb"},
		{"another's record, not retried", -1, "pending:bbbb", receivers.Claimed, true, "pending:bbbb", "pending:bbbb", "pending:bbbb"},
		{"older receiver's pending, not retried", -1, "pending", receivers.Claimed, true, "pending", "pending", "pending"},
		{"done, not retried", -1, "done", receivers.Claimed, true, "done", "done", "done"},
	}
	for _, tt := range tests {
		for _, then := range []string{"release", "finish"} {
			t.Run(tt.name+"/"+then, func(t *testing.T) {
				d, c, lose := newLossyRedisDedup(t, tt.maxRetries)
				const key = "phoenix:lost"
				if tt.other != "" {
					setRecord(t, c, key, tt.other)
				}
				lose.Store(true)
				claim, err := d.Claim(ctx, key)
				if lose.Load() {
					t.Fatal("no SET reply was lost")
				}
				if (err != nil) != tt.wantErr || claim.State != tt.wantState {
					t.Fatalf("Claim: got %v, %v; want %v with error %v", claim.State, err, tt.wantState, tt.wantErr)
				}
				if tt.wantState == receivers.Claimed && claim.Token == "" {
					t.Fatal("Claim: no token, so its record could never be released")
				}
				resolve := func(v string) (string, time.Duration) {
					switch {
					case v == "own":
						return "pending:" + claim.Token, testPendingTTL
					case v == "done" && tt.other != "done":
						return v, testDoneTTL
					}
					return v, otherTTL
				}
				want, ttl := resolve(tt.after)
				wantRecord(t, c, key, want, ttl)

				var final string
				if then == "release" {
					err, final = d.Release(ctx, key, claim.Token), tt.release
				} else {
					err, final = d.Finish(ctx, key, claim.Token), tt.finish
				}
				if err != nil {
					t.Fatalf("%s: %v", then, err)
				}
				want, ttl = resolve(final)
				wantRecord(t, c, key, want, ttl)
			})
		}
	}
}
