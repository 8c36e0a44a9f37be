package config

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// composeFiles are the compose files kept in the repository: the
// production-like stack and the single-node dev variant.
var composeFiles = []string{"docker-compose.yml", "docker-compose.dev.yml"}

// composeService is the part of a compose service these tests read.
type composeService struct {
	Image         string         `yaml:"image"`
	Build         any            `yaml:"build"`
	Command       []string       `yaml:"command"`
	Environment   map[string]any `yaml:"environment"`
	Ports         []string       `yaml:"ports"`
	Volumes       []string       `yaml:"volumes"`
	ContainerName string         `yaml:"container_name"`
	Healthcheck   struct {
		Test    []string `yaml:"test"`
		Disable bool     `yaml:"disable"`
	} `yaml:"healthcheck"`
	DependsOn map[string]struct {
		Condition string `yaml:"condition"`
	} `yaml:"depends_on"`
}

type composeDoc struct {
	Services map[string]composeService `yaml:"services"`
	Volumes  map[string]any            `yaml:"volumes"`
}

func readCompose(t *testing.T, file string) composeDoc {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", file))
	if err != nil {
		t.Fatal(err)
	}
	var doc composeDoc
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("%s does not parse: %v", file, err)
	}
	return doc
}

// pinned reports whether an image reference names a tag (or a digest)
// other than latest.
func pinned(ref string) bool {
	if strings.Contains(ref, "@sha256:") {
		return true
	}
	slash, colon := strings.LastIndex(ref, "/"), strings.LastIndex(ref, ":")
	if colon <= slash {
		return false // no tag: Docker reads latest
	}
	tag := ref[colon+1:]
	return tag != "" && tag != "latest" && !strings.Contains(tag, "$")
}

func TestComposeImagesPinned(t *testing.T) {
	for _, file := range composeFiles {
		for name, svc := range readCompose(t, file).Services {
			switch {
			case svc.Image == "" && svc.Build == nil:
				t.Errorf("%s: service %s has neither image nor build", file, name)
			case svc.Image != "" && !pinned(svc.Image):
				t.Errorf("%s: service %s image %q is not pinned to a tag", file, name, svc.Image)
			}
		}
	}
	for ref, want := range map[string]bool{"redis:7.4.1-alpine": true, "redis": false, "redis:latest": false, "registry:5000/x": false, "x:${TAG}": false} {
		if got := pinned(ref); got != want {
			t.Errorf("pinned(%q) = %v, want %v", ref, got, want)
		}
	}
}

