package e2e

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// apiMode is how the Phoenix stand-in answers.
type apiMode int

const (
	apiOK   apiMode = iota
	apiFail         // 500
	apiSlow         // correct, after slowDelay
)

// phoenixAPI is a stand-in for the Phoenix orders API (GET /orders/:id),
// whose answers a scenario can turn bad and back.
type phoenixAPI struct {
	srv       *httptest.Server
	slowDelay time.Duration

	mu       sync.Mutex
	orders   map[string]string
	mode     apiMode
	answered map[apiMode]int
	inFlight int
	// byWorker counts the reads in flight by the worker that makes them:
	// each worker's PHOENIX_API_URL ends in /w<index>.
	byWorker map[int]int
	// served counts the reads answered with an order's status, by order.
	served map[string]int
}

func newPhoenixAPI(t testing.TB) *phoenixAPI {
	a := &phoenixAPI{orders: map[string]string{}, answered: map[apiMode]int{}, byWorker: map[int]int{}, served: map[string]int{}, slowDelay: 2 * time.Second}
	a.srv = httptest.NewServer(http.HandlerFunc(a.serve))
	t.Cleanup(a.srv.Close)
	return a
}

func (a *phoenixAPI) serve(w http.ResponseWriter, r *http.Request) {
	path, worker := r.URL.Path, -1
	if rest, found := strings.CutPrefix(path, "/w"); found {
		if n, tail, cut := strings.Cut(rest, "/"); cut {
			if w, err := strconv.Atoi(n); err == nil {
				path, worker = "/"+tail, w
			}
		}
	}
	id, ok := strings.CutPrefix(path, "/orders/")
	a.mu.Lock()
	mode := a.mode
	status, known := a.orders[id]
	a.inFlight++
	a.byWorker[worker]++
	a.mu.Unlock()
	defer func() {
		a.mu.Lock()
		a.inFlight--
		a.byWorker[worker]--
		a.answered[mode]++
		a.mu.Unlock()
	}()
	switch {
	case mode == apiFail:
		http.Error(w, `{"error":"internal"}`, http.StatusInternalServerError)
		return
	case mode == apiSlow:
		select {
		case <-time.After(a.slowDelay):
		case <-r.Context().Done():
			return
		}
	}
	if !ok || !known {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	if _, err := fmt.Fprintf(w, `{"order":{"id":%q,"status":%q}}`, id, status); err == nil {
		a.mu.Lock()
		a.served[id]++
		a.mu.Unlock()
	}
}

func (a *phoenixAPI) set(order, status string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.orders[order] = status
}

func (a *phoenixAPI) setMode(m apiMode) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.mode = m
}

// servedReads is how many reads the stand-in answered with the order's
// status.
func (a *phoenixAPI) servedReads(order string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.served[order]
}

// readingWorker is the index of a worker with a read in flight, -1 when
// none has one.
func (a *phoenixAPI) readingWorker() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	for w, n := range a.byWorker {
		if w >= 0 && n > 0 {
			return w
		}
	}
	return -1
}

// counts is how many reads were answered in mode m, and how many are being
// answered now.
func (a *phoenixAPI) counts(m apiMode) (answered, inFlight int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.answered[m], a.inFlight
}
