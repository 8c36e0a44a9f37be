package config

// Connecting to real clusters: Temporal over TLS (mTLS, or an API key for
// Temporal Cloud) and Redis with TLS, credentials, Sentinel or Cluster. The
// settings are in the fields table of config.go (the block marked
// "Connecting to real clusters"); what they mean, how they are checked and
// how they turn into TLS configurations is here.

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
)

// TemporalTLSEnabled reports whether the Temporal connection uses TLS:
// TEMPORAL_TLS when it is set, else on as soon as an API key, a client
// certificate, a CA or a server name is configured.
func (c *Config) TemporalTLSEnabled() bool {
	if c.IsSet("TEMPORAL_TLS") {
		return c.TemporalTLS
	}
	return c.TemporalAPIKey.Enabled() || c.TemporalTLSCert != "" || c.TemporalTLSKey != "" || c.TemporalTLSCA != "" || c.TemporalTLSServerName != ""
}

// TemporalTLSConfig returns the TLS configuration of the Temporal
// connection, or nil when it does not use TLS. Without TEMPORAL_TLS_CA the
// system's roots verify the server (as for Temporal Cloud).
func (c *Config) TemporalTLSConfig() (*tls.Config, error) {
	if !c.TemporalTLSEnabled() {
		return nil, nil
	}
	conf := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: c.TemporalTLSServerName}
	if c.TemporalTLSCert != "" || c.TemporalTLSKey != "" {
		if c.TemporalTLSCert == "" || c.TemporalTLSKey == "" {
			return nil, errors.New("TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY: set both or neither")
		}
		certPEM, err := readSettingFile("TEMPORAL_TLS_CERT", c.TemporalTLSCert)
		if err != nil {
			return nil, err
		}
		keyPEM, err := readSettingFile("TEMPORAL_TLS_KEY", c.TemporalTLSKey)
		if err != nil {
			return nil, err
		}
		pair, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			// The parser's message says what is wrong without quoting the key.
			return nil, fmt.Errorf("TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY: not a PEM certificate and its private key: %w", err)
		}
		conf.Certificates = []tls.Certificate{pair}
	}
	if c.TemporalTLSCA != "" {
		pool, err := certPool("TEMPORAL_TLS_CA", c.TemporalTLSCA)
		if err != nil {
			return nil, err
		}
		conf.RootCAs = pool
	}
	return conf, nil
}

// RedisMode says which kind of deployment REDIS_URL names.
type RedisMode int

// The forms REDIS_URL takes.
const (
	RedisSingle   RedisMode = iota // redis:// or rediss://: one server
	RedisSentinel                  // redis-sentinel:// or rediss-sentinel://: a master found through Sentinel
	RedisCluster                   // redis-cluster:// or rediss-cluster://: Redis Cluster
)

// RedisTarget is REDIS_URL taken apart, with REDIS_USERNAME, REDIS_PASSWORD
// and REDIS_SENTINEL_PASSWORD applied. Its String never shows a password.
type RedisTarget struct {
	Mode     RedisMode
	Addrs    []string // host:port; for Sentinel, the sentinels
	Master   string   // Sentinel's name of the master
	DB       int
	TLS      bool   // rediss schemes
	Username string // ACL user; empty: the default user
	Password string `json:"-"`
	// SentinelPassword authenticates to the sentinels themselves (their
	// requirepass), which may differ from the data nodes' password.
	SentinelPassword string `json:"-"`
}

// String describes the target without its passwords.
func (t RedisTarget) String() string {
	scheme := map[RedisMode]string{RedisSingle: "redis", RedisSentinel: "redis-sentinel", RedisCluster: "redis-cluster"}[t.Mode]
	if t.TLS {
		scheme = strings.Replace(scheme, "redis", "rediss", 1)
	}
	s := scheme + "://" + strings.Join(t.Addrs, ",")
	if t.Mode == RedisSentinel {
		s += "/" + t.Master
	}
	return s
}

