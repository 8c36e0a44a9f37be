package config_test

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hookflow/hookflow/config"
	"github.com/hookflow/hookflow/event"
)

const issueDestinations = `
destinations:
  - name: warehouse
    url_env: WAREHOUSE_WEBHOOK_URL
    secret_env: WAREHOUSE_WEBHOOK_SECRET
    filter:
      providers: [fenix]
      entity_types: [shipment]
      to: [DELIVERED, RETURNED]
      body: {"data.carrier": [FEDEX, UPS]}
    rate: 20/s
    horizon: 24h
    headers_env: {X-Api-Key: WAREHOUSE_API_KEY}
  - name: order-service
    url_env: ORDERS_URL
    secret_env: ORDERS_SECRET
    filter: {providers: phoenix}
`

var destinationEnv = map[string]string{
	"WAREHOUSE_WEBHOOK_URL":    "https://wms.example/hooks?token=t0ps3cret",
	"WAREHOUSE_WEBHOOK_SECRET": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw,whsec_c2Vjb25kLXNlY3JldA==",
	"WAREHOUSE_API_KEY":        "key-123",
	"ORDERS_URL":               "http://orders.internal/webhooks",
	"ORDERS_SECRET":            "whsec_b3JkZXJzLXNlY3JldA==",
}

func TestLoadDestinations(t *testing.T) {
	vars := map[string]string{"HOOKFLOW_FORWARD_URL": "https://all.example/in", "HOOKFLOW_FORWARD_SECRET": "whsec_ZGVmYXVsdA=="}
	for k, v := range destinationEnv {
		vars[k] = v
	}
	c := mustLoad(t, writeFile(t, issueDestinations), vars)
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	got := c.Destinations()
	want := []config.Destination{
		{Name: "default", URL: config.Secrets{"https://all.example/in"}, Secrets: config.Secrets{"whsec_ZGVmYXVsdA=="}},
		{
			Name: "warehouse", URL: config.Secrets{"https://wms.example/hooks?token=t0ps3cret"},
			Secrets: config.Secrets{"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_c2Vjb25kLXNlY3JldA=="},
			Filter: event.Filter{
				Providers: []string{"fenix"}, EntityTypes: []string{"shipment"}, To: []string{"DELIVERED", "RETURNED"},
				Body: []event.BodyMatch{{Path: "data.carrier", Values: []string{"FEDEX", "UPS"}}},
			},
			Rate: 20, Horizon: 24 * time.Hour,
			Headers: []config.Header{{Name: "X-Api-Key", Value: config.Secrets{"key-123"}}},
		},
		{
			Name: "order-service", URL: config.Secrets{"http://orders.internal/webhooks"},
			Secrets: config.Secrets{"whsec_b3JkZXJzLXNlY3JldA=="}, Filter: event.Filter{Providers: []string{"phoenix"}},
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Destinations():\n got %#v\nwant %#v", got, want)
	}
	// URLs, secrets and header values never print.
	printed := fmt.Sprintf("%v %+v %#v", got, got, got)
	for _, secret := range []string{"t0ps3cret", "MfKQ9r8", "key-123", "orders.internal"} {
		if strings.Contains(printed, secret) {
			t.Errorf("printed destinations show %q: %s", secret, printed)
		}
	}
}

func TestLoadHandlerFilter(t *testing.T) {
	c := mustLoad(t, writeFile(t, "handler: {task_queue: mine, filter: {types: [entity.overdue], to: [PENDING]}}\n"), nil)
	if c.HandlerQueue != "mine" || c.HandlerActivity != "HandleTransition" {
		t.Errorf("handler queue, activity = %q, %q; want mine, HandleTransition", c.HandlerQueue, c.HandlerActivity)
	}
	want := event.Filter{Types: []string{event.OverdueType}, To: []string{"PENDING"}}
	if !reflect.DeepEqual(c.HandlerFilter, want) {
		t.Errorf("HandlerFilter = %+v, want %+v", c.HandlerFilter, want)
	}
	// The environment still overrides the file's queue.
	c = mustLoad(t, writeFile(t, "handler: {task_queue: mine}\n"), map[string]string{"HOOKFLOW_HANDLER_TASK_QUEUE": "theirs"})
	if c.HandlerQueue != "theirs" {
		t.Errorf("HandlerQueue = %q, want the environment's theirs", c.HandlerQueue)
	}
}

func TestLoadDestinationErrors(t *testing.T) {
	one := func(lines string) string {
		return "destinations:\n  - name: warehouse\n    url_env: WAREHOUSE_WEBHOOK_URL\n    secret_env: WAREHOUSE_WEBHOOK_SECRET\n" + lines
	}
	tests := []struct {
		name string
		yaml string
		env  map[string]string // over destinationEnv
		want []string
	}{
		{"unknown filter key", one("    filter: {provider: [fenix]}\n"), nil, []string{"destinations[warehouse].filter", "provider", "unknown key"}},
		{"unknown destination key", one("    secret: whsec_x\n"), nil, []string{"destinations[warehouse].secret", "unknown key"}},
		{"unknown type", one("    filter: {types: [entity.created]}\n"), nil, []string{"destinations[warehouse].filter", "entity.created"}},
		{"bad body path", one("    filter: {body: {\"data..carrier\": [UPS]}}\n"), nil, []string{"destinations[warehouse].filter", "data..carrier"}},
		{"bad rate", one("    rate: 20/h\n"), nil, []string{"destinations[warehouse].rate", "20/h"}},
		{"bad horizon", one("    horizon: -1h\n"), nil, []string{"destinations[warehouse].horizon"}},
		{"header env unset", one("    headers_env: {X-Api-Key: NOPE}\n"), nil, []string{"destinations[warehouse].headers_env", "NOPE is not set"}},
		{"signature header", one("    headers_env: {webhook-signature: WAREHOUSE_API_KEY}\n"), nil, []string{"destinations[warehouse].headers_env", "set by hookflow"}},
		{"url unset", one(""), map[string]string{"WAREHOUSE_WEBHOOK_URL": ""}, []string{"destinations[warehouse].url_env", "WAREHOUSE_WEBHOOK_URL is not set"}},
		{"url not http", one(""), map[string]string{"WAREHOUSE_WEBHOOK_URL": "ftp://x/y"}, []string{"destinations[warehouse].url_env", "http"}},
		{"secret not whsec", one(""), map[string]string{"WAREHOUSE_WEBHOOK_SECRET": "plain"}, []string{"destinations[warehouse].secret_env", "whsec_"}},
		{"no secret_env", "destinations:\n  - {name: a, url_env: ORDERS_URL}\n", nil, []string{"destinations[a].secret_env", "is required"}},
		{"bad name", "destinations:\n  - {name: Ware_House, url_env: ORDERS_URL, secret_env: ORDERS_SECRET}\n", nil, []string{"destinations[Ware_House].name", "[a-z0-9-]+"}},
		{"reserved name", "destinations:\n  - {name: default, url_env: ORDERS_URL, secret_env: ORDERS_SECRET}\n", nil, []string{"destinations[default].name", "reserved"}},
		{"twice", "destinations:\n  - {name: a, url_env: ORDERS_URL, secret_env: ORDERS_SECRET}\n  - {name: a, url_env: ORDERS_URL, secret_env: ORDERS_SECRET}\n", nil, []string{"destinations[a].name", "twice"}},
		{"not a list", "destinations: {name: a}\n", nil, []string{"destinations: must be a list"}},
		{"handler filter key", "handler: {task_queue: q, filter: {colour: red}}\n", nil, []string{"handler.filter", "colour", "unknown key"}},
		{"handler key", "handler: {queue: q}\n", nil, []string{"handler.queue", "unknown key"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vars := map[string]string{}
			for k, v := range destinationEnv {
				vars[k] = v
			}
			for k, v := range tt.env {
				vars[k] = v
			}
			c, err := config.Load(writeFile(t, tt.yaml), env(vars))
			if err == nil {
				t.Fatalf("Load: got %+v, want an error", c)
			}
			for _, sub := range tt.want {
				if !strings.Contains(err.Error(), sub) {
					t.Errorf("error %q does not contain %q", err, sub)
				}
			}
			for _, secret := range []string{"t0ps3cret", "MfKQ9r8", "key-123"} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error %q shows a secret", err)
				}
			}
		})
	}
}
