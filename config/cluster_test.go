package config_test

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hookflow/hookflow/config"
	"github.com/hookflow/hookflow/internal/dev/testenv"
)

func TestTemporalTLSConfig(t *testing.T) {
	pki := testenv.NewPKI(t, "temporal.test")
	missing := filepath.Join(t.TempDir(), "absent.pem")
	tests := []struct {
		name      string
		vars      map[string]string
		wantTLS   bool
		wantCerts int
		wantCA    bool
		wantName  string
		wantErr   []string // substrings of the error; none: no error
	}{
		{name: "nothing set: plain connection", vars: nil},
		{name: "API key: TLS on, system roots", vars: map[string]string{"TEMPORAL_API_KEY": "key-1"}, wantTLS: true},
		{name: "API key with TLS off", vars: map[string]string{"TEMPORAL_API_KEY": "key-1", "TEMPORAL_TLS": "false"}},
		{name: "TLS on alone", vars: map[string]string{"TEMPORAL_TLS": "true"}, wantTLS: true},
		{name: "mTLS with CA and server name", vars: map[string]string{
			"TEMPORAL_TLS_CERT": pki.ClientCert, "TEMPORAL_TLS_KEY": pki.ClientKey,
			"TEMPORAL_TLS_CA": pki.CAFile, "TEMPORAL_TLS_SERVER_NAME": "temporal.test",
		}, wantTLS: true, wantCerts: 1, wantCA: true, wantName: "temporal.test"},
		{name: "CA alone turns TLS on", vars: map[string]string{"TEMPORAL_TLS_CA": pki.CAFile}, wantTLS: true, wantCA: true},
		{name: "cert without key", vars: map[string]string{"TEMPORAL_TLS_CERT": pki.ClientCert},
			wantErr: []string{"TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY", "both"}},
		{name: "key without cert", vars: map[string]string{"TEMPORAL_TLS_KEY": pki.ClientKey},
			wantErr: []string{"TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY", "both"}},
		{name: "unreadable CA", vars: map[string]string{"TEMPORAL_TLS_CA": missing},
			wantErr: []string{"TEMPORAL_TLS_CA", missing}},
		{name: "unreadable key", vars: map[string]string{"TEMPORAL_TLS_CERT": pki.ClientCert, "TEMPORAL_TLS_KEY": missing},
			wantErr: []string{"TEMPORAL_TLS_KEY", missing}},
		{name: "CA file without PEM", vars: map[string]string{"TEMPORAL_TLS_CA": pki.Garbage},
			wantErr: []string{"TEMPORAL_TLS_CA", "no PEM certificate"}},
		{name: "key of another certificate", vars: map[string]string{"TEMPORAL_TLS_CERT": pki.ClientCert, "TEMPORAL_TLS_KEY": pki.OtherKey},
			wantErr: []string{"TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := mustLoad(t, "", tt.vars)
			conf, err := c.TemporalTLSConfig()
			verr := c.Validate()
			if len(tt.wantErr) > 0 {
				if err == nil || verr == nil {
					t.Fatalf("TemporalTLSConfig: %v, Validate: %v; want errors with %q", err, verr, tt.wantErr)
				}
				for _, w := range tt.wantErr {
					if !strings.Contains(err.Error(), w) || !strings.Contains(verr.Error(), w) {
						t.Errorf("errors %q and %q do not say %q", err, verr, w)
					}
				}
				return
			}
			if err != nil || verr != nil {
				t.Fatalf("TemporalTLSConfig: %v, Validate: %v", err, verr)
			}
			if got := conf != nil; got != tt.wantTLS {
				t.Fatalf("TLS: got %v, want %v", got, tt.wantTLS)
			}
			if got := c.TemporalTLSEnabled(); got != tt.wantTLS {
				t.Errorf("TemporalTLSEnabled: got %v, want %v", got, tt.wantTLS)
			}
			if conf == nil {
				return
			}
			if got := len(conf.Certificates); got != tt.wantCerts {
				t.Errorf("client certificates: got %d, want %d", got, tt.wantCerts)
			}
			if got := conf.RootCAs != nil; got != tt.wantCA {
				t.Errorf("own CA pool: got %v, want %v", got, tt.wantCA)
			}
			if conf.ServerName != tt.wantName {
				t.Errorf("ServerName: got %q, want %q", conf.ServerName, tt.wantName)
			}
			if conf.MinVersion < tls.VersionTLS12 {
				t.Errorf("MinVersion %x allows less than TLS 1.2", conf.MinVersion)
			}
		})
	}
}

