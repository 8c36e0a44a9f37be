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
	"github.com/hookflow/hookflow/receivers"
)

// sendOptions are the flags of `hookflow send`.
type sendOptions struct {
	url       string
	file      string
	entity    string
	status    string
	eventID   string
	topic     string // Fenix X-Fenix-Topic
	webhookID string // Fenix X-Fenix-Webhook-Id
}

// sender is how one provider builds and signs a delivery.
type sender struct {
	route     string
	secretEnv string
	secrets   func(*config.Config) config.Secrets
	// entity and status are the sample's defaults, the start of the
	// provider's lifecycle, when --entity and --status are not given.
	entity, status string
	// sample builds a body from the flags.
	sample func(o sendOptions) []byte
	// headers returns every header the provider sends with body, signed
	// with secret exactly as the provider does; cfg and o supply what the
	// body does not say (UP42's configured header, Fenix's event ID).
	headers func(cfg *config.Config, o sendOptions, body []byte, secret string) map[string]string
	// sandbox, when set, is the sandbox path whose status is set first.
	sandbox string
}

// jsonType is the Content-Type every provider sends.
const jsonType = "application/json"

// fenixAPIVersion is the X-Fenix-API-Version `hookflow send fenix` claims.
const fenixAPIVersion = "2024-07"

var senders = map[string]sender{
	"phoenix": {
		route:     "/webhooks/phoenix",
		secretEnv: "PHOENIX_WEBHOOK_SECRET",
		secrets:   func(c *config.Config) config.Secrets { return c.PhoenixSecrets },
		entity:    "order-1",
		status:    "fulfilled",
		sample: func(o sendOptions) []byte {
			return mustJSON(map[string]any{
				"event":     "order.status.change",
				"id":        o.eventID,
				"timestamp": time.Now().UTC().Format("2006-01-02T15:04:05.000Z"),
				"data":      map[string]any{"orderId": o.entity, "orderStatus": o.status},
			})
		},
		headers: func(_ *config.Config, _ sendOptions, _ []byte, secret string) map[string]string {
			return map[string]string{"Content-Type": jsonType, "Authorization": "Bearer " + secret}
		},
		sandbox: sandboxPrefix + "/orders/",
	},
	"phosphor": {
		route:     "/webhooks/phosphor",
		secretEnv: "PHOSPHOR_WEBHOOK_SECRET",
		secrets:   func(c *config.Config) config.Secrets { return c.PhosphorSecrets },
		entity:    "item-1",
		status:    "MINT",
		sample:    phosphorSample,
		headers: func(_ *config.Config, _ sendOptions, _ []byte, secret string) map[string]string {
			return map[string]string{
				"Content-Type":                 jsonType,
				receivers.PhosphorSecretHeader: secret,
				"User-Agent":                   "phosphor-webhook-bot/0.0.1",
			}
		},
	},
	"up42": {
		route:     "/webhooks/up42",
		secretEnv: "UP42_WEBHOOK_SECRET",
		secrets:   func(c *config.Config) config.Secrets { return c.UP42Secrets },
		entity:    "order-1",
		status:    "PLACED",
		sample: func(o sendOptions) []byte {
			return mustJSON(map[string]any{
				"id":        o.eventID,
				"event":     "order.status",
				"timestamp": time.Now().UTC().Format("2006-01-02T15:04:05.000Z"),
				"data":      map[string]any{"orderId": o.entity, "status": o.status},
			})
		},
		headers: func(cfg *config.Config, _ sendOptions, body []byte, secret string) map[string]string {
			// Sign as the receiver is configured to read; Validate has
			// allowed only hex and base64, and hex is Encoding's zero.
			enc, _ := receivers.ParseEncoding(cfg.UP42SignatureEncoding)
			return map[string]string{
				"Content-Type":          jsonType,
				cfg.UP42SignatureHeader: receivers.UP42Signature([]byte(secret), body, enc),
			}
		},
	},
	"fenix": {
		route:     "/webhooks/fenix",
		secretEnv: "FENIX_CLIENT_SECRET",
		secrets:   func(c *config.Config) config.Secrets { return c.FenixSecrets },
		entity:    "shipment-1",
		status:    "LABEL_CREATED",
		sample: func(o sendOptions) []byte {
			return mustJSON(map[string]any{
				"store_name":      "hookflow-dev.myshopify.com",
				"tracking_number": o.entity,
				"carrier":         "FEDEX",
				"status":          o.status,
				"event_time":      time.Now().Format(time.RFC3339),
			})
		},
		headers: fenixHeaders,
	},
	"phantom": {
		route:     "/webhooks/phantom",
		secretEnv: "PHANTOM_WEBHOOK_TOKEN",
		secrets:   func(c *config.Config) config.Secrets { return c.PhantomTokens },
		entity:    "tx-1",
		status:    "transaction.pool.added",
		sample: func(o sendOptions) []byte {
			// Core 3's shape; --status is the event name, or a
			// transaction's status alone.
			name := o.status
			if !strings.HasPrefix(name, "transaction.") && !strings.HasPrefix(name, "block.") {
				name = "transaction." + name
			}
			return mustJSON(map[string]any{
				"timestamp": time.Now().Unix(),
				"event":     name,
				"data":      map[string]any{"id": o.entity},
			})
		},
		headers: func(_ *config.Config, _ sendOptions, _ []byte, token string) map[string]string {
			return map[string]string{"Content-Type": jsonType, receivers.PhantomTokenHeader: receivers.PhantomAuthorization(token)}
		},
	},
}

