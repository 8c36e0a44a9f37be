package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/gofiber/fiber/v2"

	"github.com/hookflow/hookflow/activities"
	"github.com/hookflow/hookflow/config"
	"github.com/hookflow/hookflow/internal/operator/admin"
	"github.com/hookflow/hookflow/internal/operator/connections"
	"github.com/hookflow/hookflow/internal/operator/operate"
	"github.com/hookflow/hookflow/internal/process/connect"
	"github.com/hookflow/hookflow/internal/process/health"
	"github.com/hookflow/hookflow/internal/process/listen"
	"github.com/hookflow/hookflow/internal/tenantstore"
	"github.com/hookflow/hookflow/providers/registration"
	"github.com/hookflow/hookflow/receivers"
	"github.com/hookflow/hookflow/receivers/dedup"
	"github.com/hookflow/hookflow/receivers/starter"
	"github.com/hookflow/hookflow/receivers/verified"
	"github.com/hookflow/hookflow/telemetry/metrics"
	"github.com/hookflow/hookflow/telemetry/tracing"
	"github.com/hookflow/hookflow/workflows"
)

// process is one long-running process (serve, worker or dev), wired once
// and shared: its configuration, logger, metrics and clients.
type process struct {
	cfg     *config.Config
	log     *slog.Logger
	metrics *metrics.Metrics
	tracing *tracing.Tracing // nil when no OTEL_* variable asks for traces
	tc      client.Client
	rdb     redis.UniversalClient // nil in a process without Redis (the worker)
}

// newProcess loads the configuration and dials Temporal with the process's
// logger, metrics and tracing (service names the process in traces unless
// OTEL_SERVICE_NAME does); the caller calls p.close.
func (a *app) newProcess(ctx context.Context, service string) (*process, error) {
	log := newLogger()
	m, err := metrics.New(log)
	if err != nil {
		return nil, err
	}
	tr, err := newTracing(ctx, log, service)
	if err != nil {
		return nil, err
	}
	cfg, tc, err := a.dial(log, m, tr)
	if err != nil {
		return nil, err
	}
	return &process{cfg: cfg, log: log, metrics: m, tracing: tr, tc: tc}, nil
}

// newTracing is the process's tracing from the OTEL_* variables, and says
// so when it is on.
func newTracing(ctx context.Context, log *slog.Logger, service string) (*tracing.Tracing, error) {
	tr, err := tracing.FromEnv(ctx, service)
	if err != nil {
		return nil, err
	}
	if tr.Enabled() {
		log.Info("tracing on: exporting spans over OTLP")
	}
	return tr, nil
}

// close closes the Temporal client and exports the spans still buffered.
func (p *process) close() {
	p.tc.Close()
	p.flushTraces()
}

// flushTraces exports the spans still buffered and stops the exporter:
// after the worker and receivers stopped, so their last spans go too.
func (p *process) flushTraces() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := p.tracing.Shutdown(ctx); err != nil {
		p.log.Warn("tracing shutdown", "error", err.Error())
	}
}

// tenantStore is the runtime tenants' store, nil without
// HOOKFLOW_SECRETS_KEY: tenants then come from the file alone.
func (p *process) tenantStore() *tenantstore.Store {
	if len(p.cfg.SecretsKeys) == 0 {
		return nil
	}
	s, err := tenantstore.New(p.cfg, p.tc)
	if err != nil { // Validate parsed the keys already
		p.log.Error("runtime tenants off", "error", err)
		return nil
	}
	return s
}

