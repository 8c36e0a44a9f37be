package config

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// TestComposeObservability: the production stack runs Prometheus and
// Grafana on files that exist, and Prometheus scrapes every hookflow
// process kind there is, on the port their operations listener uses.
func TestComposeObservability(t *testing.T) {
	doc := readCompose(t, "docker-compose.yml")
	for _, name := range []string{"prometheus", "grafana"} {
		svc, ok := doc.Services[name]
		if !ok {
			t.Fatalf("docker-compose.yml has no %s service", name)
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
