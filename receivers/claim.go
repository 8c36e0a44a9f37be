package receivers

import (
	"context"
	"time"
)

// settleTimeout bounds a claim's finish or release: each is one Redis round
// trip, done after the start whatever the provider's connection did.
const settleTimeout = time.Second

// A claim is one delivery's hold on its event's dedup records, one per key
// (see dedupKeys). It owns them while the delivery set them, or while a
// failed Claim may have set them unseen (its reply was lost); finish and
// release act only on the records holding its token, never on another
// request's, and only the first of them acts: once settled, a claim owns
// nothing.
type claim struct {
	store Dedup
	keys  []string
	token string
	owned bool
}

// finish marks the event delivered: Temporal has it, so every record must
// stay.
func (cl *claim) finish(d *delivery) {
	if !cl.owned {
		return
	}
	cl.owned = false
	ctx, cancel := context.WithTimeout(context.Background(), settleTimeout)
	defer cancel()
	if err := cl.store.Finish(ctx, cl.token, cl.keys...); err != nil {
		// Temporal has the event; a redelivery is caught by the workflow.
		d.logWarn("dedup finish failed", errorAttr(err))
	}
}

// release forgets the records, every one, so the provider's retry gets
// through. It is deferred by the accept path, so that a panic (answered 500
// by the recover middleware) leaves no pending record behind.
func (cl *claim) release(d *delivery) {
	if !cl.owned {
		return
	}
	cl.owned = false
	ctx, cancel := context.WithTimeout(context.Background(), settleTimeout)
	defer cancel()
	if err := cl.store.Release(ctx, cl.token, cl.keys...); err != nil {
		// The pending record expires by itself after its short TTL.
		d.logWarn("dedup release failed", errorAttr(err))
	}
}
