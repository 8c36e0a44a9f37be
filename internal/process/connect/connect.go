// Package connect builds the Temporal and Redis clients of every hookflow
// process from its configuration, so that serve, worker, dev and the operator
// commands reach the same servers in the same way: TLS, credentials and the
// short Redis timeouts included. `hookflow dev`'s way (use the servers the
// configuration names where they answer, start what is missing) is
// devstack.Up.
package connect

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"time"

	"github.com/redis/go-redis/v9"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"

	"github.com/hookflow/hookflow/config"
	"github.com/hookflow/hookflow/telemetry/metrics"
	"github.com/hookflow/hookflow/telemetry/tracing"
)

// Temporal returns a lazy Temporal client: it connects on first use, so
// receivers start (and answer 503) while Temporal is away. m and tr may be
// nil for one-shot commands that export no metrics and no traces.
func Temporal(cfg *config.Config, log *slog.Logger, m *metrics.Metrics, tr *tracing.Tracing) (client.Client, error) {
	opts, err := TemporalOptions(cfg, log, m, tr)
	if err != nil {
		return nil, err
	}
	c, err := client.NewLazyClient(opts)
	if err != nil {
		return nil, fmt.Errorf("temporal client for %s: %w", cfg.TemporalAddress, err)
	}
	return c, nil
}

// TemporalOptions are the client options of every process: the SDK's logs
// through slog, its metrics into the process's registry (when m is not nil),
// its tracing interceptor (when tr is on: workers built on the client trace
// workflows and activities too), and TLS (mTLS) and the API key when
// configured (a real cluster, Temporal Cloud).
func TemporalOptions(cfg *config.Config, log *slog.Logger, m *metrics.Metrics, tr *tracing.Tracing) (client.Options, error) {
	opts := client.Options{
		HostPort:  cfg.TemporalAddress,
		Namespace: cfg.TemporalNamespace,
		Logger:    tlog.NewStructuredLogger(log.With("component", "temporal")),
	}
	if m != nil {
		opts.MetricsHandler = m.Temporal()
	}
	if tr.Enabled() {
		ti, err := tr.Interceptor()
		if err != nil {
			return client.Options{}, fmt.Errorf("tracing interceptor: %w", err)
		}
		opts.Interceptors = append(opts.Interceptors, ti)
	}
	tlsConf, err := cfg.TemporalTLSConfig()
	if err != nil {
		return client.Options{}, err
	}
	// Set either way: the SDK would otherwise turn TLS on by itself for an
	// API key even when TEMPORAL_TLS=false says not to.
	opts.ConnectionOptions.TLS = tlsConf
	opts.ConnectionOptions.TLSDisabled = tlsConf == nil
	if cfg.TemporalAPIKey.Enabled() {
		opts.Credentials = client.NewAPIKeyStaticCredentials(cfg.TemporalAPIKey[0])
	}
	return opts, nil
}

// RedisOptions are how to reach the dedup store: exactly one of the go-redis
// option sets is filled, for the form REDIS_URL takes (config.RedisMode).
type RedisOptions struct {
	Single   *redis.Options
	Failover *redis.FailoverOptions
	Cluster  *redis.ClusterOptions
}

// redisTimeout bounds every dial, read and write: a slow Redis must not hold
// deliveries up, since they are accepted without it.
const redisTimeout = 500 * time.Millisecond

// Redis builds the dedup store's options from REDIS_URL and the REDIS_*
// settings, with short timeouts, one retry and a pool the size of the
// in-flight bound.
func Redis(cfg *config.Config) (RedisOptions, error) {
	target, err := cfg.RedisTarget()
	if err != nil {
		return RedisOptions{}, err
	}
	var tlsConf *tls.Config
	if target.TLS {
		roots, err := cfg.RedisRootCAs()
		if err != nil {
			return RedisOptions{}, err
		}
		// No ServerName: each connection verifies the host it dials,
		// which is what Sentinel and Cluster need.
		tlsConf = &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: roots}
	}
	switch target.Mode {
	case config.RedisSentinel:
		return RedisOptions{Failover: &redis.FailoverOptions{
			MasterName: target.Master, SentinelAddrs: target.Addrs, SentinelPassword: target.SentinelPassword,
			Username: target.Username, Password: target.Password, DB: target.DB, TLSConfig: tlsConf,
			DialTimeout: redisTimeout, ReadTimeout: redisTimeout, WriteTimeout: redisTimeout, MaxRetries: 1, PoolSize: cfg.MaxInFlight,
		}}, nil
	case config.RedisCluster:
		return RedisOptions{Cluster: &redis.ClusterOptions{
			Addrs: target.Addrs, Username: target.Username, Password: target.Password, TLSConfig: tlsConf,
			DialTimeout: redisTimeout, ReadTimeout: redisTimeout, WriteTimeout: redisTimeout, MaxRetries: 1, PoolSize: cfg.MaxInFlight,
		}}, nil
	}
	// One server: go-redis's own parser, so its query options (?protocol=3)
	// keep working; the settings override the URL's credentials.
	opts, err := redis.ParseURL(cfg.RedisURL)
	if err != nil {
		return RedisOptions{}, fmt.Errorf("REDIS_URL: %w", err)
	}
	opts.Username, opts.Password = target.Username, target.Password
	if opts.TLSConfig != nil {
		opts.TLSConfig.MinVersion = tls.VersionTLS12
		opts.TLSConfig.RootCAs = tlsConf.RootCAs
	}
	opts.DialTimeout, opts.ReadTimeout, opts.WriteTimeout = redisTimeout, redisTimeout, redisTimeout
	opts.MaxRetries = 1
	opts.PoolSize = cfg.MaxInFlight
	return RedisOptions{Single: opts}, nil
}

// Client returns the go-redis client for the options.
func (o RedisOptions) Client() redis.UniversalClient {
	switch {
	case o.Failover != nil:
		return redis.NewFailoverClient(o.Failover)
	case o.Cluster != nil:
		return redis.NewClusterClient(o.Cluster)
	}
	return redis.NewClient(o.Single)
}

// RedisClient returns the dedup store's client (see Redis).
func RedisClient(cfg *config.Config) (redis.UniversalClient, error) {
	o, err := Redis(cfg)
	if err != nil {
		return nil, err
	}
	return o.Client(), nil
}
