package main

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/redis/go-redis/v9"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/hookflow/hookflow/activities"
	"github.com/hookflow/hookflow/config"
	"github.com/hookflow/hookflow/internal/dedup"
	"github.com/hookflow/hookflow/internal/metrics"
	"github.com/hookflow/hookflow/internal/starter"
	"github.com/hookflow/hookflow/receivers"
	"github.com/hookflow/hookflow/workflows"
)

// newReceiverApp wires the receivers' Fiber app and logs which providers
// are enabled.
func newReceiverApp(cfg *config.Config, tc client.Client, rdb redis.UniversalClient, log *slog.Logger, m *metrics.Metrics) *fiber.App {
	var store receivers.Dedup
	if rdb != nil {
		// While Redis fails, one delivery a second tries it; the others
		// skip it rather than each wait out its timeouts.
		store = &dedup.Breaker{
			Store:    &dedup.Redis{Client: rdb, Prefix: "hookflow:dedup:", PendingTTL: cfg.PendingTTL, DoneTTL: cfg.DedupTTL},
			Cooldown: time.Second,
		}
	}
	var counts receivers.Metrics // stays a nil interface without m
	if m != nil {
		counts = m
	}
	st := starter.New(cfg, tc)
	r := receivers.New(receivers.Options{
		Metrics:      counts,
		Start:        st,
		Dedup:        store,
		Log:          log,
		MaxBodyBytes: cfg.MaxBodyBytes,
		MaxInFlight:  cfg.MaxInFlight,
		StartTimeout: cfg.StartTimeout,
	})
	ps := cfg.Providers.Bound(cfg.Setting)
	for _, p := range ps {
		if p.Verifier == nil {
			log.Warn("provider disabled: no secret configured", "provider", p.Name, "routes", p.Routes)
		} else {
			log.Info("provider enabled", "provider", p.Name, "routes", p.Routes)
		}
	}
	app := receivers.NewApp(r, ps)
	mountHealthz(app) // the rest of the ops endpoints are on HOOKFLOW_METRICS_ADDR
	return app
}

// newWorker registers the entity workflow and the activities. cfg must have
// passed Validate, which checks the forward secrets.
//
// Workflow task pollers scale with the backlog (the server tells the SDK
// when to add or drop one) instead of a fixed two. On the 2-core dev server
// this made no measurable difference, the backlog sitting in the server;
// it matters where the worker, not the server, is short (README,
// Performance).
func newWorker(cfg *config.Config, tc client.Client) worker.Worker {
	w := worker.New(tc, cfg.TaskQueue, worker.Options{
		WorkflowTaskPollerBehavior: worker.NewPollerBehaviorAutoscaling(worker.PollerBehaviorAutoscalingOptions{}),
	})
	w.RegisterWorkflow(workflows.Entity)
	var forward *activities.Forward
	if len(cfg.ForwardURLs) > 0 {
		var err error
		if forward, err = activities.NewForward(cfg.ForwardURLs, cfg.ForwardSecrets); err != nil {
			// Unreachable after Validate; deliveries then fail visibly.
			slog.Default().Error("forward secrets", "error", err.Error())
		}
	}
	w.RegisterActivity(&activities.Activities{
		HTTP:          &http.Client{Timeout: 10 * time.Second},
		PhoenixAPIURL: cfg.PhoenixAPIURL,
		Temporal:      tc,
		Namespace:     cfg.TemporalNamespace,
		Forward:       forward,
	})
	return w
}
