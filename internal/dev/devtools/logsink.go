package devtools

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"sync"

	"github.com/gofiber/fiber/v2"

	"github.com/hookflow/hookflow/config"
	"github.com/hookflow/hookflow/event"
	"github.com/hookflow/hookflow/signature"
)

// LogSinkPath is where `hookflow dev --forward-to-log` receives deliveries.
const LogSinkPath = "/dev/forward-sink"

// LogSink is `hookflow dev --forward-to-log`'s stand-in for the user's
// system: it verifies each delivery as a receiver should (Standard Webhooks
// signature and timestamp) and prints it, so the first `hookflow send`
// shows the normalized event without anyone writing a server.
type LogSink struct {
	mu  sync.Mutex
	out io.Writer
	wh  *signature.StandardWebhooks
}

// NewLogSink points cfg's deliveries at the sink on base, signed with the
// first configured forward secret or, without one, a new random one.
func NewLogSink(out io.Writer, cfg *config.Config, base string) (*LogSink, error) {
	if len(cfg.ForwardSecrets) == 0 {
		key := make([]byte, 24)
		if _, err := rand.Read(key); err != nil {
			return nil, fmt.Errorf("forward secret: %w", err)
		}
		cfg.ForwardSecrets = config.Secrets{"whsec_" + base64.StdEncoding.EncodeToString(key)}
	}
	wh, err := signature.NewStandardWebhooks(cfg.ForwardSecrets[:1], 0)
	if err != nil {
		return nil, fmt.Errorf("HOOKFLOW_FORWARD_SECRET: %w", err)
	}
	cfg.ForwardURLs = append(cfg.ForwardURLs, base+LogSinkPath)
	return &LogSink{out: out, wh: wh}, nil
}

// Handle verifies and prints one delivery; a bad signature is answered 401
// (which hookflow records as a failed delivery) and printed as such.
func (s *LogSink) Handle(c *fiber.Ctx) error {
	header := signature.Header(func(name string) string { return string(c.Request().Header.Peek(name)) })
	body := c.Body()
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.wh.Verify(body, header); err != nil {
		fmt.Fprintf(s.out, "forward-sink: %s REFUSED: %v\n", header(signature.StandardID), err)
		return c.SendStatus(fiber.StatusUnauthorized)
	}
	var ev event.Outbound
	if err := json.Unmarshal(body, &ev); err != nil {
		fmt.Fprintf(s.out, "forward-sink: %s: not a transition: %v\n", header(signature.StandardID), err)
		return c.SendStatus(fiber.StatusBadRequest)
	}
	from := ev.From
	if from == "" {
		from = "∅"
	}
	fmt.Fprintf(s.out, "forward-sink: %s  %s → %s  (event %s, %s; signature verified)\n  %s\n",
		header(signature.StandardID), from, ev.To, ev.EventID, ev.Source, body)
	return c.SendStatus(fiber.StatusNoContent)
}
