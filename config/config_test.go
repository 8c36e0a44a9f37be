package config_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hookflow/hookflow/config"
	"github.com/hookflow/hookflow/providers"
)

// env returns a getenv over m, so tests never read the process environment.
func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// writeFile writes a YAML config into a temporary directory and returns its path.
func writeFile(t *testing.T, yaml string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "hookflow.yaml")
	if err := os.WriteFile(p, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func mustLoad(t *testing.T, path string, vars map[string]string) *config.Config {
	t.Helper()
	c, err := config.Load(path, env(vars))
	if err != nil {
		t.Fatalf("Load(%q): %v", path, err)
	}
	return c
}

func TestLoadDefaults(t *testing.T) {
	c := mustLoad(t, "", nil)
	tests := []struct {
		env       string
		got, want any
	}{
		{"HOOKFLOW_HTTP_ADDR", c.HTTPAddr, ":8080"},
		{"HOOKFLOW_METRICS_ADDR", c.MetricsAddr, "127.0.0.1:9090"}, // operations endpoints stay off the network unless asked
		{"TEMPORAL_ADDRESS", c.TemporalAddress, "127.0.0.1:7233"},
		{"TEMPORAL_NAMESPACE", c.TemporalNamespace, "default"},
		{"HOOKFLOW_TASK_QUEUE", c.TaskQueue, "hookflow"},
		{"REDIS_URL", c.RedisURL, "redis://127.0.0.1:6379/0"},
		{"HOOKFLOW_DEDUP_TTL", c.DedupTTL, 72 * time.Hour},
		{"HOOKFLOW_MAX_BODY_BYTES", c.MaxBodyBytes, 262144},
		{"PHOENIX_API_URL", c.PhoenixAPIURL, "https://prod-phoenix-api-kwr2.encr.app"},
		{"PHOENIX_WEBHOOK_SECRET", c.Secrets("PHOENIX_WEBHOOK_SECRET").Enabled(), false},
		{"PHOSPHOR_WEBHOOK_SECRET", c.Secrets("PHOSPHOR_WEBHOOK_SECRET").Enabled(), false},
		{"UP42_WEBHOOK_SECRET", c.Secrets("UP42_WEBHOOK_SECRET").Enabled(), false},
		{"FENIX_CLIENT_SECRET", c.Secrets("FENIX_CLIENT_SECRET").Enabled(), false},
		{"PHANTOM_WEBHOOK_TOKEN", c.Secrets("PHANTOM_WEBHOOK_TOKEN").Enabled(), false},
	}
	for _, tt := range tests {
		t.Run(tt.env, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("got %v, want %v", tt.got, tt.want)
			}
			if c.IsSet(tt.env) {
				t.Errorf("IsSet(%s) = true for a default", tt.env)
			}
		})
	}
	if err := c.Validate(); err != nil {
		t.Errorf("defaults do not validate: %v", err)
	}
}

// TestFieldsMatchDefaults checks that the documented table (Fields) and the
// loaded defaults agree with the contract.
func TestFieldsMatchDefaults(t *testing.T) {
	want := map[string]string{
		"HOOKFLOW_HTTP_ADDR":      ":8080",
		"HOOKFLOW_METRICS_ADDR":   "127.0.0.1:9090",
		"TEMPORAL_ADDRESS":        "127.0.0.1:7233",
		"TEMPORAL_NAMESPACE":      "default",
		"HOOKFLOW_TASK_QUEUE":     "hookflow",
		"REDIS_URL":               "redis://127.0.0.1:6379/0",
		"HOOKFLOW_DEDUP_TTL":      "72h",
		"HOOKFLOW_MAX_BODY_BYTES": "262144",
		"PHOENIX_API_URL":         "https://prod-phoenix-api-kwr2.encr.app",
		"PHOENIX_WEBHOOK_SECRET":  "",
		"PHOSPHOR_WEBHOOK_SECRET": "",
		"UP42_WEBHOOK_SECRET":     "",
		"FENIX_CLIENT_SECRET":     "",
		"PHANTOM_WEBHOOK_TOKEN":   "",
	}
	got := map[string]string{}
	for _, f := range config.Fields() {
		got[f.Env] = f.Default
	}
	for name, def := range want {
		d, ok := got[name]
		if !ok {
			t.Errorf("Fields() lacks %s", name)
			continue
		}
		if d != def {
			t.Errorf("Fields() default of %s: got %q, want %q", name, d, def)
		}
	}
}

