package main

import (
	"encoding/json"
	"sync"

	"github.com/gofiber/fiber/v2"
)

// sandboxPrefix is where `hookflow dev` serves its stand-in for the Phoenix
// orders API, beside the receivers.
const sandboxPrefix = "/sandbox/phoenix"

// phoenixSandbox is an in-memory Phoenix orders API for offline development:
// GET /orders/:orderId answers the order's status as the real API would be
// read, PUT /orders/:orderId {"status":…} sets it (hookflow send does, before
// sending the webhook) and PATCH /orders {"<orderId>":"<status>",…} sets many
// at once (hookflow bench does, before it starts the clock). Only `hookflow
// dev` mounts it.
type phoenixSandbox struct {
	mu     sync.Mutex
	orders map[string]string
}

func mountPhoenixSandbox(app *fiber.App) {
	s := &phoenixSandbox{orders: map[string]string{}}
	g := app.Group(sandboxPrefix)
	g.Get("/orders/:orderId", s.get)
	g.Put("/orders/:orderId", s.put)
	g.Patch("/orders", s.patch)
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

// patch sets every order in the body's map of orderId to status; an empty
// ID or status refuses the whole body.
func (s *phoenixSandbox) patch(c *fiber.Ctx) error {
	var in map[string]string
	// json.Unmarshal copies the strings out of Fiber's reused buffer.
	if err := json.Unmarshal(c.Body(), &in); err != nil || len(in) == 0 {
		return c.Status(fiber.StatusBadRequest).JSON(fiber.Map{"error": `body must be {"<orderId>":"<status>",…}`})
	}
	for id, status := range in {
		if id == "" || status == "" {
			return c.Status(fiber.StatusBadRequest).JSON(fiber.Map{"error": "order IDs and statuses must not be empty"})
		}
	}
	s.mu.Lock()
	for id, status := range in {
		s.orders[id] = status
	}
	s.mu.Unlock()
	return c.JSON(fiber.Map{"orders": len(in)})
}