// GoString keeps %#v from printing the passwords.
func (t RedisTarget) GoString() string { return t.String() }

// The schemes REDIS_URL accepts, for error messages.
const redisSchemes = "redis://, rediss://, redis-sentinel://, rediss-sentinel://, redis-cluster:// or rediss-cluster://"

// ParseRedisURL takes apart a REDIS_URL:
//
//	redis://[user:password@]host:port[/db]                       one server (rediss:// for TLS)
//	redis-sentinel://[user:password@]host:port[,host:port]/master[/db]  (rediss-sentinel:// for TLS)
//	redis-cluster://[user:password@]host:port[,host:port]        (rediss-cluster:// for TLS)
//
// The port defaults to 6379 (26379 for sentinels). The single-server form
// also takes go-redis's query options (?protocol=3); the others take none.
// Its errors never quote the URL, which may hold a password.
func ParseRedisURL(raw string) (RedisTarget, error) {
	var t RedisTarget
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return t, fmt.Errorf("must be a %s URL", redisSchemes)
	}
	kind, tlsOn := scheme, false
	if strings.HasPrefix(kind, "rediss") {
		kind, tlsOn = "redis"+strings.TrimPrefix(kind, "rediss"), true
	}
	t.TLS = tlsOn
	defaultPort := "6379"
	switch kind {
	case "redis":
		t.Mode = RedisSingle
	case "redis-sentinel":
		t.Mode, defaultPort = RedisSentinel, "26379"
	case "redis-cluster":
		t.Mode = RedisCluster
	default:
		return t, fmt.Errorf("scheme %q is not one of %s", scheme, redisSchemes)
	}
	rest, query, _ := strings.Cut(rest, "?")
	if query != "" && t.Mode != RedisSingle {
		return t, fmt.Errorf("%s:// takes no query options", scheme)
	}
	hostPart, path, _ := strings.Cut(rest, "/")
	if i := strings.LastIndex(hostPart, "@"); i >= 0 {
		// url.Parse decodes the user information (percent-escapes included).
		u, err := url.Parse("redis://" + hostPart[:i] + "@x")
		if err != nil || u.User == nil {
			return t, errors.New("user information (user:password@) is malformed")
		}
		t.Username = u.User.Username()
		t.Password, _ = u.User.Password()
		hostPart = hostPart[i+1:]
	}
	for _, h := range strings.Split(hostPart, ",") {
		if h == "" {
			return t, errors.New("every host must be named: host:port[,host:port]")
		}
		host, port, err := net.SplitHostPort(h)
		if err != nil { // no port: the default one
			host, port = strings.TrimSuffix(strings.TrimPrefix(h, "["), "]"), defaultPort
			if strings.Contains(host, ":") && !strings.HasPrefix(h, "[") {
				host = "" // an IPv6 address needs brackets: [::1]:6379
			}
		}
		if n, err := strconv.Atoi(port); err != nil || n <= 0 || n > 65535 || host == "" || strings.ContainsAny(host, " \t[]") {
			return t, fmt.Errorf("host %d is not host:port", len(t.Addrs)+1)
		}
		t.Addrs = append(t.Addrs, net.JoinHostPort(host, port))
	}
	if t.Mode == RedisSingle && len(t.Addrs) > 1 {
		return t, fmt.Errorf("%s:// names one server; for several use redis-sentinel:// or redis-cluster://", scheme)
	}
	segments := []string{}
	if path != "" {
		segments = strings.Split(path, "/")
	}
	if t.Mode == RedisSentinel {
		if len(segments) == 0 || segments[0] == "" {
			return t, fmt.Errorf("%s:// needs the master's name: %s://host:26379/mymaster", scheme, scheme)
		}
		t.Master, segments = segments[0], segments[1:]
	}
	if t.Mode == RedisCluster && len(segments) > 0 && segments[0] != "" {
		return t, errors.New("Redis Cluster has no databases but 0: leave the path out")
	}
	switch {
	case len(segments) > 1:
		return t, errors.New("path must be at most /<db> (after the master's name for Sentinel)")
	case len(segments) == 1 && segments[0] != "":
		db, err := strconv.Atoi(segments[0])
		if err != nil || db < 0 {
			return t, errors.New("database must be a number, like /0")
		}
		t.DB = db
	}
	return t, nil
}