func TestLoadFile(t *testing.T) {
	path := writeFile(t, `
hookflow_http_addr: "127.0.0.1:9090"
temporal_address: temporal.internal:7233
temporal_namespace: hooks
hookflow_task_queue: hooks-q
redis_url: redis://redis.internal:6379/2
hookflow_dedup_ttl: 24h
hookflow_max_body_bytes: 1024
phoenix_api_url: https://phoenix.example
phoenix_webhook_secret: file-secret
`)
	c := mustLoad(t, path, nil)
	tests := []struct {
		env       string
		got, want any
	}{
		{"HOOKFLOW_HTTP_ADDR", c.HTTPAddr, "127.0.0.1:9090"},
		{"TEMPORAL_ADDRESS", c.TemporalAddress, "temporal.internal:7233"},
		{"TEMPORAL_NAMESPACE", c.TemporalNamespace, "hooks"},
		{"HOOKFLOW_TASK_QUEUE", c.TaskQueue, "hooks-q"},
		{"REDIS_URL", c.RedisURL, "redis://redis.internal:6379/2"},
		{"HOOKFLOW_DEDUP_TTL", c.DedupTTL, 24 * time.Hour},
		{"HOOKFLOW_MAX_BODY_BYTES", c.MaxBodyBytes, 1024},
		{"PHOENIX_API_URL", c.PhoenixAPIURL, "https://phoenix.example"},
	}
	for _, tt := range tests {
		t.Run(tt.env, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("got %v, want %v", tt.got, tt.want)
			}
			if !c.IsSet(tt.env) {
				t.Errorf("IsSet(%s) = false for a value from the file", tt.env)
			}
		})
	}
	if got, want := []string(c.Secrets("PHOENIX_WEBHOOK_SECRET")), []string{"file-secret"}; !reflect.DeepEqual(got, want) {
		t.Errorf("PhoenixSecrets: got %q, want %q", got, want)
	}
	// Settings the file does not name keep their defaults.
	if got, want := c.Setting("UP42_SIGNATURE_HEADER"), "X-Up42-Signature"; got != want {
		t.Errorf("UP42SignatureHeader: got %q, want %q", got, want)
	}
	if c.IsSet("UP42_SIGNATURE_HEADER") {
		t.Error("IsSet(UP42_SIGNATURE_HEADER) = true, not in the file")
	}
}

// TestLoadFileDocumentedKeys follows the package doc: "HOOKFLOW_HTTP_ADDR is
// http_addr".
func TestLoadFileDocumentedKeys(t *testing.T) {
	path := writeFile(t, "http_addr: \":9090\"\ndedup_ttl: 1h\n")
	c := mustLoad(t, path, nil)
	if got, want := c.HTTPAddr, ":9090"; got != want {
		t.Errorf("HTTPAddr: got %q, want %q", got, want)
	}
	if got, want := c.DedupTTL, time.Hour; got != want {
		t.Errorf("DedupTTL: got %v, want %v", got, want)
	}
}

func TestLoadEnvOverridesFile(t *testing.T) {
	path := writeFile(t, `
temporal_address: from-file:7233
hookflow_dedup_ttl: 24h
phoenix_webhook_secret: file-secret
temporal_namespace: file-ns
`)
	c := mustLoad(t, path, map[string]string{
		"TEMPORAL_ADDRESS":       "from-env:7233",
		"HOOKFLOW_DEDUP_TTL":     "1h",
		"PHOENIX_WEBHOOK_SECRET": "env-secret",
		"TEMPORAL_NAMESPACE":     "", // empty means unset: the file's value stays
	})
	tests := []struct {
		name      string
		got, want any
	}{
		{"TEMPORAL_ADDRESS", c.TemporalAddress, "from-env:7233"},
		{"HOOKFLOW_DEDUP_TTL", c.DedupTTL, time.Hour},
		{"PHOENIX_WEBHOOK_SECRET", strings.Join(c.Secrets("PHOENIX_WEBHOOK_SECRET"), "|"), "env-secret"},
		{"TEMPORAL_NAMESPACE", c.TemporalNamespace, "file-ns"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("got %v, want %v", tt.got, tt.want)
			}
		})
	}
}

