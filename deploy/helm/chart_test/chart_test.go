package charttest

import (
	"encoding/json"
	"errors"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/yaml"
)

// The objects' names for the release "hookflow".
const (
	serveName  = "hookflow-serve"
	workerName = "hookflow-worker"
	webService = "hookflow"     // the receivers' webhook port
	opsService = "hookflow-ops" // every receiver's and worker's ops port
	configMap  = "hookflow"     // the configuration file
	setupJob   = "hookflow-setup"
)

func TestLint(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"default values", nil},
		{"production example", []string{"-f", example}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := runHelm(t, append([]string{"lint", "--strict", chartDir}, tc.args...)...); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestDefaultValues: what the chart makes with its default values, and
// that it holds what matters.
func TestDefaultValues(t *testing.T) {
	ms := render(t)
	var got []string
	for _, m := range ms {
		got = append(got, m.Kind+"/"+m.Name)
	}
	sort.Strings(got)
	want := []string{
		"ConfigMap/hookflow",
		"ConfigMap/hookflow-dashboard",
		"ConfigMap/hookflow-setup-config",
		"Deployment/hookflow-serve",
		"Deployment/hookflow-worker",
		"HorizontalPodAutoscaler/hookflow-serve",
		"HorizontalPodAutoscaler/hookflow-worker",
		"Job/hookflow-setup",
		"PodDisruptionBudget/hookflow-serve",
		"PodDisruptionBudget/hookflow-worker",
		"Service/hookflow",
		"Service/hookflow-ops",
	}
	if !slices.Equal(got, want) {
		t.Errorf("objects:\n got %v\nwant %v", got, want)
	}
	checkChart(t, ms)
}

// TestProductionExample: the full example of the docs renders, with the
// optional parts on, and holds what matters.
func TestProductionExample(t *testing.T) {
	ms := render(t, "-f", example)
	for _, kind := range []string{"Ingress", "ServiceMonitor", "PrometheusRule"} {
		if !slices.ContainsFunc(ms, func(m manifest) bool { return m.Kind == kind }) {
			t.Errorf("the example makes no %s", kind)
		}
	}
	checkChart(t, ms)

	t.Run("worker scales on the backlog", func(t *testing.T) {
		hpa := named[autoscalingv2.HorizontalPodAutoscaler](t, ms, workerName)
		if !slices.ContainsFunc(hpa.Spec.Metrics, func(m autoscalingv2.MetricSpec) bool {
			return m.Type == autoscalingv2.ExternalMetricSourceType && m.External != nil && m.External.Metric.Name != ""
		}) {
			t.Errorf("worker HPA metrics %+v: no external backlog metric", hpa.Spec.Metrics)
		}
	})
	t.Run("TLS files are mounted", func(t *testing.T) {
		for _, p := range pods(ms) {
			for _, c := range p.Spec.Containers {
				for _, name := range []string{"TEMPORAL_TLS_CERT", "TEMPORAL_TLS_KEY", "TEMPORAL_TLS_CA"} {
					e, ok := env(c, name)
					if !ok {
						t.Errorf("%s: %s not set", p.Owner, name)
						continue
					}
					if !mounted(p.Spec, c, e.Value, func(v corev1.Volume) bool { return v.Secret != nil }) {
						t.Errorf("%s: %s=%s is in no Secret volume mounted there", p.Owner, name, e.Value)
					}
				}
			}
		}
	})
}

// TestSecretsNeverInValues puts a canary secret everywhere someone might
// put a secret in the values: each render is refused, and no output shows
// the canary.
func TestSecretsNeverInValues(t *testing.T) {
	const canary = "c4n4ry-s3cr3t"
	for _, tc := range []struct{ name, set, names string }{
		{"a provider secret in env", "env.PHOENIX_WEBHOOK_SECRET=" + canary, "env.PHOENIX_WEBHOOK_SECRET"},
		{"the admin token in env", "env.HOOKFLOW_ADMIN_TOKEN=" + canary, "env.HOOKFLOW_ADMIN_TOKEN"},
		{"OTLP headers in env", "env.OTEL_EXPORTER_OTLP_HEADERS=" + canary, "env.OTEL_EXPORTER_OTLP_HEADERS"},
		{"a provider secret in the file", "config.phoenix_webhook_secret=" + canary, "config.phoenix_webhook_secret"},
		{"the forward URL in the file", "config.forward_url=https://" + canary + "@erp.example.com", "config.forward_url"},
		{"the Temporal API key in the file", "config.temporal_api_key=" + canary, "config.temporal_api_key"},
		{"a Redis password in the URL", "redis.url=redis://:" + canary + "@redis:6379/0", "redis.url"},
		{"a Redis password in the file's URL", "config.redis_url=redis://:" + canary + "@redis:6379/0", "config.redis_url"},
		{"the Redis password as a value", "redis.password=" + canary, "redis.password"},
		{"the Temporal API key as a value", "temporal.apiKey=" + canary, "temporal.apiKey"},
		{"the Temporal API key beside its reference", "temporal.apiKey.value=" + canary, "temporal.apiKey.value"},
		{"OTLP headers as a value", "otel.headers=" + canary, "otel.headers"},
		{"a secret variable as a value", "secrets.env.FENIX_CLIENT_SECRET=" + canary, "secrets.env.FENIX_CLIENT_SECRET"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := runHelm(t, "template", release, chartDir, "--set-string", tc.set)
			if err == nil {
				t.Fatalf("--set-string %s rendered; want it refused", tc.set)
			}
			var he *helmError
			if !errors.As(err, &he) {
				t.Fatal(err)
			}
			if strings.Contains(out+he.Output, canary) {
				t.Errorf("the refusal shows the secret:\n%s", he.Output)
			}
			if !strings.Contains(he.Output, "Error: execution error") || !strings.Contains(he.Output, tc.names+":") {
				t.Errorf("refused, but not by the chart's check naming %s:\n%s", tc.names, he.Output)
			}
		})
	}
}

