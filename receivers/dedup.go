package receivers

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// Claim is what the dedup store knew of an event when a delivery claimed it.
type Claim int

// The outcomes of claiming an event.
const (
	Claimed  Claim = iota // first delivery: the caller must Finish or Release
	Done                  // already handed to Temporal
	InFlight              // another request is handing it to Temporal now
)

// Dedup remembers which events were delivered. Implementations must make
// Claim atomic: of concurrent claims of one key, exactly one gets Claimed.
type Dedup interface {
	// Claim marks key as in flight unless it is already known.
	Claim(ctx context.Context, key string) (Claim, error)
	// Finish marks a claimed key as delivered for the store's TTL.
	Finish(ctx context.Context, key string) error
	// Release forgets a claimed key whose start failed, so a retry gets through.
	Release(ctx context.Context, key string) error
}

// Redis is the Dedup store of the contract (section 6): SET key pending NX
// with a short TTL while the start is in flight, then done with the dedup TTL,
// deleted when the start fails. It needs Redis 7 (SET with both NX and GET).
type Redis struct {
	Client     redis.UniversalClient
	Prefix     string        // key namespace, "hookflow:dedup:"
	PendingTTL time.Duration // lifetime of an in-flight record if its request dies
	DoneTTL    time.Duration // HOOKFLOW_DEDUP_TTL
}

const (
	pending = "pending"
	done    = "done"
)

// releaseScript deletes the key only while it is still pending, so a late
// failure can never erase a completed delivery's record.
var releaseScript = redis.NewScript(`if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("DEL", KEYS[1]) end return 0`)

// Claim implements Dedup in one round trip.
func (r *Redis) Claim(ctx context.Context, key string) (Claim, error) {
	prev, err := r.Client.SetArgs(ctx, r.Prefix+key, pending, redis.SetArgs{Mode: "NX", TTL: r.PendingTTL, Get: true}).Result()
	switch {
	case errors.Is(err, redis.Nil):
		return Claimed, nil
	case err != nil:
		return Claimed, err
	case prev == done:
		return Done, nil
	default:
		return InFlight, nil
	}
}

// Finish implements Dedup.
func (r *Redis) Finish(ctx context.Context, key string) error {
	return r.Client.Set(ctx, r.Prefix+key, done, r.DoneTTL).Err()
}

// Release implements Dedup.
func (r *Redis) Release(ctx context.Context, key string) error {
	return releaseScript.Run(ctx, r.Client, []string{r.Prefix + key}, pending).Err()
}

// ErrDedupSkipped is returned by Breaker.Claim, at once, while the store is
// in its cooldown after a failure. Nothing was written, so the delivery has
// no record to finish or release.
var ErrDedupSkipped = errors.New("dedup store skipped: it failed moments ago")

// Breaker wraps a Dedup so that while the store is failing (Redis down or
// unreachable), deliveries are not each held up by its timeouts: after a
// failed Claim, Claims are skipped for Cooldown, then one delivery probes the
// store while the others go on skipping it. Deliveries are accepted either
// way; the workflows deduplicate by event ID themselves. Finish and Release
// always go through, so a delivery that did claim keeps its record true.
type Breaker struct {
	Dedup    Dedup
	Cooldown time.Duration

	openUntil atomic.Int64     // UnixNano before which Claims skip the store; 0 when closed
	now       func() time.Time // time.Now; tests replace it
}

// Claim implements Dedup.
func (b *Breaker) Claim(ctx context.Context, key string) (Claim, error) {
	if until := b.openUntil.Load(); until != 0 {
		now := b.clock()
		// Of the deliveries that find the cooldown over, one probes.
		if now.UnixNano() < until || !b.openUntil.CompareAndSwap(until, now.Add(b.Cooldown).UnixNano()) {
			return Claimed, ErrDedupSkipped
		}
	}
	c, err := b.Dedup.Claim(ctx, key)
	switch {
	case err != nil:
		b.openUntil.Store(b.clock().Add(b.Cooldown).UnixNano())
	case b.openUntil.Load() != 0:
		b.openUntil.Store(0)
	}
	return c, err
}

// Finish implements Dedup.
func (b *Breaker) Finish(ctx context.Context, key string) error { return b.Dedup.Finish(ctx, key) }

// Release implements Dedup.
func (b *Breaker) Release(ctx context.Context, key string) error { return b.Dedup.Release(ctx, key) }

func (b *Breaker) clock() time.Time {
	if b.now != nil {
		return b.now()
	}
	return time.Now()
}
