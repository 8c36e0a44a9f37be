package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/hookflow/hookflow/internal/dev/testenv"
	"github.com/hookflow/hookflow/workflows"
)

// verifyingSink is a destination that verifies each delivery with its own
// secret only, and records what it accepted: each webhook-id with its
// status after the transition, the time it came, and the header it was
// told to expect.
type verifyingSink struct {
	t      *testing.T
	wh     *standardwebhooks.Webhook
	header [2]string // a header every delivery must carry, and its value

	mu    sync.Mutex
	got   []string // "<webhook-id> <to>", in arrival order
	ten   []string // "<webhook-id> <tenant>", in arrival order
	at    []time.Time
	bad   []string // deliveries that did not verify, or lacked the header
	calls int
	srv   *httptest.Server
}

func newVerifyingSink(t *testing.T, secret string, header ...string) *verifyingSink {
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		t.Fatal(err)
	}
	s := &verifyingSink{t: t, wh: wh}
	copy(s.header[:], header)
	s.srv = httptest.NewServer(s)
	t.Cleanup(s.srv.Close)
	return s
}

func (s *verifyingSink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	id := r.Header.Get("webhook-id")
	if err := s.wh.Verify(body, r.Header); err != nil {
		s.bad = append(s.bad, id+": "+err.Error())
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	if s.header[0] != "" && r.Header.Get(s.header[0]) != s.header[1] {
		s.bad = append(s.bad, id+": "+s.header[0]+" missing")
	}
	var msg struct{ To, Tenant string }
	_ = json.Unmarshal(body, &msg)
	s.got, s.at = append(s.got, id+" "+msg.To), append(s.at, time.Now())
	s.ten = append(s.ten, id+" "+msg.Tenant)
	w.WriteHeader(http.StatusNoContent)
}

func (s *verifyingSink) snapshot() (got, bad []string, at []time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.got), slices.Clone(s.bad), slices.Clone(s.at)
}

// maxInWindow is the most arrivals within any window of length w.
func maxInWindow(at []time.Time, w time.Duration) int {
	sorted := slices.Clone(at)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Before(sorted[j]) })
	most, j := 0, 0
	for i := range sorted {
		for sorted[i].Sub(sorted[j]) >= w {
			j++
		}
		most = max(most, i-j+1)
	}
	return most
}

