package devstack

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisOptions say how to run redis-server.
type RedisOptions struct {
	Server string // path of redis-server; looked up on PATH when empty
	Port   int    // on 127.0.0.1
	Dir    string // its working directory: redis.log, and dump.rdb when Save is set
	// Save is redis's snapshot rule (e.g. "60 1": after 60s if a key
	// changed), so a restart finds the data again. Empty keeps nothing on
	// disk.
	Save string
	// SharedProcessGroup: as TemporalOptions.SharedProcessGroup.
	SharedProcessGroup bool
}

// Redis returns the redis-server described by opts, not yet started.
func Redis(opts RedisOptions) (*Child, error) {
	if opts.Server == "" {
		p, err := exec.LookPath("redis-server")
		if err != nil {
			return nil, fmt.Errorf("redis-server is not on PATH: %w", err)
		}
		opts.Server = p
	}
	if opts.Port == 0 || opts.Dir == "" {
		return nil, fmt.Errorf("redis-server: the port and the data directory are required")
	}
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, fmt.Errorf("redis-server directory: %w", err)
	}
	addr := "127.0.0.1:" + strconv.Itoa(opts.Port)
	args := []string{"--port", strconv.Itoa(opts.Port), "--bind", "127.0.0.1",
		"--dir", dir, "--save", opts.Save, "--appendonly", "no", "--logfile", filepath.Join(dir, "redis.log")}
	return &Child{
		name:        "redis-server",
		addr:        addr,
		logFile:     filepath.Join(opts.Dir, "redis.log"),
		command:     func() *exec.Cmd { return exec.Command(opts.Server, args...) },
		sharedGroup: opts.SharedProcessGroup,
		ready: func(ctx context.Context) error {
			// A plain dial first: go-redis logs every refused connection.
			conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
			if err != nil {
				return err
			}
			conn.Close()
			c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
			defer c.Close()
			return c.Ping(ctx).Err()
		},
		// SIGTERM: redis-server saves its snapshot (when Save is set) and exits.
		stopSignal: syscall.SIGTERM,
		stopGrace:  10 * time.Second,
	}, nil
}

// StartRedis starts the redis-server described by opts and waits until it
// answers PING.
func StartRedis(ctx context.Context, opts RedisOptions) (*Child, error) {
	c, err := Redis(opts)
	if err != nil {
		return nil, err
	}
	if err := c.Start(ctx); err != nil {
		return nil, err
	}
	return c, nil
}
