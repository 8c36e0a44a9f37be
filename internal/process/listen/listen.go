// Package listen serves hookflow's Fiber apps until the process is told to
// stop: each on its address, all stopping together, every one finishing the
// requests in flight before it returns (graceful shutdown on SIGTERM).
package listen

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
)

// ShutdownTimeout is how long a stopping app may take to finish the
// requests in flight.
const ShutdownTimeout = 20 * time.Second

// App is one Fiber app and the address it serves on; Setting names the
// setting the address comes from, for the error when it cannot listen.
type App struct {
	Setting string
	App     *fiber.App
	Addr    string
}

// Serve serves every app until ctx ends, or until one of them fails to
// listen, which stops the others; it returns once all have shut down.
func Serve(ctx context.Context, apps ...App) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make([]error, len(apps))
	var wg sync.WaitGroup
	for i, a := range apps {
		wg.Go(func() {
			if err := Until(ctx, a.App, a.Addr); err != nil {
				errs[i] = fmt.Errorf("%s: %w", a.Setting, err)
				cancel()
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// Until runs app on addr until ctx ends, then stops accepting and finishes
// the requests in flight within ShutdownTimeout.
func Until(ctx context.Context, app *fiber.App, addr string) error {
	errc := make(chan error, 1)
	go func() { errc <- app.Listen(addr) }()
	select {
	case err := <-errc:
		return fmt.Errorf("listen on %s: %w", addr, err)
	case <-ctx.Done():
	}
	if err := app.ShutdownWithTimeout(ShutdownTimeout); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}