func TestLoadSecretsList(t *testing.T) {
	tests := []struct {
		name string
		yaml string // file content, when set
		env  string // PHOENIX_WEBHOOK_SECRET, when set
		want []string
	}{
		{name: "env one", env: "s1", want: []string{"s1"}},
		{name: "env comma-separated", env: "s1,s2", want: []string{"s1", "s2"}},
		{name: "env spaces trimmed", env: " s1 ,  s2 ", want: []string{"s1", "s2"}},
		{name: "env empty parts dropped", env: ",s1,, ,s2,", want: []string{"s1", "s2"}},
		{name: "env only separators", env: " , ,", want: nil},
		{name: "yaml scalar", yaml: "phoenix_webhook_secret: s1\n", want: []string{"s1"}},
		{name: "yaml comma-separated scalar", yaml: "phoenix_webhook_secret: s1, s2\n", want: []string{"s1", "s2"}},
		{name: "yaml flow list", yaml: "phoenix_webhook_secret: [s1, s2]\n", want: []string{"s1", "s2"}},
		{name: "yaml block list", yaml: "phoenix_webhook_secret:\n  - s1\n  - \" s2 \"\n  - \"\"\n", want: []string{"s1", "s2"}},
		{name: "yaml null", yaml: "phoenix_webhook_secret:\n", want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := ""
			if tt.yaml != "" {
				path = writeFile(t, tt.yaml)
			}
			c := mustLoad(t, path, map[string]string{"PHOENIX_WEBHOOK_SECRET": tt.env})
			if got := []string(c.Secrets("PHOENIX_WEBHOOK_SECRET")); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
			if got, want := c.Secrets("PHOENIX_WEBHOOK_SECRET").Enabled(), len(tt.want) > 0; got != want {
				t.Errorf("Enabled: got %v, want %v", got, want)
			}
		})
	}
}

// TestLoadFileSecretVerbatim: a secret is text; YAML must not reinterpret
// one that looks like a number.
func TestLoadFileSecretVerbatim(t *testing.T) {
	path := writeFile(t, "phoenix_webhook_secret: [0123, 1e3, 0x10]\nup42_webhook_secret: 00042\n")
	c := mustLoad(t, path, nil)
	if got, want := []string(c.Secrets("PHOENIX_WEBHOOK_SECRET")), []string{"0123", "1e3", "0x10"}; !reflect.DeepEqual(got, want) {
		t.Errorf("PhoenixSecrets: got %q, want %q", got, want)
	}
	if got, want := []string(c.Secrets("UP42_WEBHOOK_SECRET")), []string{"00042"}; !reflect.DeepEqual(got, want) {
		t.Errorf("UP42Secrets: got %q, want %q", got, want)
	}
}