// TestSecretsByReference sets every Secret reference the chart takes: each
// becomes a secretKeyRef.
func TestSecretsByReference(t *testing.T) {
	ms := render(t,
		"--set", "temporal.apiKey.existingSecret=temporal-cloud",
		"--set", "redis.urlSecret.existingSecret=redis-url",
		"--set", "redis.password.existingSecret=redis",
		"--set", "redis.sentinelPassword.existingSecret=redis",
		"--set", "otel.endpoint=http://collector:4317",
		"--set", "otel.headers.existingSecret=otlp",
		"--set", "secrets.existingSecret=hookflow-secrets",
		"--set", "secrets.env.FENIX_CLIENT_SECRET.existingSecret=fenix",
		"--set", "secrets.env.FENIX_CLIENT_SECRET.key=client-secret",
	)
	checkSecrets(t, ms)
	for _, p := range pods(ms) {
		c := p.Spec.Containers[0]
		for _, name := range []string{"TEMPORAL_API_KEY", "REDIS_URL", "REDIS_PASSWORD", "REDIS_SENTINEL_PASSWORD", "OTEL_EXPORTER_OTLP_HEADERS", "FENIX_CLIENT_SECRET"} {
			if e, ok := env(c, name); !ok || e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil {
				t.Errorf("%s: %s is not a secretKeyRef: %+v", p.Owner, name, e)
			}
		}
		if len(c.EnvFrom) != 1 || c.EnvFrom[0].SecretRef == nil || c.EnvFrom[0].SecretRef.Name != "hookflow-secrets" {
			t.Errorf("%s: envFrom %+v, want the Secret hookflow-secrets", p.Owner, c.EnvFrom)
		}
	}
}

// TestConfigChangeRollsPods: the pod templates carry a hash of the
// configuration file, so a change of it alone rolls the pods.
func TestConfigChangeRollsPods(t *testing.T) {
	hashes := func(ms []manifest) map[string]string {
		out := map[string]string{}
		for _, d := range objects[appsv1.Deployment](ms) {
			out[d.Name] = d.Spec.Template.Annotations["checksum/config"]
			if out[d.Name] == "" {
				t.Errorf("%s: no checksum/config annotation on its pods", d.Name)
			}
		}
		return out
	}
	before, again := hashes(render(t)), hashes(render(t))
	after := hashes(render(t, "--set-string", "config.dedup_ttl=48h"))
	for name, h := range before {
		if again[name] != h {
			t.Errorf("%s: the same configuration hashes differently (%s, %s)", name, h, again[name])
		}
		if after[name] == h {
			t.Errorf("%s: a changed configuration keeps the hash %s: the pods would not roll", name, h)
		}
	}
}

