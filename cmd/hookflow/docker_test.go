package main

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// dockerfileInstructions returns the Dockerfile's instructions, continuation
// lines joined and comments dropped.
func dockerfileInstructions(t *testing.T, path string) []string {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	var cur strings.Builder
	for _, line := range strings.Split(string(raw), "\n") {
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "#") || (trimmed == "" && cur.Len() == 0) {
			continue
		}
		cont := strings.HasSuffix(trimmed, "\\")
		cur.WriteString(strings.TrimSuffix(trimmed, "\\"))
		cur.WriteString(" ")
		if !cont {
			out = append(out, strings.Join(strings.Fields(cur.String()), " "))
			cur.Reset()
		}
	}
	return out
}

// pinnedImage reports whether an image reference names a tag (or digest)
// other than latest.
func pinnedImage(ref string) bool {
	if strings.Contains(ref, "@sha256:") {
		return true
	}
	slash := strings.LastIndex(ref, "/")
	colon := strings.LastIndex(ref, ":")
	if colon <= slash { // no tag: Docker reads latest
		return false
	}
	tag := ref[colon+1:]
	return tag != "" && tag != "latest" && !strings.Contains(tag, "$")
}

// TestDockerfile checks what can be checked without a Docker engine: a
// multi-stage static build with make build's -ldflags, pinned base images, a
// non-root runtime stage and a HEALTHCHECK the runtime image can run.
func TestDockerfile(t *testing.T) {
	root := filepath.Join("..", "..")
	ins := dockerfileInstructions(t, filepath.Join(root, "Dockerfile"))
	var froms []string
	var runtime []string // the last stage's instructions
	for _, in := range ins {
		if strings.HasPrefix(in, "FROM ") {
			froms = append(froms, strings.Fields(in)[1])
			runtime = nil
		}
		runtime = append(runtime, in)
	}
	if len(froms) < 2 {
		t.Errorf("FROM %v: want a build stage and a runtime stage", froms)
	}
	for _, img := range froms {
		if !pinnedImage(img) {
			t.Errorf("base image %s is not pinned to a tag", img)
		}
	}
	build := ""
	for _, in := range ins {
		if strings.HasPrefix(in, "RUN ") && strings.Contains(in, "go build") {
			build = in
		}
	}
	if !strings.Contains(build, "CGO_ENABLED=0") {
		t.Errorf("go build %q is not static (CGO_ENABLED=0)", build)
	}
	// Every -X of make build's LDFLAGS, fed by a build argument of the same name.
	mk, err := os.ReadFile(filepath.Join(root, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	ldflags := regexp.MustCompile(`(?m)^LDFLAGS\s*:?=\s*(.*)$`).FindSubmatch(mk)
	if ldflags == nil {
		t.Fatal("no LDFLAGS in the Makefile")
	}
	xs := regexp.MustCompile(`-X (\S+)=\$\((\w+)\)`).FindAllStringSubmatch(string(ldflags[1]), -1)
	if len(xs) == 0 {
		t.Fatalf("no -X in the Makefile's LDFLAGS %q", ldflags[1])
	}
	for _, x := range xs {
		want := "-X " + x[1] + "=${" + x[2] + "}"
		if !strings.Contains(build, want) {
			t.Errorf("go build %q lacks %q (make build has -X %s=$(%s))", build, want, x[1], x[2])
		}
		if !slices.ContainsFunc(ins, func(in string) bool { return strings.HasPrefix(in, "ARG "+x[2]) }) {
			t.Errorf("no ARG %s to pass the build flag in", x[2])
		}
	}
	_, _ = version, commit // the variables the -X flags set exist (compile-time)

	var user, health string
	for _, in := range runtime {
		switch {
		case strings.HasPrefix(in, "USER "):
			user = strings.TrimPrefix(in, "USER ")
		case strings.HasPrefix(in, "HEALTHCHECK "):
			health = in
		}
	}
	if u := strings.Split(user, ":")[0]; u == "" || u == "root" || u == "0" {
		t.Errorf("runtime stage runs as %q; want a non-root USER", user)
	}
	if !regexp.MustCompile(`CMD \["[^"]*hookflow", "healthcheck"`).MatchString(health) {
		t.Errorf("HEALTHCHECK %q does not run `hookflow healthcheck` (the image has no shell or curl)", health)
	}
	if c, _, err := newRootCmd().Find([]string{"healthcheck"}); err != nil || c.Name() != "healthcheck" {
		t.Errorf("hookflow has no healthcheck command: %v", err)
	}
}

// TestDockerignoreKeepsSecretsOut: COPY . . must not put .env in a layer.
func TestDockerignoreKeepsSecretsOut(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "..", ".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(raw), "\n")
	for _, want := range []string{".env", ".git"} {
		if !slices.Contains(lines, want) {
			t.Errorf(".dockerignore does not exclude %s", want)
		}
	}
}

func TestDockerPinnedImage(t *testing.T) {
	for ref, want := range map[string]bool{
		"golang:1.26.8": true, "gcr.io/distroless/static-debian12:nonroot": true,
		"localhost:5000/hookflow:1.2": true, "redis@sha256:abc": true,
		"redis": false, "redis:latest": false, "localhost:5000/hookflow": false, "postgres:${PG}": false,
	} {
		if got := pinnedImage(ref); got != want {
			t.Errorf("pinnedImage(%q) = %v, want %v", ref, got, want)
		}
	}
}
