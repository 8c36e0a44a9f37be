package main

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/hookflow/hookflow/internal/dev/testenv"
	"github.com/hookflow/hookflow/internal/process/listen"
	"github.com/hookflow/hookflow/providers"
	"github.com/hookflow/hookflow/receivers"
	"github.com/hookflow/hookflow/receivers/starter"
	"github.com/hookflow/hookflow/signature"
)

// blockingStarter holds every start until released.
type blockingStarter struct {
	entered chan struct{}
	release chan struct{}
}

func (b *blockingStarter) SignalWithStartWorkflow(context.Context, string, string, any, client.StartWorkflowOptions, any, ...any) (client.WorkflowRun, error) {
	b.entered <- struct{}{}
	<-b.release
	return nil, nil
}

// TestShutdownFinishesInFlight: when the process is told to stop, the
// receivers stop accepting connections but the request already in flight
// is answered.
func TestShutdownFinishesInFlight(t *testing.T) {
	st := &blockingStarter{entered: make(chan struct{}), release: make(chan struct{})}
	r := receivers.New(receivers.Options{Start: starter.Starter{Client: st}, Log: slog.New(slog.DiscardHandler)})
	app := receivers.NewApp(r, []receivers.Provider{providers.Phoenix(signature.NewBearer([]string{"s"}))})
	addr := "127.0.0.1:" + strconv.Itoa(testenv.FreePort(t))
	ctx, stop := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- listen.Until(ctx, app, addr) }()
	testenv.Eventually(t, 10*time.Second, func() (bool, string) {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
		}
		return err == nil, "receiver not listening yet"
	})

	body, headers := phoenixEvent("s", "evt-shutdown", "order-shutdown", "pending")
	answered := make(chan int, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/webhooks/phoenix", bytes.NewReader(body))
		for k, v := range headers {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			answered <- 0
			return
		}
		resp.Body.Close()
		answered <- resp.StatusCode
	}()
	<-st.entered // the request is in flight
	stop()       // SIGTERM
	testenv.Eventually(t, 10*time.Second, func() (bool, string) {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
		}
		return err != nil, "still accepting connections after shutdown began"
	})
	close(st.release)
	if code := <-answered; code != 200 {
		t.Errorf("in-flight request answered %d, want 200", code)
	}
	if err := <-served; err != nil {
		t.Errorf("listen.Until: %v", err)
	}
}
