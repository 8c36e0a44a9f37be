package e2e

import (
	"fmt"
	"net/http"
	"net/http/httptest"
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
}

func newPhoenixAPI(t testing.TB) *phoenixAPI {
	a := &phoenixAPI{orders: map[string]string{}, answered: map[apiMode]int{}, slowDelay: 2 * time.Second}
	a.srv = httptest.NewServer(http.HandlerFunc(a.serve))
	t.Cleanup(a.srv.Close)
	return a
}

func (a *phoenixAPI) serve(w http.ResponseWriter, r *http.Request) {
	id, ok := strings.CutPrefix(r.URL.Path, "/orders/")
	a.mu.Lock()
	mode := a.mode
	status, known := a.orders[id]
	a.inFlight++
	a.mu.Unlock()
	defer func() {
		a.mu.Lock()
		a.inFlight--
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
	fmt.Fprintf(w, `{"order":{"id":%q,"status":%q}}`, id, status)
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

// counts is how many reads were answered in mode m, and how many are being
// answered now.
func (a *phoenixAPI) counts(m apiMode) (answered, inFlight int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.answered[m], a.inFlight
}
