package config

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// TestComposeObservability: the production stack runs Prometheus, Grafana
// and Jaeger, each health-checked, on files that exist; Prometheus scrapes
// every hookflow process kind there is, on the port their operations
// listener uses; every hookflow process exports its traces to Jaeger.
func TestComposeObservability(t *testing.T) {
	doc := readCompose(t, "docker-compose.yml")
	for _, name := range []string{"prometheus", "grafana", "jaeger"} {
		svc, ok := doc.Services[name]
		if !ok {
			t.Fatalf("docker-compose.yml has no %s service", name)
		}
		if len(svc.Healthcheck.Test) == 0 || svc.Healthcheck.Disable {
			t.Errorf("%s has no health check", name)
		}
		for _, v := range svc.Volumes {
			src := strings.Split(v, ":")[0]
			if !strings.HasPrefix(src, "./") {
				continue // a named volume
			}
			if _, err := os.Stat(filepath.Join("..", src)); err != nil {
				t.Errorf("%s mounts %s: %v", name, src, err)
			}
		}
		for _, p := range svc.Ports {
			if !strings.HasPrefix(p, "127.0.0.1:") {
				t.Errorf("%s publishes %s beyond loopback", name, p)
			}
		}
	}

	raw, err := os.ReadFile(filepath.Join("..", "deploy", "prometheus", "prometheus.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var prom struct {
		RuleFiles     []string `yaml:"rule_files"`
		ScrapeConfigs []struct {
			DNS []struct {
				Names []string
				Port  int
			} `yaml:"dns_sd_configs"`
		} `yaml:"scrape_configs"`
	}
	if err := yaml.Unmarshal(raw, &prom); err != nil {
		t.Fatal(err)
	}
	scraped := map[string]int{}
	for _, sc := range prom.ScrapeConfigs {
		for _, d := range sc.DNS {
			for _, n := range d.Names {
				scraped[n] = d.Port
			}
		}
	}
	for name, svc := range doc.Services {
		if !slices.Contains(svc.Command, "serve") && !slices.Contains(svc.Command, "worker") {
			continue
		}
		if port, ok := scraped[name]; !ok || port != 9090 {
			t.Errorf("Prometheus scrapes %s on port %d (found %v); want its HOOKFLOW_METRICS_ADDR port 9090", name, port, ok)
		}
	}
	if !slices.Contains(prom.RuleFiles, "alerts.yml") {
		t.Errorf("Prometheus loads rule files %v, not alerts.yml", prom.RuleFiles)
	}

	for _, name := range []string{"receiver", "worker"} {
		env := doc.Services[name].Environment
		if got := fmt.Sprint(env["OTEL_EXPORTER_OTLP_ENDPOINT"]); !strings.Contains(got, "http://jaeger:4317") {
			t.Errorf("%s exports traces to %q, want the stack's jaeger:4317 by default", name, got)
		}
		if got := fmt.Sprint(env["OTEL_EXPORTER_OTLP_PROTOCOL"]); !strings.Contains(got, "grpc") {
			t.Errorf("%s exports with protocol %q, want grpc for port 4317", name, got)
		}
	}
	sources, err := os.ReadFile(filepath.Join("..", "deploy", "grafana", "provisioning", "datasources", "datasources.yml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, url := range []string{"http://prometheus:9090", "http://jaeger:16686"} {
		if !strings.Contains(string(sources), "url: "+url) {
			t.Errorf("Grafana has no data source at %s", url)
		}
	}
}

// TestAlertRules runs promtool over the alert rules: they load, and each
// fires on the series that should raise it and on no healthy one
// (deploy/prometheus/alerts_test.yml).
func TestAlertRules(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool not on PATH (Debian's prometheus package has it; .ci/run installs it)")
	}
	dir := filepath.Join("..", "deploy", "prometheus")
	for _, args := range [][]string{
		{"check", "rules", "alerts.yml"},
		{"check", "config", "prometheus.yml"},
		{"test", "rules", "alerts_test.yml"},
	} {
		cmd := exec.Command(promtool, args...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}
