package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/hookflow/hookflow/config"
)

// sendOptions are the flags of `hookflow send`.
type sendOptions struct {
	url     string
	file    string
	entity  string
	status  string
	eventID string
}

// sender is how one provider builds and signs a delivery.
type sender struct {
	route     string
	secretEnv string
	secrets   func(*config.Config) config.Secrets
	// sample builds a body from the flags.
	sample func(o sendOptions) []byte
	// headers signs body exactly as the provider does.
	headers func(body []byte, secret string) map[string]string
	// sandbox, when set, is the sandbox path whose status is set first.
	sandbox string
}

var senders = map[string]sender{
	"phoenix": {
		route:     "/webhooks/phoenix",
		secretEnv: "PHOENIX_WEBHOOK_SECRET",
		secrets:   func(c *config.Config) config.Secrets { return c.PhoenixSecrets },
		sample: func(o sendOptions) []byte {
			return mustJSON(map[string]any{
				"event":     "order.status.change",
				"id":        o.eventID,
				"timestamp": time.Now().UTC().Format("2006-01-02T15:04:05.000Z"),
				"data":      map[string]any{"orderId": o.entity, "orderStatus": o.status},
			})
		},
		headers: func(_ []byte, secret string) map[string]string {
			return map[string]string{"Authorization": "Bearer " + secret}
		},
		sandbox: sandboxPrefix + "/orders/",
	},
}

func newSendCmd(a *app) *cobra.Command {
	var o sendOptions
	names := make([]string, 0, len(senders))
	for name := range senders {
		names = append(names, name)
	}
	sort.Strings(names)
	cmd := &cobra.Command{
		Use:   "send <" + strings.Join(names, "|") + ">",
		Short: "Sign and POST a sample or given event to a receiver, exactly as the provider would",
		Long: `Sign and POST an event as the provider would. Without --file a sample body is built
from --entity, --status and --event-id. Against hookflow dev, the Phoenix sandbox order
is set to --status first, so the workflow's API lookup agrees.`,
		Example:   "  hookflow send phoenix --entity order-1 --status fulfilled\n  hookflow send phoenix --file ../shared/fixtures/phoenix-order-status-fulfilled.json",
		Args:      cobra.ExactArgs(1),
		ValidArgs: names,
		RunE: func(cmd *cobra.Command, args []string) error {
			s, ok := senders[args[0]]
			if !ok {
				return fmt.Errorf("unknown provider %q (one of %s)", args[0], strings.Join(names, ", "))
			}
			cfg, err := a.config()
			if err != nil {
				return err
			}
			return send(cmd.Context(), cmd.OutOrStdout(), cfg, s, o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.url, "url", "", "receiver base URL (default: http://127.0.0.1 on HOOKFLOW_HTTP_ADDR's port)")
	f.StringVar(&o.file, "file", "", "send this file's bytes as the body instead of a sample")
	f.StringVar(&o.entity, "entity", "order-1", "entity ID of the sample (order, shipment, …)")
	f.StringVar(&o.entity, "order", "order-1", "alias of --entity for orders")
	f.StringVar(&o.status, "status", "fulfilled", "status of the sample")
	f.StringVar(&o.eventID, "event-id", "", "event ID of the sample (default: a new random one)")
	return cmd
}

func send(ctx context.Context, out io.Writer, cfg *config.Config, s sender, o sendOptions) error {
	base := o.url
	if base == "" {
		_, port, err := net.SplitHostPort(cfg.HTTPAddr)
		if err != nil {
			return fmt.Errorf("HOOKFLOW_HTTP_ADDR %q: %w", cfg.HTTPAddr, err)
		}
		base = "http://127.0.0.1:" + port
	}
	base = strings.TrimRight(base, "/")
	if o.eventID == "" {
		o.eventID = "evt_" + randomHex(8)
	}
	secrets := s.secrets(cfg)
	secret := config.DevSecrets[s.secretEnv]
	if len(secrets) > 0 {
		secret = secrets[0]
	}
	hc := &http.Client{Timeout: 15 * time.Second}

	var body []byte
	if o.file != "" {
		b, err := os.ReadFile(o.file)
		if err != nil {
			return fmt.Errorf("read body: %w", err)
		}
		body = b
	} else {
		body = s.sample(o)
		if s.sandbox != "" {
			if err := setSandboxStatus(ctx, hc, base+s.sandbox+o.entity, o.status); err != nil {
				return err
			}
		}
	}

	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+s.route, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range s.headers(body, secret) {
		req.Header.Set(k, v)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("post %s: %w", base+s.route, err)
	}
	defer resp.Body.Close()
	reply, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	fmt.Fprintf(out, "%s %s\n%s\n", resp.Proto, resp.Status, bytes.TrimSpace(reply))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("receiver answered %s", resp.Status)
	}
	return nil
}

// setSandboxStatus sets the sandbox order's status; a server without the
// sandbox (not hookflow dev) answers 404 or 405 and is left alone.
func setSandboxStatus(ctx context.Context, hc *http.Client, url, status string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, url, bytes.NewReader(mustJSON(map[string]string{"status": status})))
	if err != nil {
		return fmt.Errorf("build sandbox request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("reach receiver at %s: %w", url, err)
	}
	resp.Body.Close()
	return nil
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only maps of strings are marshalled here
	}
	return b
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
