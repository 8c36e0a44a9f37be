package config

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestComposeUsesConfigNames checks what can be checked of the compose
// files without a Docker engine: they parse, and every variable they give
// hookflow's services is a configuration name hookflow reads.
func TestComposeUsesConfigNames(t *testing.T) {
	known := map[string]bool{}
	for _, f := range Fields() {
		known[f.Env] = true
	}
	for _, file := range composeFiles {
		t.Run(file, func(t *testing.T) {
			doc := readCompose(t, file)
			want := map[string]string{"setup": "setup", "worker": "worker", "receiver": "serve"}
			for name, command := range want {
				svc, ok := doc.Services[name]
				if !ok {
					t.Errorf("service %s missing", name)
					continue
				}
				if len(svc.Command) != 1 || svc.Command[0] != command {
					t.Errorf("service %s runs %v, want hookflow %s", name, svc.Command, command)
				}
				if len(svc.Environment) == 0 {
					t.Errorf("service %s has no environment", name)
				}
				for env := range svc.Environment {
					if env == "<<" || strings.HasPrefix(env, "OTEL_") {
						continue // the OpenTelemetry SDK's standard variables (contract 16)
					}
					if !known[env] {
						t.Errorf("service %s sets %s, which hookflow does not read", name, env)
					}
				}
				for _, must := range []string{"TEMPORAL_ADDRESS", "REDIS_URL"} {
					if _, ok := svc.Environment[must]; !ok {
						t.Errorf("service %s does not set %s", name, must)
					}
				}
			}
		})
	}
}

// TestDocsListEveryName keeps the configuration table in
// docs/configuration.md true.
func TestDocsListEveryName(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "docs", "configuration.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range Fields() {
		if !bytes.Contains(raw, []byte("`"+f.Env+"`")) {
			t.Errorf("docs/configuration.md does not document %s", f.Env)
		}
	}
}
