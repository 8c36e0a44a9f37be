package receivers

import (
	"context"

	"github.com/hookflow/hookflow/receivers/dedup"
)

// Dedup remembers which events were delivered. Implementations must make
// Claim atomic: of concurrent claims of one key, exactly one gets Claimed.
// A claim's record is owned by its token: Finish and Release never act on a
// record written by another claim. dedup.Breaker over dedup.Redis is the
// process's; the accept path's tests use stores of their own.
type Dedup interface {
	// Claim marks key as in flight unless it is already known.
	Claim(ctx context.Context, key string) (dedup.Claim, error)
	// Finish marks key as delivered for the store's TTL, unless the record
	// belongs to another claim.
	Finish(ctx context.Context, key, token string) error
	// Release forgets key's record if it is token's and still in flight, so
	// a retry of a failed start gets through.
	Release(ctx context.Context, key, token string) error
}
