package receivers

import (
	"context"

	"github.com/hookflow/hookflow/receivers/dedup"
)

// Dedup remembers which events were delivered, by one key per event or
// two (see dedupKeys): a claim holds every key of its event or none.
// Implementations must make Claim atomic per key: of concurrent claims
// sharing a key, at most one gets Claimed, and of those of one key set
// exactly one. A claim's records are owned by its token: Finish and Release
// never act on a record written by another claim. dedup.Breaker over
// dedup.Redis is the process's; the accept path's tests use stores of
// their own.
type Dedup interface {
	// Claim marks every key as in flight unless one of them is already
	// known: Done when one was delivered, else InFlight when another claim
	// holds one; it then holds none of them.
	Claim(ctx context.Context, keys ...string) (dedup.Claim, error)
	// Finish marks every key as delivered for the store's TTL, except a
	// record that belongs to another claim.
	Finish(ctx context.Context, token string, keys ...string) error
	// Release forgets each key's record that is token's and still in
	// flight, so a retry of a failed start gets through.
	Release(ctx context.Context, token string, keys ...string) error
}
