package health

import (
	"fmt"
	"log/slog"
	"net"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"
	"github.com/redis/go-redis/v9"
	"go.temporal.io/sdk/client"

	"github.com/hookflow/hookflow/telemetry/metrics"
)

// MountHealthz adds /healthz (the process is up), the one operations
// endpoint the public webhook port keeps, for load balancers.
func MountHealthz(app *fiber.App) {
	app.Get("/healthz", func(c *fiber.Ctx) error { return c.JSON(fiber.Map{"status": Ready}) })
}

// NewApp returns the operators' app, served on HOOKFLOW_METRICS_ADDR
// (loopback by default), never on the webhook port: /metrics (Prometheus,
// when m is not nil), /healthz and /readyz. rdb is nil in a process without
// Redis (the worker).
func NewApp(log *slog.Logger, m *metrics.Metrics, tc client.Client, rdb redis.UniversalClient) *fiber.App {
	app := fiber.New(fiber.Config{DisableStartupMessage: true})
	if m != nil {
		app.Get("/metrics", adaptor.HTTPHandler(m.Handler()))
	}
	MountHealthz(app)
	r := &Readiness{Temporal: tc, Redis: rdb, Log: log}
	app.Get("/readyz", func(c *fiber.Ctx) error {
		code, body := r.Check(c.UserContext())
		return c.Status(code).JSON(body)
	})
	return app
}

// LoopbackURL is the http:// URL on 127.0.0.1 of a listen address's port,
// for commands that reach a listener on this machine; setting names the
// address in the error.
func LoopbackURL(setting, addr string) (string, error) {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("%s %q: %w", setting, addr, err)
	}
	return "http://127.0.0.1:" + port, nil
}
