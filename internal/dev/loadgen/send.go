package loadgen

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/hookflow/hookflow/config"
	"github.com/hookflow/hookflow/internal/dev/devtools"
	"github.com/hookflow/hookflow/internal/process/health"
	"github.com/hookflow/hookflow/providers"
)

// Reply is the receiver's answer to one delivery.
type Reply struct {
	Proto  string // "HTTP/1.1"
	Status string // "200 OK"
	Code   int
	Body   []byte // its first 64 KiB
}

// Send signs one delivery for p as the provider would and posts it to the
// receiver at base: as the default tenant on p's first route, or, when
// d.Tenant is set, as that configured tenant (its secret; its route, or
// p's TenantHeader on p's first route). When body is nil, it is p's sample
// for d, whose empty fields take the sample's defaults and a new random
// event ID; against hookflow dev, the Phoenix sandbox is first told the
// sample's status, so the workflow's API lookup agrees.
func Send(ctx context.Context, cfg *config.Config, p providers.Provider, base string, d providers.Delivery, body []byte) (Reply, error) {
	as, err := senderFor(cfg, p, d.Tenant)
	if err != nil {
		return Reply{}, err
	}
	if d.EventID == "" {
		d.EventID = "evt_" + randomHex(8)
	}
	if d.Entity == "" {
		d.Entity = p.Sample.Entity
	}
	if d.Status == "" {
		d.Status = p.Sample.Status
	}
	hc := &http.Client{Timeout: 15 * time.Second}
	if body == nil && p.Sample.Sandbox != "" {
		if err := devtools.SetSandboxStatus(ctx, hc, base+devtools.SandboxPrefix+p.Sample.Sandbox+d.Entity, d.Status); err != nil {
			return Reply{}, err
		}
	}
	body, headers := as.sign(d, body)
	url := base + as.route
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return Reply{}, fmt.Errorf("build request: %w", err)
	}
	providers.SetHeaders(req, headers)
	resp, err := hc.Do(req)
	if err != nil {
		return Reply{}, fmt.Errorf("post %s: %w", url, err)
	}
	defer resp.Body.Close()
	reply, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	return Reply{Proto: resp.Proto, Status: resp.Status, Code: resp.StatusCode, Body: reply}, nil
}

// ReceiverURL is url without a trailing slash, or the receiver on this
// machine at HOOKFLOW_HTTP_ADDR's port when url is empty.
func ReceiverURL(cfg *config.Config, url string) (string, error) {
	if url == "" {
		return health.LoopbackURL("HOOKFLOW_HTTP_ADDR", cfg.HTTPAddr)
	}
	return strings.TrimRight(url, "/"), nil
}

// MetricsURL is url, or the worker's /metrics on this machine at
// HOOKFLOW_METRICS_ADDR's port when url is empty: where the handled-events
// counter is.
func MetricsURL(cfg *config.Config, url string) (string, error) {
	if url != "" {
		return url, nil
	}
	base, err := health.LoopbackURL("HOOKFLOW_METRICS_ADDR", cfg.MetricsAddr)
	return base + "/metrics", err
}
