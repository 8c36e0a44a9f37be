// Package metrics exposes hookflow's Prometheus metrics: the receivers'
// deliveries by provider and outcome, accept latency, dedup store errors,
// deliveries throttled by a tenant's caps and the provider-side connections
// by state (SetConnections), and, through the Temporal SDK's
// OpenTelemetry handler, the Temporal client's and worker's own metrics plus
// what workflows and activities count (workflows.MetricTransitionsApplied,
// activities.MetricProviderAPICalls), all on one registry.
package metrics

import (
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
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
	connections *connections
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
		connections: newConnections(),
	}
	reg.MustRegister(m.deliveries, m.latency, m.dedupErrors, m.throttled, m.connections)

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

// SetConnections replaces every hookflow_connections series with counts:
// a provider and state absent from counts has no series afterwards, so a
// connection that went away or changed state leaves nothing stale behind.
// The worker-side collector calls it after each count of the Connection
// workflows. A key whose State is not one of the Connection* constants is
// left out (the label stays a fixed set) and named in the error; the rest
// are set all the same.
func (m *Metrics) SetConnections(counts map[ConnectionKey]int) error {
	return m.connections.set(counts)
}

// Temporal is the handler to set as client.Options.MetricsHandler.
func (m *Metrics) Temporal() client.MetricsHandler { return m.temporal }

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{})
}

// The states a provider-side connection (contract section 18) is counted in,
// the values of hookflow_connections' state label. Workflow code does not
// import this package: the worker-side collector, which counts the
// Connection workflows, passes these strings to SetConnections.
const (
	ConnectionRegistering  = "registering"  // the webhook is being created or tested at the provider
	ConnectionActive       = "active"       // registered, and the last check found it enabled and pointing at us
	ConnectionDrifted      = "drifted"      // the last check found it deleted, disabled or pointing elsewhere
	ConnectionFailing      = "failing"      // registering, checking or repairing keeps failing (the provider API, a credential)
	ConnectionManual       = "manual"       // a provider without a registration API, watched only for its first verified event
	ConnectionDisconnected = "disconnected" // removed at the provider by `hookflow connect disconnect`
)

// ConnectionStates returns every Connection* state, in the order above: a
// new slice each call, so no caller can widen the label's set.
func ConnectionStates() []string {
	return []string{
		ConnectionRegistering, ConnectionActive, ConnectionDrifted,
		ConnectionFailing, ConnectionManual, ConnectionDisconnected,
	}
}

// ConnectionKey is one series of hookflow_connections: a configured
// provider's name and one of the Connection* states.
type ConnectionKey struct{ Provider, State string }

// connections is hookflow_connections. It is a collector over a snapshot
// rather than a GaugeVec because a GaugeVec's Reset and then Set would let a
// scrape in between see no connections at all (or half of them), which an
// alert on the drifted ones would read as a recovery.
type connections struct {
	desc   *prometheus.Desc
	mu     sync.Mutex
	counts map[ConnectionKey]int
}

func newConnections() *connections {
	return &connections{desc: prometheus.NewDesc("hookflow_connections",
		"Provider-side webhook connections (one per tenant and provider), by provider and state "+
			"(registering, active, drifted, failing, manual, disconnected), as last counted by a worker. "+
			"provider is a configured provider's name and state one of those six, so there are at most "+
			"six series a provider.",
		[]string{"provider", "state"}, nil)}
}

func (c *connections) set(counts map[ConnectionKey]int) error {
	next := make(map[ConnectionKey]int, len(counts))
	states := ConnectionStates()
	var unknown []string
	for k, n := range counts {
		if !slices.Contains(states, k.State) {
			unknown = append(unknown, k.Provider+"/"+k.State)
			continue
		}
		next[k] = n
	}
	c.mu.Lock()
	c.counts = next
	c.mu.Unlock()
	if len(unknown) > 0 {
		slices.Sort(unknown)
		return fmt.Errorf("hookflow_connections: unknown states left out: %s", strings.Join(unknown, ", "))
	}
	return nil
}

func (c *connections) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *connections) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, n := range c.counts {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(n), k.Provider, k.State)
	}
}
