package main

import (
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hookflow/hookflow/internal/dev/testenv"
	"github.com/hookflow/hookflow/providers"
	"github.com/hookflow/hookflow/workflows"
)

// sendTenant posts a signed Fenix event for entity to tenant's route,
// /webhooks/fenix/<tenant>, signed with secret.
func (s *stack) sendTenant(tenant, secret, entity, status string) {
	s.t.Helper()
	p := builtin("fenix")
	d := providers.Delivery{Entity: entity, Status: status, EventID: "evt_" + tenant + "_" + entity + "_" + status}
	body := p.Sample.Body(d)
	if r := s.post("/webhooks/fenix/"+tenant, body, p.Sample.Headers(d, body, secret, s.cfg.Setting)); r.status/100 != 2 {
		s.t.Fatalf("tenant %s: %d %v", tenant, r.status, r.body)
	}
}

// listIDs is the sorted workflow IDs of one admin listing's page, and its
// answer.
func (s *stack) listIDs(token, query string) ([]string, adminCall) {
	s.t.Helper()
	c := s.admin("GET", "/v1/entities?query="+url.QueryEscape(query), token, "")
	var ids []string
	if c.code == 200 {
		for _, e := range c.body["entities"].([]any) {
			ids = append(ids, e.(map[string]any)["workflowId"].(string))
		}
	}
	slices.Sort(ids)
	return ids, c
}

// TestAdminAPITenants: against the dev server, with two tenants and the
// default one each holding an entity, a tenant's admin token lists only its
// tenant's entities whatever query it passes, and answers 404 for another
// tenant's entity and a default-tenant one; the global token reaches all,
// and finds a tenant's entities by the search attribute Tenant (contract
// section 17).
func TestAdminAPITenants(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	s := newStack(t, map[string]string{
		"FENIX_CLIENT_SECRET":  devSecrets()["FENIX_CLIENT_SECRET"],
		"HOOKFLOW_ADMIN_TOKEN": "tok-global",
		"A_FENIX":              "secret-a", "B_FENIX": "secret-b",
		"A_ADMIN": "tok-a-old,tok-a", "B_ADMIN": "tok-b",
		"HOOKFLOW_CONFIG": writeConfig(t, "tenants:\n"+
			"  - id: a\n    providers: {fenix: {secret_env: A_FENIX}}\n    admin_token_env: A_ADMIN\n"+
			"  - id: b.example\n    providers: {fenix: {secret_env: B_FENIX}}\n    admin_token_env: B_ADMIN\n"),
	})
	const (
		wfA   = "fenix-shipment@a:ten-1"
		wfB   = "fenix-shipment@b.example:ten-2"
		wfDef = "fenix-shipment:ten-3"
	)
	s.sendTenant("a", "secret-a", "ten-1", "LABEL_CREATED")
	s.sendTenant("b.example", "secret-b", "ten-2", "LABEL_CREATED")
	s.send("fenix", "ten-3", "LABEL_CREATED")
	for _, wf := range []string{wfA, wfB, wfDef} {
		s.waitState(wf, func(st workflows.State) bool { return st.Status == "LABEL_CREATED" })
	}
	// Once the global token lists all three, visibility holds them all.
	testenv.Eventually(t, 30*time.Second, func() (bool, string) {
		ids, c := s.listIDs("tok-global", `EntityID STARTS_WITH "ten-"`)
		return slices.Equal(ids, []string{wfDef, wfA, wfB}), c.raw
	})

	t.Run("a tenant token lists only its tenant's entities, whatever the query", func(t *testing.T) {
		for _, tc := range []struct{ token, want string }{{"tok-a", wfA}, {"tok-a-old", wfA}, {"tok-b", wfB}} {
			for _, q := range []string{
				"",
				`EntityID STARTS_WITH "ten-"`,
				`EntityID = "ten-2" OR EntityID = "ten-3" OR EntityID = "ten-1"`,
				`Tenant = "b.example" OR Tenant = "a" OR WorkflowType != "x"`,
				`ExecutionStatus = "Running" OR true = true`,
			} {
				ids, c := s.listIDs(tc.token, q)
				if c.code == 400 && strings.Contains(q, "true = true") {
					continue // a query Temporal refuses is restricted too
				}
				if c.code != 200 || !slices.Equal(ids, []string{tc.want}) {
					t.Errorf("%s with %q: %d %v (%s), want only %s", tc.token, q, c.code, ids, c.raw, tc.want)
				}
			}
		}
		for _, q := range []string{
			`EntityID = "x") OR (WorkflowType = "Entity"`,
			`EntityID = "x" ) OR Tenant != "a" OR ( "`,
			`EntityID = "x" -- ) OR (`,
			`EntityID = "x" /* ) OR ( */`,
		} {
			if ids, c := s.listIDs("tok-a", q); c.code != 400 {
				t.Errorf("tok-a with %q: %d %v, want 400", q, c.code, ids)
			}
		}
	})

	t.Run("a tenant token gets 404 for another tenant's entity and a default one", func(t *testing.T) {
		for _, path := range []string{"", "/reprocess", "/redeliver"} {
			method := "POST"
			if path == "" {
				method = "GET"
			}
			for _, wf := range []string{wfB, wfDef, "fenix-shipment@b.example:never-seen", "not-an-entity"} {
				c := s.admin(method, "/v1/entities/"+url.PathEscape(wf)+path, "tok-a", "")
				if c.code != 404 || c.raw != `{"error":"no such entity workflow"}` {
					t.Errorf("tok-a %s %s%s: %d %s, want 404 as an unknown workflow", method, wf, path, c.code, c.raw)
				}
			}
		}
		if c := s.admin("GET", "/v1/entities/"+url.PathEscape(wfA), "tok-a", ""); c.code != 200 || c.body["workflowId"] != wfA {
			t.Errorf("tok-a on its own entity: %d %s, want 200", c.code, c.raw)
		}
		if c := s.admin("POST", "/v1/entities/"+url.PathEscape(wfA)+"/reprocess", "tok-a", ""); c.code != 202 {
			t.Errorf("tok-a reprocesses its own entity: %d %s, want 202", c.code, c.raw)
		}
		if c := s.admin("GET", "/v1/entities/"+url.PathEscape(wfA), "tok-b", ""); c.code != 404 {
			t.Errorf("tok-b on a's entity: %d %s, want 404", c.code, c.raw)
		}
	})

	t.Run("the global token reaches all and finds a tenant by Tenant", func(t *testing.T) {
		for _, wf := range []string{wfA, wfB, wfDef} {
			if c := s.admin("GET", "/v1/entities/"+url.PathEscape(wf), "tok-global", ""); c.code != 200 {
				t.Errorf("tok-global on %s: %d %s, want 200", wf, c.code, c.raw)
			}
		}
		if ids, c := s.listIDs("tok-global", `Tenant = "a"`); !slices.Equal(ids, []string{wfA}) {
			t.Errorf(`tok-global Tenant = "a": %v (%s), want only %s`, ids, c.raw, wfA)
		}
		// A default-tenant entity carries no Tenant.
		if ids, c := s.listIDs("tok-global", `Tenant IS NOT NULL`); !slices.Equal(ids, []string{wfA, wfB}) || strings.Contains(c.raw, wfDef) {
			t.Errorf("tok-global Tenant IS NOT NULL: %v (%s), want %s and %s", ids, c.raw, wfA, wfB)
		}
	})
}
