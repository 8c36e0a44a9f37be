// Package charttest renders the Helm chart deploy/helm/hookflow with the
// pinned helm (bin/helm, built by make helm, or the one HOOKFLOW_HELM names)
// and checks what it makes: every manifest decodes strictly into its
// Kubernetes API type, so an unknown or misspelt field fails as the API
// server would refuse it, and the properties that matter in production hold
// (chart_test.go).
package charttest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// Paths from this folder.
var (
	repoRoot = filepath.Join("..", "..", "..")
	chartDir = filepath.Join("..", "hookflow")
	example  = filepath.Join(chartDir, "examples", "production-values.yaml")
)

// release is the release name every render uses: the chart's full name is
// then "hookflow".
const release = "hookflow"

// helmPath is the helm binary the tests run: HOOKFLOW_HELM, else the
// pinned bin/helm. A missing one fails: make test builds it first.
func helmPath(t *testing.T) string {
	t.Helper()
	p := os.Getenv("HOOKFLOW_HELM")
	if p == "" {
		p = filepath.Join(repoRoot, "bin", "helm")
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("no helm at %s (make helm builds the pinned one; HOOKFLOW_HELM names another): %v", p, err)
	}
	return p
}

// helmError is a helm run that failed, with everything helm printed.
type helmError struct {
	Args   []string
	Err    error
	Output string // stdout and stderr
}

func (e *helmError) Error() string {
	return fmt.Sprintf("helm %s: %v\n%s", strings.Join(e.Args, " "), e.Err, e.Output)
}

// runHelm runs helm with homes of its own, so no repository, plugin or
// setting of the machine's changes the result. Its error is a *helmError.
func runHelm(t *testing.T, args ...string) (string, error) {
	t.Helper()
	home := t.TempDir()
	cmd := exec.Command(helmPath(t), args...)
	cmd.Env = append(os.Environ(),
		"HELM_CACHE_HOME="+filepath.Join(home, "cache"),
		"HELM_CONFIG_HOME="+filepath.Join(home, "config"),
		"HELM_DATA_HOME="+filepath.Join(home, "data"),
	)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), &helmError{Args: args, Err: err, Output: stdout.String() + stderr.String()}
	}
	return stdout.String(), nil
}

// render runs helm template with args (-f FILE, --set K=V) and decodes
// every manifest.
func render(t *testing.T, args ...string) []manifest {
	t.Helper()
	out, err := runHelm(t, append([]string{"template", release, chartDir, "--namespace", "hookflow"}, args...)...)
	if err != nil {
		t.Fatal(err)
	}
	return decode(t, out)
}

// manifest is one rendered object, decoded strictly into its type.
type manifest struct {
	Source      string // the template it came from (helm's "# Source:" line)
	Kind        string
	Name        string
	Annotations map[string]string
	JSON        []byte // the object as JSON
	Object      any    // *appsv1.Deployment, *corev1.Service, ...
}

func (m manifest) String() string { return fmt.Sprintf("%s %s (%s)", m.Kind, m.Name, m.Source) }

// kinds maps each kind the chart may make to the type it decodes into and
// the API version it must be written in. A kind not listed fails the test:
// every manifest is checked against a type.
var kinds = map[string]struct {
	apiVersion string
	new        func() any
}{
	"ConfigMap":               {"v1", func() any { return new(corev1.ConfigMap) }},
	"Service":                 {"v1", func() any { return new(corev1.Service) }},
	"Deployment":              {"apps/v1", func() any { return new(appsv1.Deployment) }},
	"Job":                     {"batch/v1", func() any { return new(batchv1.Job) }},
	"HorizontalPodAutoscaler": {"autoscaling/v2", func() any { return new(autoscalingv2.HorizontalPodAutoscaler) }},
	"PodDisruptionBudget":     {"policy/v1", func() any { return new(policyv1.PodDisruptionBudget) }},
	"Ingress":                 {"networking.k8s.io/v1", func() any { return new(networkingv1.Ingress) }},
	"ServiceMonitor":          {"monitoring.coreos.com/v1", func() any { return new(serviceMonitor) }},
	"PrometheusRule":          {"monitoring.coreos.com/v1", func() any { return new(prometheusRule) }},
}

// serviceMonitor and prometheusRule are the Prometheus Operator's kinds,
// written out here with the fields the chart and deploy/prometheus/alerts.yml
// use (the operator's Go module is large): a misspelt field fails the strict
// decoding as the CRD's schema would refuse it.
type serviceMonitor struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		Selector          metav1.LabelSelector `json:"selector"`
		NamespaceSelector struct {
			Any        bool     `json:"any,omitempty"`
			MatchNames []string `json:"matchNames,omitempty"`
		} `json:"namespaceSelector"`
		PodTargetLabels []string `json:"podTargetLabels,omitempty"`
		Endpoints       []struct {
			Port          string `json:"port"`
			Path          string `json:"path,omitempty"`
			Interval      string `json:"interval,omitempty"`
			ScrapeTimeout string `json:"scrapeTimeout,omitempty"`
		} `json:"endpoints"`
	} `json:"spec"`
}

