// Command bare serves loadgen.Bare, the floor of the receiver's duplicate
// path, on loopback, for wrk to compare the receiver's duplicates with:
//
//	go run ./internal/dev/loadgen/bare -addr 127.0.0.1:18090 -redis redis://127.0.0.1:6379/5
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/gofiber/fiber/v2"
	"github.com/redis/go-redis/v9"

	"github.com/hookflow/hookflow/internal/dev/loadgen"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:18090", "listen address (loopback)")
	redisURL := flag.String("redis", "redis://127.0.0.1:6379/0", "Redis URL")
	secret := flag.String("secret", "dev-phoenix-secret", "Phoenix Bearer secret")
	prefix := flag.String("prefix", "hookflow:dedup:", "dedup key prefix")
	pool := flag.Int("pool", 0, "Redis connections at most (0: go-redis's default; the receiver's is HOOKFLOW_MAX_IN_FLIGHT)")
	flag.Parse()
	opt, err := redis.ParseURL(*redisURL)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bare:", err)
		os.Exit(2)
	}
	if *pool > 0 {
		opt.PoolSize = *pool
	}
	rdb := redis.NewClient(opt)
	defer rdb.Close()
	app := fiber.New(fiber.Config{DisableStartupMessage: true})
	app.Post("/webhooks/phoenix", loadgen.Bare(rdb, *prefix, *secret))
	go func() {
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
		<-sig
		_ = app.Shutdown()
	}()
	if err := app.Listen(*addr); err != nil {
		fmt.Fprintln(os.Stderr, "bare:", err)
		os.Exit(1)
	}
}
