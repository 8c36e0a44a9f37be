package dedup

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// flakyDedup fails every Claim while err is set, and counts the calls.
type flakyDedup struct {
	mu                        sync.Mutex
	err                       error
	claims, finishes, removes int
}

func (d *flakyDedup) Claim(context.Context, ...string) (Claim, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.claims++
	return Claim{State: Claimed, Token: "t"}, d.err
}

func (d *flakyDedup) Finish(context.Context, string, ...string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.finishes++
	return d.err
}

func (d *flakyDedup) Release(context.Context, string, ...string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.removes++
	return d.err
}

func (d *flakyDedup) setErr(err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.err = err
}

func (d *flakyDedup) calls() (claims, finishes, removes int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.claims, d.finishes, d.removes
}

func TestBreaker(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	store := &flakyDedup{}
	b := &Breaker{Store: store, Cooldown: time.Second, now: func() time.Time { return now }}

	claim := func(wantErr error) {
		t.Helper()
		if _, err := b.Claim(ctx, "k"); !errors.Is(err, wantErr) && (wantErr != nil || err != nil) {
			t.Fatalf("Claim: err %v, want %v", err, wantErr)
		}
	}
	wantClaims := func(want int) {
		t.Helper()
		if got, _, _ := store.calls(); got != want {
			t.Fatalf("store Claims = %d, want %d", got, want)
		}
	}

	claim(nil)
	wantClaims(1)

	down := errors.New("dial tcp 127.0.0.1:6379: i/o timeout")
	store.setErr(down)
	claim(down) // trips the breaker
	wantClaims(2)
	for range 5 {
		claim(ErrSkipped) // at once, without the store
	}
	wantClaims(2)

	// Finish and Release are never skipped.
	_ = b.Finish(ctx, "t", "k")
	_ = b.Release(ctx, "t", "k")
	if _, f, r := store.calls(); f != 1 || r != 1 {
		t.Errorf("store Finish, Release = %d, %d; want 1, 1", f, r)
	}

	now = now.Add(time.Second) // cooldown over: one probe, still failing
	claim(down)
	wantClaims(3)
	claim(ErrSkipped)
	wantClaims(3)

	store.setErr(nil)
	now = now.Add(999 * time.Millisecond)
	claim(ErrSkipped) // not yet
	now = now.Add(time.Millisecond)
	claim(nil) // the probe succeeds and closes the breaker
	claim(nil)
	wantClaims(5)
}

// TestBreakerOneProbe: of many deliveries that find the cooldown over, one
// probes the store; the rest skip it.
func TestBreakerOneProbe(t *testing.T) {
	var mu sync.Mutex
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	store := &flakyDedup{err: errors.New("down")}
	b := &Breaker{Store: store, Cooldown: time.Second, now: clock}
	_, _ = b.Claim(context.Background(), "k")
	mu.Lock()
	now = now.Add(2 * time.Second)
	mu.Unlock()

	var wg sync.WaitGroup
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _ = b.Claim(context.Background(), "k")
		}()
	}
	wg.Wait()
	if claims, _, _ := store.calls(); claims != 2 {
		t.Errorf("store Claims = %d, want 2 (the trip and one probe)", claims)
	}
}
