package receivers

import (
	"context"
	"time"
)

// settleTimeout bounds a claim's finish or release: each is one Redis round
// trip, done after the start whatever the provider's connection did.
const settleTimeout = time.Second

// A claim is one delivery's hold on its event's dedup record. It owns a
// record while the delivery set one, or while a failed Claim may have set
// one unseen (its reply was lost); finish and release act only on the
// record holding its token, never on another request's, and only the first
// of them acts: once settled, a claim owns nothing.
type claim struct {
	store Dedup
	key   string
	token string
	owned bool
}

// finish marks the event delivered: Temporal has it, so the record must
// stay.
func (cl *claim) finish(d *delivery) {
	if !cl.owned {
		return
	}
	cl.owned = false
	ctx, cancel := context.WithTimeout(context.Background(), settleTimeout)
	defer cancel()
	if err := cl.store.Finish(ctx, cl.key, cl.token); err != nil {
		// Temporal has the event; a redelivery is caught by the workflow.
		d.logWarn("dedup finish failed", errorAttr(err))
	}
}

// release forgets the record, so the provider's retry gets through. It is
// deferred by the accept path, so that a panic (answered 500 by the recover
// middleware) leaves no pending record behind.
func (cl *claim) release(d *delivery) {
	if !cl.owned {
		return
	}
	cl.owned = false
	ctx, cancel := context.WithTimeout(context.Background(), settleTimeout)
	defer cancel()
	if err := cl.store.Release(ctx, cl.key, cl.token); err != nil {
		// The pending record expires by itself after its short TTL.
		d.logWarn("dedup release failed", errorAttr(err))
	}
}
