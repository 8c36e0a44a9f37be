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
	var ctx fasthttp.RequestCtx
	var req fasthttp.Request
	req.Header.SetMethod("POST")
	req.SetRequestURI("/webhooks/phoenix")
	req.Header.Set("Authorization", "Bearer bench-secret")
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