func TestReconcileSettings(t *testing.T) {
	for raw, want := range map[string][]time.Duration{
		"5m,30m,2h,12h,24h": {5 * time.Minute, 30 * time.Minute, 2 * time.Hour, 12 * time.Hour, 24 * time.Hour},
		"2s":                {2 * time.Second},
		" 1m , 2m ":         {time.Minute, 2 * time.Minute},
		"off":               nil,
	} {
		cfg, err := config.Load("", env(map[string]string{"HOOKFLOW_RECONCILE_SCHEDULE": raw, "HOOKFLOW_RECONCILE_RATE": "120/m"}))
		if err != nil {
			t.Fatalf("%q: %v", raw, err)
		}
		if !slices.Equal(cfg.ReconcileSchedule, want) || cfg.ReconcileRate != 2 {
			t.Errorf("%q: schedule %v, rate %v; want %v, 2/s", raw, cfg.ReconcileSchedule, cfg.ReconcileRate, want)
		}
	}
	cfg, err := config.Load("", env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.ReconcileSchedule) != 5 || cfg.ReconcileRate != 5 {
		t.Errorf("defaults: schedule %v, rate %v; want the five steps and 5/s", cfg.ReconcileSchedule, cfg.ReconcileRate)
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name     string
		yaml     string
		env      map[string]string
		wantSubs []string // every one must appear in the error
	}{
		{
			name:     "unknown yaml key",
			yaml:     "temporal_adress: x\n",
			wantSubs: []string{"unknown key", "temporal_adress"},
		},
		{
			name:     "malformed duration in env",
			env:      map[string]string{"HOOKFLOW_DEDUP_TTL": "3 days"},
			wantSubs: []string{"HOOKFLOW_DEDUP_TTL", "3 days"},
		},
		{
			name:     "malformed reconcile schedule",
			env:      map[string]string{"HOOKFLOW_RECONCILE_SCHEDULE": "5m,never"},
			wantSubs: []string{"HOOKFLOW_RECONCILE_SCHEDULE", "5m,never"},
		},
		{
			name:     "non-positive reconcile step",
			env:      map[string]string{"HOOKFLOW_RECONCILE_SCHEDULE": "0s"},
			wantSubs: []string{"HOOKFLOW_RECONCILE_SCHEDULE"},
		},
		{
			name:     "malformed reconcile rate",
			env:      map[string]string{"HOOKFLOW_RECONCILE_RATE": "5/h"},
			wantSubs: []string{"HOOKFLOW_RECONCILE_RATE", "5/h"},
		},
		{
			name:     "malformed int in env",
			env:      map[string]string{"HOOKFLOW_MAX_BODY_BYTES": "256k"},
			wantSubs: []string{"HOOKFLOW_MAX_BODY_BYTES", "256k"},
		},
		{
			name:     "malformed duration in file",
			yaml:     "hookflow_dedup_ttl: forever\n",
			wantSubs: []string{"HOOKFLOW_DEDUP_TTL", "forever"},
		},
		{
			name:     "two malformed values, both named",
			env:      map[string]string{"HOOKFLOW_DEDUP_TTL": "x", "HOOKFLOW_MAX_IN_FLIGHT": "many"},
			wantSubs: []string{"HOOKFLOW_DEDUP_TTL", "HOOKFLOW_MAX_IN_FLIGHT"},
		},
		{
			name:     "not a mapping",
			yaml:     "- a\n- b\n",
			wantSubs: []string{"parse config"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := ""
			if tt.yaml != "" {
				path = writeFile(t, tt.yaml)
			}
			c, err := config.Load(path, env(tt.env))
			if err == nil {
				t.Fatalf("Load: got %+v, want an error", c)
			}
			for _, sub := range tt.wantSubs {
				if !strings.Contains(err.Error(), sub) {
					t.Errorf("error %q does not contain %q", err, sub)
				}
			}
		})
	}
}

func TestLoadMissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "absent.yaml")
	_, err := config.Load(path, env(nil))
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("got %v, want an error wrapping os.ErrNotExist", err)
	}
}

