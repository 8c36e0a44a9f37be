// Package dedup is the store that remembers which webhook deliveries were
// already handed to Temporal, so that a provider's redelivery is answered
// without a workflow round trip: Redis with owned claims (contract section 6)
// and a Breaker that skips the store for a moment while it fails.
package dedup

import (
	"cmp"
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

// Store remembers which events were delivered. An event has one key, its
// event ID's, or two where its provider's event ID is outside the signature
// (its signed body's too, contract section 17): a claim holds every key of
// the event or none. Implementations must make Claim atomic per key: of
// concurrent claims sharing a key, at most one gets Claimed, and of those
// of one key set exactly one. A claim's records are owned by its token:
// Finish and Release never act on a record written by another claim.
// Breaker wraps one; receivers.Dedup is the same set of methods, as the
// accept path uses them.
type Store interface {
	// Claim marks every key as in flight unless one of them is already
	// known: Done when one was delivered, else InFlight when another claim
	// holds one; it then holds none of them.
	Claim(ctx context.Context, keys ...string) (Claim, error)
	// Finish marks every key as delivered for the store's TTL, except a
	// record that belongs to another claim.
	Finish(ctx context.Context, token string, keys ...string) error
	// Release forgets each key's record that is token's and still in
	// flight, so a retry of a failed start gets through.
	Release(ctx context.Context, token string, keys ...string) error
}

// Redis is the Store of the contract (section 6): SET key
// pending:<token> NX with a short TTL while the start is in flight, then done
// with the dedup TTL, deleted when the start fails; Finish and Release
// compare the token first, in a script. It needs Redis 7 (SET with both NX
// and GET).
//
// An event's keys are each claimed, finished and released by its own
// single-key command, all of them in one round trip (a pipeline): under
// Redis Cluster two keys live in different slots, so no one command or
// script could take both. A claim that finds one key taken gives back the
// others it took, in a second round trip, so the only events that pay for
// it are those refused anyway.
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
func (r *Redis) Claim(ctx context.Context, keys ...string) (Claim, error) {
	mine := newPending()
	token := mine[len(pendingPrefix):]
	if len(keys) == 1 {
		state, err := found(r.set(ctx, r.Client, keys[0], mine), mine)
		if state != Claimed {
			return Claim{State: state}, nil
		}
		// With an error, the SET may have applied unseen: the token lets
		// the caller finish or release that record, and only that one.
		return Claim{State: Claimed, Token: token}, err
	}
	sets := make([]*redis.StatusCmd, len(keys))
	// Each command's own error is read below; Exec's is the first of them.
	_, _ = r.Client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, key := range keys {
			sets[i] = r.set(ctx, p, key, mine)
		}
		return nil
	})
	state, taken := Claimed, make([]string, 0, len(keys))
	var failed error
	for i, set := range sets {
		s, err := found(set, mine)
		switch {
		case err != nil:
			failed = cmp.Or(failed, err)
		case s == Claimed:
			taken = append(taken, keys[i])
		case s == Done:
			state = Done
		case state == Claimed:
			state = InFlight
		}
	}
	switch {
	case failed != nil:
		// Any SET may have applied unseen: the token reaches each.
		return Claim{State: Claimed, Token: token}, failed
	case state != Claimed:
		// Another delivery has the event: give back what this one took,
		// so that it holds up no retry. A record that cannot be given back
		// now expires with PendingTTL.
		_ = r.Release(ctx, token, taken...)
		return Claim{State: state}, nil
	}
	return Claim{State: Claimed, Token: token}, nil
}

// set claims one key: SET key pending:<token> NX GET with the pending TTL.
func (r *Redis) set(ctx context.Context, c redis.StringCmdable, key, mine string) *redis.StatusCmd {
	return c.SetArgs(ctx, r.Prefix+key, mine, redis.SetArgs{Mode: "NX", TTL: r.PendingTTL, Get: true})
}

// found is what a claim's SET found of its key, given the claim's own
// pending record mine; Claimed with the SET's error when it failed.
func found(set *redis.StatusCmd, mine string) (State, error) {
	prev, err := set.Result()
	switch {
	// prev is this claim's own value when the client retried a SET whose
	// first reply was lost after it applied.
	case errors.Is(err, redis.Nil), err == nil && prev == mine:
		return Claimed, nil
	case err != nil:
		return Claimed, err
	case prev == done:
		return Done, nil
	default:
		// Another claim's pending:<token>, or a bare "pending" written by a
		// receiver from before tokens (a rolling deploy): in flight either
		// way. No token matches a bare one, so it only expires.
		return InFlight, nil
	}
}

// Finish implements Store.
func (r *Redis) Finish(ctx context.Context, token string, keys ...string) error {
	return r.run(ctx, finishScript, keys, pendingPrefix+token, r.DoneTTL.Milliseconds())
}

// Release implements Store.
func (r *Redis) Release(ctx context.Context, token string, keys ...string) error {
	return r.run(ctx, releaseScript, keys, pendingPrefix+token)
}

// run runs script once per key, each call on one key (see Redis), all of
// them in one round trip.
func (r *Redis) run(ctx context.Context, script *redis.Script, keys []string, args ...any) error {
	switch len(keys) {
	case 0:
		return nil
	case 1:
		return script.Run(ctx, r.Client, []string{r.Prefix + keys[0]}, args...).Err()
	}
	each := func(call func(context.Context, redis.Scripter, []string, ...any) *redis.Cmd) error {
		_, err := r.Client.Pipelined(ctx, func(p redis.Pipeliner) error {
			for _, key := range keys {
				call(ctx, p, []string{r.Prefix + key}, args...)
			}
			return nil
		})
		return err
	}
	err := each(script.EvalSha)
	if err != nil && redis.HasErrorPrefix(err, "NOSCRIPT") {
		// The server has not seen the script yet (Run's fallback).
		err = each(script.Eval)
	}
	return err
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
func (b *Breaker) Claim(ctx context.Context, keys ...string) (Claim, error) {
	if until := b.openUntil.Load(); until != 0 {
		now := b.clock()
		// Of the deliveries that find the cooldown over, one probes.
		if now.UnixNano() < until || !b.openUntil.CompareAndSwap(until, now.Add(b.Cooldown).UnixNano()) {
			return Claim{}, ErrSkipped
		}
	}
	c, err := b.Store.Claim(ctx, keys...)
	switch {
	case err != nil:
		b.openUntil.Store(b.clock().Add(b.Cooldown).UnixNano())
	case b.openUntil.Load() != 0:
		b.openUntil.Store(0)
	}
	return c, err
}

// Finish implements Store.
func (b *Breaker) Finish(ctx context.Context, token string, keys ...string) error {
	return b.Store.Finish(ctx, token, keys...)
}

// Release implements Store.
func (b *Breaker) Release(ctx context.Context, token string, keys ...string) error {
	return b.Store.Release(ctx, token, keys...)
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