// TestTemporalTLSHandshake checks the configuration does what it is for: it
// verifies a server signed by TEMPORAL_TLS_CA under TEMPORAL_TLS_SERVER_NAME
// and presents the client certificate to a server that requires one.
func TestTemporalTLSHandshake(t *testing.T) {
	pki := testenv.NewPKI(t, "temporal.test")
	clients := x509.NewCertPool()
	clients.AddCert(pki.CA)
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{
		Certificates: []tls.Certificate{pki.Server}, ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: clients,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			_ = conn.(*tls.Conn).Handshake()
			conn.Close()
		}
	}()
	dial := func(vars map[string]string) error {
		c := mustLoad(t, "", vars)
		conf, err := c.TemporalTLSConfig()
		if err != nil {
			t.Fatal(err)
		}
		conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", ln.Addr().String(), conf)
		if err != nil {
			return err
		}
		defer conn.Close()
		// TLS 1.3 reports a refused client certificate on the first read.
		_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, err = conn.Read(make([]byte, 1))
		if err != nil && !strings.Contains(err.Error(), "EOF") {
			return err
		}
		return nil
	}
	mtls := map[string]string{
		"TEMPORAL_TLS_CERT": pki.ClientCert, "TEMPORAL_TLS_KEY": pki.ClientKey,
		"TEMPORAL_TLS_CA": pki.CAFile, "TEMPORAL_TLS_SERVER_NAME": "temporal.test",
	}
	if err := dial(mtls); err != nil {
		t.Fatalf("mTLS handshake: %v", err)
	}
	wrongName := map[string]string{}
	noClientCert := map[string]string{"TEMPORAL_TLS_CA": pki.CAFile, "TEMPORAL_TLS_SERVER_NAME": "temporal.test"}
	for k, v := range mtls {
		wrongName[k] = v
	}
	wrongName["TEMPORAL_TLS_SERVER_NAME"] = "other.test"
	if err := dial(wrongName); err == nil {
		t.Error("handshake with the wrong server name succeeded")
	}
	if err := dial(noClientCert); err == nil {
		t.Error("handshake without the client certificate succeeded")
	}
}

