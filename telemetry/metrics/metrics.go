// Package metrics exposes hookflow's Prometheus metrics: the receivers'
// deliveries by provider and outcome, accept latency, dedup store errors and
// deliveries throttled by a tenant's caps, and, through the Temporal SDK's
// OpenTelemetry handler, the Temporal client's and worker's own metrics plus
// what workflows and activities count (workflows.MetricTransitionsApplied,
// activities.MetricProviderAPICalls), all on one registry.
package metrics

import (
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.temporal.io/sdk/client"
	temporalotel "go.temporal.io/sdk/contrib/opentelemetry"
)

// Metrics is one process's metrics registry. It implements
// receivers.Metrics.
type Metrics struct {
	registry    *prometheus.Registry
	deliveries  *prometheus.CounterVec
	latency     *prometheus.HistogramVec
	dedupErrors *prometheus.CounterVec
	throttled   *prometheus.CounterVec
	temporal    client.MetricsHandler
	// byLabels caches each provider and outcome's counter and histogram
	// (deliveryKey to *deliveryMetrics): looking them up in the vectors
	// hashes the labels and takes a lock on every delivery. Providers and
	// outcomes are few, so it stays small.
	byLabels sync.Map
}

type deliveryKey struct{ provider, outcome string }

type deliveryMetrics struct {
	count   prometheus.Counter
	latency prometheus.Observer
}

// New returns a registry with the Go runtime and process collectors, the
// receivers' metrics and a Temporal metrics handler that exports into it.
// Metric errors inside the SDK are logged, never fatal.
func New(log *slog.Logger) (*Metrics, error) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m := &Metrics{
		registry: reg,
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hookflow_webhook_requests_total",
			Help: "Webhook deliveries answered, by provider and outcome (accepted, duplicate, in_flight, unauthorized, invalid, disabled, overloaded, throttled, unavailable, ignored, too_large, rejected).",
		}, []string{"provider", "outcome"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "hookflow_webhook_accept_seconds",
			Help:    "Time to answer a webhook delivery, by provider and outcome.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"provider", "outcome"}),
		dedupErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hookflow_dedup_errors_total",
			Help: "Dedup store (Redis) failures worked around by accepting without it, by provider.",
		}, []string{"provider"}),
		// tenant is a configured tenant's ID, never a request's bytes:
		// at most the tenants in the configuration times two reasons, and
		// only those ever throttled.
		throttled: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hookflow_tenant_throttled_total",
			Help: "Deliveries answered 429 to one tenant past its own caps at this receiver, by tenant and reason (in_flight, rate).",
		}, []string{"tenant", "reason"}),
	}
	reg.MustRegister(m.deliveries, m.latency, m.dedupErrors, m.throttled)

	exporter, err := otelprom.New(otelprom.WithRegisterer(reg))
	if err != nil {
		return nil, err
	}
	meter := sdkmetric.NewMeterProvider(sdkmetric.WithReader(exporter)).Meter("hookflow")
	m.temporal = temporalotel.NewMetricsHandler(temporalotel.MetricsHandlerOptions{
		Meter:   meter,
		OnError: func(err error) { log.Warn("temporal metric", "error", err.Error()) },
	})
	return m, nil
}

// Delivery implements receivers.Metrics.
func (m *Metrics) Delivery(provider, outcome string, took time.Duration) {
	key := deliveryKey{provider, outcome}
	v, ok := m.byLabels.Load(key)
	if !ok {
		v, _ = m.byLabels.LoadOrStore(key, &deliveryMetrics{
			count:   m.deliveries.WithLabelValues(provider, outcome),
			latency: m.latency.WithLabelValues(provider, outcome),
		})
	}
	d := v.(*deliveryMetrics)
	d.count.Inc()
	d.latency.Observe(took.Seconds())
}

// DedupError implements receivers.Metrics.
func (m *Metrics) DedupError(provider string) {
	m.dedupErrors.WithLabelValues(provider).Inc()
}

// Throttled implements receivers.Metrics.
func (m *Metrics) Throttled(tenant, reason string) {
	m.throttled.WithLabelValues(tenant, reason).Inc()
}

// Temporal is the handler to set as client.Options.MetricsHandler.
func (m *Metrics) Temporal() client.MetricsHandler { return m.temporal }

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{})
}
