package receivers_test

import (
	"context"
	"errors"
	"sync"
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