// phosphorSample is a listing event for a listing status (CREATED,
// CANCELLED, COMPLETED) and otherwise a TOKEN_TX of the item with --status
// as its tx_type (MINT, TRANSFER, BURN).
func phosphorSample(o sendOptions) []byte {
	status := strings.ToUpper(o.status)
	switch status {
	case "CREATED", "CANCELLED", "COMPLETED":
		return mustJSON(map[string]any{
			"type":    status,
			"listing": map[string]any{"id": o.entity, "price": "0", "currency": "ETH"},
		})
	}
	from, to := "0x"+randomHex(20), "0x"+randomHex(20)
	switch status {
	case "MINT":
		from = "0x0000000000000000000000000000000000000000"
	case "BURN":
		to = "0x0000000000000000000000000000000000000000"
	}
	return mustJSON(map[string]any{
		"id":   o.eventID,
		"type": "TOKEN_TX",
		"data": map[string]any{
			"item":             map[string]any{"id": o.entity},
			"tx_type":          status,
			"tx_hash":          "0x" + randomHex(32),
			"from_addr":        from,
			"to_addr":          to,
			"contract_address": "0xde6afDD5bD30745542cDfabD001916A365Dc4c42",
			"token_id":         "1",
			"quantity":         "1",
			"block_number":     fmt.Sprint(time.Now().Unix()),
			"block_timestamp":  time.Now().UTC().Format(time.RFC3339),
		},
	})
}

