package main

import (
	"fmt"
	"log/slog"
	"net"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"
	"github.com/redis/go-redis/v9"
	"go.temporal.io/sdk/client"

	"github.com/hookflow/hookflow/internal/metrics"
	"github.com/hookflow/hookflow/internal/ops"
)

// mountHealthz adds /healthz (the process is up), the one operations
// endpoint the public webhook port keeps, for load balancers.
func mountHealthz(app *fiber.App) {
	app.Get("/healthz", func(c *fiber.Ctx) error { return c.JSON(fiber.Map{"status": ops.Ready}) })
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
	r := &ops.Readiness{Temporal: tc, Redis: rdb, Log: log}
	app.Get("/readyz", func(c *fiber.Ctx) error {
		code, body := r.Check(c.UserContext())
		return c.Status(code).JSON(body)
	})
	return app
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
