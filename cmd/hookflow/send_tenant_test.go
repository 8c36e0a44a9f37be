package main

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"strings"
	"testing"

	"github.com/hookflow/hookflow/config"
	"github.com/hookflow/hookflow/receivers"
	"github.com/hookflow/hookflow/receivers/starter"
)

// tenantsYAML declares acme-eu with a tenant header, tenant a with Fenix,
// Phoenix and acme-eu secrets, and tenant b.example with a Fenix one.
const tenantsYAML = acmeYAML + `    tenant_header: X-Acme-Store
tenants:
  - id: a
    providers:
      fenix: {secret_env: A_FENIX}
      phoenix: {secret_env: A_PHOENIX}
      acme-eu: {secret_env: A_ACME}
  - id: b.example
    providers:
      fenix: {secret_env: B_FENIX}
`

// tenantsEnv are the secrets tenantsYAML names, and the default tenant's.
var tenantsEnv = map[string]string{
	"A_FENIX": "a-fenix-secret", "A_PHOENIX": "a-phoenix-secret", "A_ACME": strings.Split(acmeSecret, ",")[1],
	"B_FENIX":             "b-fenix-secret",
	"FENIX_CLIENT_SECRET": "default-fenix-secret", "PHOENIX_WEBHOOK_SECRET": "default-phoenix-secret",
	"ACME_EU_WEBHOOK_SECRET": strings.Split(acmeSecret, ",")[0],
}

// tenantsConfig loads tenantsYAML with tenantsEnv, and sets the variables
// for the commands that load it themselves.
func tenantsConfig(t *testing.T) (*config.Config, string) {
	t.Helper()
	for k, v := range tenantsEnv {
		t.Setenv(k, v)
	}
	path := writeConfig(t, tenantsYAML)
	cfg, err := config.Load(path, func(k string) string { return tenantsEnv[k] })
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	return cfg, path
}

// TestSendTenant runs `hookflow send --tenant` against receivers that know
// the tenants: each delivery is signed with the tenant's own secret and
// names the tenant as the receiver resolves it (the route, or the
// provider's tenant header on its usual route), so the receiver accepts it
// as that tenant's and starts the tenant's workflow. Without --tenant it is
// the default tenant's, as before. A tenant that is not configured, or has
// no secret for the provider, is refused naming it, before anything is sent.
func TestSendTenant(t *testing.T) {
	cfg, path := tenantsConfig(t)
	tests := []struct {
		args         []string
		wantWorkflow string
		wantTenant   string
		wantRaw      []string // what must be on the wire
	}{
		{[]string{"fenix", "--tenant", "a", "--entity", "T1"}, "fenix-shipment@a:T1", "a",
			[]string{"POST /webhooks/fenix HTTP/1.1\r\n", "X-Client-Storename: a\r\n", `"store_name":"a"`}},
		{[]string{"fenix", "--tenant", "b.example", "--entity", "T1"}, "fenix-shipment@b.example:T1", "b.example",
			[]string{"POST /webhooks/fenix HTTP/1.1\r\n", "X-Client-Storename: b.example\r\n"}},
		{[]string{"phoenix", "--tenant", "a", "--order", "o-1", "--status", "pending"}, "phoenix-order@a:o-1", "a",
			[]string{"POST /webhooks/phoenix/a HTTP/1.1\r\n", "Authorization: Bearer a-phoenix-secret\r\n"}},
		{[]string{"acme-eu", "--tenant", "a", "--entity", "o-1", "--status", "paid"}, "acme-eu-order@a:o-1", "a",
			[]string{"POST /webhooks/acme-eu HTTP/1.1\r\n", "X-Acme-Store: a\r\n"}},
		{[]string{"fenix", "--entity", "T1"}, "fenix-shipment:T1", "",
			[]string{"POST /webhooks/fenix HTTP/1.1\r\n", "X-Client-Storename: hookflow-dev.myshopify.com\r\n"}},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			fake := &fakeStarterSend{}
			bound := cfg.Providers.Bound(cfg.Setting)
			tenants, err := receivers.BindTenants(bound, cfg.Tenants, cfg.Setting, nil)
			if err != nil {
				t.Fatal(err)
			}
			r := receivers.New(receivers.Options{Tenants: tenants, Start: starter.Starter{Client: fake}, Log: slog.New(slog.DiscardHandler)})
			receiver := receivers.NewApp(r, bound)
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

			cmd := newSendCmd(&app{configPath: path})
			var out bytes.Buffer
			cmd.SetOut(&out)
			cmd.SetArgs(append(tt.args, "--url", "http://"+ln.Addr().String()))
			if err := cmd.ExecuteContext(context.Background()); err != nil {
				t.Fatalf("send: %v\n%s", err, out.String())
			}
			fake.mu.Lock()
			defer fake.mu.Unlock()
			if len(fake.workflows) != 1 || fake.workflows[0] != tt.wantWorkflow || fake.events[0].Tenant != tt.wantTenant {
				t.Errorf("started %v %+v, want %s for tenant %q", fake.workflows, fake.events, tt.wantWorkflow, tt.wantTenant)
			}
			raw := tap.bytes()
			for _, want := range tt.wantRaw {
				if !strings.Contains(raw, want) {
					t.Errorf("request on the wire lacks %q:\n%s", want, raw)
				}
			}
		})
	}

	for _, tt := range []struct{ args []string }{
		{[]string{"fenix", "--tenant", "c"}},
		{[]string{"phoenix", "--tenant", "b.example"}},
	} {
		t.Run("refused: "+strings.Join(tt.args, " "), func(t *testing.T) {
			cmd := newSendCmd(&app{configPath: path})
			cmd.SetOut(&bytes.Buffer{})
			// Nothing listens there: an error about the tenant comes first.
			cmd.SetArgs(append(tt.args, "--url", "http://127.0.0.1:1"))
			err := cmd.ExecuteContext(context.Background())
			if err == nil || !strings.Contains(err.Error(), `tenant "`+tt.args[2]+`"`) || strings.Contains(err.Error(), "127.0.0.1") {
				t.Errorf("send %v: %v, want an error naming the tenant", tt.args, err)
			}
		})
	}
}
