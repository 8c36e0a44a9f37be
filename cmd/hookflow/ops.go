package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"
	"github.com/redis/go-redis/v9"
	"go.temporal.io/sdk/client"

	"github.com/hookflow/hookflow/metrics"
)

// The words /readyz answers with, for each dependency and overall. A
// dependency's word says what its state does to the process: without
// Temporal nothing can be accepted (down); without Redis events are still
// accepted, deduplicated by the workflows alone (degraded).
const (
	readyOK       = "ok"
	readyDegraded = "degraded"
	readyDown     = "down"
)

// mountHealthz adds /healthz (the process is up), the one operations
// endpoint the public webhook port keeps, for load balancers.
func mountHealthz(app *fiber.App) {
	app.Get("/healthz", func(c *fiber.Ctx) error { return c.JSON(fiber.Map{"status": readyOK}) })
}

// newOpsApp returns the operators' app, served on HOOKFLOW_METRICS_ADDR
// (loopback by default), never on the webhook port: /metrics (Prometheus),
// /healthz and /readyz. rdb is nil in a process without Redis (the worker).
func newOpsApp(log *slog.Logger, m *metrics.Metrics, tc client.Client, rdb redis.UniversalClient) *fiber.App {
	app := fiber.New(fiber.Config{DisableStartupMessage: true})
	if m != nil {
		app.Get("/metrics", adaptor.HTTPHandler(m.Handler()))
	}
	mountHealthz(app)
	r := &readiness{tc: tc, rdb: rdb, log: log, last: map[string]string{}}
	app.Get("/readyz", func(c *fiber.Ctx) error {
		code, body := r.check(c.UserContext())
		return c.Status(code).JSON(body)
	})
	return app
}

// readiness checks the process's dependencies for /readyz. Its answers hold
// only the words above: raw errors can name hosts and echo server messages,
// so they go to the log, once per change of a dependency's state rather
// than on every probe.
type readiness struct {
	tc  client.Client
	rdb redis.UniversalClient // nil: no Redis in this process
	log *slog.Logger

	mu   sync.Mutex
	last map[string]string // dependency -> its word at the previous check
}

// check answers 200 while Temporal answers (status ok, or degraded without
// Redis) and 503 when it does not (status down).
func (r *readiness) check(ctx context.Context) (int, map[string]string) {
	body := map[string]string{"status": readyOK}
	tctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	_, err := r.tc.CheckHealth(tctx, &client.CheckHealthRequest{})
	body["temporal"] = r.record("temporal", readyDown, err)
	if r.rdb != nil {
		rctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
		defer cancel()
		body["redis"] = r.record("redis", readyDegraded, r.rdb.Ping(rctx).Err())
	}
	for _, dep := range []string{"redis", "temporal"} { // the worse word wins
		if w := body[dep]; w != "" && w != readyOK {
			body["status"] = w
		}
	}
	if body["status"] == readyDown {
		return fiber.StatusServiceUnavailable, body
	}
	return fiber.StatusOK, body
}

// record returns dep's word, ok or failed, and logs when it changes.
func (r *readiness) record(dep, failed string, err error) string {
	word := readyOK
	if err != nil {
		word = failed
	}
	r.mu.Lock()
	prev, seen := r.last[dep]
	r.last[dep] = word
	r.mu.Unlock()
	switch {
	case word == prev:
	case err != nil:
		r.log.Warn("readiness: dependency failing", "dependency", dep, "readyz", word, "error", err.Error())
	case seen:
		r.log.Info("readiness: dependency answers again", "dependency", dep)
	}
	return word
}

// listener is one Fiber app and the address it serves on; name says which
// setting the address comes from, for the error when it cannot listen.
type listener struct {
	name string
	app  *fiber.App
	addr string
}

// serveAll serves every listener until ctx ends, or until one of them fails
// to listen, which stops the others; it returns once all have shut down.
func serveAll(ctx context.Context, ls ...listener) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make([]error, len(ls))
	var wg sync.WaitGroup
	for i, l := range ls {
		wg.Go(func() {
			if err := serveUntilDone(ctx, l.app, l.addr); err != nil {
				errs[i] = fmt.Errorf("%s: %w", l.name, err)
				cancel()
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// loopbackURL is the http:// URL on 127.0.0.1 of a listen address's port,
// for commands that reach a listener on this machine.
func loopbackURL(setting, addr string) (string, error) {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("%s %q: %w", setting, addr, err)
	}
	return "http://127.0.0.1:" + port, nil
}
