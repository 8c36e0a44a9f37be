package receivers_test

import (
	"strconv"
	"testing"

	"github.com/hookflow/hookflow/internal/testenv"
)

// startRedis starts a throwaway redis-server on a free loopback port (see
// testenv.StartRedis); stop kills it, and it also stops when the test ends.
func startRedis(t testing.TB) (addr string, stop func()) {
	t.Helper()
	r := testenv.StartRedis(t)
	return "127.0.0.1:" + strconv.Itoa(r.Port), r.Stop
}