// fenixHeaders are Fenix's: the signature, the event ID and topic from the
// flags, and the store and trigger time from the body when it has them.
func fenixHeaders(_ *config.Config, o sendOptions, body []byte, secret string) map[string]string {
	var b struct {
		StoreName string `json:"store_name"`
		EventTime string `json:"event_time"`
	}
	_ = json.Unmarshal(body, &b) // a --file that is not JSON is sent as it is, to see the 400
	triggered := b.EventTime
	if triggered == "" {
		triggered = time.Now().Format(time.RFC3339)
	}
	topic := o.topic
	if topic == "" {
		topic = receivers.FenixTrackingUpdated
	}
	h := map[string]string{
		"Content-Type":                 jsonType,
		receivers.FenixSignatureHeader: receivers.FenixSignature([]byte(secret), body),
		receivers.FenixTopicHeader:     topic,
		receivers.FenixEventIDHeader:   o.eventID,
		"X-Fenix-Webhook-Id":           o.webhookID,
		"X-Fenix-API-Version":          fenixAPIVersion,
		"X-Fenix-Triggered-Dttm":       triggered,
	}
	if b.StoreName != "" {
		h["X-Client-Storename"] = b.StoreName
	}
	return h
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
from --entity, --status and --event-id, so a whole lifecycle can be driven by hand:

  phoenix   --status pending|fulfilled|expired
  phosphor  --status MINT|TRANSFER|BURN (item) or CREATED|CANCELLED|COMPLETED (listing)
  up42      --status PLACED|BEING_FULFILLED|FAILED|FULFILLED|FAILED_PERMANENTLY
  fenix     --status LABEL_CREATED|PICKED_BY_CARRIER|IN_TRANSIT|OUT_FOR_DELIVERY|DELIVERED|EXCEPTION|RETURNED
  phantom   --status transaction.<pool.added|forged|applied|reverted|expired|pool.rejected>
                     or block.<received|forged|applied|disregarded|reverted>

Against hookflow dev, the Phoenix sandbox order is set to --status first, so the
workflow's API lookup agrees.`,
		Example: `  hookflow send phoenix --entity order-1 --status fulfilled
  hookflow send fenix --entity 794698751234 --status IN_TRANSIT
  hookflow send phantom --entity 7176646138626297930 --status block.forged
  hookflow send up42 --file ../shared/fixtures/up42-order-status-fulfilled.json`,
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
	f.StringVar(&o.entity, "entity", "", "entity ID of the sample: order, item, listing, shipment, transaction or block (default: one per provider)")
	f.StringVar(&o.entity, "order", "", "alias of --entity for orders")
	f.StringVar(&o.status, "status", "", "status of the sample (default: the first of the provider's lifecycle; phoenix: fulfilled)")
	f.StringVar(&o.eventID, "event-id", "", "event ID of the sample where the provider sends one: phoenix, phosphor TOKEN_TX, up42, fenix (default: a new random one)")
	f.StringVar(&o.topic, "topic", receivers.FenixTrackingUpdated, "fenix: X-Fenix-Topic")
	f.StringVar(&o.webhookID, "webhook-id", "", "fenix: X-Fenix-Webhook-Id, the subscription's ID (default: a new random one)")
	return cmd
}

// secret is the first configured secret, or the provider's development
// secret when none is configured (what hookflow dev accepts).
func (s sender) secret(cfg *config.Config) string {
	if secrets := s.secrets(cfg); len(secrets) > 0 {
		return secrets[0]
	}
	return config.DevSecrets[s.secretEnv]
}

// receiverURL is url, or the local receiver on HOOKFLOW_HTTP_ADDR's port.
func receiverURL(cfg *config.Config, url string) (string, error) {
	if url == "" {
		_, port, err := net.SplitHostPort(cfg.HTTPAddr)
		if err != nil {
			return "", fmt.Errorf("HOOKFLOW_HTTP_ADDR %q: %w", cfg.HTTPAddr, err)
		}
		url = "http://127.0.0.1:" + port
	}
	return strings.TrimRight(url, "/"), nil
}

func send(ctx context.Context, out io.Writer, cfg *config.Config, s sender, o sendOptions) error {
	base, err := receiverURL(cfg, o.url)
	if err != nil {
		return err
	}
	if o.eventID == "" {
		o.eventID = "evt_" + randomHex(8)
	}
	if o.webhookID == "" {
		o.webhookID = randomUUID()
	}
	if o.entity == "" {
		o.entity = s.entity
	}
	if o.status == "" {
		o.status = s.status
	}
	secret := s.secret(cfg)
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
	setHeaders(req, s.headers(cfg, o, body, secret))
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

// setHeaders sets the provider's headers in the provider's spelling
// (X-Fenix-API-Version) rather than Go's canonical form, so the request is
// the provider's to the byte.
func setHeaders(req *http.Request, headers map[string]string) {
	req.Header.Set("Content-Type", jsonType)
	for k, v := range headers {
		req.Header.Del(k)
		req.Header[k] = []string{v}
	}
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
		panic(err) // only maps of strings, numbers and maps are marshalled here
	}
	return b
}

// randomUUID is a random (version 4) UUID, the form of Fenix's IDs.
func randomUUID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
