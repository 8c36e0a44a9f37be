package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/hookflow/hookflow/config"
	"github.com/hookflow/hookflow/internal/dev/loadgen"
	"github.com/hookflow/hookflow/internal/tenantstore"
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
	tenant    string // a tenant of the configuration's tenants:, "" for the default
}

// delivery is what the flags say the sample is about.
func (o sendOptions) delivery() providers.Delivery {
	return providers.Delivery{Entity: o.entity, Status: o.status, EventID: o.eventID, Topic: o.topic, WebhookID: o.webhookID, Tenant: o.tenant}
}

func newSendCmd(a *app) *cobra.Command {
	var o sendOptions
	// The help lists the built-in providers; configured ones are known
	// once the configuration is read.
	names, statuses := providers.SendHelp()
	cmd := &cobra.Command{
		Use:   "send <provider>",
		Short: "Sign and POST a sample or given event to a receiver, exactly as the provider would",
		Long: `Sign and POST an event as the provider would. Without --file a sample body is built
from --entity, --status and --event-id, so a whole lifecycle can be driven by hand:

` + statuses + `
A provider defined in the configuration (providers:) is sent the same way, its sample
built from its fields and signed with its authentication preset.

--tenant sends as one of the configuration's tenants, or a runtime tenant (hookflow
tenants add): signed with that tenant's secret
for the provider, and posted to /webhooks/<provider>/<tenant>, or, for a provider that
names its tenant in a header (Fenix's X-Client-Storename, a configured tenant_header),
to its usual route with that header.

Against hookflow dev, the Phoenix sandbox order is set to --status first, so the
workflow's API lookup agrees.`,
		Example: `  hookflow send phoenix --entity order-1 --status fulfilled
  hookflow send fenix --entity 794698751234 --status IN_TRANSIT
  hookflow send phantom --entity 7176646138626297930 --status block.forged
  hookflow send up42 --file ../shared/fixtures/up42-order-status-fulfilled.json
  hookflow send acme --config hookflow.yaml --entity o-1 --status paid
  hookflow send fenix --config hookflow.yaml --tenant wearhumans.myshopify.com --entity 794698751234`,
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
			if o.tenant != "" && !slices.ContainsFunc(cfg.Tenants, func(t config.Tenant) bool { return t.ID == o.tenant }) {
				// Not the file's: a runtime tenant, whose secret its
				// Tenant workflow keeps.
				err := a.withTenants(cmd.Context(), cmd.ErrOrStderr(), false, func(ctx context.Context, s *tenantstore.Store) error {
					secrets, err := s.Secrets(ctx, o.tenant, p.Name)
					if err != nil {
						return err
					}
					cfg.Tenants = append(cfg.Tenants, config.Tenant{ID: o.tenant, Secrets: map[string]config.Secrets{p.Name: secrets}})
					return nil
				})
				if err != nil {
					return unknownTenant(cfg, o.tenant, err)
				}
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
	f.StringVar(&o.tenant, "tenant", "", "send as this tenant, of the configuration's tenants: or added at runtime (its secret, its route or tenant header)")
	return cmd
}

// unknownTenant is the error of a tenant neither the file nor the runtime
// tenants know, err being why the runtime lookup failed.
func unknownTenant(cfg *config.Config, tenant string, err error) error {
	var ids []string
	for _, t := range cfg.Tenants {
		ids = append(ids, t.ID)
	}
	file := "the configuration has no tenants:"
	if len(ids) > 0 {
		file = "tenants: " + strings.Join(ids, ", ")
	}
	why := "runtime tenants could not be read (is Temporal up? set TEMPORAL_ADDRESS)"
	if errors.Is(err, tenantstore.ErrNotFound) {
		why = "nor is it a runtime tenant"
	}
	return fmt.Errorf("tenant %q is not configured (%s); %s", tenant, file, why)
}

// send posts one signed delivery and prints the receiver's answer; any
// answer but a 2xx is an error.
func send(ctx context.Context, out io.Writer, cfg *config.Config, p providers.Provider, o sendOptions) error {
	base, err := loadgen.ReceiverURL(cfg, o.url)
	if err != nil {
		return err
	}
	var body []byte
	if o.file != "" {
		if body, err = os.ReadFile(o.file); err != nil {
			return fmt.Errorf("read body: %w", err)
		}
	}
	r, err := loadgen.Send(ctx, cfg, p, base, o.delivery(), body)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "%s %s\n%s\n", r.Proto, r.Status, bytes.TrimSpace(r.Body))
	if r.Code/100 != 2 {
		return fmt.Errorf("receiver answered %s", r.Status)
	}
	return nil
}
