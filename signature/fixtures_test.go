package signature_test

import (
	"testing"

	"github.com/hookflow/hookflow/internal/dev/testenv"
	"github.com/hookflow/hookflow/signature"
)

// loadVector returns one body file's exact bytes and its vector.
func loadVector(t *testing.T, name string) ([]byte, testenv.Vector) {
	return testenv.LoadVector(t, name)
}

// headerOf returns a case-insensitive Header lookup over m, each value read
// through FieldValue, as the receivers read a request's headers.
func headerOf(m map[string]string) signature.Header {
	lookup := testenv.Lookup(m)
	return func(name string) string { return signature.FieldValue([]byte(lookup(name))) }
}