// writeConfig writes a configuration file for a test stack.
func writeConfig(t *testing.T, yaml string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "hookflow.yaml")
	if err := os.WriteFile(p, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestDestinationsEachGetTheirOwn: two destinations with different secrets
// against the dev server; each verifies only its own signature and receives
// exactly what its filter takes, in order per entity, once.
func TestDestinationsEachGetTheirOwn(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	const warehouseSecret, allSecret = "whsec_d2FyZWhvdXNlLXNlY3JldA==", "whsec_YWxsLXNlY3JldC1mb3ItZXZlcnl0aGluZw=="
	warehouse := newVerifyingSink(t, warehouseSecret, "X-Api-Key", "wh-key-1")
	all := newVerifyingSink(t, allSecret)
	s := newStack(t, map[string]string{
		"FENIX_CLIENT_SECRET": devSecrets()["FENIX_CLIENT_SECRET"],
		"HOOKFLOW_CONFIG": writeConfig(t, `
destinations:
  - name: warehouse
    url_env: WAREHOUSE_URL
    secret_env: WAREHOUSE_SECRET
    headers_env: {X-Api-Key: WAREHOUSE_KEY}
    filter: {providers: [fenix], to: [DELIVERED, RETURNED]}
  - name: everything
    url_env: ALL_URL
    secret_env: ALL_SECRET
`),
		"WAREHOUSE_URL": warehouse.srv.URL + "/in?token=x", "WAREHOUSE_SECRET": warehouseSecret, "WAREHOUSE_KEY": "wh-key-1",
		"ALL_URL": all.srv.URL, "ALL_SECRET": allSecret,
	})
	statuses := []string{"LABEL_CREATED", "IN_TRANSIT", "OUT_FOR_DELIVERY", "DELIVERED"}
	var wantAll, wantWarehouse []string
	for _, entity := range []string{"dst-1", "dst-2"} {
		for i, status := range statuses {
			s.send("fenix", entity, status)
			wantAll = append(wantAll, fmt.Sprintf("fenix-shipment:%s:%d %s", entity, i+1, status))
		}
		wantWarehouse = append(wantWarehouse, fmt.Sprintf("fenix-shipment:%s:4 DELIVERED", entity))
	}
	testenv.Eventually(t, 60*time.Second, func() (bool, string) {
		gw, _, _ := warehouse.snapshot()
		ga, _, _ := all.snapshot()
		return len(ga) >= len(wantAll) && len(gw) >= len(wantWarehouse), fmt.Sprintf("warehouse got %q, everything got %q", gw, ga)
	})
	// Each entity's transitions go one after another; across entities in
	// any order.
	gw, badW, _ := warehouse.snapshot()
	ga, badA, _ := all.snapshot()
	slices.Sort(gw)
	if !slices.Equal(gw, wantWarehouse) {
		t.Errorf("warehouse received %q, want only each shipment's DELIVERED: %q", gw, wantWarehouse)
	}
	for _, entity := range []string{"dst-1", "dst-2"} {
		var got, want []string
		for _, g := range ga {
			if slices.Contains(wantAll, g) && g[len("fenix-shipment:"):len("fenix-shipment:")+5] == entity {
				got = append(got, g)
			}
		}
		for _, w := range wantAll {
			if w[len("fenix-shipment:"):len("fenix-shipment:")+5] == entity {
				want = append(want, w)
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("everything received for %s %q, want %q in order", entity, got, want)
		}
	}
	if len(ga) != len(wantAll) {
		t.Errorf("everything received %d deliveries, want %d (each once): %q", len(ga), len(wantAll), ga)
	}
	if len(badW)+len(badA) > 0 {
		t.Errorf("deliveries refused: warehouse %q, everything %q", badW, badA)
	}
	st := s.waitState("fenix-shipment:dst-1", func(st workflows.State) bool { return len(st.Deliveries) == 5 })
	for _, d := range st.Deliveries {
		if d.Label != "warehouse" && d.Label != "everything" {
			t.Errorf("delivery label %q, want the destination's name", d.Label)
		}
	}
}

// TestDestinationRate: 300 transitions of 100 entities to a destination at
// rate 20/s, with two workers: the destination never sees more than the
// server's token bucket lets through (the rate, plus one banked second),
// and every transition arrives, once, in order per entity.
func TestDestinationRate(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	const secret = "whsec_cmF0ZWQtZGVzdGluYXRpb24="
	sink := newVerifyingSink(t, secret)
	s := newStack(t, map[string]string{
		"FENIX_CLIENT_SECRET": devSecrets()["FENIX_CLIENT_SECRET"],
		"HOOKFLOW_CONFIG": writeConfig(t, `
destinations:
  - {name: slow, url_env: SLOW_URL, secret_env: SLOW_SECRET, rate: 20/s}
`),
		"SLOW_URL": sink.srv.URL, "SLOW_SECRET": secret,
	})
	second := newWorker(s.cfg, s.tc)
	if err := second.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(second.Stop)

	const entities = 100
	statuses := []string{"LABEL_CREATED", "IN_TRANSIT", "OUT_FOR_DELIVERY"}
	start := time.Now()
	for _, status := range statuses {
		for i := range entities {
			s.send("fenix", fmt.Sprintf("rate-%03d", i), status)
		}
	}
	sent := time.Since(start)
	want := entities * len(statuses)
	testenv.Eventually(t, 90*time.Second, func() (bool, string) {
		got, _, _ := sink.snapshot()
		return len(got) >= want, fmt.Sprintf("%d of %d delivered", len(got), want)
	})
	got, bad, at := sink.snapshot()
	slices.SortFunc(at, time.Time.Compare)
	span := at[len(at)-1].Sub(at[0])
	perSecond := make([]int, int(span.Seconds())+1)
	for _, a := range at {
		perSecond[int(a.Sub(at[0]).Seconds())]++
	}
	// Temporal's limit is a token bucket that holds one second's worth
	// (matching's burst is the rate times one second): a window of T
	// seconds carries at most the rate times T, plus the second banked
	// before it, plus one task per partition for rounding. That bound is
	// what is checked, for windows of 1, 5 and 10 seconds.
	const rate = 20
	var windows []string
	for _, w := range []int{1, 5, 10} {
		most, bound := maxInWindow(at, time.Duration(w)*time.Second), rate*(w+1)+4
		windows = append(windows, fmt.Sprintf("%ds: %d (bound %d)", w, most, bound))
		if most > bound {
			t.Errorf("%d deliveries within %d s at rate %d/s, want at most %d", most, w, rate, bound)
		}
	}
	t.Logf("%d deliveries in %s (sent in %s): %.1f/s; most in a window of %s; per second: %v",
		len(got), span.Round(time.Millisecond), sent.Round(time.Millisecond), float64(len(at)-1)/span.Seconds(), strings.Join(windows, ", "), perSecond)
	if len(got) != want || len(bad) > 0 {
		t.Errorf("got %d deliveries (want %d, each once), refused %q", len(got), want, bad)
	}
	seqs := map[string]int{}
	for _, g := range got {
		var wf string
		var seq int
		if _, err := fmt.Sscanf(g[len("fenix-shipment:rate-000"):], ":%d", &seq); err != nil {
			t.Fatalf("webhook-id %q: %v", g, err)
		}
		wf = g[:len("fenix-shipment:rate-000")]
		if seq != seqs[wf]+1 {
			t.Errorf("%s: seq %d after %d, want in order", wf, seq, seqs[wf])
		}
		seqs[wf] = seq
	}
}