func TestRedisURLForms(t *testing.T) {
	tests := []struct {
		raw     string
		want    config.RedisTarget
		wantErr string // substring; empty: no error
	}{
		{raw: "redis://127.0.0.1:6379/0", want: config.RedisTarget{Mode: config.RedisSingle, Addrs: []string{"127.0.0.1:6379"}}},
		{raw: "redis://redis", want: config.RedisTarget{Mode: config.RedisSingle, Addrs: []string{"redis:6379"}}},
		{raw: "rediss://app:s3cr%2Ft@cache.example.com:6380/2?protocol=3", want: config.RedisTarget{
			Mode: config.RedisSingle, Addrs: []string{"cache.example.com:6380"}, DB: 2, TLS: true, Username: "app", Password: "s3cr/t"}},
		{raw: "redis://:only-password@[::1]:6379", want: config.RedisTarget{Mode: config.RedisSingle, Addrs: []string{"[::1]:6379"}, Password: "only-password"}},
		{raw: "redis-sentinel://s1:26379,s2:26380,s3/mymaster", want: config.RedisTarget{
			Mode: config.RedisSentinel, Addrs: []string{"s1:26379", "s2:26380", "s3:26379"}, Master: "mymaster"}},
		{raw: "rediss-sentinel://u:p@s1/mymaster/3", want: config.RedisTarget{
			Mode: config.RedisSentinel, Addrs: []string{"s1:26379"}, Master: "mymaster", DB: 3, TLS: true, Username: "u", Password: "p"}},
		{raw: "redis-cluster://n1:7000,n2:7001,n3", want: config.RedisTarget{Mode: config.RedisCluster, Addrs: []string{"n1:7000", "n2:7001", "n3:6379"}}},
		{raw: "rediss-cluster://:pw@n1:7000/", want: config.RedisTarget{Mode: config.RedisCluster, Addrs: []string{"n1:7000"}, TLS: true, Password: "pw"}},

		{raw: "http://127.0.0.1:6379", wantErr: "is not one of"},
		{raw: "redis+sentinel://s1/mymaster", wantErr: "is not one of"},
		{raw: "127.0.0.1:6379", wantErr: "must be a"},
		{raw: "redis://a:6379,b:6379", wantErr: "names one server"},
		{raw: "redis-sentinel://s1:26379", wantErr: "needs the master's name"},
		{raw: "redis-sentinel://s1:26379/", wantErr: "needs the master's name"},
		{raw: "redis-sentinel://s1/m?db=1", wantErr: "takes no query options"},
		{raw: "redis-cluster://n1:7000/1", wantErr: "no databases"},
		{raw: "redis-cluster://n1:7000,,n2", wantErr: "every host"},
		{raw: "redis://h:notaport", wantErr: "host 1 is not host:port"},
		{raw: "redis-cluster://n1:7000,n2:99999", wantErr: "host 2 is not host:port"},
		{raw: "redis://::1", wantErr: "host 1 is not host:port"},
		{raw: "redis://h/zero", wantErr: "database must be a number"},
		{raw: "redis://h/0/1", wantErr: "path must be at most"},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			got, err := config.ParseRedisURL(tt.raw)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got error %v, want one saying %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got mode %d addrs %q master %q db %d tls %v user %q password %q;\nwant mode %d addrs %q master %q db %d tls %v user %q password %q",
					got.Mode, got.Addrs, got.Master, got.DB, got.TLS, got.Username, got.Password,
					tt.want.Mode, tt.want.Addrs, tt.want.Master, tt.want.DB, tt.want.TLS, tt.want.Username, tt.want.Password)
			}
		})
	}
}

// TestRedisTargetNeverShowsPasswords covers the environment overrides and
// every way a target or an error could print a password.
func TestRedisTargetNeverShowsPasswords(t *testing.T) {
	c := mustLoad(t, "", map[string]string{
		"REDIS_URL":               "rediss-sentinel://url-user:url-pass@s1,s2/mymaster",
		"REDIS_USERNAME":          "env-user",
		"REDIS_PASSWORD":          "env-pass",
		"REDIS_SENTINEL_PASSWORD": "sentinel-pass",
	})
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	got, err := c.RedisTarget()
	if err != nil {
		t.Fatal(err)
	}
	if got.Username != "env-user" || got.Password != "env-pass" || got.SentinelPassword != "sentinel-pass" {
		t.Errorf("overrides: got user %q password set %v sentinel password set %v", got.Username, got.Password == "env-pass", got.SentinelPassword == "sentinel-pass")
	}
	js, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	printed := []string{fmt.Sprint(got), fmt.Sprintf("%v", got), fmt.Sprintf("%+v", got), fmt.Sprintf("%#v", got), string(js), fmt.Sprint(c.RedisPassword), fmt.Sprint(c.RedisSentinelPassword)}
	for _, p := range printed {
		for _, secret := range []string{"env-pass", "url-pass", "sentinel-pass"} {
			if strings.Contains(p, secret) {
				t.Errorf("%q shows a password", p)
			}
		}
	}
	if want := "rediss-sentinel://s1:26379,s2:26379/mymaster"; fmt.Sprint(got) != want {
		t.Errorf("String: got %q, want %q", got, want)
	}
	// A malformed URL's errors do not quote it.
	bad := mustLoad(t, "", map[string]string{"REDIS_URL": "redis-sentinel://u:hunter2@s1:bad/m"})
	if err := bad.Validate(); err == nil || strings.Contains(err.Error(), "hunter2") || !strings.Contains(err.Error(), "REDIS_URL") {
		t.Errorf("Validate: %v; want an error naming REDIS_URL without the password", err)
	}
}

