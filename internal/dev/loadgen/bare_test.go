package loadgen

import (
	"io"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"
	"github.com/redis/go-redis/v9"

	"github.com/hookflow/hookflow/internal/dev/testenv"
)

// TestBare: the bare duplicate path answers a new event, then its
// redelivery as a duplicate, and refuses a wrong secret.
func TestBare(t *testing.T) {
	srv := testenv.StartRedis(t)
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:" + strconv.Itoa(srv.Port)})
	t.Cleanup(func() { rdb.Close() })
	app := fiber.New()
	app.Post("/webhooks/phoenix", Bare(rdb, "bare:", "s3cret"))
	const body = `{"event":"order.status.change","id":"evt-1","data":{"orderId":"o1","orderStatus":"pending"}}`
	tests := []struct {
		name, auth string
		status     int
		want       string
	}{
		{"new", "Bearer s3cret", 200, `{"success":true,"duplicate":false,"eventId":"evt-1","workflowId":"phoenix-order:o1"}`},
		{"redelivery", "Bearer s3cret", 200, `{"success":true,"duplicate":true,"eventId":"evt-1","workflowId":"phoenix-order:o1"}`},
		{"wrong secret", "Bearer other", 401, `{"error":"Missing or invalid authorization header"}`},
	}
	for _, tt := range tests {
		req := httptest.NewRequest("POST", "/webhooks/phoenix", strings.NewReader(body))
		req.Header.Set("Authorization", tt.auth)
		resp, err := app.Test(req, -1)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tt.status || string(got) != tt.want {
			t.Errorf("%s: got %d %s, want %d %s", tt.name, resp.StatusCode, got, tt.status, tt.want)
		}
	}
}