// joined splits an errors.Join result into its parts.
func joined(err error) []error {
	if err == nil {
		return nil
	}
	if u, ok := err.(interface{ Unwrap() []error }); ok {
		return u.Unwrap()
	}
	return []error{err}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(c *config.Config)
		want   []string // the env name each error starts with, in order
	}{
		{name: "defaults", change: func(*config.Config) {}},
		{name: "empty http addr", change: func(c *config.Config) { c.HTTPAddr = "" }, want: []string{"HOOKFLOW_HTTP_ADDR"}},
		{name: "metrics addr without port", change: func(c *config.Config) { c.MetricsAddr = "127.0.0.1" }, want: []string{"HOOKFLOW_METRICS_ADDR"}},
		{name: "metrics addr on all interfaces allowed", change: func(c *config.Config) { c.MetricsAddr = ":9090" }},
		{name: "empty temporal address", change: func(c *config.Config) { c.TemporalAddress = "" }, want: []string{"TEMPORAL_ADDRESS"}},
		{name: "empty namespace", change: func(c *config.Config) { c.TemporalNamespace = "" }, want: []string{"TEMPORAL_NAMESPACE"}},
		{name: "empty task queue", change: func(c *config.Config) { c.TaskQueue = "" }, want: []string{"HOOKFLOW_TASK_QUEUE"}},
		{name: "redis url not redis", change: func(c *config.Config) { c.RedisURL = "http://127.0.0.1:6379" }, want: []string{"REDIS_URL"}},
		{name: "rediss accepted", change: func(c *config.Config) { c.RedisURL = "rediss://user:pw@redis.example:6380/1" }},
		{name: "zero dedup ttl", change: func(c *config.Config) { c.DedupTTL = 0 }, want: []string{"HOOKFLOW_DEDUP_TTL"}},
		{name: "pending ttl not above start timeout", change: func(c *config.Config) { c.PendingTTL = c.StartTimeout }, want: []string{"HOOKFLOW_PENDING_TTL"}},
		{name: "zero max body", change: func(c *config.Config) { c.MaxBodyBytes = 0 }, want: []string{"HOOKFLOW_MAX_BODY_BYTES"}},
		{name: "negative max in flight", change: func(c *config.Config) { c.MaxInFlight = -1 }, want: []string{"HOOKFLOW_MAX_IN_FLIGHT"}},
		{name: "zero start timeout", change: func(c *config.Config) { c.StartTimeout = 0 }, want: []string{"HOOKFLOW_START_TIMEOUT"}},
		{name: "negative linger", change: func(c *config.Config) { c.Linger = -time.Second }, want: []string{"HOOKFLOW_LINGER"}},
		{name: "zero linger", change: func(c *config.Config) { c.Linger = 0 }, want: []string{"HOOKFLOW_LINGER"}},
		{name: "negative idle timeout", change: func(c *config.Config) { c.IdleTimeout = -time.Hour }, want: []string{"HOOKFLOW_IDLE_TIMEOUT"}},
		{name: "phoenix url scheme", change: func(c *config.Config) { c.PhoenixAPIURL = "ftp://phoenix.example" }, want: []string{"PHOENIX_API_URL"}},
		{name: "phoenix url no host", change: func(c *config.Config) { c.PhoenixAPIURL = "https://" }, want: []string{"PHOENIX_API_URL"}},
		{name: "empty up42 header", change: func(c *config.Config) { _ = c.Set("UP42_SIGNATURE_HEADER", "") }, want: []string{"UP42_SIGNATURE_HEADER"}},
		{name: "up42 encoding", change: func(c *config.Config) { _ = c.Set("UP42_SIGNATURE_ENCODING", "b64") }, want: []string{"UP42_SIGNATURE_ENCODING"}},
		{name: "up42 base64 allowed", change: func(c *config.Config) { _ = c.Set("UP42_SIGNATURE_ENCODING", "base64") }},
		{name: "phantom token length", change: func(c *config.Config) { c.ProviderSecrets["PHANTOM_WEBHOOK_TOKEN"] = config.Secrets{"short-token"} }, want: []string{"PHANTOM_WEBHOOK_TOKEN"}},
		{name: "phantom token 64 ok", change: func(c *config.Config) {
			c.ProviderSecrets["PHANTOM_WEBHOOK_TOKEN"] = config.Secrets{strings.Repeat("a", 64)}
		}},
		{
			name:   "two problems give two errors",
			change: func(c *config.Config) { c.HTTPAddr = ""; c.MaxBodyBytes = -5 },
			want:   []string{"HOOKFLOW_HTTP_ADDR", "HOOKFLOW_MAX_BODY_BYTES"},
		},
		{
			name: "two bad phantom tokens give two errors",
			change: func(c *config.Config) {
				c.ProviderSecrets["PHANTOM_WEBHOOK_TOKEN"] = config.Secrets{"a", strings.Repeat("b", 64), "ccc"}
			},
			want: []string{"PHANTOM_WEBHOOK_TOKEN", "PHANTOM_WEBHOOK_TOKEN"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := mustLoad(t, "", nil)
			tt.change(c)
			errs := joined(c.Validate())
			if len(errs) != len(tt.want) {
				t.Fatalf("got %d errors %v, want %d naming %v", len(errs), errs, len(tt.want), tt.want)
			}
			for i, err := range errs {
				if !strings.HasPrefix(err.Error(), tt.want[i]+": ") {
					t.Errorf("error %d: got %q, want it to start with %q", i, err, tt.want[i]+": ")
				}
			}
		})
	}
}