// TestOneSource: the chart's alert rules and dashboards are links to
// deploy/prometheus and deploy/grafana, the files the compose stack uses,
// not copies that could drift.
func TestOneSource(t *testing.T) {
	same := func(link, target string) {
		t.Helper()
		resolve := func(p string) string {
			p, err := filepath.EvalSymlinks(p)
			if err == nil {
				p, err = filepath.Abs(p)
			}
			if err != nil {
				t.Fatal(err)
			}
			return p
		}
		got, want := resolve(link), resolve(target)
		if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 || got != want {
			t.Errorf("%s is not a link to %s (resolves to %s)", link, target, got)
		}
	}
	same(filepath.Join(chartDir, "files", "alerts.yml"), filepath.Join(repoRoot, "deploy", "prometheus", "alerts.yml"))
	sources, _ := filepath.Glob(filepath.Join(repoRoot, "deploy", "grafana", "dashboards", "*.json"))
	links, _ := filepath.Glob(filepath.Join(chartDir, "files", "dashboards", "*.json"))
	if len(sources) == 0 || len(links) != len(sources) {
		t.Errorf("dashboards %v, links in the chart %v: want one link each", sources, links)
	}
	for _, src := range sources {
		same(filepath.Join(chartDir, "files", "dashboards", filepath.Base(src)), src)
	}
}

// checkChart checks what matters in any rendering.
func checkChart(t *testing.T, ms []manifest) {
	t.Run("probes on the ops port", func(t *testing.T) { checkProbes(t, ms) })
	t.Run("ops port never public", func(t *testing.T) { checkOpsPrivate(t, ms) })
	t.Run("secrets only by reference", func(t *testing.T) { checkSecrets(t, ms) })
	t.Run("configuration file mounted", func(t *testing.T) { checkConfigFile(t, ms) })
	t.Run("setup runs first", func(t *testing.T) { checkSetupFirst(t, ms) })
	t.Run("non-root, read-only, unprivileged", func(t *testing.T) { checkHardened(t, ms) })
	t.Run("termination outlasts the start timeout and the drain", func(t *testing.T) { checkGrace(t, ms) })
	t.Run("autoscalers and disruption budgets", func(t *testing.T) { checkScaling(t, ms) })
	t.Run("services select their pods", func(t *testing.T) { checkSelectors(t, ms) })
	t.Run("alert rules are deploy/prometheus/alerts.yml", func(t *testing.T) { checkAlerts(t, ms) })
	t.Run("dashboards are deploy/grafana/dashboards", func(t *testing.T) { checkDashboards(t, ms) })
}

// fromSource reads a value the chart must agree with out of hookflow's own
// code (the main module, which this module does not import), so that a
// change there the chart does not follow fails here.
func fromSource(t *testing.T, file string, re *regexp.Regexp) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(repoRoot, file))
	if err != nil {
		t.Fatal(err)
	}
	m := re.FindSubmatch(raw)
	if m == nil {
		t.Fatalf("%s: no match for %s: bring this test up to date with the code", file, re)
	}
	return string(m[1])
}