// RedisTarget returns REDIS_URL taken apart, with REDIS_USERNAME,
// REDIS_PASSWORD and REDIS_SENTINEL_PASSWORD over what the URL says.
func (c *Config) RedisTarget() (RedisTarget, error) {
	t, err := ParseRedisURL(c.RedisURL)
	if err != nil {
		return t, fmt.Errorf("REDIS_URL: %w", err)
	}
	if c.RedisUsername != "" {
		t.Username = c.RedisUsername
	}
	if len(c.RedisPassword) > 0 {
		t.Password = c.RedisPassword[0]
	}
	if len(c.RedisSentinelPassword) > 0 {
		t.SentinelPassword = c.RedisSentinelPassword[0]
	}
	return t, nil
}

// RedisRootCAs returns the pool REDIS_TLS_CA names, or nil (the system's
// roots) when it is not set.
func (c *Config) RedisRootCAs() (*x509.CertPool, error) {
	if c.RedisTLSCA == "" {
		return nil, nil
	}
	return certPool("REDIS_TLS_CA", c.RedisTLSCA)
}

// validateCluster checks the cluster connection settings and returns one
// error per problem, each naming its setting.
func (c *Config) validateCluster() []error {
	var errs []error
	bad := func(env, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: "+format, append([]any{env}, args...)...))
	}
	if len(c.TemporalAPIKey) > 1 {
		bad("TEMPORAL_API_KEY", "must be one key, not %d", len(c.TemporalAPIKey))
	}
	if c.IsSet("TEMPORAL_TLS") && !c.TemporalTLS {
		for _, s := range []struct{ env, v string }{
			{"TEMPORAL_TLS_CERT", c.TemporalTLSCert}, {"TEMPORAL_TLS_KEY", c.TemporalTLSKey},
			{"TEMPORAL_TLS_CA", c.TemporalTLSCA}, {"TEMPORAL_TLS_SERVER_NAME", c.TemporalTLSServerName},
		} {
			if s.v != "" {
				bad(s.env, "is set but TEMPORAL_TLS is false")
			}
		}
	}
	if _, err := c.TemporalTLSConfig(); err != nil {
		errs = append(errs, err) // it names its settings
	}
	t, err := c.RedisTarget()
	if err != nil {
		return append(errs, err)
	}
	if len(c.RedisPassword) > 1 {
		bad("REDIS_PASSWORD", "must be one password, not %d", len(c.RedisPassword))
	}
	if len(c.RedisSentinelPassword) > 1 {
		bad("REDIS_SENTINEL_PASSWORD", "must be one password, not %d", len(c.RedisSentinelPassword))
	}
	if len(c.RedisSentinelPassword) > 0 && t.Mode != RedisSentinel {
		bad("REDIS_SENTINEL_PASSWORD", "is only used with a redis-sentinel:// or rediss-sentinel:// REDIS_URL")
	}
	if c.RedisTLSCA != "" {
		if !t.TLS {
			bad("REDIS_TLS_CA", "is only used with a TLS REDIS_URL (rediss://, rediss-sentinel://, rediss-cluster://)")
		} else if _, err := c.RedisRootCAs(); err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}

// readSettingFile reads the file a setting names; its errors name the
// setting and the path (a path is not a secret).
func readSettingFile(env, path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, fmt.Errorf("%s: cannot read %s: %w", env, path, err)
	}
	return b, nil
}

// certPool reads PEM certificates from the file a setting names.
func certPool(env, path string) (*x509.CertPool, error) {
	b, err := readSettingFile(env, path)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("%s: no PEM certificate in %s", env, path)
	}
	return pool, nil
}
