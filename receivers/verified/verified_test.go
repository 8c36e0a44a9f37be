package verified

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hookflow/hookflow/internal/dev/testenv"
)

func TestMarks(t *testing.T) {
	r := testenv.StartRedis(t)
	rdb := redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", r.Port)})
	t.Cleanup(func() { rdb.Close() })
	m := &Marks{Client: rdb}
	ctx := context.Background()

	if last, err := m.LastVerified(ctx, "up42", "demo"); err != nil || !last.IsZero() {
		t.Fatalf("before any delivery: %v, %v; want zero", last, err)
	}
	// Two deliveries in one second: the first writes at once, the second
	// by the trailing write.
	clock := time.Date(2026, 12, 7, 6, 0, 0, 100e6, time.UTC)
	m.Now = func() time.Time { return clock }
	waitLast := func(want time.Time) {
		t.Helper()
		testenv.Eventually(t, 3*time.Second, func() (bool, string) {
			last, err := m.LastVerified(ctx, "up42", "demo")
			return err == nil && last.Equal(want), fmt.Sprintf("last %v, %v; want %v", last, err, want)
		})
	}
	m.Mark("up42", "demo")
	waitLast(clock)
	clock = clock.Add(800 * time.Millisecond)
	m.Mark("up42", "demo")
	waitLast(clock)
	m.Now = nil
	// Another tenant and the default tenant have marks of their own.
	if last, _ := m.LastVerified(ctx, "up42", "other"); !last.IsZero() {
		t.Errorf("another tenant has a mark: %v", last)
	}
	m.Mark("up42", "")
	testenv.Eventually(t, 3*time.Second, func() (bool, string) {
		last, err := m.LastVerified(ctx, "up42", "")
		return err == nil && !last.IsZero(), "the default tenant's mark is not written"
	})
	if ttl := rdb.TTL(ctx, Key("up42", "demo")).Val(); ttl <= 0 || ttl > TTL {
		t.Errorf("TTL %v, want up to %v", ttl, TTL)
	}
}

// BenchmarkMark is what a verified delivery adds to the accept path: the
// throttled case, a lookup and two atomics, once a write has been made
// this second (the write itself is in the background, once a second).
func BenchmarkMark(b *testing.B) {
	m := &Marks{Client: redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})} // never reached in the loop
	m.Now = func() time.Time { return time.Unix(1, 0) }
	m.mark(source{"up42", "demo"}).written.Store(1) // this second's write is made
	m.mark(source{"up42", "demo"}).trailing.Store(true)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			m.Mark("up42", "demo")
		}
	})
}
