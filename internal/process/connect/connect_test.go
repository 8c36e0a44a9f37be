package connect_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"log/slog"
	"net"
	"os"
	"reflect"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"google.golang.org/grpc"
	grpccodes "google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	"github.com/hookflow/hookflow/config"
	"github.com/hookflow/hookflow/internal/dev/testenv"
	"github.com/hookflow/hookflow/internal/process/connect"
)

// loadConfig is a validated configuration from vars alone.
func loadConfig(t *testing.T, vars map[string]string) *config.Config {
	t.Helper()
	cfg, err := config.Load("", func(k string) string { return vars[k] })
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestRedisOptionsForms(t *testing.T) {
	caFile := testenv.NewPKI(t, "redis.test").CAFile
	type want struct {
		kind     string // single, failover or cluster
		addrs    []string
		master   string
		db       int
		user     string
		password string
		tls      bool
		ownCA    bool
		client   string // the go-redis client type
	}
	tests := []struct {
		name string
		vars map[string]string
		want want
	}{
		{"default", nil, want{kind: "single", addrs: []string{"127.0.0.1:6379"}, client: "*redis.Client"}},
		{"single with TLS and password from the environment", map[string]string{
			"REDIS_URL": "rediss://url-user:url-pass@cache.test:6380/4", "REDIS_PASSWORD": "env-pass", "REDIS_TLS_CA": caFile,
		}, want{kind: "single", addrs: []string{"cache.test:6380"}, db: 4, user: "url-user", password: "env-pass", tls: true, ownCA: true, client: "*redis.Client"}},
		{"sentinel", map[string]string{
			"REDIS_URL": "redis-sentinel://:pw@s1:26379,s2/mymaster/1", "REDIS_USERNAME": "app",
		}, want{kind: "failover", addrs: []string{"s1:26379", "s2:26379"}, master: "mymaster", db: 1, user: "app", password: "pw", client: "*redis.Client"}},
		{"cluster with TLS", map[string]string{
			"REDIS_URL": "rediss-cluster://n1:7000,n2:7001",
		}, want{kind: "cluster", addrs: []string{"n1:7000", "n2:7001"}, tls: true, client: "*redis.ClusterClient"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := loadConfig(t, tt.vars)
			o, err := connect.Redis(cfg)
			if err != nil {
				t.Fatal(err)
			}
			var got want
			var tlsConf *tls.Config
			var timeouts [3]time.Duration
			var retries, pool int
			switch {
			case o.Single != nil:
				got = want{kind: "single", addrs: []string{o.Single.Addr}, db: o.Single.DB, user: o.Single.Username, password: o.Single.Password}
				tlsConf, timeouts, retries, pool = o.Single.TLSConfig, [3]time.Duration{o.Single.DialTimeout, o.Single.ReadTimeout, o.Single.WriteTimeout}, o.Single.MaxRetries, o.Single.PoolSize
			case o.Failover != nil:
				f := o.Failover
				got = want{kind: "failover", addrs: f.SentinelAddrs, master: f.MasterName, db: f.DB, user: f.Username, password: f.Password}
				tlsConf, timeouts, retries, pool = f.TLSConfig, [3]time.Duration{f.DialTimeout, f.ReadTimeout, f.WriteTimeout}, f.MaxRetries, f.PoolSize
			case o.Cluster != nil:
				c := o.Cluster
				got = want{kind: "cluster", addrs: c.Addrs, user: c.Username, password: c.Password}
				tlsConf, timeouts, retries, pool = c.TLSConfig, [3]time.Duration{c.DialTimeout, c.ReadTimeout, c.WriteTimeout}, c.MaxRetries, c.PoolSize
			}
			got.tls = tlsConf != nil
			got.ownCA = tlsConf != nil && tlsConf.RootCAs != nil
			rdb := o.Client()
			defer rdb.Close()
			got.client = reflect.TypeOf(rdb).String()
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
			// The short timeouts and the pool sized to the in-flight bound hold in every form.
			if want := [3]time.Duration{500 * time.Millisecond, 500 * time.Millisecond, 500 * time.Millisecond}; timeouts != want {
				t.Errorf("dial/read/write timeouts: got %v, want %v", timeouts, want)
			}
			if retries != 1 || pool != cfg.MaxInFlight {
				t.Errorf("MaxRetries %d PoolSize %d; want 1 and %d", retries, pool, cfg.MaxInFlight)
			}
			if tlsConf != nil && tlsConf.MinVersion < tls.VersionTLS12 {
				t.Errorf("TLS MinVersion %x below 1.2", tlsConf.MinVersion)
			}
		})
	}
}

func TestTemporalOptionsTLS(t *testing.T) {
	tests := []struct {
		name     string
		vars     map[string]string
		wantTLS  bool
		wantCred bool
	}{
		{"plain", nil, false, false},
		{"API key: TLS", map[string]string{"TEMPORAL_API_KEY": "k"}, true, true},
		{"API key to a local TLS-terminating proxy", map[string]string{"TEMPORAL_API_KEY": "k", "TEMPORAL_TLS": "false"}, false, true},
		{"TLS alone", map[string]string{"TEMPORAL_TLS": "true"}, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts, err := connect.TemporalOptions(loadConfig(t, tt.vars), slog.New(slog.DiscardHandler), nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			if got := opts.ConnectionOptions.TLS != nil; got != tt.wantTLS {
				t.Errorf("TLS: got %v, want %v", got, tt.wantTLS)
			}
			if opts.ConnectionOptions.TLSDisabled == tt.wantTLS {
				t.Errorf("TLSDisabled: got %v with TLS %v", opts.ConnectionOptions.TLSDisabled, tt.wantTLS)
			}
			if got := opts.Credentials != nil; got != tt.wantCred {
				t.Errorf("credentials: got %v, want %v", got, tt.wantCred)
			}
		})
	}
}

// TestTemporalTLSConnection dials a gRPC server over mutual TLS through the
// client every command builds, and checks what reaches the server: a
// verified client certificate and the API key as a bearer token.
func TestTemporalTLSConnection(t *testing.T) {
	pki := testenv.NewPKI(t, "temporal.test")
	caFile, certFile, keyFile, server := pki.CAFile, pki.ClientCert, pki.ClientKey, pki.Server
	caPEM, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	clientCAs := x509.NewCertPool()
	clientCAs.AppendCertsFromPEM(caPEM)
	type seen struct {
		auth       []string
		clientCert bool
	}
	got := make(chan seen, 1)
	srv := grpc.NewServer(
		grpc.Creds(credentials.NewTLS(&tls.Config{Certificates: []tls.Certificate{server}, ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: clientCAs})),
		grpc.UnknownServiceHandler(func(_ any, stream grpc.ServerStream) error {
			md, _ := metadata.FromIncomingContext(stream.Context())
			s := seen{auth: md.Get("authorization")}
			if info, ok := credentialsFrom(stream.Context()); ok {
				s.clientCert = len(info.State.VerifiedChains) > 0
			}
			select {
			case got <- s:
			default:
			}
			return status.Error(grpccodes.Unimplemented, "test server")
		}),
	)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(srv.Stop)

	cfg := loadConfig(t, map[string]string{
		"TEMPORAL_ADDRESS": ln.Addr().String(), "TEMPORAL_API_KEY": "test-api-key",
		"TEMPORAL_TLS_CERT": certFile, "TEMPORAL_TLS_KEY": keyFile,
		"TEMPORAL_TLS_CA": caFile, "TEMPORAL_TLS_SERVER_NAME": "temporal.test",
	})
	tc, err := connect.Temporal(cfg, slog.New(slog.DiscardHandler), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, _ = tc.CheckHealth(ctx, &client.CheckHealthRequest{}) // the test server refuses it; what it saw matters
	select {
	case s := <-got:
		if !s.clientCert {
			t.Error("the server saw no verified client certificate")
		}
		if len(s.auth) != 1 || s.auth[0] != "Bearer test-api-key" {
			t.Errorf("authorization metadata: got %q, want the API key as a bearer token", s.auth)
		}
	case <-ctx.Done():
		t.Fatal("no call reached the TLS server")
	}
}

// credentialsFrom returns the TLS state of a gRPC call's peer.
func credentialsFrom(ctx context.Context) (credentials.TLSInfo, bool) {
	p, ok := peer.FromContext(ctx)
	if !ok {
		return credentials.TLSInfo{}, false
	}
	info, ok := p.AuthInfo.(credentials.TLSInfo)
	return info, ok
}
