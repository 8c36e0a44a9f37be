package receivers_test

import (
	"testing"

	"github.com/hookflow/hookflow/internal/dev/testenv"
	"github.com/hookflow/hookflow/receivers"
)

// vector is one entry of vectors.json: how a provider sends one body file.
type vector = testenv.Vector

// loadVectors reads vectors.json, keyed by body file name.
func loadVectors(t *testing.T) map[string]vector { return testenv.Vectors(t) }

// loadVector returns one body file's exact bytes and its vector.
func loadVector(t *testing.T, name string) ([]byte, vector) { return testenv.LoadVector(t, name) }

// fixture returns a body file's exact bytes, trailing newline included.
func fixture(t *testing.T, name string) []byte { return testenv.Fixture(t, name) }

// headerOf returns a case-insensitive Header lookup over m, as a request's
// headers behave.
func headerOf(m map[string]string) receivers.Header { return testenv.Lookup(m) }
