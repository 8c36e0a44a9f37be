package main

import (
	"sync"

	"github.com/gofiber/fiber/v2"
)

// sandboxPrefix is where `hookflow dev` serves its stand-in for the Phoenix
// orders API, beside the receivers.
const sandboxPrefix = "/sandbox/phoenix"

// phoenixSandbox is an in-memory Phoenix orders API for offline development:
// GET /orders/:orderId answers the order's status as the real API would be
// read, PUT /orders/:orderId {"status":…} sets it (hookflow send does, before
// sending the webhook). Only `hookflow dev` mounts it.
type phoenixSandbox struct {
	mu     sync.Mutex
	orders map[string]string
}

func mountPhoenixSandbox(app *fiber.App) {
	s := &phoenixSandbox{orders: map[string]string{}}
	g := app.Group(sandboxPrefix)
	g.Get("/orders/:orderId", s.get)
	g.Put("/orders/:orderId", s.put)
}

func (s *phoenixSandbox) get(c *fiber.Ctx) error {
	id := c.Params("orderId")
	s.mu.Lock()
	status, ok := s.orders[id]
	s.mu.Unlock()
	if !ok {
		return c.Status(fiber.StatusNotFound).JSON(fiber.Map{"error": "order not found"})
	}
	return c.JSON(fiber.Map{"id": id, "status": status})
}

func (s *phoenixSandbox) put(c *fiber.Ctx) error {
	var in struct {
		Status string `json:"status"`
	}
	if err := c.BodyParser(&in); err != nil || in.Status == "" {
		return c.Status(fiber.StatusBadRequest).JSON(fiber.Map{"error": `body must be {"status":"…"}`})
	}
	id := c.Params("orderId") // copied: Params' string is only valid in the handler
	s.mu.Lock()
	s.orders[string([]byte(id))] = in.Status
	s.mu.Unlock()
	return c.JSON(fiber.Map{"id": id, "status": in.Status})
}
