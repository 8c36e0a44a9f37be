package health

import (
	"context"
	"fmt"
	"net"
	"net/http"
)

// Healthcheck GETs url, a process's /healthz, and answers nil when it
// answers 200. Its errors name url. It uses no proxy: the process checked
// is this container's own.
func Healthcheck(ctx context.Context, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("healthcheck %s: %w", url, err)
	}
	resp, err := (&http.Client{Transport: &http.Transport{Proxy: nil}}).Do(req)
	if err != nil {
		return fmt.Errorf("healthcheck %s: %w", url, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("healthcheck %s: answered %d", url, resp.StatusCode)
	}
	return nil
}

// HealthzURL is /healthz on the operations listener addr
// (HOOKFLOW_METRICS_ADDR), reached over loopback when addr listens on every
// interface (":9090", "0.0.0.0:9090").
func HealthzURL(addr string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("HOOKFLOW_METRICS_ADDR %q: must be host:port", addr)
	}
	switch host {
	case "", "0.0.0.0":
		host = "127.0.0.1"
	case "::":
		host = "::1"
	}
	return "http://" + net.JoinHostPort(host, port) + "/healthz", nil
}
