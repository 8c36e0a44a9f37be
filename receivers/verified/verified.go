// Package verified remembers, in Redis, when each provider's deliveries
// for each tenant last passed verification: how `hookflow connect` and a
// Connection workflow know that a webhook registered at a provider
// reaches hookflow and verifies (contract section 18). Receivers write a
// mark at most once a second per provider and tenant, off the request's
// way, so the accept path pays a map lookup.
package verified

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// keyPrefix starts every mark's key.
const keyPrefix = "hookflow:verified:"

// TTL is how long a mark is kept after its last delivery.
const TTL = 30 * 24 * time.Hour

// writeTimeout bounds one mark's write.
const writeTimeout = 2 * time.Second

// Key is the Redis key of provider's marks for tenant ("" the default).
func Key(provider, tenant string) string {
	if tenant == "" {
		return keyPrefix + provider
	}
	return keyPrefix + provider + "@" + tenant
}

// Marks writes and reads the marks.
type Marks struct {
	Client redis.UniversalClient
	// Now is the clock; time.Now when nil.
	Now func() time.Time

	mu sync.RWMutex
	// marks are each provider and tenant's writes, so a burst writes one
	// mark a second. Its keys are configured names, never a request's
	// bytes, so it stays as small as the tenants.
	marks map[source]*mark
}

type source struct{ provider, tenant string }

// mark is one provider and tenant's throttle: the second of the last
// write, the latest delivery's time, and whether a trailing write is due.
type mark struct {
	written  atomic.Int64 // unix second of the last write
	latest   atomic.Int64 // unix ms of the latest delivery
	trailing atomic.Bool
}

func (m *Marks) now() time.Time {
	if m.Now != nil {
		return m.Now()
	}
	return time.Now()
}

// Mark records that a delivery of provider for tenant passed verification
// now. The first delivery of a second writes at once, in the background;
// those after it in that second leave one trailing write for the next
// second, so the latest delivery is in Redis within a second whatever
// follows. A failed write is dropped (the next delivery's writes again).
func (m *Marks) Mark(provider, tenant string) {
	now := m.now()
	mk := m.mark(source{provider, tenant})
	mk.latest.Store(now.UnixMilli())
	sec := now.Unix()
	if prev := mk.written.Load(); prev < sec && mk.written.CompareAndSwap(prev, sec) {
		go m.write(provider, tenant, mk)
		return
	}
	if mk.trailing.CompareAndSwap(false, true) {
		time.AfterFunc(time.Until(time.Unix(sec+1, 0)), func() {
			mk.trailing.Store(false)
			mk.written.Store(sec + 1)
			m.write(provider, tenant, mk)
		})
	}
}

func (m *Marks) mark(k source) *mark {
	m.mu.RLock()
	mk := m.marks[k]
	m.mu.RUnlock()
	if mk != nil {
		return mk
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.marks == nil {
		m.marks = map[source]*mark{}
	}
	if mk = m.marks[k]; mk == nil {
		mk = &mark{}
		m.marks[k] = mk
	}
	return mk
}

func (m *Marks) write(provider, tenant string, mk *mark) {
	ctx, cancel := context.WithTimeout(context.Background(), writeTimeout)
	defer cancel()
	_ = m.Client.Set(ctx, Key(provider, tenant), strconv.FormatInt(mk.latest.Load(), 10), TTL).Err()
}

// LastVerified is when a delivery of provider for tenant last passed verification,
// to the second at worst; zero when none has (within TTL).
func (m *Marks) LastVerified(ctx context.Context, provider, tenant string) (time.Time, error) {
	v, err := m.Client.Get(ctx, Key(provider, tenant)).Result()
	if errors.Is(err, redis.Nil) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, err
	}
	ms, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return time.Time{}, nil // not a mark of ours: as none
	}
	return time.UnixMilli(ms), nil
}
