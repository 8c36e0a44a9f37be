// Package dedup is the store that remembers which webhook deliveries were
// already handed to Temporal, so that a provider's redelivery is answered
// without a workflow round trip: Redis with owned claims (contract section 6)
// and a Breaker that skips the store for a moment while it fails.
package dedup

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// State is what the dedup store knew of an event when a delivery claimed it.
type State int

// The states a claim finds.
const (
	Claimed  State = iota // first delivery: the caller must Finish or Release
	Done                  // already handed to Temporal
	InFlight              // another request is handing it to Temporal now
)

// A Claim is one delivery's claim of an event's dedup record.
type Claim struct {
	State State
	// Token names the record this delivery wrote. Claim returns it with
	// Claimed, and also with an error when the record may have been written
	// unseen (the reply was lost), so that the caller's Finish or Release
	// reaches that record if it exists, and no other.
	Token string
}

// Store remembers which events were delivered. Implementations must make
// Claim atomic: of concurrent claims of one key, exactly one gets Claimed.
// A claim's record is owned by its token: Finish and Release never act on a
// record written by another claim. Breaker wraps one; receivers.Dedup is the
// same set of methods, as the accept path uses them.
type Store interface {
	// Claim marks key as in flight unless it is already known.
	Claim(ctx context.Context, key string) (Claim, error)
	// Finish marks key as delivered for the store's TTL, unless the record
	// belongs to another claim.
	Finish(ctx context.Context, key, token string) error
	// Release forgets key's record if it is token's and still in flight, so
	// a retry of a failed start gets through.
	Release(ctx context.Context, key, token string) error
}

// Redis is the Store of the contract (section 6): SET key
// pending:<token> NX with a short TTL while the start is in flight, then done
// with the dedup TTL, deleted when the start fails; Finish and Release
// compare the token first, in a script. It needs Redis 7 (SET with both NX
// and GET).
type Redis struct {
	Client     redis.UniversalClient
	Prefix     string        // key namespace, "hookflow:dedup:"
	PendingTTL time.Duration // lifetime of an in-flight record if its request dies
	DoneTTL    time.Duration // HOOKFLOW_DEDUP_TTL
}

const (
	pendingPrefix = "pending:" // + the claim's token
	done          = "done"
)

// finishScript writes done over this claim's own pending record, or where
// there is no record any more (its pending TTL ran out during a slow start,
// or its SET never applied): Temporal has the event either way. Another
// claim's pending record, or done, is left as it is.
var finishScript = redis.NewScript(`
local v = redis.call("GET", KEYS[1])
if v == ARGV[1] or v == false then
	redis.call("SET", KEYS[1], "done", "PX", ARGV[2])
	return 1
end
return 0`)

// releaseScript deletes the key only while it holds this claim's pending
// record, so a late failure erases neither a completed delivery's record
// nor another request's claim.
var releaseScript = redis.NewScript(`if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("DEL", KEYS[1]) end return 0`)

// newPending returns a new claim's pending record, pending:<token>, whose
// token is 16 random bytes in hex, built in one allocation.
func newPending() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand, Go 1.24+)
	var v [len(pendingPrefix) + 2*len(b)]byte
	copy(v[:], pendingPrefix)
	hex.Encode(v[len(pendingPrefix):], b[:])
	return string(v[:])
}

// Claim implements Store in one round trip.
func (r *Redis) Claim(ctx context.Context, key string) (Claim, error) {
	mine := newPending()
	token := mine[len(pendingPrefix):]
	prev, err := r.Client.SetArgs(ctx, r.Prefix+key, mine, redis.SetArgs{Mode: "NX", TTL: r.PendingTTL, Get: true}).Result()
	switch {
	// prev is this claim's own value when the client retried a SET whose
	// first reply was lost after it applied.
	case errors.Is(err, redis.Nil), err == nil && prev == mine:
		return Claim{State: Claimed, Token: token}, nil
	case err != nil:
		// The SET may have applied unseen: the token lets the caller
		// finish or release that record, and only that one.
		return Claim{State: Claimed, Token: token}, err
	case prev == done:
		return Claim{State: Done}, nil
	default:
		// Another claim's pending:<token>, or a bare "pending" written by a
		// receiver from before tokens (a rolling deploy): in flight either
		// way. No token matches a bare one, so it only expires.
		return Claim{State: InFlight}, nil
	}
}

// Finish implements Store.
func (r *Redis) Finish(ctx context.Context, key, token string) error {
	return finishScript.Run(ctx, r.Client, []string{r.Prefix + key}, pendingPrefix+token, r.DoneTTL.Milliseconds()).Err()
}

// Release implements Store.
func (r *Redis) Release(ctx context.Context, key, token string) error {
	return releaseScript.Run(ctx, r.Client, []string{r.Prefix + key}, pendingPrefix+token).Err()
}

// ErrSkipped is returned by Breaker.Claim, at once, while the store is
// in its cooldown after a failure. Nothing was written, so the delivery has
// no record to finish or release.
var ErrSkipped = errors.New("dedup store skipped: it failed moments ago")

// Breaker wraps a Store so that while the store is failing (Redis down or
// unreachable), deliveries are not each held up by its timeouts: after a
// failed Claim, Claims are skipped for Cooldown, then one delivery probes the
// store while the others go on skipping it. Deliveries are accepted either
// way; the workflows deduplicate by event ID themselves. Finish and Release
// always go through, so a delivery that did claim keeps its record true.
type Breaker struct {
	Store    Store
	Cooldown time.Duration

	openUntil atomic.Int64     // UnixNano before which Claims skip the store; 0 when closed
	now       func() time.Time // time.Now; tests replace it
}

// Claim implements Store.
func (b *Breaker) Claim(ctx context.Context, key string) (Claim, error) {
	if until := b.openUntil.Load(); until != 0 {
		now := b.clock()
		// Of the deliveries that find the cooldown over, one probes.
		if now.UnixNano() < until || !b.openUntil.CompareAndSwap(until, now.Add(b.Cooldown).UnixNano()) {
			return Claim{}, ErrSkipped
		}
	}
	c, err := b.Store.Claim(ctx, key)
	switch {
	case err != nil:
		b.openUntil.Store(b.clock().Add(b.Cooldown).UnixNano())
	case b.openUntil.Load() != 0:
		b.openUntil.Store(0)
	}
	return c, err
}

// Finish implements Store.
func (b *Breaker) Finish(ctx context.Context, key, token string) error {
	return b.Store.Finish(ctx, key, token)
}

// Release implements Store.
func (b *Breaker) Release(ctx context.Context, key, token string) error {
	return b.Store.Release(ctx, key, token)
}

func (b *Breaker) clock() time.Time {
	if b.now != nil {
		return b.now()
	}
	return time.Now()
}

// NewStore is the receivers' dedup store on rdb: owned claims under
// "hookflow:dedup:", pending for pendingTTL and done for doneTTL, behind a
// Breaker with which, while Redis fails, one delivery a second tries it and
// the others skip it rather than each wait out its timeouts.
func NewStore(rdb redis.UniversalClient, pendingTTL, doneTTL time.Duration) *Breaker {
	return &Breaker{
		Store:    &Redis{Client: rdb, Prefix: "hookflow:dedup:", PendingTTL: pendingTTL, DoneTTL: doneTTL},
		Cooldown: time.Second,
	}
}
