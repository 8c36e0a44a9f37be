package main

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/hookflow/hookflow/internal/dev/testenv"
)

// TestTenantDeliveriesStayInTheirTenant: against the dev server, two stores
// with the same tracking number, and the default tenant with it too, are
// three workflows; each store's destination gets only its own transitions,
// the one for all tenants gets every one, each naming its tenant, and the
// default tenant's destination none of the stores' (contract section 17).
func TestTenantDeliveriesStayInTheirTenant(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	const secret = "whsec_dGVuYW50LXNpbmstc2VjcmV0"
	sinkA, sinkB, audit, legacy := newVerifyingSink(t, secret), newVerifyingSink(t, secret), newVerifyingSink(t, secret), newVerifyingSink(t, secret)
	s := newStack(t, map[string]string{
		"FENIX_CLIENT_SECRET": devSecrets()["FENIX_CLIENT_SECRET"],
		"A_FENIX":             "secret-a", "B_FENIX": "secret-b", "SINK_SECRET": secret,
		"A_URL": sinkA.srv.URL, "B_URL": sinkB.srv.URL, "AUDIT_URL": audit.srv.URL, "LEGACY_URL": legacy.srv.URL,
		"HOOKFLOW_CONFIG": writeConfig(t, `
destinations:
  - {name: a-sink, url_env: A_URL, secret_env: SINK_SECRET}
  - {name: b-sink, url_env: B_URL, secret_env: SINK_SECRET}
  - {name: audit, url_env: AUDIT_URL, secret_env: SINK_SECRET, tenants: all}
  - {name: legacy, url_env: LEGACY_URL, secret_env: SINK_SECRET}
tenants:
  - id: a
    providers: {fenix: {secret_env: A_FENIX}}
    destinations: [a-sink]
  - id: b.example
    providers: {fenix: {secret_env: B_FENIX}}
    destinations: [b-sink]
`),
	})
	s.sendTenant("a", "secret-a", "same-1", "LABEL_CREATED")
	s.sendTenant("b.example", "secret-b", "same-1", "LABEL_CREATED")
	s.sendTenant("a", "secret-a", "same-1", "IN_TRANSIT")
	s.sendTenant("b.example", "secret-b", "same-1", "DELIVERED")
	s.send("fenix", "same-1", "OUT_FOR_DELIVERY")

	wantA := []string{"fenix-shipment@a:same-1:1 LABEL_CREATED", "fenix-shipment@a:same-1:2 IN_TRANSIT"}
	wantB := []string{"fenix-shipment@b.example:same-1:1 LABEL_CREATED", "fenix-shipment@b.example:same-1:2 DELIVERED"}
	wantLegacy := []string{"fenix-shipment:same-1:1 OUT_FOR_DELIVERY"}
	wantAudit := slices.Concat(wantA, wantB, wantLegacy)
	slices.Sort(wantAudit)
	testenv.Eventually(t, 60*time.Second, func() (bool, string) {
		a, _, _ := sinkA.snapshot()
		b, _, _ := sinkB.snapshot()
		au, _, _ := audit.snapshot()
		l, _, _ := legacy.snapshot()
		return len(a) >= 2 && len(b) >= 2 && len(au) >= 5 && len(l) >= 1, fmt.Sprintf("a %q, b %q, audit %q, legacy %q", a, b, au, l)
	})
	check := func(name string, sink *verifyingSink, want []string, sorted bool) {
		t.Helper()
		got, bad, _ := sink.snapshot()
		if sorted {
			slices.Sort(got)
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s received %q, want %q", name, got, want)
		}
		if len(bad) > 0 {
			t.Errorf("%s refused %q", name, bad)
		}
	}
	check("a-sink", sinkA, wantA, false)
	check("b-sink", sinkB, wantB, false)
	check("legacy", legacy, wantLegacy, false)
	check("audit", audit, wantAudit, true)
	audit.mu.Lock()
	tenants := slices.Clone(audit.ten)
	audit.mu.Unlock()
	slices.Sort(tenants)
	want := []string{
		"fenix-shipment:same-1:1 ",
		"fenix-shipment@a:same-1:1 a", "fenix-shipment@a:same-1:2 a",
		"fenix-shipment@b.example:same-1:1 b.example", "fenix-shipment@b.example:same-1:2 b.example",
	}
	if !slices.Equal(tenants, want) {
		t.Errorf("audit's events name tenants %q, want %q", tenants, want)
	}
}
