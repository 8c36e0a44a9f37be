package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/hookflow/hookflow/config"
	"github.com/hookflow/hookflow/devtools"
	"github.com/hookflow/hookflow/providers"
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

// delivery is what the flags say the sample is about.
func (o sendOptions) delivery() providers.Delivery {
	return providers.Delivery{Entity: o.entity, Status: o.status, EventID: o.eventID, Topic: o.topic, WebhookID: o.webhookID}
}

// jsonType is the Content-Type every provider sends.
const jsonType = providers.JSONType

func newSendCmd(a *app) *cobra.Command {
	var o sendOptions
	// The help lists the built-in providers; configured ones are known
	// once the configuration is read.
	var statuses strings.Builder
	var names []string
	for _, p := range providers.Builtins() {
		names = append(names, p.Name)
		fmt.Fprintf(&statuses, "  %-9s --status %s\n", p.Name, p.Sample.Statuses)
	}
	cmd := &cobra.Command{
		Use:   "send <provider>",
		Short: "Sign and POST a sample or given event to a receiver, exactly as the provider would",
		Long: `Sign and POST an event as the provider would. Without --file a sample body is built
from --entity, --status and --event-id, so a whole lifecycle can be driven by hand:

` + statuses.String() + `
A provider defined in the configuration (providers:) is sent the same way, its sample
built from its fields and signed with its authentication preset.

Against hookflow dev, the Phoenix sandbox order is set to --status first, so the
workflow's API lookup agrees.`,
		Example: `  hookflow send phoenix --entity order-1 --status fulfilled
  hookflow send fenix --entity 794698751234 --status IN_TRANSIT
  hookflow send phantom --entity 7176646138626297930 --status block.forged
  hookflow send up42 --file ../shared/fixtures/up42-order-status-fulfilled.json
  hookflow send acme --config hookflow.yaml --entity o-1 --status paid`,
		Args:      cobra.ExactArgs(1),
		ValidArgs: names,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := a.config()
			if err != nil {
				return err
			}
			p, err := cfg.Providers.Lookup(args[0])
			if err != nil {
				return err
			}
			return send(cmd.Context(), cmd.OutOrStdout(), cfg, p, o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.url, "url", "", "receiver base URL (default: http://127.0.0.1 on HOOKFLOW_HTTP_ADDR's port)")
	f.StringVar(&o.file, "file", "", "send this file's bytes as the body instead of a sample")
	f.StringVar(&o.entity, "entity", "", "entity ID of the sample: order, item, listing, shipment, transaction or block (default: one per provider)")
	f.StringVar(&o.entity, "order", "", "alias of --entity for orders")
	f.StringVar(&o.status, "status", "", "status of the sample (default: the first of the provider's lifecycle; phoenix: fulfilled)")
	f.StringVar(&o.eventID, "event-id", "", "event ID of the sample where the provider sends one (default: a new random one)")
	f.StringVar(&o.topic, "topic", providers.FenixTrackingUpdated, "fenix: X-Fenix-Topic")
	f.StringVar(&o.webhookID, "webhook-id", "", "fenix: X-Fenix-Webhook-Id, the subscription's ID (default: a new random one)")
	return cmd
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

func send(ctx context.Context, out io.Writer, cfg *config.Config, p providers.Provider, o sendOptions) error {
	base, err := receiverURL(cfg, o.url)
	if err != nil {
		return err
	}
	if o.eventID == "" {
		o.eventID = "evt_" + randomHex(8)
	}
	if o.entity == "" {
		o.entity = p.Sample.Entity
	}
	if o.status == "" {
		o.status = p.Sample.Status
	}
	secret := p.SendSecret(cfg.Setting)
	route := p.Routes[0]
	hc := &http.Client{Timeout: 15 * time.Second}

	var body []byte
	if o.file != "" {
		b, err := os.ReadFile(o.file)
		if err != nil {
			return fmt.Errorf("read body: %w", err)
		}
		body = b
	} else {
		body = p.Sample.Body(o.delivery())
		if p.Sample.Sandbox != "" {
			if err := devtools.SetSandboxStatus(ctx, hc, base+devtools.SandboxPrefix+p.Sample.Sandbox+o.entity, o.status); err != nil {
				return err
			}
		}
	}

	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+route, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("build request: %w", err)
	}
	providers.SetHeaders(req, p.Sample.Headers(o.delivery(), body, secret, cfg.Setting))
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("post %s: %w", base+route, err)
	}
	defer resp.Body.Close()
	reply, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	fmt.Fprintf(out, "%s %s\n%s\n", resp.Proto, resp.Status, bytes.TrimSpace(reply))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("receiver answered %s", resp.Status)
	}
	return nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
