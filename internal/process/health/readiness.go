// Package health is what a running hookflow process answers beside its
// work: the operations app (/metrics, /readyz with the readiness of its
// dependencies, /healthz) and the container health check's GET of /healthz.
package health

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"go.temporal.io/sdk/client"
)

// The words /readyz answers with, for each dependency and overall. A
// dependency's word says what its state does to the process: without
// Temporal nothing can be accepted (down); without Redis events are still
// accepted, deduplicated by the workflows alone (degraded).
const (
	Ready    = "ok"
	Degraded = "degraded"
	Down     = "down"
)

// Readiness checks the process's dependencies for /readyz. Its answers hold
// only the words above: raw errors can name hosts and echo server messages,
// so they go to the log, once per change of a dependency's state rather
// than on every probe.
type Readiness struct {
	Temporal client.Client
	Redis    redis.UniversalClient // nil: no Redis in this process
	Log      *slog.Logger

	mu   sync.Mutex
	last map[string]string // dependency -> its word at the previous check
}

// Check answers 200 while Temporal answers (status ok, or degraded without
// Redis) and 503 when it does not (status down).
func (r *Readiness) Check(ctx context.Context) (int, map[string]string) {
	body := map[string]string{"status": Ready}
	tctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	_, err := r.Temporal.CheckHealth(tctx, &client.CheckHealthRequest{})
	body["temporal"] = r.record("temporal", Down, err)
	if r.Redis != nil {
		rctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
		defer cancel()
		body["redis"] = r.record("redis", Degraded, r.Redis.Ping(rctx).Err())
	}
	for _, dep := range []string{"redis", "temporal"} { // the worse word wins
		if w := body[dep]; w != "" && w != Ready {
			body["status"] = w
		}
	}
	if body["status"] == Down {
		return http.StatusServiceUnavailable, body
	}
	return http.StatusOK, body
}

// record returns dep's word, ok or failed, and logs when it changes.
func (r *Readiness) record(dep, failed string, err error) string {
	word := Ready
	if err != nil {
		word = failed
	}
	r.mu.Lock()
	if r.last == nil {
		r.last = map[string]string{}
	}
	prev, seen := r.last[dep]
	r.last[dep] = word
	r.mu.Unlock()
	switch {
	case word == prev:
	case err != nil:
		r.Log.Warn("readiness: dependency failing", "dependency", dep, "readyz", word, "error", err.Error())
	case seen:
		r.Log.Info("readiness: dependency answers again", "dependency", dep)
	}
	return word
}