func seconds(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

var (
	// How long /readyz waits for Temporal.
	readyzWaitRE = regexp.MustCompile(`tctx, cancel := context\.WithTimeout\(ctx, (\d+)\*time\.Second\)`)
	// listen.ShutdownTimeout: how long a stopping process finishes the
	// requests in flight.
	drainRE = regexp.MustCompile(`const ShutdownTimeout = (\d+) \* time\.Second`)
	// HOOKFLOW_START_TIMEOUT's default.
	startTimeoutRE = regexp.MustCompile(`\{"HOOKFLOW_START_TIMEOUT", "([^"]+)"`)
)

// containerPort resolves a port, by name or number, to its number in c.
func containerPort(c corev1.Container, p intstr.IntOrString) int32 {
	if p.Type == intstr.Int {
		return p.IntVal
	}
	for _, cp := range c.Ports {
		if cp.Name == p.StrVal {
			return cp.ContainerPort
		}
	}
	return 0
}

func checkProbes(t *testing.T, ms []manifest) {
	readyzWait := seconds(t, fromSource(t, "internal/process/health/readiness.go", readyzWaitRE))
	for _, d := range objects[appsv1.Deployment](ms) {
		for _, c := range d.Spec.Template.Spec.Containers {
			addr, _ := env(c, "HOOKFLOW_METRICS_ADDR")
			host, port, err := net.SplitHostPort(addr.Value)
			if err != nil {
				t.Errorf("%s/%s: HOOKFLOW_METRICS_ADDR %q: %v (its default is loopback, out of the kubelet's reach)", d.Name, c.Name, addr.Value, err)
				continue
			}
			if host != "" && host != "0.0.0.0" && host != "::" {
				t.Errorf("%s/%s: the ops listener is on %s only: the kubelet and Prometheus cannot reach it", d.Name, c.Name, addr.Value)
			}
			ops := containerPort(c, intstr.FromString("ops"))
			if strconv.Itoa(int(ops)) != port {
				t.Errorf("%s/%s: container port ops is %d, HOOKFLOW_METRICS_ADDR listens on %s", d.Name, c.Name, ops, port)
			}
			for _, p := range []struct {
				name, path string
				probe      *corev1.Probe
			}{
				{"readiness", "/readyz", c.ReadinessProbe},
				{"liveness", "/healthz", c.LivenessProbe},
				{"startup", "/healthz", c.StartupProbe},
			} {
				if p.probe == nil || p.probe.HTTPGet == nil {
					t.Errorf("%s/%s: no %s probe over HTTP", d.Name, c.Name, p.name)
					continue
				}
				g := p.probe.HTTPGet
				if got := containerPort(c, g.Port); g.Path != p.path || got != ops {
					t.Errorf("%s/%s: %s probe GETs %s on port %s (%d), want %s on the ops port %d", d.Name, c.Name, p.name, g.Path, g.Port.String(), got, p.path, ops)
				}
			}
			if r := c.ReadinessProbe; r != nil && int(r.TimeoutSeconds) <= readyzWait {
				t.Errorf("%s/%s: readiness timeout %ds, but /readyz waits up to %ds for Temporal", d.Name, c.Name, r.TimeoutSeconds, readyzWait)
			}
		}
	}
}

func checkOpsPrivate(t *testing.T, ms []manifest) {
	web := named[corev1.Service](t, ms, webService)
	ops := named[corev1.Service](t, ms, opsService)
	serve := named[appsv1.Deployment](t, ms, serveName).Spec.Template.Spec.Containers[0]
	opsPort := containerPort(serve, intstr.FromString("ops"))
	webPorts := map[string]bool{}
	for _, p := range web.Spec.Ports {
		if containerPort(serve, p.TargetPort) == opsPort {
			t.Errorf("Service %s (the webhook port) carries the ops port: %+v", web.Name, p)
		}
		webPorts[p.Name] = true
		webPorts[strconv.Itoa(int(p.Port))] = true
	}
	if ops.Spec.Type != corev1.ServiceTypeClusterIP {
		t.Errorf("Service %s is %s: the ops port stays inside the cluster (ClusterIP)", ops.Name, ops.Spec.Type)
	}
	for _, ing := range objects[networkingv1.Ingress](ms) {
		var backends []*networkingv1.IngressServiceBackend
		if b := ing.Spec.DefaultBackend; b != nil {
			backends = append(backends, b.Service)
		}
		for _, r := range ing.Spec.Rules {
			if r.HTTP == nil {
				continue
			}
			for _, p := range r.HTTP.Paths {
				backends = append(backends, p.Backend.Service)
			}
		}
		if len(backends) == 0 {
			t.Errorf("Ingress %s routes nothing", ing.Name)
		}
		for _, b := range backends {
			if b == nil {
				t.Errorf("Ingress %s has a backend that is not a Service", ing.Name)
				continue
			}
			port := b.Port.Name
			if port == "" {
				port = strconv.Itoa(int(b.Port.Number))
			}
			if b.Name != webService || !webPorts[port] {
				t.Errorf("Ingress %s routes to %+v; want only Service %s's webhook port", ing.Name, b, webService)
			}
		}
	}
}

// secretName matches the variables that hold a secret, or a URL that may
// carry one: in a manifest they are secretKeyRefs, never values. The chart
// refuses the same names in its values (hookflow.secretNames).
var secretName = regexp.MustCompile(`SECRET|TOKEN|PASSWORD|API_KEY|HEADERS|^(HOOKFLOW_)?FORWARD_URL$`)

func checkSecrets(t *testing.T, ms []manifest) {
	for _, p := range pods(ms) {
		for _, c := range append(slices.Clone(p.Spec.InitContainers), p.Spec.Containers...) {
			for _, e := range c.Env {
				if !secretName.MatchString(e.Name) && e.Name != "REDIS_URL" {
					continue
				}
				switch {
				case e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil && e.Value == "":
				case e.Name == "REDIS_URL" && !strings.Contains(e.Value, "@"):
				default:
					t.Errorf("%s/%s: %s is a value in the manifest, want a secretKeyRef", p.Owner, c.Name, e.Name)
				}
			}
			for _, from := range c.EnvFrom {
				if from.SecretRef == nil {
					t.Errorf("%s/%s: envFrom %+v: secrets come from Secrets", p.Owner, c.Name, from)
				}
			}
		}
	}
	cm := named[corev1.ConfigMap](t, ms, configMap)
	var file map[string]any
	if err := yaml.Unmarshal([]byte(cm.Data["config.yaml"]), &file); err != nil {
		t.Fatal(err)
	}
	for key := range file {
		if secretName.MatchString(strings.ToUpper(key)) {
			t.Errorf("the configuration file holds %s", key)
		}
	}
}

// mounted reports whether path lies in one of c's mounts of a volume of
// spec that ok accepts.
func mounted(spec corev1.PodSpec, c corev1.Container, path string, ok func(corev1.Volume) bool) bool {
	for _, m := range c.VolumeMounts {
		if !strings.HasPrefix(path, strings.TrimSuffix(m.MountPath, "/")+"/") {
			continue
		}
		for _, v := range spec.Volumes {
			if v.Name == m.Name && ok(v) {
				return true
			}
		}
	}
	return false
}

// checkConfigFile: HOOKFLOW_CONFIG names config.yaml in the mount of the
// configuration's ConfigMap (the Job's own copy for setup).
func checkConfigFile(t *testing.T, ms []manifest) {
	for _, p := range pods(ms) {
		want := configMap
		if p.Owner == "Job/"+setupJob {
			want = setupConfig(t, ms, p.Spec)
		}
		c := p.Spec.Containers[0]
		e, _ := env(c, "HOOKFLOW_CONFIG")
		if filepath.Base(e.Value) != "config.yaml" || !mounted(p.Spec, c, e.Value, func(v corev1.Volume) bool {
			return v.ConfigMap != nil && v.ConfigMap.Name == want
		}) {
			t.Errorf("%s: HOOKFLOW_CONFIG=%q is not config.yaml of ConfigMap %s, mounted", p.Owner, e.Value, want)
		}
		if _, ok := named[corev1.ConfigMap](t, ms, want).Data["config.yaml"]; !ok {
			t.Errorf("ConfigMap %s has no config.yaml", want)
		}
	}
}

// setupConfig is the ConfigMap the setup Job's config volume names.
func setupConfig(t *testing.T, ms []manifest, spec corev1.PodSpec) string {
	t.Helper()
	for _, v := range spec.Volumes {
		if v.Name == "config" && v.ConfigMap != nil {
			return v.ConfigMap.Name
		}
	}
	t.Fatalf("Job %s mounts no configuration", setupJob)
	return ""
}

// hook returns a manifest's Helm hook events and weight.
func hook(t *testing.T, m manifest) (events []string, weight int) {
	t.Helper()
	if h := m.Annotations["helm.sh/hook"]; h != "" {
		events = strings.Split(h, ",")
	}
	if w := m.Annotations["helm.sh/hook-weight"]; w != "" {
		var err error
		if weight, err = strconv.Atoi(w); err != nil {
			t.Fatalf("%s: hook weight %q: %v", m, w, err)
		}
	}
	return events, weight
}

// checkSetupFirst: hookflow setup is a pre-install and pre-upgrade hook,
// which Helm runs and waits for before it creates or changes the release's
// other objects, the Deployments among them (never hooks themselves); what
// it reads (its copy of the configuration) is a hook of lower weight; and
// it sees the same settings as the worker.
func checkSetupFirst(t *testing.T, ms []manifest) {
	job := named[batchv1.Job](t, ms, setupJob)
	var jobHook, configHook []string
	var jobWeight, configWeight int
	cfgName := setupConfig(t, ms, job.Spec.Template.Spec)
	for _, m := range ms {
		events, weight := hook(t, m)
		switch {
		case m.Kind == "Job" && m.Name == setupJob:
			jobHook, jobWeight = events, weight
		case m.Kind == "ConfigMap" && m.Name == cfgName:
			configHook, configWeight = events, weight
		case m.Kind == "Deployment" && len(events) > 0:
			t.Errorf("%s is a hook (%v): it must be a release object, made after the setup hook", m, events)
		}
	}
	for _, want := range []string{"pre-install", "pre-upgrade"} {
		if !slices.Contains(jobHook, want) {
			t.Errorf("Job %s hooks %v, want %s", setupJob, jobHook, want)
		}
		if !slices.Contains(configHook, want) {
			t.Errorf("ConfigMap %s (the setup Job's configuration) hooks %v, want %s: at pre-install it must exist before the Job", cfgName, configHook, want)
		}
	}
	if configWeight >= jobWeight {
		t.Errorf("ConfigMap %s has hook weight %d, the Job %d: it must come first", cfgName, configWeight, jobWeight)
	}
	c := job.Spec.Template.Spec.Containers[0]
	if !slices.Equal(c.Args, []string{"setup"}) {
		t.Errorf("Job %s runs %v, want setup", setupJob, c.Args)
	}
	w := named[appsv1.Deployment](t, ms, workerName).Spec.Template.Spec.Containers[0]
	if !reflect.DeepEqual(c.Env, w.Env) || !reflect.DeepEqual(c.EnvFrom, w.EnvFrom) {
		t.Errorf("Job %s's environment differs from the worker's: setup must see the same Temporal and configuration\n job %+v\n worker %+v", setupJob, c.Env, w.Env)
	}
	if named[corev1.ConfigMap](t, ms, cfgName).Data["config.yaml"] != named[corev1.ConfigMap](t, ms, configMap).Data["config.yaml"] {
		t.Errorf("ConfigMap %s differs from %s", cfgName, configMap)
	}
}

// imageUID is the image's user: Dockerfile's distroless nonroot, 65532.
const imageUID = 65532

func checkHardened(t *testing.T, ms []manifest) {
	dockerfile := fromSource(t, "Dockerfile", regexp.MustCompile(`(?m)^USER (\S+)$`))
	if dockerfile != "nonroot:nonroot" {
		t.Fatalf("the Dockerfile's USER is %s: update imageUID (the distroless nonroot user is %d)", dockerfile, imageUID)
	}
	for _, p := range pods(ms) {
		if a := p.Spec.AutomountServiceAccountToken; a == nil || *a {
			t.Errorf("%s: mounts a service account token; hookflow never calls the Kubernetes API", p.Owner)
		}
		psc := p.Spec.SecurityContext
		if psc == nil {
			psc = &corev1.PodSecurityContext{}
		}
		for _, c := range append(slices.Clone(p.Spec.InitContainers), p.Spec.Containers...) {
			sc := c.SecurityContext
			if sc == nil {
				t.Errorf("%s/%s: no securityContext", p.Owner, c.Name)
				continue
			}
			if v := first(sc.RunAsNonRoot, psc.RunAsNonRoot); v == nil || !*v {
				t.Errorf("%s/%s: runAsNonRoot not true", p.Owner, c.Name)
			}
			if v := first(sc.RunAsUser, psc.RunAsUser); v == nil {
				t.Errorf("%s/%s: no runAsUser, want the image's %d (a user name cannot be checked as non-root)", p.Owner, c.Name, imageUID)
			} else if *v != imageUID {
				t.Errorf("%s/%s: runAsUser %d, want the image's %d", p.Owner, c.Name, *v, imageUID)
			}
			if v := sc.ReadOnlyRootFilesystem; v == nil || !*v {
				t.Errorf("%s/%s: readOnlyRootFilesystem not true", p.Owner, c.Name)
			}
			if v := sc.AllowPrivilegeEscalation; v == nil || *v {
				t.Errorf("%s/%s: allowPrivilegeEscalation not false", p.Owner, c.Name)
			}
			if v := sc.Privileged; v != nil && *v {
				t.Errorf("%s/%s: privileged", p.Owner, c.Name)
			}
			if sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") || len(sc.Capabilities.Add) > 0 {
				t.Errorf("%s/%s: capabilities %+v, want ALL dropped and none added", p.Owner, c.Name, sc.Capabilities)
			}
			if v := first(sc.SeccompProfile, psc.SeccompProfile); v == nil || v.Type != corev1.SeccompProfileTypeRuntimeDefault {
				t.Errorf("%s/%s: seccomp profile %+v, want RuntimeDefault", p.Owner, c.Name, v)
			}
		}
	}
}