func TestValidateNeverShowsTokens(t *testing.T) {
	c := mustLoad(t, "", nil)
	const tok = "my-phantom-token-that-is-too-short"
	c.ProviderSecrets["PHANTOM_WEBHOOK_TOKEN"] = config.Secrets{tok}
	err := c.Validate()
	if err == nil {
		t.Fatal("got nil, want an error for a 34-character token")
	}
	if strings.Contains(err.Error(), tok) {
		t.Errorf("error reveals the token: %q", err)
	}
	if !strings.Contains(err.Error(), "34") {
		t.Errorf("error %q does not give the token's length", err)
	}
}

func TestIsSet(t *testing.T) {
	path := writeFile(t, "temporal_namespace: from-file\n")
	c := mustLoad(t, path, map[string]string{"REDIS_URL": "redis://10.0.0.1:6379/0"})
	tests := []struct {
		env  string
		want bool
	}{
		{"TEMPORAL_NAMESPACE", true}, // file
		{"REDIS_URL", true},          // environment
		{"TEMPORAL_ADDRESS", false},  // default
		{"PHOENIX_API_URL", false},   // default
		{"NO_SUCH_SETTING", false},
	}
	for _, tt := range tests {
		t.Run(tt.env, func(t *testing.T) {
			if got := c.IsSet(tt.env); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestSecretsNeverPrinted(t *testing.T) {
	secretValues := []string{"phx-s3cret-one", "phx-s3cret-two", "phos-s3cret", "up42-s3cret", "fenix-s3cret",
		"fe944e318edb02b979d6bf0c87978b640c8e74e1cbfe36404386d33a5bbd8b66"}
	c := mustLoad(t, "", map[string]string{
		"PHOENIX_WEBHOOK_SECRET":  "phx-s3cret-one, phx-s3cret-two",
		"PHOSPHOR_WEBHOOK_SECRET": "phos-s3cret",
		"UP42_WEBHOOK_SECRET":     "up42-s3cret",
		"FENIX_CLIENT_SECRET":     "fenix-s3cret",
		"PHANTOM_WEBHOOK_TOKEN":   "fe944e318edb02b979d6bf0c87978b640c8e74e1cbfe36404386d33a5bbd8b66",
	})
	var cases []struct{ name, out string }
	add := func(name, out string) { cases = append(cases, struct{ name, out string }{name, out}) }
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		add("*Config "+verb, fmt.Sprintf(verb, c))
		add("Config "+verb, fmt.Sprintf(verb, *c))
		add("PhoenixSecrets "+verb, fmt.Sprintf(verb, c.Secrets("PHOENIX_WEBHOOK_SECRET")))
	}
	add("String", c.Secrets("PHOENIX_WEBHOOK_SECRET").String())
	add("GoString", c.Secrets("PHOENIX_WEBHOOK_SECRET").GoString())
	add("Sprint", fmt.Sprint(c, c.Secrets("PHANTOM_WEBHOOK_TOKEN")))
	add("Sprintln", fmt.Sprintln(*c))
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			for _, s := range secretValues {
				if strings.Contains(tt.out, s) {
					t.Errorf("output reveals %q: %s", s, tt.out)
				}
			}
		})
	}
	// The count is what is shown instead.
	if got, want := fmt.Sprint(c.Secrets("PHOENIX_WEBHOOK_SECRET")), "[2 secret(s)]"; got != want {
		t.Errorf("Sprint(PhoenixSecrets): got %q, want %q", got, want)
	}
	if got := fmt.Sprintf("%+v", c); !strings.Contains(got, "PHOENIX_WEBHOOK_SECRET:[2 secret(s)]") {
		t.Errorf("%%+v of *Config does not show the secret count: %s", got)
	}
}