// startWorker starts the worker and returns its stop.
func (p *process) startWorker() (stop func(), err error) {
	w := newWorker(p.cfg, p.tc)
	if err := w.Start(); err != nil {
		return nil, fmt.Errorf("start worker on task queue %s: %w", p.cfg.TaskQueue, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		p.countConnections(ctx, connectionsCountEvery)
	}()
	return func() { cancel(); <-done; w.Stop() }, nil
}

// connectionsCountEvery is how often a worker counts the connections for
// the hookflow_connections gauge: well inside the alert's 10 minutes.
const connectionsCountEvery = 30 * time.Second

// countConnections sets the hookflow_connections gauge from the
// connections' memos every interval until ctx ends. Every worker exports
// the same counts; the alert and the dashboard take their max.
func (p *process) countConnections(ctx context.Context, every time.Duration) {
	if p.metrics == nil {
		return
	}
	s := &connections.Service{Client: p.tc, Config: p.cfg}
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		if list, err := s.List(ctx, ""); err == nil {
			counts := map[metrics.ConnectionKey]int{}
			for k, n := range connections.Counts(list) {
				counts[metrics.ConnectionKey{Provider: k[0], State: k[1]}] = n
			}
			if err := p.metrics.SetConnections(counts); err != nil {
				p.log.Warn("connections gauge", "error", err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// serve serves apps, and the operations app on HOOKFLOW_METRICS_ADDR, until
// ctx ends.
func (p *process) serve(ctx context.Context, apps ...listen.App) error {
	opsApp := listen.App{Setting: "HOOKFLOW_METRICS_ADDR", App: p.opsApp(), Addr: p.cfg.MetricsAddr}
	return listen.Serve(ctx, append(apps, opsApp)...)
}

// opsApp is the operations app, with the admin API when an admin token is
// configured: HOOKFLOW_ADMIN_TOKEN or a tenant's admin_token_env.
func (p *process) opsApp() *fiber.App {
	app := health.NewApp(p.log, p.metrics, p.tc, p.rdb)
	if p.cfg.AdminAPI() {
		api := &admin.API{
			Config: p.cfg, Client: p.tc,
			Sender:  operate.Sender{Starter: starter.New(p.cfg, p.tc), Providers: p.cfg.Providers, Rate: 1},
			Tenants: p.tenantStore(),
		}
		if api.Tenants != nil {
			api.Connections = &connections.Service{Client: p.tc, Config: p.cfg, Tenants: api.Tenants}
			if p.rdb != nil {
				api.Connections.Verified = &verified.Marks{Client: p.rdb}
			}
		}
		api.Mount(app)
		p.log.Info("admin API on HOOKFLOW_METRICS_ADDR under /v1", "addr", p.cfg.MetricsAddr)
	}
	return app
}

// receivers wires the receivers' app, on HOOKFLOW_HTTP_ADDR. With
// HOOKFLOW_SECRETS_KEY set, the tenants are watched until ctx ends and the
// receivers take every change (tenantstore.Watch).
func (p *process) receivers(ctx context.Context) listen.App {
	cfg := p.cfg
	var store receivers.Dedup // stays a nil interface without Redis
	if p.rdb != nil {
		store = dedup.NewStore(p.rdb, cfg.PendingTTL, cfg.DedupTTL)
	}
	var counts receivers.Metrics // stays a nil interface without metrics
	if p.metrics != nil {
		counts = p.metrics
	}
	bound := cfg.Providers.Bound(cfg.Setting)
	// Every tenant's verifiers, built once; a tenant's provider whose
	// verifier cannot be built stays refused (Validate refuses such
	// secrets first).
	tenants, err := receivers.BindTenants(bound, cfg.Tenants, cfg.Setting, cfg.TenantLimits)
	if err != nil {
		p.log.Error("tenant provider disabled", "error", err)
	}
	runtime := p.tenantStore()
	var marks interface{ Mark(provider, tenant string) } // stays a nil interface without Redis
	if p.rdb != nil {
		marks = &verified.Marks{Client: p.rdb}
	}
	r := receivers.New(receivers.Options{
		Verified:       marks,
		Tenants:        tenants,
		RuntimeTenants: runtime != nil,
		Metrics:        counts,
		Start:          starter.New(cfg, p.tc),
		Dedup:          store,
		Log:            p.log,
		MaxBodyBytes:   cfg.MaxBodyBytes,
		MaxInFlight:    cfg.MaxInFlight,
		StartTimeout:   cfg.StartTimeout,
		Tracing:        p.tracing,
	})
	if runtime != nil {
		go runtime.Watch(ctx, 0, p.log, func(all []config.Tenant) {
			t, err := receivers.BindTenants(bound, all, cfg.Setting, cfg.TenantLimits)
			if err != nil {
				p.log.Error("tenant provider disabled", "error", err)
			}
			r.SetTenants(t)
			p.log.Info("tenants", "count", len(all))
		})
	}
	app := receivers.NewApp(r, bound)
	health.MountHealthz(app) // the rest of the ops endpoints are on HOOKFLOW_METRICS_ADDR
	return listen.App{Setting: "HOOKFLOW_HTTP_ADDR", App: app, Addr: cfg.HTTPAddr}
}

// workers are the process's Temporal workers, started and stopped together.
type workers []worker.Worker

// Start starts each; on a failure it stops those it started.
func (ws workers) Start() error {
	for i, w := range ws {
		if err := w.Start(); err != nil {
			workers(ws[:i]).Stop()
			return err
		}
	}
	return nil
}

// Stop stops each, the entity worker last.
func (ws workers) Stop() {
	for i := len(ws) - 1; i >= 0; i-- {
		ws[i].Stop()
	}
}

// newWorker registers the entity workflow and the activities on the task
// queue, the provider reads of reconciling on each reconciled provider's
// queue, at HOOKFLOW_RECONCILE_RATE, and the deliveries of each destination
// on its own queue, at its rate: limits the server enforces across
// every worker (TaskQueueActivitiesPerSecond), so no limiter of our own is
// shared between processes. cfg must have passed Validate, which
// checks the forward secrets.
//
// Workflow task pollers scale with the backlog (the server tells the SDK
// when to add or drop one) instead of a fixed two. On the 2-core dev server
// this made no measurable difference, the backlog sitting in the server;
// it matters where the worker, not the server, is short (docs/performance.md).
func newWorker(cfg *config.Config, tc client.Client) workers {
	w := worker.New(tc, cfg.TaskQueue, worker.Options{
		WorkflowTaskPollerBehavior: worker.NewPollerBehaviorAutoscaling(worker.PollerBehaviorAutoscalingOptions{}),
		// A burst's workflow task takes up to 200 events (workflows'
		// maxEventsPerTask), well under the SDK's default second on an idle
		// worker; on one starved of CPU it was seen to pass it, and the
		// task then failed as a deadlock and was retried over and over.
		// Five seconds keeps the check for code that truly blocks, under
		// the workflow task timeout (10 s).
		DeadlockDetectionTimeout: 5 * time.Second,
	})
	w.RegisterWorkflow(workflows.Entity)
	w.RegisterWorkflow(workflows.Tenant)
	forward, err := activities.NewForward(forwardDestinations(cfg))
	if err != nil {
		// Unreachable after Load and Validate; deliveries then fail visibly.
		slog.Default().Error("destinations", "error", err.Error())
	}
	acts := &activities.Activities{
		HTTP:      &http.Client{Timeout: 10 * time.Second},
		Temporal:  tc,
		Namespace: cfg.TemporalNamespace,
		Forward:   forward,
		APIs:      entityAPIs(cfg),
	}
	w.RegisterActivity(acts)
	workflows.RegisterConnection(w, connectionActivities(cfg, tc))
	ws := workers{w}
	for _, provider := range starter.ReconciledProviders(cfg) {
		rw := worker.New(tc, starter.ReconcileQueue(cfg.TaskQueue, provider), worker.Options{
			DisableWorkflowWorker:        true,
			TaskQueueActivitiesPerSecond: cfg.ReconcileRate,
		})
		rw.RegisterActivityWithOptions(acts.FetchPhoenixOrder, activity.RegisterOptions{Name: "FetchPhoenixOrder"})
		rw.RegisterActivityWithOptions(acts.FetchEntityStatus, activity.RegisterOptions{Name: "FetchEntityStatus"})
		ws = append(ws, rw)
	}
	for _, d := range cfg.Destinations() {
		dw := worker.New(tc, starter.DeliveryQueue(cfg.TaskQueue, d.Name), worker.Options{
			DisableWorkflowWorker:        true,
			TaskQueueActivitiesPerSecond: d.Rate, // 0: no limit
		})
		dw.RegisterActivityWithOptions(acts.Deliver, activity.RegisterOptions{Name: "Deliver"})
		ws = append(ws, dw)
	}
	return ws
}

// connectionActivities are the Connection workflow's activities: the
// providers' registration APIs at UP42_API_URL and FENIX_API_URL, the
// tenants' credentials from the tenant store (the file's, and runtime ones
// opened with HOOKFLOW_SECRETS_KEY), and the receivers' verified marks in
// Redis, read by a client of its own that dials on first use.
func connectionActivities(cfg *config.Config, tc client.Client) *activities.Connections {
	store, err := tenantstore.New(cfg, tc)
	if err != nil { // Validate parsed the keys already
		store = &tenantstore.Store{Client: tc, Namespace: cfg.TemporalNamespace, TaskQueue: cfg.TaskQueue, File: cfg.Tenants}
	}
	hc := &http.Client{Timeout: 30 * time.Second}
	return &activities.Connections{
		Registrars: func(provider string) (registration.Registrar, error) {
			base := map[string]string{"up42": cfg.UP42APIURL, "fenix": cfg.FenixAPIURL}[provider]
			if base == "" {
				if _, err := registration.New(provider, "http://unset", hc); err != nil {
					return nil, err
				}
				return nil, fmt.Errorf("%s's registration API URL is not set (%s_API_URL)", provider, strings.ToUpper(provider))
			}
			return registration.New(provider, base, hc)
		},
		Credentials: credentials(cfg, store),
		Verified:    &lazyMarks{cfg: cfg},
	}
}

// credentials are the tenants' credentials; under `hookflow dev` a tenant
// without an API token gets a placeholder, which the stand-ins take.
func credentials(cfg *config.Config, store *tenantstore.Store) activities.TenantCredentials {
	if cfg.DevConnections {
		return devTokens{store}
	}
	return store
}

// devTokens is the tenant store with a placeholder API token.
type devTokens struct{ *tenantstore.Store }

// DevAccessToken is the API token of a tenant without one under hookflow
// dev: the stand-ins take any.
const DevAccessToken = "hookflow-dev-token"

func (d devTokens) AccessToken(ctx context.Context, tenant, provider string) (string, error) {
	token, err := d.Store.AccessToken(ctx, tenant, provider)
	if err == nil && token == "" {
		return DevAccessToken, nil
	}
	return token, err
}

// lazyMarks reads the receivers' verified marks through a Redis client
// made on first use, so a worker that never connects a provider never
// dials Redis.
type lazyMarks struct {
	cfg   *config.Config
	once  sync.Once
	marks *verified.Marks
	err   error
}

func (l *lazyMarks) LastVerified(ctx context.Context, provider, tenant string) (time.Time, error) {
	l.once.Do(func() {
		rdb, err := connect.RedisClient(l.cfg)
		l.marks, l.err = &verified.Marks{Client: rdb}, err
	})
	if l.err != nil {
		return time.Time{}, l.err
	}
	return l.marks.LastVerified(ctx, provider, tenant)
}

// forwardDestinations are the destinations as the Deliver activity sends to
// them.
func forwardDestinations(cfg *config.Config) []activities.Destination {
	var ds []activities.Destination
	for _, d := range cfg.Destinations() {
		headers := map[string]string{}
		for _, h := range d.Headers {
			headers[h.Name] = strings.Join(h.Value, ",")
		}
		ds = append(ds, activities.Destination{Name: d.Name, URL: strings.Join(d.URL, ","), Secrets: d.Secrets, Headers: headers})
	}
	return ds
}

// entityAPIs are the providers' APIs as the read activities use them,
// built-in and configured alike: each at its base URL where a setting
// holds it, with its credential from the provider's setting.
func entityAPIs(cfg *config.Config) map[string]activities.EntityAPI {
	apis := map[string]activities.EntityAPI{}
	for _, p := range cfg.Providers.All() {
		if p.API == nil {
			continue
		}
		at := p.API
		if at.BaseSetting != "" {
			at = at.At(apiBase(cfg, at.BaseSetting))
		}
		api := activities.EntityAPI{URL: at.URLFor, StatusOf: at.StatusOf}
		if at.Header != "" {
			api.Header, api.Value = at.Header, at.Prefix+strings.TrimSpace(cfg.Setting(at.SecretEnv))
		}
		apis[p.Name] = api
	}
	return apis
}

// apiBase is the value of the setting holding a built-in API's base URL:
// PHOENIX_API_URL is one of hookflow's own settings (the dev sandbox sets
// it), the others are provider settings.
func apiBase(cfg *config.Config, setting string) string {
	if setting == "PHOENIX_API_URL" {
		return cfg.PhoenixAPIURL
	}
	return cfg.Setting(setting)
}
