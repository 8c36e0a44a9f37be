package devstack

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
	"go.temporal.io/sdk/client"

	"github.com/hookflow/hookflow/config"
	"github.com/hookflow/hookflow/internal/process/connect"
	"github.com/hookflow/hookflow/telemetry/metrics"
	"github.com/hookflow/hookflow/telemetry/tracing"
)

// Options say where `hookflow dev` keeps its children's data and how its
// clients log and count.
type Options struct {
	// Dir holds what dev keeps between runs: the Temporal SQLite file,
	// Redis's data and the children's logs.
	Dir     string
	UIPort  int // the Temporal Web UI's port
	Log     *slog.Logger
	Metrics *metrics.Metrics // the Temporal client's metrics; may be nil
	Tracing *tracing.Tracing // the Temporal client's traces; nil is off
}

// Stack is what Dev found or started, connected.
type Stack struct {
	Temporal client.Client
	Redis    redis.UniversalClient
	// TemporalServer and RedisServer are the children Dev started: nil for
	// a server it found running and uses as it is.
	TemporalServer, RedisServer *Child
	// RedisURL is REDIS_URL without its password, for messages.
	RedisURL string
	stops    []func()
}

// Up connects to Temporal and Redis as `hookflow dev` does: the Temporal
// server TEMPORAL_ADDRESS names, or else a dev server it starts (through
// devstack); the Redis REDIS_URL names when it answers, or else a
// redis-server it starts, their data in o.Dir (created when missing). On
// error nothing it started is left running.
func Up(ctx context.Context, cfg *config.Config, o Options) (*Stack, error) {
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("create %s: %w", o.Dir, err)
	}
	s := &Stack{RedisURL: redactURL(cfg.RedisURL)}
	if err := s.upTemporal(ctx, cfg, o); err != nil {
		return nil, err
	}
	if err := s.upRedis(ctx, cfg, o); err != nil {
		s.Stop()
		return nil, err
	}
	return s, nil
}

// Stop closes the clients and stops what Dev started, in reverse order.
func (s *Stack) Stop() {
	for i := len(s.stops) - 1; i >= 0; i-- {
		s.stops[i]()
	}
	s.stops = nil
}

// Watch is Watch over the children Dev started: a server it found running
// going away is answered with 503s and retries, as under serve.
func (s *Stack) Watch(ctx context.Context) (context.Context, context.CancelFunc) {
	var started []*Child
	for _, c := range []*Child{s.TemporalServer, s.RedisServer} {
		if c != nil {
			started = append(started, c)
		}
	}
	return Watch(ctx, started...)
}

// upTemporal starts the pinned Temporal CLI's dev server with its SQLite
// file in WAL mode and the Web UI, unless TEMPORAL_ADDRESS was given, in
// which case that server is used as it is.
func (s *Stack) upTemporal(ctx context.Context, cfg *config.Config, o Options) error {
	copts, err := connect.TemporalOptions(cfg, o.Log, o.Metrics, o.Tracing)
	if err != nil {
		return err
	}
	if cfg.IsSet("TEMPORAL_ADDRESS") {
		tc, err := client.DialContext(ctx, copts)
		if err != nil {
			return fmt.Errorf("connect to Temporal at %s: %w", cfg.TemporalAddress, err)
		}
		s.Temporal = tc
		s.stops = append(s.stops, tc.Close)
		return nil
	}
	cli, err := temporalCLI()
	if err != nil {
		return err
	}
	startCtx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	srv, err := StartTemporal(startCtx, TemporalOptions{
		CLI:       cli,
		HostPort:  cfg.TemporalAddress,
		Namespace: cfg.TemporalNamespace,
		DBFile:    filepath.Join(o.Dir, "temporal.db"),
		UIPort:    o.UIPort,
		LogLevel:  "warn",
		LogFile:   filepath.Join(o.Dir, "temporal.log"),
	})
	if errors.Is(err, ErrAddrInUse) {
		return fmt.Errorf("%w: set TEMPORAL_ADDRESS=%s to use the server there, or stop it", err, cfg.TemporalAddress)
	}
	if err != nil {
		return fmt.Errorf("%w (Temporal CLI %s)", err, cli)
	}
	stop := func() {
		if err := srv.Stop(); err != nil {
			o.Log.Warn("temporal dev server stop", "error", err.Error())
		}
	}
	tc, err := client.DialContext(startCtx, copts)
	if err != nil {
		stop()
		return fmt.Errorf("connect to the Temporal dev server at %s: %w", cfg.TemporalAddress, err)
	}
	s.Temporal, s.TemporalServer = tc, srv
	s.stops = append(s.stops, func() { tc.Close(); stop() })
	return nil
}

