// Package devtools holds what `hookflow dev` serves beside the receivers for
// offline development: an in-memory stand-in for the Phoenix orders API
// (with the client calls `hookflow send` and `bench` make to it), stand-ins
// for UP42's and Fenix's webhook registration APIs that send signed
// webhooks to the URLs registered there, and the --forward-to-log sink that
// verifies and prints delivered transitions.
package devtools

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
)

// SandboxPrefix is where `hookflow dev` serves its stand-in for the Phoenix
// orders API, beside the receivers.
const SandboxPrefix = "/sandbox/phoenix"

// phoenixSandbox is an in-memory Phoenix orders API for offline development:
// GET /orders/:orderId answers the order's status as the real API would be
// read, PUT /orders/:orderId {"status":…} sets it (hookflow send does, before
// sending the webhook) and PATCH /orders {"<orderId>":"<status>",…} sets many
// at once (hookflow bench does, before it starts the clock). GET /reads
// answers how many order reads it served in each second, so a reconcile
// budget can be checked from the API's side. Only `hookflow dev` mounts it.
type phoenixSandbox struct {
	mu     sync.Mutex
	orders map[string]string
	reads  map[int64]int // orders read, by Unix second
}

// MountPhoenixSandbox serves a new, empty Phoenix sandbox on app under
// SandboxPrefix.
func MountPhoenixSandbox(app *fiber.App) {
	s := &phoenixSandbox{orders: map[string]string{}, reads: map[int64]int{}}
	g := app.Group(SandboxPrefix)
	g.Get("/reads", s.readCounts)
	g.Get("/orders/:orderId", s.get)
	g.Put("/orders/:orderId", s.put)
	g.Patch("/orders", s.patch)
}

func (s *phoenixSandbox) get(c *fiber.Ctx) error {
	id := c.Params("orderId")
	s.mu.Lock()
	status, ok := s.orders[id]
	s.reads[time.Now().Unix()]++
	s.mu.Unlock()
	if !ok {
		return c.Status(fiber.StatusNotFound).JSON(fiber.Map{"error": "order not found"})
	}
	return c.JSON(fiber.Map{"id": id, "status": status})
}

// readCounts answers {"perSecond":{"<unix second>":n,…}}.
func (s *phoenixSandbox) readCounts(c *fiber.Ctx) error {
	s.mu.Lock()
	per := make(map[string]int, len(s.reads))
	for sec, n := range s.reads {
		per[strconv.FormatInt(sec, 10)] = n
	}
	s.mu.Unlock()
	return c.JSON(fiber.Map{"perSecond": per})
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

// SetSandboxStatus sets one sandbox order's status at url (the order's
// resource under SandboxPrefix); a server without the sandbox (not hookflow
// dev) answers 404 or 405 and is left alone.
func SetSandboxStatus(ctx context.Context, hc *http.Client, url, status string) error {
	resp, err := sandboxCall(ctx, hc, http.MethodPut, url, map[string]string{"status": status})
	if err != nil {
		return err
	}
	resp.Body.Close()
	return nil
}

// sandboxBatch is how many orders one sandbox request registers, well
// under the receiver's body limit.
const sandboxBatch = 1000

// SetSandboxOrders sets the sandbox's orders (orderId → status) at url (the
// orders collection under SandboxPrefix) in batches, so the workflows' API
// reads succeed. A server without the sandbox (not hookflow dev) answers
// 404 or 405 and is left alone.
func SetSandboxOrders(ctx context.Context, hc *http.Client, url string, orders map[string]string) error {
	ids := slices.Sorted(maps.Keys(orders))
	for len(ids) > 0 {
		n := min(sandboxBatch, len(ids))
		batch := make(map[string]string, n)
		for _, id := range ids[:n] {
			batch[id] = orders[id]
		}
		ids = ids[n:]
		resp, err := sandboxCall(ctx, hc, http.MethodPatch, url, batch)
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		switch {
		case resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusMethodNotAllowed:
			return nil
		case resp.StatusCode/100 != 2:
			return fmt.Errorf("register sandbox orders at %s: %s", url, resp.Status)
		}
	}
	return nil
}

// sandboxCall sends body, a map of strings, as JSON to the sandbox.
func sandboxCall(ctx context.Context, hc *http.Client, method, url string, body map[string]string) (*http.Response, error) {
	b, _ := json.Marshal(body) // a map of strings always marshals
	req, err := http.NewRequestWithContext(ctx, method, url, bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("build sandbox request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("reach receiver at %s: %w", url, err)
	}
	return resp, nil
}