// first is the container's setting, else the pod's.
func first[T any](container, pod *T) *T {
	if container != nil {
		return container
	}
	return pod
}

// startTimeout is the container's HOOKFLOW_START_TIMEOUT: its variable,
// else the configuration file's start_timeout, else the default.
func startTimeout(t *testing.T, ms []manifest, c corev1.Container) time.Duration {
	t.Helper()
	raw := fromSource(t, "config/config.go", startTimeoutRE)
	var file map[string]any
	if err := yaml.Unmarshal([]byte(named[corev1.ConfigMap](t, ms, configMap).Data["config.yaml"]), &file); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"start_timeout", "hookflow_start_timeout"} {
		if v, ok := file[key]; ok {
			raw = v.(string)
		}
	}
	if e, ok := env(c, "HOOKFLOW_START_TIMEOUT"); ok {
		raw = e.Value
	}
	d, err := time.ParseDuration(raw)
	if err != nil {
		t.Fatalf("HOOKFLOW_START_TIMEOUT %q: %v", raw, err)
	}
	return d
}

// checkGrace: Kubernetes kills a pod terminationGracePeriodSeconds after it
// began stopping it. That must outlast a start in flight
// (HOOKFLOW_START_TIMEOUT), and the pre-stop pause plus the whole drain
// (listen.ShutdownTimeout), which bounds it.
func checkGrace(t *testing.T, ms []manifest) {
	drain := time.Duration(seconds(t, fromSource(t, "internal/process/listen/listen.go", drainRE))) * time.Second
	for _, d := range objects[appsv1.Deployment](ms) {
		spec := d.Spec.Template.Spec
		grace := 30 * time.Second // Kubernetes' default
		if g := spec.TerminationGracePeriodSeconds; g != nil {
			grace = time.Duration(*g) * time.Second
		}
		c := spec.Containers[0]
		var pause time.Duration
		if l := c.Lifecycle; l != nil && l.PreStop != nil {
			if l.PreStop.Sleep == nil {
				t.Errorf("%s: a preStop hook other than sleep (the image has no shell)", d.Name)
			} else {
				pause = time.Duration(l.PreStop.Sleep.Seconds) * time.Second
			}
		}
		if start := startTimeout(t, ms, c); grace <= start {
			t.Errorf("%s: terminationGracePeriodSeconds %s, not longer than the start timeout %s", d.Name, grace, start)
		}
		if grace <= pause+drain {
			t.Errorf("%s: terminationGracePeriodSeconds %s, not longer than the pre-stop pause %s and the drain %s: requests in flight would be killed", d.Name, grace, pause, drain)
		}
	}
	if c := named[appsv1.Deployment](t, ms, serveName).Spec.Template.Spec.Containers[0]; c.Lifecycle == nil || c.Lifecycle.PreStop == nil {
		t.Errorf("%s: no pre-stop pause: the load balancer may still send to a receiver that stopped listening", serveName)
	}
}

