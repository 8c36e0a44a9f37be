// Command handler-go is a Temporal worker that receives hookflow's
// transitions and logs them: the smallest consumer of HOOKFLOW_HANDLER_TASK_QUEUE.
//
//	TEMPORAL_ADDRESS=127.0.0.1:7233 HANDLER_TASK_QUEUE=my-transitions go run ./examples/handler-go
//	HOOKFLOW_HANDLER_TASK_QUEUE=my-transitions bin/hookflow dev
package main

import (
	"cmp"
	"log/slog"
	"os"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/hookflow/hookflow/examples/handler-go/handler"
)

func main() {
	c, err := client.Dial(client.Options{
		HostPort:  cmp.Or(os.Getenv("TEMPORAL_ADDRESS"), "127.0.0.1:7233"),
		Namespace: cmp.Or(os.Getenv("TEMPORAL_NAMESPACE"), "default"),
	})
	if err != nil {
		slog.Error("connect to Temporal", "error", err)
		os.Exit(1)
	}
	defer c.Close()
	w := worker.New(c, cmp.Or(os.Getenv("HANDLER_TASK_QUEUE"), "my-transitions"), worker.Options{})
	h := &handler.Handler{Log: slog.Default()}
	w.RegisterActivityWithOptions(h.HandleTransition, activity.RegisterOptions{Name: handler.Name})
	if err := w.Run(worker.InterruptCh()); err != nil {
		slog.Error("worker", "error", err)
		os.Exit(1)
	}
}
