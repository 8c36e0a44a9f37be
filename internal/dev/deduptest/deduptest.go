// Package deduptest starts a dedup.Redis on a throwaway redis-server for
// tests, and reads and writes its records directly, for the store's own
// tests and for the accept path's tests of claims that race or lose a reply.
package deduptest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hookflow/hookflow/internal/dev/testenv"
	"github.com/hookflow/hookflow/receivers/dedup"
)

// The store's settings in tests.
const (
	Prefix     = "hookflow:dedup:"
	PendingTTL = 30 * time.Second
	DoneTTL    = 72 * time.Hour
)

// NewRedis returns the Redis Dedup on a fresh redis-server and a client
// to inspect it.
func NewRedis(t testing.TB) (*dedup.Redis, *redis.Client) {
	t.Helper()
	addr := "127.0.0.1:" + strconv.Itoa(testenv.StartRedis(t).Port)
	c := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { c.Close() })
	return &dedup.Redis{Client: c, Prefix: Prefix, PendingTTL: PendingTTL, DoneTTL: DoneTTL}, c
}

// record returns the stored value and TTL of key ("" and 0 when absent).
func Record(t testing.TB, c *redis.Client, key string) (string, time.Duration) {
	t.Helper()
	ctx := context.Background()
	v, err := c.Get(ctx, Prefix+key).Result()
	if errors.Is(err, redis.Nil) {
		return "", 0
	}
	if err != nil {
		t.Fatalf("GET %s: %v", key, err)
	}
	ttl, err := c.TTL(ctx, Prefix+key).Result()
	if err != nil {
		t.Fatalf("TTL %s: %v", key, err)
	}
	return v, ttl
}

// WantTTL checks that a fresh record's TTL is set and close to want.
func WantTTL(t testing.TB, got, want time.Duration) {
	t.Helper()
	if got <= 0 || got > want || got < want-5*time.Second {
		t.Errorf("TTL: got %v, want about %v", got, want)
	}
}

// lossyConn is a connection to Redis that can lose the reply to one SET:
// the command reaches Redis and is applied, its reply is read off the wire
// and thrown away, and the client sees the connection drop.
type lossyConn struct {
	net.Conn
	lose *atomic.Bool // armed: the next SET's reply is lost
	drop bool         // this connection's next read loses the reply
}

func (c *lossyConn) Write(b []byte) (int, error) {
	if bytes.Contains(bytes.ToLower(b), []byte("$3\r\nset\r\n")) && c.lose.CompareAndSwap(true, false) {
		c.drop = true
	}
	return c.Conn.Write(b)
}

func (c *lossyConn) Read(b []byte) (int, error) {
	if !c.drop {
		return c.Conn.Read(b)
	}
	c.drop = false
	// Wait for the reply, so the SET has surely been applied, then lose it.
	if _, err := c.Conn.Read(b); err != nil {
		return 0, err
	}
	c.Conn.Close()
	return 0, io.EOF
}

// NewLossyRedis is NewRedis whose client loses the reply to the
// next SET once lose is set, and retries a failed command maxRetries times
// (-1: never).
func NewLossyRedis(t testing.TB, maxRetries int) (d *dedup.Redis, inspect *redis.Client, lose *atomic.Bool) {
	t.Helper()
	addr := "127.0.0.1:" + strconv.Itoa(testenv.StartRedis(t).Port)
	lose = new(atomic.Bool)
	lossy := redis.NewClient(&redis.Options{
		Addr:       addr,
		MaxRetries: maxRetries,
		Dialer: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return &lossyConn{Conn: c, lose: lose}, nil
		},
	})
	inspect = redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { lossy.Close(); inspect.Close() })
	return &dedup.Redis{Client: lossy, Prefix: Prefix, PendingTTL: PendingTTL, DoneTTL: DoneTTL}, inspect, lose
}

// SetRecord writes key's record as another request (or an older receiver)
// would, with a TTL of its own, distinct from both of the store's TTLs so
// that a rewrite shows.
func SetRecord(t testing.TB, c *redis.Client, key, value string) {
	t.Helper()
	if err := c.Set(context.Background(), Prefix+key, value, OtherTTL).Err(); err != nil {
		t.Fatalf("SET %s: %v", key, err)
	}
}

// OtherTTL is the TTL SetRecord gives a record: distinct from both of the
// store's, so that a rewrite shows.
const OtherTTL = time.Hour

// WantRecord checks that key still holds value with the TTL SetRecord gave
// it, or holds no record when value is "".
func WantRecord(t testing.TB, c *redis.Client, key, value string, ttl time.Duration) {
	t.Helper()
	got, gotTTL := Record(t, c, key)
	if got != value {
		t.Fatalf("record %s: got %q, want %q", key, got, value)
	}
	if value != "" {
		WantTTL(t, gotTTL, ttl)
	}
}