// selects reports whether selector picks the pods labelled labels.
func selects(selector, labels map[string]string) bool {
	if len(selector) == 0 {
		return false
	}
	for k, v := range selector {
		if labels[k] != v {
			return false
		}
	}
	return true
}

func checkScaling(t *testing.T, ms []manifest) {
	deployments := map[string]*appsv1.Deployment{}
	for _, d := range objects[appsv1.Deployment](ms) {
		deployments[d.Name] = d
	}
	scaled := map[string]bool{}
	for _, h := range objects[autoscalingv2.HorizontalPodAutoscaler](ms) {
		ref := h.Spec.ScaleTargetRef
		d, ok := deployments[ref.Name]
		if ref.Kind != "Deployment" || ref.APIVersion != "apps/v1" || !ok {
			t.Errorf("HPA %s scales %+v, no Deployment of the chart", h.Name, ref)
			continue
		}
		scaled[d.Name] = true
		if d.Spec.Replicas != nil {
			t.Errorf("Deployment %s sets replicas under HPA %s: each upgrade would reset its count", d.Name, h.Name)
		}
		if len(h.Spec.Metrics) == 0 {
			t.Errorf("HPA %s has no metric", h.Name)
		}
		for _, m := range h.Spec.Metrics {
			if m.Type == autoscalingv2.ResourceMetricSourceType && m.Resource.Name == corev1.ResourceCPU {
				if _, ok := d.Spec.Template.Spec.Containers[0].Resources.Requests[corev1.ResourceCPU]; !ok {
					t.Errorf("HPA %s scales on CPU utilization, but %s requests no CPU", h.Name, d.Name)
				}
			}
		}
	}
	if !scaled[serveName] || !scaled[workerName] {
		t.Errorf("autoscaled: %v, want both %s and %s", scaled, serveName, workerName)
	}
	for _, d := range deployments {
		var budgets []string
		for _, pdb := range objects[policyv1.PodDisruptionBudget](ms) {
			if selects(pdb.Spec.Selector.MatchLabels, d.Spec.Template.Labels) {
				budgets = append(budgets, pdb.Name)
			}
		}
		if len(budgets) != 1 {
			t.Errorf("Deployment %s: disruption budgets %v, want one of its own", d.Name, budgets)
		}
	}
}

