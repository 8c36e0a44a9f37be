package receivers_test

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/hookflow/hookflow/receivers"
)

// fixturesDir is the shared provider fixtures, relative to this package:
// the repository is /work/main and the fixtures live in /work/shared.
var fixturesDir = filepath.Join("..", "..", "shared", "fixtures")

// vector is one entry of vectors.json: how a provider sends one body file.
type vector struct {
	Expect     int               `json:"expect"`
	Headers    map[string]string `json:"headers"`
	Secret     string            `json:"secret"`
	SecretEnv  string            `json:"secret_env"`
	EventID    string            `json:"event_id"`
	WorkflowID string            `json:"workflow_id"`
}

// loadVectors reads vectors.json, keyed by body file name.
func loadVectors(t *testing.T) map[string]vector {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(fixturesDir, "vectors.json"))
	if err != nil {
		t.Fatalf("read vectors: %v", err)
	}
	var v map[string]vector
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatalf("parse vectors: %v", err)
	}
	return v
}

// loadVector returns one body file's exact bytes and its vector.
func loadVector(t *testing.T, name string) ([]byte, vector) {
	t.Helper()
	v, ok := loadVectors(t)[name]
	if !ok {
		t.Fatalf("vectors.json has no entry for %s", name)
	}
	return fixture(t, name), v
}

// fixture returns a body file's exact bytes, trailing newline included.
func fixture(t *testing.T, name string) []byte {
	t.Helper()
	body, err := os.ReadFile(filepath.Join(fixturesDir, name))
	if err != nil {
		t.Fatalf("read fixture: %v", err)
	}
	return body
}

// headerOf returns a case-insensitive Header lookup over m, as a request's
// headers behave.
func headerOf(m map[string]string) receivers.Header {
	h := http.Header{}
	for k, v := range m {
		h.Set(k, v)
	}
	return h.Get
}