// TestSecretsNeverLogged logs a Config through slog's JSON handler, the one
// hookflow uses when stderr is not a terminal.
func TestSecretsNeverLogged(t *testing.T) {
	const secret = "phx-s3cret-one"
	c := mustLoad(t, "", map[string]string{"PHOENIX_WEBHOOK_SECRET": secret})
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("config", "config", c, "secrets", c.Secrets("PHOENIX_WEBHOOK_SECRET"))
	if strings.Contains(buf.String(), secret) {
		t.Errorf("slog JSON output reveals the secret: %s", buf.String())
	}
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), secret) {
		t.Errorf("json.Marshal reveals the secret: %s", b)
	}
}

func TestUseDevSecrets(t *testing.T) {
	path := writeFile(t, "up42_webhook_secret: up42-real\n")
	c := mustLoad(t, path, map[string]string{"PHOENIX_WEBHOOK_SECRET": "phoenix-real"})

	got := c.UseDevSecrets()
	want := []string{"PHOSPHOR_WEBHOOK_SECRET", "FENIX_CLIENT_SECRET", "PHANTOM_WEBHOOK_TOKEN"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("filled: got %v, want %v", got, want)
	}
	secrets := []struct {
		env  string
		got  config.Secrets
		want []string
	}{
		{"PHOENIX_WEBHOOK_SECRET", c.Secrets("PHOENIX_WEBHOOK_SECRET"), []string{"phoenix-real"}},
		{"UP42_WEBHOOK_SECRET", c.Secrets("UP42_WEBHOOK_SECRET"), []string{"up42-real"}},
		{"PHOSPHOR_WEBHOOK_SECRET", c.Secrets("PHOSPHOR_WEBHOOK_SECRET"), []string{devSecret(t, "PHOSPHOR_WEBHOOK_SECRET")}},
		{"FENIX_CLIENT_SECRET", c.Secrets("FENIX_CLIENT_SECRET"), []string{devSecret(t, "FENIX_CLIENT_SECRET")}},
		{"PHANTOM_WEBHOOK_TOKEN", c.Secrets("PHANTOM_WEBHOOK_TOKEN"), []string{devSecret(t, "PHANTOM_WEBHOOK_TOKEN")}},
	}
	for _, tt := range secrets {
		t.Run(tt.env, func(t *testing.T) {
			if !reflect.DeepEqual([]string(tt.got), tt.want) {
				t.Errorf("got %q, want %q", []string(tt.got), tt.want)
			}
		})
	}
	// The dev values themselves must pass validation (a 64-character token).
	if err := c.Validate(); err != nil {
		t.Errorf("Validate after UseDevSecrets: %v", err)
	}
}

func TestUseDevSecretsAllSet(t *testing.T) {
	c := mustLoad(t, "", map[string]string{
		"PHOENIX_WEBHOOK_SECRET":  "a",
		"PHOSPHOR_WEBHOOK_SECRET": "b",
		"UP42_WEBHOOK_SECRET":     "c",
		"FENIX_CLIENT_SECRET":     "d",
		"PHANTOM_WEBHOOK_TOKEN":   strings.Repeat("e", 64),
	})
	if got := c.UseDevSecrets(); len(got) != 0 {
		t.Errorf("filled %v, want nothing", got)
	}
	if got, want := []string(c.Secrets("PHOENIX_WEBHOOK_SECRET")), []string{"a"}; !reflect.DeepEqual(got, want) {
		t.Errorf("PhoenixSecrets: got %q, want %q", got, want)
	}
}

// devSecret is the development secret of the built-in provider whose secret
// setting is env.
func devSecret(t *testing.T, env string) string {
	t.Helper()
	for _, p := range providers.Builtins() {
		if p.Secret.Env == env {
			return p.DevSecret
		}
	}
	t.Fatalf("no built-in provider's secret is %s", env)
	return ""
}