// TestComposeProductionTopology checks docker-compose.yml against what a
// production-like deployment needs: the services, their order of start-up,
// health checks, persistence and scalability.
func TestComposeProductionTopology(t *testing.T) {
	doc := readCompose(t, "docker-compose.yml")
	svc := func(name string) composeService {
		s, ok := doc.Services[name]
		if !ok {
			t.Fatalf("service %s missing", name)
		}
		return s
	}
	images := map[string]string{
		"postgresql": "postgres:", "temporal-schema": "temporalio/admin-tools:1.29.", "temporal": "temporalio/server:1.29.",
		"temporal-namespace": "temporalio/admin-tools:1.29.", "temporal-ui": "temporalio/ui:", "redis": "redis:",
	}
	for name, prefix := range images {
		if img := svc(name).Image; !strings.HasPrefix(img, prefix) {
			t.Errorf("service %s image %q, want %s…", name, img, prefix)
		}
	}
	// Start-up order: each waits for what it needs to be healthy or done.
	deps := map[string]map[string]string{
		"temporal-schema":    {"postgresql": "service_healthy"},
		"temporal":           {"temporal-schema": "service_completed_successfully"},
		"temporal-namespace": {"temporal": "service_healthy"},
		"temporal-ui":        {"temporal": "service_healthy"},
		"setup":              {"temporal-namespace": "service_completed_successfully"},
		"worker":             {"setup": "service_completed_successfully"},
		"receiver":           {"setup": "service_completed_successfully", "redis": "service_healthy"},
	}
	for name, want := range deps {
		for dep, cond := range want {
			if got := svc(name).DependsOn[dep].Condition; got != cond {
				t.Errorf("%s depends on %s with condition %q, want %q", name, dep, got, cond)
			}
		}
	}
	for name, s := range doc.Services {
		for dep, d := range s.DependsOn {
			target, ok := doc.Services[dep]
			if !ok {
				t.Errorf("%s depends on unknown service %s", name, dep)
			}
			if d.Condition == "service_healthy" && (len(target.Healthcheck.Test) == 0 || target.Healthcheck.Disable) {
				t.Errorf("%s waits for %s to be healthy, which has no health check", name, dep)
			}
		}
	}
	// The schema service sets up and upgrades both databases.
	script := strings.Join(svc("temporal-schema").Command, " ")
	for _, want := range []string{"temporal-sql-tool", "--plugin postgres12", " create", "setup-schema -v 0.0", "update-schema", "temporal_visibility:visibility", "temporal:temporal", "/versioned"} {
		if !strings.Contains(script, want) {
			t.Errorf("temporal-schema script lacks %q", want)
		}
	}
	// Persistence.
	for name, mount := range map[string]string{"postgresql": "/var/lib/postgresql/data", "redis": "/data"} {
		ok := slices.ContainsFunc(svc(name).Volumes, func(v string) bool {
			vol, path, _ := strings.Cut(v, ":")
			_, named := doc.Volumes[vol]
			return named && path == mount
		})
		if !ok {
			t.Errorf("%s keeps %s in no named volume", name, mount)
		}
	}
	redis := strings.Join(svc("redis").Command, " ")
	if !strings.Contains(redis, "--appendonly yes") {
		t.Errorf("redis runs %q: want AOF (--appendonly yes)", redis)
	}
	// hookflow: health checked with its own command; worker and receiver scale.
	for _, name := range []string{"worker", "receiver"} {
		s := svc(name)
		if !slices.Equal(s.Healthcheck.Test, []string{"CMD", "/usr/local/bin/hookflow", "healthcheck"}) {
			t.Errorf("%s health check %v, want hookflow healthcheck", name, s.Healthcheck.Test)
		}
		if s.ContainerName != "" {
			t.Errorf("%s has container_name %q: it cannot scale", name, s.ContainerName)
		}
		if s.Environment["HOOKFLOW_METRICS_ADDR"] == nil {
			t.Errorf("%s does not set HOOKFLOW_METRICS_ADDR", name)
		}
	}
	if ports := svc("worker").Ports; len(ports) > 0 {
		t.Errorf("worker publishes %v: it cannot scale", ports)
	}
	if ports := svc("receiver").Ports; len(ports) != 1 || !regexp.MustCompile(`^\d+-\d+:8080$`).MatchString(ports[0]) {
		t.Errorf("receiver ports %v, want one host port range onto 8080", ports)
	}
	if !svc("setup").Healthcheck.Disable {
		t.Error("setup (one-shot) keeps the image's health check")
	}
	// Nothing stateful or unauthenticated is published beyond loopback.
	for _, name := range []string{"postgresql", "redis", "temporal", "temporal-ui"} {
		for _, p := range svc(name).Ports {
			if !strings.HasPrefix(p, "127.0.0.1:") {
				t.Errorf("%s publishes %s on every interface", name, p)
			}
		}
	}
}

// TestComposeDevVariant keeps the single-node dev stack: the Temporal dev
// server on a SQLite file in a volume, with its UI.
func TestComposeDevVariant(t *testing.T) {
	doc := readCompose(t, "docker-compose.dev.yml")
	temporal := doc.Services["temporal"]
	if !strings.HasPrefix(temporal.Image, "temporalio/temporal:") {
		t.Errorf("dev temporal image %q, want the Temporal CLI's dev server", temporal.Image)
	}
	cmd := strings.Join(temporal.Command, " ")
	for _, want := range []string{"start-dev", "--db-filename /data/temporal.db", "journal_mode=wal"} {
		if !strings.Contains(cmd, want) {
			t.Errorf("dev temporal runs %q, lacks %q", cmd, want)
		}
	}
}

// TestComposeEnvExample keeps .env.example and the compose files in step:
// every variable a compose file requires is in the example, every example
// variable is used, and .env itself is git-ignored.
func TestComposeEnvExample(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", ".env.example"))
	if err != nil {
		t.Fatal(err)
	}
	example := map[string]bool{}
	for _, line := range strings.Split(string(raw), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, _, ok := strings.Cut(line, "=")
		if !ok {
			t.Errorf(".env.example line %q is not NAME=value", line)
			continue
		}
		example[name] = true
	}
	used := map[string]bool{}
	ref := regexp.MustCompile(`(?:^|[^$])\$\{(\w+)(:?[-?])?`) // $${…} is the shell's, escaped
	for _, file := range composeFiles {
		b, err := os.ReadFile(filepath.Join("..", file))
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range ref.FindAllStringSubmatch(string(b), -1) {
			used[m[1]] = true
			if required := m[2] != ":-" && m[2] != "-"; required && !example[m[1]] {
				t.Errorf("%s needs %s, which .env.example does not list", file, m[1])
			}
		}
	}
	for name := range example {
		if !used[name] {
			t.Errorf(".env.example lists %s, which no compose file uses", name)
		}
	}
	ignore, err := os.ReadFile(filepath.Join("..", ".gitignore"))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(strings.Split(string(ignore), "\n"), ".env") {
		t.Error(".gitignore does not ignore .env")
	}
}