func TestConfigValidateClusterSettings(t *testing.T) {
	pki := testenv.NewPKI(t, "temporal.test")
	tests := []struct {
		name string
		vars map[string]string
		want []string // settings the error names; none: valid
	}{
		{name: "defaults", vars: nil},
		{name: "sentinel URL", vars: map[string]string{"REDIS_URL": "redis-sentinel://s1:26379,s2:26379/mymaster"}},
		{name: "cluster URL with TLS and CA", vars: map[string]string{"REDIS_URL": "rediss-cluster://n1:7000,n2:7000", "REDIS_TLS_CA": pki.CAFile}},
		{name: "cloud", vars: map[string]string{"TEMPORAL_ADDRESS": "ns.acct.tmprl.cloud:7233", "TEMPORAL_API_KEY": "k"}},
		{name: "bad redis scheme", vars: map[string]string{"REDIS_URL": "memcached://h:11211"}, want: []string{"REDIS_URL"}},
		{name: "two API keys", vars: map[string]string{"TEMPORAL_API_KEY": "k1,k2"}, want: []string{"TEMPORAL_API_KEY"}},
		{name: "TLS off with a CA", vars: map[string]string{"TEMPORAL_TLS": "false", "TEMPORAL_TLS_CA": pki.CAFile}, want: []string{"TEMPORAL_TLS_CA"}},
		{name: "TLS off with a server name", vars: map[string]string{"TEMPORAL_TLS": "false", "TEMPORAL_TLS_SERVER_NAME": "x"}, want: []string{"TEMPORAL_TLS_SERVER_NAME"}},
		{name: "cert without key", vars: map[string]string{"TEMPORAL_TLS_CERT": pki.ClientCert}, want: []string{"TEMPORAL_TLS_KEY"}},
		{name: "two redis passwords", vars: map[string]string{"REDIS_PASSWORD": "a,b"}, want: []string{"REDIS_PASSWORD"}},
		{name: "sentinel password without sentinel", vars: map[string]string{"REDIS_SENTINEL_PASSWORD": "x"}, want: []string{"REDIS_SENTINEL_PASSWORD"}},
		{name: "redis CA without TLS", vars: map[string]string{"REDIS_TLS_CA": pki.CAFile}, want: []string{"REDIS_TLS_CA"}},
		{name: "redis CA unreadable", vars: map[string]string{"REDIS_URL": "rediss://h:6380", "REDIS_TLS_CA": filepath.Join(t.TempDir(), "nope.pem")}, want: []string{"REDIS_TLS_CA"}},
		{name: "redis CA without PEM", vars: map[string]string{"REDIS_URL": "rediss://h:6380", "REDIS_TLS_CA": pki.Garbage}, want: []string{"REDIS_TLS_CA"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := mustLoad(t, "", tt.vars).Validate()
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate passed; want an error naming %v", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Validate: %v; want it to name %s", err, w)
				}
			}
		})
	}
	// A malformed boolean is refused at load, naming the setting.
	if _, err := config.Load("", env(map[string]string{"TEMPORAL_TLS": "yes please"})); err == nil || !strings.Contains(err.Error(), "TEMPORAL_TLS") {
		t.Errorf("Load with TEMPORAL_TLS=yes please: %v; want an error naming TEMPORAL_TLS", err)
	}
}

// TestConfigAPIKeyNeverPrinted: the API key is a Secrets value.
func TestConfigAPIKeyNeverPrinted(t *testing.T) {
	c := mustLoad(t, "", map[string]string{"TEMPORAL_API_KEY": "tmprl-key-do-not-print"})
	js, _ := json.Marshal(c.TemporalAPIKey)
	for _, s := range []string{fmt.Sprint(c.TemporalAPIKey), fmt.Sprintf("%#v", c.TemporalAPIKey), string(js), fmt.Sprintf("%+v", *c)} {
		if strings.Contains(s, "tmprl-key-do-not-print") {
			t.Errorf("%q shows the API key", s)
		}
	}
}
