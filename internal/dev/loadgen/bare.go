package loadgen

import (
	"crypto/subtle"
	"encoding/json"
	"errors"

	"github.com/gofiber/fiber/v2"
	"github.com/redis/go-redis/v9"
)

// Bare is the floor of the receiver's duplicate path for Phoenix: a Fiber
// handler that does what answering a redelivery must and nothing more
// (a constant-time Bearer compare, a JSON parse, one Redis SET NX and a JSON
// reply), to measure the receiver's duplicates against (wrk on both). It is
// no receiver: no logs, metrics, request IDs, limits or Temporal, and an
// event it has not seen is recorded as done at once.
func Bare(rdb redis.UniversalClient, prefix, secret string) fiber.Handler {
	want := []byte("Bearer " + secret)
	return func(c *fiber.Ctx) error {
		if subtle.ConstantTimeCompare(c.Request().Header.Peek(fiber.HeaderAuthorization), want) != 1 {
			return c.Status(fiber.StatusUnauthorized).JSON(fiber.Map{"error": "Missing or invalid authorization header"})
		}
		var ev struct {
			ID   string `json:"id"`
			Data struct {
				OrderID string `json:"orderId"`
			} `json:"data"`
		}
		if err := json.Unmarshal(c.Body(), &ev); err != nil || ev.ID == "" || ev.Data.OrderID == "" {
			return c.Status(fiber.StatusBadRequest).JSON(fiber.Map{"error": "invalid JSON body"})
		}
		prev, err := rdb.SetArgs(c.UserContext(), prefix+"phoenix:"+ev.ID, "done", redis.SetArgs{Mode: "NX", Get: true}).Result()
		if err != nil && !errors.Is(err, redis.Nil) {
			return c.Status(fiber.StatusServiceUnavailable).JSON(fiber.Map{"error": "temporarily unavailable, retry later"})
		}
		return c.JSON(bareReply{Success: true, Duplicate: prev == "done", EventID: ev.ID, WorkflowID: "phoenix-order:" + ev.Data.OrderID})
	}
}

type bareReply struct {
	Success    bool   `json:"success"`
	Duplicate  bool   `json:"duplicate"`
	EventID    string `json:"eventId"`
	WorkflowID string `json:"workflowId"`
}