type prometheusRule struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		Groups []struct {
			Name     string `json:"name"`
			Interval string `json:"interval,omitempty"`
			Rules    []struct {
				Alert         string            `json:"alert,omitempty"`
				Record        string            `json:"record,omitempty"`
				Expr          string            `json:"expr"`
				For           string            `json:"for,omitempty"`
				KeepFiringFor string            `json:"keep_firing_for,omitempty"`
				Labels        map[string]string `json:"labels,omitempty"`
				Annotations   map[string]string `json:"annotations,omitempty"`
			} `json:"rules"`
		} `json:"groups"`
	} `json:"spec"`
}

var (
	docSeparator = regexp.MustCompile(`(?m)^---[ \t]*$`)
	sourceLine   = regexp.MustCompile(`(?m)^# Source: (.+)$`)
)

// decode splits helm's output into manifests and decodes each strictly:
// duplicate keys, unknown fields and fields in the wrong case all fail
// (sigs.k8s.io/json, the API server's own decoder), as does a kind without
// a type in kinds or written in another API version.
func decode(t *testing.T, out string) []manifest {
	t.Helper()
	var ms []manifest
	for _, doc := range docSeparator.Split(out, -1) {
		source := "?"
		if m := sourceLine.FindStringSubmatch(doc); m != nil {
			source = m[1]
		}
		js, err := yaml.YAMLToJSONStrict([]byte(doc))
		if err != nil {
			t.Fatalf("%s: not YAML: %v\n%s", source, err, doc)
		}
		if bytes.Equal(bytes.TrimSpace(js), []byte("null")) {
			continue // comments only: a template that made nothing
		}
		var head struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
			Metadata   struct {
				Name        string            `json:"name"`
				Annotations map[string]string `json:"annotations"`
			} `json:"metadata"`
		}
		if err := json.Unmarshal(js, &head); err != nil {
			t.Fatalf("%s: %v", source, err)
		}
		k, ok := kinds[head.Kind]
		if !ok {
			t.Fatalf("%s: kind %q has no API type to be checked against (add it to kinds)", source, head.Kind)
		}
		if head.APIVersion != k.apiVersion {
			t.Fatalf("%s: %s in apiVersion %q, want %q", source, head.Kind, head.APIVersion, k.apiVersion)
		}
		obj := k.new()
		strict, err := kjson.UnmarshalStrict(js, obj)
		if err == nil {
			err = errors.Join(strict...)
		}
		if err != nil {
			t.Fatalf("%s: %s %s does not decode strictly into %T: %v\n%s", source, head.Kind, head.Metadata.Name, obj, err, doc)
		}
		ms = append(ms, manifest{
			Source: source, Kind: head.Kind, Name: head.Metadata.Name,
			Annotations: head.Metadata.Annotations, JSON: js, Object: obj,
		})
	}
	if len(ms) == 0 {
		t.Fatal("helm template made no manifest")
	}
	return ms
}

// objects returns the manifests of type *T.
func objects[T any](ms []manifest) []*T {
	var out []*T
	for _, m := range ms {
		if o, ok := m.Object.(*T); ok {
			out = append(out, o)
		}
	}
	return out
}

// named returns the manifest of type *T named name, failing without one.
func named[T any](t *testing.T, ms []manifest, name string) *T {
	t.Helper()
	for _, m := range ms {
		if o, ok := m.Object.(*T); ok && m.Name == name {
			return o
		}
	}
	t.Fatalf("no %T named %s", new(T), name)
	return nil
}

// pod is a pod template of a Deployment or a Job.
type pod struct {
	Owner string // Deployment/hookflow-serve
	Meta  metav1.ObjectMeta
	Spec  corev1.PodSpec
}

func pods(ms []manifest) []pod {
	var out []pod
	for _, d := range objects[appsv1.Deployment](ms) {
		out = append(out, pod{"Deployment/" + d.Name, d.Spec.Template.ObjectMeta, d.Spec.Template.Spec})
	}
	for _, j := range objects[batchv1.Job](ms) {
		out = append(out, pod{"Job/" + j.Name, j.Spec.Template.ObjectMeta, j.Spec.Template.Spec})
	}
	return out
}

// env returns the container's variable name.
func env(c corev1.Container, name string) (corev1.EnvVar, bool) {
	for _, e := range c.Env {
		if e.Name == name {
			return e, true
		}
	}
	return corev1.EnvVar{}, false
}
