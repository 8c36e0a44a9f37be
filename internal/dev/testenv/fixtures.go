package testenv

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Vector is one entry of shared/fixtures/vectors.json: how a provider sends
// one body file, and what hookflow must make of it.
type Vector struct {
	Expect     int               `json:"expect"`
	Headers    map[string]string `json:"headers"`
	Secret     string            `json:"secret"`
	SecretEnv  string            `json:"secret_env"`
	EventID    string            `json:"event_id"`
	WorkflowID string            `json:"workflow_id"`
}

// FixturesDir is shared/fixtures beside the checkout: the directory above
// the module root (the one holding go.mod) holds shared/.
func FixturesDir(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for ; dir != filepath.Dir(dir); dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, "..", "shared", "fixtures")
		}
	}
	t.Fatal("no go.mod above the test's directory")
	return ""
}

// Vectors reads vectors.json, keyed by body file name.
func Vectors(t testing.TB) map[string]Vector {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(FixturesDir(t), "vectors.json"))
	if err != nil {
		t.Fatalf("read vectors: %v", err)
	}
	var v map[string]Vector
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatalf("parse vectors: %v", err)
	}
	return v
}

// Fixture returns a body file's exact bytes, trailing newline included:
// signatures are over them.
func Fixture(t testing.TB, name string) []byte {
	t.Helper()
	body, err := os.ReadFile(filepath.Join(FixturesDir(t), name))
	if err != nil {
		t.Fatalf("read fixture: %v", err)
	}
	return body
}

// LoadVector returns one body file's bytes and its vector.
func LoadVector(t testing.TB, name string) ([]byte, Vector) {
	t.Helper()
	v, ok := Vectors(t)[name]
	if !ok {
		t.Fatalf("vectors.json has no entry for %s", name)
	}
	return Fixture(t, name), v
}

// Lookup is a case-insensitive header lookup over m, as request headers
// behave; it converts to receivers.Header.
func Lookup(m map[string]string) func(string) string {
	return func(name string) string {
		for k, v := range m {
			if strings.EqualFold(k, name) {
				return v
			}
		}
		return ""
	}
}
