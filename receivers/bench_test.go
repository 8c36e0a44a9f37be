package receivers

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/valyala/fasthttp"
	"go.temporal.io/sdk/client"

	"github.com/hookflow/hookflow/config"
	"github.com/hookflow/hookflow/internal/dev/testenv"
	"github.com/hookflow/hookflow/providers"
	"github.com/hookflow/hookflow/receivers/dedup"
	"github.com/hookflow/hookflow/receivers/starter"
	"github.com/hookflow/hookflow/signature"
)

// instantStarter stands in for Temporal, so the benchmarks measure the
// receiver's own overhead: verification, parsing, Redis and the answer.
type instantStarter struct{}

func (instantStarter) SignalWithStartWorkflow(context.Context, string, string, any, client.StartWorkflowOptions, any, ...any) (client.WorkflowRun, error) {
	return nil, nil
}

func benchHandler(b *testing.B) fasthttp.RequestHandler {
	b.Helper()
	srv := testenv.StartRedis(b)
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:" + strconv.Itoa(srv.Port)})
	b.Cleanup(func() { rdb.Close() })
	r := New(Options{
		Start: starter.Starter{Client: instantStarter{}},
		Dedup: &dedup.Redis{Client: rdb, Prefix: "bench:", PendingTTL: time.Minute, DoneTTL: time.Hour},
		Log:   slog.New(slog.DiscardHandler),
	})
	return NewApp(r, []Provider{providers.Phoenix(signature.NewBearer([]string{"bench-secret"}))}).Handler()
}

func serveOnce(b *testing.B, h fasthttp.RequestHandler, body []byte) {
	serveAs(b, h, "/webhooks/phoenix", "bench-secret", body)
}

// serveAs serves one Phoenix delivery on path with secret, and fails
// unless it is accepted.
func serveAs(b *testing.B, h fasthttp.RequestHandler, path, secret string, body []byte) {
	var ctx fasthttp.RequestCtx
	var req fasthttp.Request
	req.Header.SetMethod("POST")
	req.SetRequestURI(path)
	req.Header.Set("Authorization", "Bearer "+secret)
	req.Header.SetContentType("application/json")
	req.SetBody(body)
	ctx.Init(&req, nil, nil)
	h(&ctx)
	if code := ctx.Response.StatusCode(); code != 200 {
		b.Fatalf("status %d: %s", code, ctx.Response.Body())
	}
}

func benchBody(id string) []byte {
	return []byte(fmt.Sprintf(`{"event":"order.status.change","id":%q,"timestamp":"2026-11-20T10:15:30.000Z","data":{"orderId":"bench-order","orderStatus":"fulfilled"}}`, id))
}

// BenchmarkAcceptNew is one new event through the whole accept path but
// Start: starter.Starter{Client: Redis} claim and finish included.
func BenchmarkAcceptNew(b *testing.B) {
	h := benchHandler(b)
	for i := 0; b.Loop(); i++ {
		serveOnce(b, h, benchBody("evt-new-"+strconv.Itoa(i)))
	}
}

// BenchmarkAcceptDuplicate is a redelivery: answered from Redis alone.
func BenchmarkAcceptDuplicate(b *testing.B) {
	h := benchHandler(b)
	body := benchBody("evt-dup")
	serveOnce(b, h, body)
	for b.Loop() {
		serveOnce(b, h, body)
	}
}

// BenchmarkAcceptTenants is a tenant's new event through the accept path,
// Redis and Temporal left out so that the receiver's own work is what is
// measured, with 1 or 1,000 tenants configured, each capped as by default
// (HOOKFLOW_TENANT_MAX_IN_FLIGHT) and with a rate it never reaches: the
// tenant's verifier and caps are found by map lookups, so the two must
// cost the same. "none" is the default tenant without tenants, for
// reference.
func BenchmarkAcceptTenants(b *testing.B) {
	for _, n := range []int{0, 1, 1000} {
		name := strconv.Itoa(n)
		if n == 0 {
			name = "none"
		}
		b.Run(name, func(b *testing.B) {
			phoenix := providers.Phoenix(signature.NewBearer([]string{"bench-secret"}))
			tenants := make([]config.Tenant, n)
			for i := range tenants {
				id := fmt.Sprintf("store-%04d.example.com", i)
				tenants[i] = config.Tenant{ID: id, Secrets: map[string]config.Secrets{"phoenix": {"secret-" + id}}}
			}
			limits := func(config.Tenant) config.TenantLimits {
				return config.TenantLimits{MaxInFlight: 128, Rate: 1e9, Burst: 1e9}
			}
			ts, err := BindTenants([]Provider{phoenix}, tenants, func(string) string { return "" }, limits)
			if err != nil {
				b.Fatal(err)
			}
			r := New(Options{Start: starter.Starter{Client: instantStarter{}}, Log: slog.New(slog.DiscardHandler), Tenants: ts})
			h := NewApp(r, []Provider{phoenix}).Handler()
			path, secret := "/webhooks/phoenix", "bench-secret"
			if n > 0 {
				id := tenants[n/2].ID // any one: the lookup does not depend on which
				path, secret = "/webhooks/phoenix/"+id, "secret-"+id
			}
			body := benchBody("evt-tenant")
			b.ReportAllocs()
			for b.Loop() {
				serveAs(b, h, path, secret, body)
			}
		})
	}
}

// BenchmarkTenantLookup is the part of BenchmarkAcceptTenants that depends
// on the number of tenants: finding a tenant's verifier and caps by
// provider and ID, and taking and giving back its caps.
func BenchmarkTenantLookup(b *testing.B) {
	for _, n := range []int{1, 1000} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			phoenix := providers.Phoenix(signature.NewBearer([]string{"bench-secret"}))
			tenants := make([]config.Tenant, n)
			for i := range tenants {
				id := fmt.Sprintf("store-%04d.example.com", i)
				tenants[i] = config.Tenant{ID: id, Secrets: map[string]config.Secrets{"phoenix": {"secret-" + id}}}
			}
			limits := func(config.Tenant) config.TenantLimits {
				return config.TenantLimits{MaxInFlight: 128, Rate: 1e9, Burst: 1e9}
			}
			ts, err := BindTenants([]Provider{phoenix}, tenants, func(string) string { return "" }, limits)
			if err != nil {
				b.Fatal(err)
			}
			id := []byte(tenants[n/2].ID) // from the request's bytes, as Params gives it
			b.ReportAllocs()
			for b.Loop() {
				tv, ok := ts.byProvider["phoenix"][string(id)]
				if !ok || !ts.ids[string(id)] {
					b.Fatal("tenant not found")
				}
				if refused, _ := tv.caps.take(); refused != rowProceed {
					b.Fatal("refused")
				}
				tv.caps.leave()
			}
		})
	}
}