func checkSelectors(t *testing.T, ms []manifest) {
	web := named[corev1.Service](t, ms, webService)
	ops := named[corev1.Service](t, ms, opsService)
	for _, p := range pods(ms) {
		isServe := p.Owner == "Deployment/"+serveName
		isProcess := isServe || p.Owner == "Deployment/"+workerName
		if got := selects(web.Spec.Selector, p.Meta.Labels); got != isServe {
			t.Errorf("Service %s selects %s: %v, want %v", web.Name, p.Owner, got, isServe)
		}
		if got := selects(ops.Spec.Selector, p.Meta.Labels); got != isProcess {
			t.Errorf("Service %s selects %s: %v, want %v", ops.Name, p.Owner, got, isProcess)
		}
	}
	if !ops.Spec.PublishNotReadyAddresses {
		t.Errorf("Service %s leaves out pods that are not ready: they go unscraped while Temporal is down", ops.Name)
	}
	for _, sm := range objects[serviceMonitor](ms) {
		if !selects(sm.Spec.Selector.MatchLabels, ops.Labels) || selects(sm.Spec.Selector.MatchLabels, web.Labels) {
			t.Errorf("ServiceMonitor %s selects %v, want Service %s alone", sm.Name, sm.Spec.Selector.MatchLabels, ops.Name)
		}
		for _, e := range sm.Spec.Endpoints {
			if e.Port != "ops" || e.Path != "/metrics" {
				t.Errorf("ServiceMonitor %s scrapes port %q path %q, want ops /metrics", sm.Name, e.Port, e.Path)
			}
		}
	}
}

