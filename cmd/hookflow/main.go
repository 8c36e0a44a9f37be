// Command hookflow is the webhook gateway: Fiber receivers that verify and
// deduplicate provider webhooks and hand them to one Temporal workflow per
// entity, the worker that runs those workflows, and the operator commands.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := newRootCmd().ExecuteContext(ctx); err != nil {
		// One line, whatever the error: joined validation errors included.
		fmt.Fprintln(os.Stderr, "hookflow:", strings.ReplaceAll(err.Error(), "\n", "; "))
		stop()
		os.Exit(1)
	}
}
