package devstack

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"strconv"
	"time"

	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
)

// TemporalOptions say how to run the Temporal CLI's dev server.
type TemporalOptions struct {
	CLI       string // path of the temporal binary
	HostPort  string // the frontend's loopback host:port, e.g. 127.0.0.1:7233
	Namespace string // registered at start-up; "default" when empty
	DBFile    string // the SQLite file, kept across restarts
	UIPort    int    // the Web UI's port; 0 runs without the UI
	LogLevel  string // "warn" when empty
	LogFile   string // appended with the server's output; "" discards it
	// SharedProcessGroup keeps the server in this program's process group,
	// so a Ctrl-C at the terminal ends it too, cleanups or not (tests). By
	// default it gets a group of its own and only Stop ends it, so a
	// Ctrl-C is not mistaken for a crash.
	SharedProcessGroup bool
}

// sqlitePragmas make the dev server's SQLite file about three times faster
// at starting workflows than its defaults.
var sqlitePragmas = []string{"--sqlite-pragma", "journal_mode=wal", "--sqlite-pragma", "synchronous=normal"}

// fairness has the dev server dispatch every task queue's backlog fairly by
// fairness key (matching.enableFairness, Temporal server 1.29, which the
// pinned CLI embeds), as the cluster in deploy/temporal does: a tenant's
// runs carry the tenant as their key (starter), so one tenant's burst takes
// its share of the workers and no more. Sticky queues stay FIFO (the
// server's choice).
var fairness = []string{"--dynamic-config-value", "matching.enableFairness=true"}

// Temporal returns the dev server described by opts, not yet started.
func Temporal(opts TemporalOptions) (*Child, error) {
	host, port, err := net.SplitHostPort(opts.HostPort)
	if err != nil {
		return nil, fmt.Errorf("temporal dev server address %q: %w", opts.HostPort, err)
	}
	if opts.CLI == "" || opts.DBFile == "" {
		return nil, fmt.Errorf("temporal dev server: the CLI path and the database file are required")
	}
	if opts.Namespace == "" {
		opts.Namespace = "default"
	}
	if opts.LogLevel == "" {
		opts.LogLevel = "warn"
	}
	args := []string{"server", "start-dev",
		"--ip", host, "--port", port,
		"--namespace", opts.Namespace,
		"--db-filename", opts.DBFile,
		"--log-level", opts.LogLevel,
		// What the SDK's testsuite passes: no call home to check versions.
		"--dynamic-config-value", "frontend.enableServerVersionCheck=false",
	}
	if opts.UIPort != 0 {
		args = append(args, "--ui-port", strconv.Itoa(opts.UIPort))
	} else {
		args = append(args, "--headless")
	}
	args = append(args, sqlitePragmas...)
	args = append(args, fairness...)
	quiet := tlog.NewStructuredLogger(slog.New(slog.DiscardHandler))
	return &Child{
		name:        "Temporal dev server",
		addr:        opts.HostPort,
		logFile:     opts.LogFile,
		command:     func() *exec.Cmd { return exec.Command(opts.CLI, args...) },
		sharedGroup: opts.SharedProcessGroup,
		ready: func(ctx context.Context) error {
			// Dialing checks the frontend's health.
			c, err := client.DialContext(ctx, client.Options{HostPort: opts.HostPort, Namespace: opts.Namespace, Logger: quiet})
			if err != nil {
				return err
			}
			c.Close()
			return nil
		},
		stopSignal: os.Interrupt,
		stopGrace:  30 * time.Second,
	}, nil
}

// StartTemporal starts the dev server described by opts and waits until it
// answers.
func StartTemporal(ctx context.Context, opts TemporalOptions) (*Child, error) {
	c, err := Temporal(opts)
	if err != nil {
		return nil, err
	}
	if err := c.Start(ctx); err != nil {
		return nil, err
	}
	return c, nil
}
