package main

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"

	"go.temporal.io/sdk/client"

	"github.com/hookflow/hookflow/config"
	"github.com/hookflow/hookflow/event"
	"github.com/hookflow/hookflow/event/lifecycle"
	"github.com/hookflow/hookflow/internal/dev/testenv"
	"github.com/hookflow/hookflow/providers"
	"github.com/hookflow/hookflow/receivers"
	"github.com/hookflow/hookflow/receivers/starter"
	"github.com/hookflow/hookflow/signature"
)

// sendSecrets are the secrets the sample tests configure, one per provider.
var sendSecrets = map[string]string{
	"PHOENIX_WEBHOOK_SECRET":  "phoenix-send-secret",
	"PHOSPHOR_WEBHOOK_SECRET": "phosphor-send-secret",
	"UP42_WEBHOOK_SECRET":     "up42-send-secret",
	"FENIX_CLIENT_SECRET":     "fenix-send-secret",
	"PHANTOM_WEBHOOK_TOKEN":   "0123456789abcdef0123456789abcdef" + "fedcba9876543210fedcba9876543210",
}

// sendConfig loads a configuration from env alone, over the defaults.
func sendConfig(t *testing.T, env map[string]string) *config.Config {
	t.Helper()
	cfg, err := config.Load("", func(k string) string { return env[k] })
	if err != nil {
		t.Fatalf("load config: %v", err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("validate config: %v", err)
	}
	return cfg
}

// providerByName returns the configured provider called name.
func providerByName(t *testing.T, cfg *config.Config, name string) receivers.Provider {
	t.Helper()
	for _, p := range cfg.Providers.Bound(cfg.Setting) {
		if p.Name == name {
			return p
		}
	}
	t.Fatalf("no provider %q", name)
	return receivers.Provider{}
}

// TestProvidersOwnBothSides checks every provider of a configuration, built
// in or configured, is one whole value: both sides, its settings and its
// tables, so that send, bench, config and the receivers find it all there.
func TestProvidersOwnBothSides(t *testing.T) {
	cfg := configuredConfig(t, nil)
	if got := len(cfg.Providers.All()); got != len(providers.Builtins())+1 {
		t.Fatalf("%d providers, want the built-ins and acme", got)
	}
	for _, p := range cfg.Providers.All() {
		t.Run(p.Name, func(t *testing.T) {
			switch {
			case p.Doc == "" || len(p.Routes) == 0 || p.Secret.Env == "" || p.DevSecret == "":
				t.Errorf("doc %q, routes %v, secret %q, dev secret set %v", p.Doc, p.Routes, p.Secret.Env, p.DevSecret != "")
			case p.Parse == nil || p.NewVerifier == nil || p.Sample.Body == nil || p.Sample.Headers == nil:
				t.Error("a side is missing: Parse, NewVerifier, Sample.Body or Sample.Headers")
			case len(p.Tables) == 0 || len(p.Sample.Lifecycle) == 0 || p.Sample.Entity == "" || p.Sample.Status == "":
				t.Errorf("tables %d, lifecycle %v, sample %q %q", len(p.Tables), p.Sample.Lifecycle, p.Sample.Entity, p.Sample.Status)
			}
		})
	}
}

func containsString(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// TestSenderHeadersMatchVectors signs every fixture body with its vector's
// secret and must arrive at the vector's headers, byte for byte.
func TestSenderHeadersMatchVectors(t *testing.T) {
	vectors := testenv.Vectors(t)
	cfg := sendConfig(t, nil)
	files := make([]string, 0, len(vectors))
	for file := range vectors {
		files = append(files, file)
	}
	sort.Strings(files)
	for _, file := range files {
		vec := vectors[file]
		t.Run(file, func(t *testing.T) {
			provider, _, _ := strings.Cut(file, "-")
			s := builtin(provider)
			body := testenv.Fixture(t, file)
			// What no body says comes from the flags, as it would by hand.
			o := sendOptions{
				eventID:   vec.Headers["X-Fenix-Event-Id"],
				webhookID: vec.Headers["X-Fenix-Webhook-Id"],
				topic:     vec.Headers["X-Fenix-Topic"],
			}
			got := s.Sample.Headers(o.delivery(), body, vec.Secret, cfg.Setting)
			if !reflect.DeepEqual(got, vec.Headers) {
				t.Errorf("headers:\n got %v\nwant %v", got, vec.Headers)
			}
		})
	}
}

// TestSenderSamples drives each provider's lifecycle with samples: each one
// is verified and parsed by the configured provider into the entity and
// status asked for, and that status is in the entity's state table.
func TestSenderSamples(t *testing.T) {
	cfg := sendConfig(t, sendSecrets)
	tests := []struct {
		provider, entity, status string
		wantType, wantStatus     string
	}{
		{"phoenix", "o-1", "pending", "order", "pending"},
		{"phoenix", "o-1", "fulfilled", "order", "fulfilled"},
		{"phosphor", "i-1", "MINT", "item", "MINT"},
		{"phosphor", "i-1", "transfer", "item", "TRANSFER"},
		{"phosphor", "i-1", "BURN", "item", "BURN"},
		{"phosphor", "l-1", "CREATED", "listing", "CREATED"},
		{"phosphor", "l-1", "COMPLETED", "listing", "COMPLETED"},
		{"up42", "u-1", "PLACED", "order", "PLACED"},
		{"up42", "u-1", "FAILED", "order", "FAILED"},
		{"up42", "u-1", "FAILED_PERMANENTLY", "order", "FAILED_PERMANENTLY"},
		{"fenix", "T1", "LABEL_CREATED", "shipment", "LABEL_CREATED"},
		{"fenix", "T1", "EXCEPTION", "shipment", "EXCEPTION"},
		{"fenix", "T1", "DELIVERED", "shipment", "DELIVERED"},
		{"phantom", "abc", "transaction.pool.added", "transaction", "pool.added"},
		{"phantom", "abc", "applied", "transaction", "applied"},
		{"phantom", "123", "block.forged", "block", "forged"},
		{"phantom", "123", "block.disregarded", "block", "disregarded"},
	}
	for _, tt := range tests {
		t.Run(tt.provider+" "+tt.status, func(t *testing.T) {
			s := builtin(tt.provider)
			p := providerByName(t, cfg, tt.provider)
			o := sendOptions{entity: tt.entity, status: tt.status, eventID: "evt-1", webhookID: "wh-1", topic: providers.FenixTrackingUpdated}
			body := s.Sample.Body(o.delivery())
			headers := s.Sample.Headers(o.delivery(), body, sendSecrets[s.Secret.Env], cfg.Setting)
			if err := p.Verifier.Verify(body, testenv.Lookup(headers)); err != nil {
				t.Fatalf("receiver refuses the sample's signature: %v", err)
			}
			ev, err := p.Parse(body, testenv.Lookup(headers))
			if err != nil {
				t.Fatalf("receiver cannot parse the sample %s: %v", body, err)
			}
			if ev.EntityType != tt.wantType || ev.EntityID != tt.entity || ev.Status != tt.wantStatus {
				t.Errorf("got %s:%s %s, want %s:%s %s", ev.EntityType, ev.EntityID, ev.Status, tt.wantType, tt.entity, tt.wantStatus)
			}
			k, ok := builtinTable(p.Name, ev.EntityType)
			if _, known := k.Rank[ev.Status]; !ok || !known {
				t.Errorf("status %q is not in the %s-%s state table", ev.Status, p.Name, ev.EntityType)
			}
		})
	}
}

// TestSenderUP42ConfiguredSignature signs with the header and encoding the
// receiver is configured to read.
func TestSenderUP42ConfiguredSignature(t *testing.T) {
	env := map[string]string{
		"UP42_WEBHOOK_SECRET": "s", "UP42_SIGNATURE_HEADER": "X-Signature", "UP42_SIGNATURE_ENCODING": "base64",
	}
	cfg := sendConfig(t, env)
	body := []byte(`{"id":"e","event":"order.status","data":{"orderId":"o","status":"PLACED"}}`)
	got := builtin("up42").Sample.Headers(sendOptions{}.delivery(), body, "s", cfg.Setting)
	want := map[string]string{
		"Content-Type": "application/json",
		"X-Signature":  providers.UP42Signature([]byte("s"), body, signature.Base64),
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("headers: got %v, want %v", got, want)
	}
	if err := providerByName(t, cfg, "up42").Verifier.Verify(body, testenv.Lookup(got)); err != nil {
		t.Errorf("configured receiver refuses it: %v", err)
	}
}

// fakeStarterSend stands in for Temporal behind the receivers.
type fakeStarterSend struct {
	mu        sync.Mutex
	workflows []string
	events    []event.Event
}

func (f *fakeStarterSend) SignalWithStartWorkflow(_ context.Context, workflowID, _ string, signalArg any,
	_ client.StartWorkflowOptions, _ any, _ ...any) (client.WorkflowRun, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	ev, _ := signalArg.(event.Event)
	f.workflows = append(f.workflows, workflowID)
	f.events = append(f.events, ev)
	return nil, nil
}

// tapListener records the raw bytes of every request it serves.
type tapListener struct {
	net.Listener
	mu  sync.Mutex
	raw bytes.Buffer
}

func (l *tapListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &tapConn{Conn: c, l: l}, nil
}

func (l *tapListener) bytes() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.raw.String()
}

type tapConn struct {
	net.Conn
	l *tapListener
}

func (c *tapConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.l.mu.Lock()
	c.l.raw.Write(p[:n])
	c.l.mu.Unlock()
	return n, err
}

// TestSendCommand runs `hookflow send` with its flags against receivers
// configured with the same secrets, for each provider.
func TestSendCommand(t *testing.T) {
	for k, v := range sendSecrets {
		t.Setenv(k, v)
	}
	cfg := sendConfig(t, sendSecrets)
	tests := []struct {
		args         []string
		wantWorkflow string
		wantEvent    string
		wantRaw      string // a header line as it must appear on the wire
	}{
		{[]string{"phoenix", "--order", "o-9", "--status", "pending", "--event-id", "evt-p"}, "phoenix-order:o-9", "evt-p", "Authorization: Bearer phoenix-send-secret\r\n"},
		{[]string{"phosphor", "--entity", "i-9", "--status", "TRANSFER", "--event-id", "evt-t"}, "phosphor-item:i-9", "evt-t", "User-Agent: phosphor-webhook-bot/0.0.1\r\n"},
		{[]string{"phosphor", "--entity", "l-9", "--status", "CANCELLED"}, "phosphor-listing:l-9", "l-9:CANCELLED", "Phosphor-Webhook-Secret: phosphor-send-secret\r\n"},
		{[]string{"up42", "--entity", "u-9", "--event-id", "evt-u"}, "up42-order:u-9", "evt-u", "X-Up42-Signature: "},
		{[]string{"fenix", "--entity", "T9", "--status", "IN_TRANSIT", "--event-id", "evt-f", "--webhook-id", "wh-9"}, "fenix-shipment:T9", "evt-f", "X-Fenix-API-Version: 2024-07\r\n"},
		{[]string{"phantom", "--entity", "b9", "--status", "block.applied"}, "phantom-block:b9", "block.applied:b9", "Authorization: 0123456789abcdef0123456789abcdef\r\n"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			fake := &fakeStarterSend{}
			r := receivers.New(receivers.Options{Start: starter.Starter{Client: fake}, Log: slog.New(slog.DiscardHandler)})
			receiver := receivers.NewApp(r, cfg.Providers.Bound(cfg.Setting))
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			tap := &tapListener{Listener: ln}
			served := make(chan error, 1)
			go func() { served <- receiver.Listener(tap) }()
			t.Cleanup(func() {
				if err := receiver.Shutdown(); err != nil {
					t.Errorf("shutdown: %v", err)
				}
				<-served
			})

			cmd := newSendCmd(&app{})
			var out bytes.Buffer
			cmd.SetOut(&out)
			cmd.SetArgs(append(tt.args, "--url", "http://"+ln.Addr().String()))
			if err := cmd.ExecuteContext(context.Background()); err != nil {
				t.Fatalf("send: %v\n%s", err, out.String())
			}
			if !strings.Contains(out.String(), "200 OK") {
				t.Errorf("output %q does not report 200 OK", out.String())
			}
			fake.mu.Lock()
			defer fake.mu.Unlock()
			if len(fake.workflows) != 1 || fake.workflows[0] != tt.wantWorkflow || fake.events[0].ID != tt.wantEvent {
				t.Errorf("started %v %+v, want %s with event %s", fake.workflows, fake.events, tt.wantWorkflow, tt.wantEvent)
			}
			if raw := tap.bytes(); !strings.Contains(raw, tt.wantRaw) {
				t.Errorf("request on the wire lacks %q:\n%s", tt.wantRaw, raw)
			}
		})
	}
}

// builtin is the built-in provider called name, disabled.
func builtin(name string) providers.Provider {
	p, ok := builtinNamed(name)
	if !ok {
		panic("no built-in provider " + name)
	}
	return p
}

func builtinNamed(name string) (providers.Provider, bool) {
	for _, p := range providers.Builtins() {
		if p.Name == name {
			return p, true
		}
	}
	return providers.Provider{}, false
}

// builtinTable is a built-in provider's state table of an entity type.
func builtinTable(provider, entityType string) (lifecycle.Table, bool) {
	p, _ := builtinNamed(provider)
	t, ok := p.Tables[entityType]
	return t, ok
}

// devSecrets are the built-in providers' development secrets, by the
// environment name of their secret setting.
func devSecrets() map[string]string {
	out := map[string]string{}
	for _, p := range providers.Builtins() {
		out[p.Secret.Env] = p.DevSecret
	}
	return out
}