// temporalCLI finds the pinned Temporal CLI: HOOKFLOW_TEMPORAL_CLI, then
// bin/temporal beside this binary or in the working directory, then PATH.
func temporalCLI() (string, error) {
	if p := os.Getenv("HOOKFLOW_TEMPORAL_CLI"); p != "" {
		return p, nil
	}
	var candidates []string
	if exe, err := os.Executable(); err == nil {
		candidates = append(candidates, filepath.Join(filepath.Dir(exe), "temporal"))
	}
	candidates = append(candidates, filepath.Join("bin", "temporal"))
	for _, c := range candidates {
		if st, err := os.Stat(c); err == nil && !st.IsDir() {
			return c, nil
		}
	}
	if p, err := exec.LookPath("temporal"); err == nil {
		return p, nil
	}
	return "", errors.New("no Temporal CLI found: run `make temporal` (builds the pinned v1.5.1 into bin/) or set HOOKFLOW_TEMPORAL_CLI")
}

// upRedis uses REDIS_URL when it answers, else starts redis-server from PATH
// with its data under o.Dir, else says how to get Redis.
func (s *Stack) upRedis(ctx context.Context, cfg *config.Config, o Options) error {
	conn, err := connect.Redis(cfg)
	if err != nil {
		return err
	}
	rdb := conn.Client()
	if conn.Single == nil {
		// Sentinel or Cluster: dev uses it or stops; it starts only one server.
		if err := rdb.Ping(ctx).Err(); err != nil {
			rdb.Close()
			target, _ := cfg.RedisTarget() // its String has no password
			return fmt.Errorf("redis at %s does not answer: %w", target, err)
		}
		s.useRedis(rdb, nil, o.Log)
		return nil
	}
	// A plain dial first: go-redis would log each refused connection.
	single := conn.Single
	if c, err := (&net.Dialer{Timeout: single.DialTimeout}).DialContext(ctx, single.Network, single.Addr); err == nil {
		c.Close()
		if rdb.Ping(ctx).Err() == nil {
			s.useRedis(rdb, nil, o.Log)
			return nil
		}
	}
	path, err := exec.LookPath("redis-server")
	if err != nil {
		rdb.Close()
		return fmt.Errorf("redis at %s does not answer and redis-server is not on PATH: install Redis 7 (apt-get install redis-server, brew install redis) or set REDIS_URL", s.RedisURL)
	}
	u, _ := url.Parse(cfg.RedisURL)
	port, err := 6379, error(nil)
	if u.Port() != "" {
		port, err = strconv.Atoi(u.Port())
	}
	if err != nil {
		rdb.Close()
		return fmt.Errorf("REDIS_URL port %q: %w", u.Port(), err)
	}
	startCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	// A snapshot a minute after a change, so dedup records survive restarts of dev.
	srv, err := StartRedis(startCtx, RedisOptions{Server: path, Port: port, Dir: o.Dir, Save: "60 1"})
	if err != nil {
		rdb.Close()
		return err
	}
	s.useRedis(rdb, srv, o.Log)
	return nil
}

// useRedis keeps rdb, and srv when Dev started it, for Stop.
func (s *Stack) useRedis(rdb redis.UniversalClient, srv *Child, log *slog.Logger) {
	s.Redis, s.RedisServer = rdb, srv
	s.stops = append(s.stops, func() {
		rdb.Close()
		if srv == nil {
			return
		}
		if err := srv.Stop(); err != nil {
			log.Warn("redis-server stop", "error", err.Error())
		}
	})
}

// redactURL drops any password from a URL before it is printed.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}
