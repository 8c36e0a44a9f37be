package main

import (
	"context"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"
	"github.com/redis/go-redis/v9"
	"go.temporal.io/sdk/client"

	"github.com/hookflow/hookflow/metrics"
)

// mountOps adds the operators' endpoints: /metrics (Prometheus), /healthz
// (the process is up) and /readyz (its dependencies answer). rdb may be nil
// in a process without Redis (the worker).
func mountOps(app *fiber.App, m *metrics.Metrics, tc client.Client, rdb redis.UniversalClient) {
	if m != nil {
		app.Get("/metrics", adaptor.HTTPHandler(m.Handler()))
	}
	app.Get("/healthz", func(c *fiber.Ctx) error { return c.JSON(fiber.Map{"status": "ok"}) })
	app.Get("/readyz", func(c *fiber.Ctx) error {
		code, body := readiness(c.UserContext(), tc, rdb)
		return c.Status(code).JSON(body)
	})
}

// readiness checks Temporal and Redis. Without Temporal nothing can be
// accepted (503); without Redis events are still accepted, only slower to
// deduplicate, so the process is ready but degraded.
func readiness(ctx context.Context, tc client.Client, rdb redis.UniversalClient) (int, fiber.Map) {
	body := fiber.Map{"status": "ready", "temporal": "ok"}
	tctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if _, err := tc.CheckHealth(tctx, &client.CheckHealthRequest{}); err != nil {
		body["temporal"] = "unavailable: " + err.Error()
		body["status"] = "unavailable"
	}
	if rdb != nil {
		body["redis"] = "ok"
		rctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
		defer cancel()
		if err := rdb.Ping(rctx).Err(); err != nil {
			body["redis"] = "unavailable: " + err.Error()
			if body["status"] == "ready" {
				body["status"] = "degraded"
			}
		}
	}
	if body["status"] == "unavailable" {
		return fiber.StatusServiceUnavailable, body
	}
	return fiber.StatusOK, body
}