// checkAlerts: a PrometheusRule, when there is one, holds
// deploy/prometheus/alerts.yml as it is.
func checkAlerts(t *testing.T, ms []manifest) {
	src, err := os.ReadFile(filepath.Join(repoRoot, "deploy", "prometheus", "alerts.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var want any
	if err := yaml.Unmarshal(src, &want); err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if m.Kind != "PrometheusRule" {
			continue
		}
		var got struct {
			Spec any `json:"spec"`
		}
		if err := json.Unmarshal(m.JSON, &got); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got.Spec, want) {
			g, _ := yaml.Marshal(got.Spec)
			t.Errorf("%s: the rules differ from deploy/prometheus/alerts.yml:\n%s", m, g)
		}
	}
}

// checkDashboards: the dashboard ConfigMap, when there is one, holds each
// of deploy/grafana/dashboards byte for byte, labelled for Grafana's
// sidecar.
func checkDashboards(t *testing.T, ms []manifest) {
	for _, m := range ms {
		cm, ok := m.Object.(*corev1.ConfigMap)
		if !ok || cm.Labels["grafana_dashboard"] == "" {
			continue
		}
		if cm.Labels["grafana_dashboard"] != "1" {
			t.Errorf("%s: label grafana_dashboard=%q, want \"1\" (the sidecar's default)", m, cm.Labels["grafana_dashboard"])
		}
		files, _ := filepath.Glob(filepath.Join(repoRoot, "deploy", "grafana", "dashboards", "*.json"))
		if len(files) == 0 || len(cm.Data) != len(files) {
			t.Errorf("%s holds %d dashboards, deploy/grafana/dashboards %d", m, len(cm.Data), len(files))
		}
		for _, f := range files {
			want, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if cm.Data[filepath.Base(f)] != string(want) {
				t.Errorf("%s: %s differs from %s", m, filepath.Base(f), f)
			}
		}
	}
}
