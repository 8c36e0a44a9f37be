package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/hookflow/hookflow/internal/dev/testenv"
	"github.com/hookflow/hookflow/internal/operator/inspect"
	"github.com/hookflow/hookflow/workflows"
)

// adminCall is one admin API request's answer.
type adminCall struct {
	code int
	body map[string]any
	raw  string
}

func (s *stack) admin(method, path, token, body string) adminCall {
	s.t.Helper()
	req, err := http.NewRequest(method, s.ops+path, strings.NewReader(body))
	if err != nil {
		s.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	c := adminCall{code: resp.StatusCode, raw: string(raw)}
	if err := json.Unmarshal(raw, &c.body); err != nil {
		s.t.Fatalf("%s %s: %d with non-JSON body %q", method, path, resp.StatusCode, raw)
	}
	return c
}

// TestAdminAPI: each route of the admin API against the dev server, with
// and without a token: an entity's status is status --json's, the listing
// pages through a visibility query, a bad query is 400 and an unknown
// workflow 404, and redeliver (one destination) and reprocess answer 202
// and take effect.
func TestAdminAPI(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	const secret = "whsec_cGlja3ktZGVzdGluYXRpb24="
	var mu sync.Mutex
	rejecting := true
	sink := newVerifyingSink(t, secret)
	picky := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		reject := rejecting
		mu.Unlock()
		if reject {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		sink.ServeHTTP(w, r)
	})
	srv := httptest.NewServer(picky)
	t.Cleanup(srv.Close)
	s := newStack(t, map[string]string{
		"FENIX_CLIENT_SECRET":  devSecrets()["FENIX_CLIENT_SECRET"],
		"HOOKFLOW_ADMIN_TOKEN": "tok-old,tok-new",
		"HOOKFLOW_CONFIG":      writeConfig(t, "destinations:\n  - {name: picky, url_env: PICKY_URL, secret_env: PICKY_SECRET}\n"),
		"PICKY_URL":            srv.URL, "PICKY_SECRET": secret,
	})
	const tok = "tok-new"
	s.send("fenix", "adm-1", "LABEL_CREATED")
	s.send("fenix", "adm-1", "IN_TRANSIT")
	s.send("fenix", "adm-2", "LABEL_CREATED")
	const wf = "fenix-shipment:adm-1"
	s.waitState(wf, func(st workflows.State) bool {
		return st.Status == "IN_TRANSIT" && len(st.Deliveries) > 0 && st.Deliveries[0].Status == workflows.DeliveryFailed
	})

	t.Run("no token or a wrong one is 401", func(t *testing.T) {
		for _, token := range []string{"", "tok-wrong"} {
			if c := s.admin("GET", "/v1/entities/"+url.PathEscape(wf), token, ""); c.code != 401 || c.body["error"] != "Missing or invalid authorization header" {
				t.Errorf("token %q: %d %s, want 401", token, c.code, c.raw)
			}
		}
		if c := s.admin("GET", "/v1/entities/"+url.PathEscape(wf), "tok-old", ""); c.code != 200 {
			t.Errorf("the older rotated token: %d %s, want 200", c.code, c.raw)
		}
	})

	t.Run("an entity's status is status --json's", func(t *testing.T) {
		c := s.admin("GET", "/v1/entities/"+url.PathEscape(wf), tok, "")
		if c.code != 200 {
			t.Fatalf("%d %s", c.code, c.raw)
		}
		rep, err := inspect.Describe(context.Background(), s.tc, s.cfg, wf, inspect.LiveQueryWait)
		if err != nil {
			t.Fatal(err)
		}
		var want map[string]any
		raw, _ := json.Marshal(rep)
		_ = json.Unmarshal(raw, &want)
		for _, key := range []string{"workflowId", "runId", "runStatus", "uiUrl", "source"} {
			if c.body[key] != want[key] {
				t.Errorf("%s = %v, status --json has %v", key, c.body[key], want[key])
			}
		}
		got, _ := json.Marshal(c.body["state"])
		wantState, _ := json.Marshal(want["state"])
		if string(got) != string(wantState) {
			t.Errorf("state:\n got %s\nwant %s", got, wantState)
		}
		if c := s.admin("GET", "/v1/entities/"+url.PathEscape("fenix-shipment:never-seen"), tok, ""); c.code != 404 {
			t.Errorf("an unknown workflow: %d %s, want 404", c.code, c.raw)
		}
	})

	t.Run("the listing pages through a visibility query", func(t *testing.T) {
		q := url.QueryEscape(`WebhookProvider="fenix" AND EntityID STARTS_WITH "adm-"`)
		var first adminCall
		testenv.Eventually(t, 30*time.Second, func() (bool, string) {
			first = s.admin("GET", "/v1/entities?pageSize=1&query="+q, tok, "")
			return first.code == 200 && first.body["nextPageToken"] != "", first.raw
		})
		second := s.admin("GET", "/v1/entities?pageSize=1&query="+q+"&pageToken="+url.QueryEscape(first.body["nextPageToken"].(string)), tok, "")
		ids := map[string]map[string]any{}
		for _, page := range []adminCall{first, second} {
			for _, e := range page.body["entities"].([]any) {
				m := e.(map[string]any)
				ids[m["workflowId"].(string)] = m
			}
		}
		if len(ids) != 2 || ids[wf] == nil || ids["fenix-shipment:adm-2"] == nil {
			t.Fatalf("pages list %v, want adm-1 and adm-2", ids)
		}
		testenv.Eventually(t, 30*time.Second, func() (bool, string) {
			c := s.admin("GET", "/v1/entities?query="+url.QueryEscape(`DeliveryFailed=true AND EntityID STARTS_WITH "adm-"`), tok, "")
			return c.code == 200 && strings.Contains(c.raw, `"workflowId":"`+wf+`"`) && strings.Contains(c.raw, `"deliveryFailed":true`) &&
				strings.Contains(c.raw, `"status":"IN_TRANSIT"`), c.raw
		})
		if c := s.admin("GET", "/v1/entities?query="+url.QueryEscape("NoSuchAttribute = 1"), tok, ""); c.code != 400 {
			t.Errorf("a bad query: %d %s, want 400", c.code, c.raw)
		}
		if c := s.admin("GET", "/v1/entities?pageSize=0", tok, ""); c.code != 400 {
			t.Errorf("pageSize=0: %d %s, want 400", c.code, c.raw)
		}
	})

	t.Run("redeliver one destination", func(t *testing.T) {
		if c := s.admin("POST", "/v1/entities/"+url.PathEscape(wf)+"/redeliver", tok, `{"destination":"nope"}`); c.code != 400 || !strings.Contains(c.raw, "picky") {
			t.Errorf("an unknown destination: %d %s, want 400 naming the known ones", c.code, c.raw)
		}
		mu.Lock()
		rejecting = false
		mu.Unlock()
		c := s.admin("POST", "/v1/entities/"+url.PathEscape(wf)+"/redeliver", tok, `{"destination":"picky"}`)
		if c.code != 202 || c.body["requestId"] == "" {
			t.Fatalf("redeliver: %d %s, want 202 with a requestId", c.code, c.raw)
		}
		testenv.Eventually(t, 30*time.Second, func() (bool, string) {
			got, _, _ := sink.snapshot()
			return len(got) >= 2 && got[0] == wf+":1 LABEL_CREATED" && got[1] == wf+":2 IN_TRANSIT", fmt.Sprintf("delivered %q", got)
		})
		if c := s.admin("POST", "/v1/entities/"+url.PathEscape("fenix-shipment:never-seen")+"/redeliver", tok, ""); c.code != 404 {
			t.Errorf("redeliver an unknown workflow: %d %s, want 404", c.code, c.raw)
		}
	})

	t.Run("reprocess", func(t *testing.T) {
		c := s.admin("POST", "/v1/entities/"+url.PathEscape(wf)+"/reprocess", tok, `{"reason":"checked by a program"}`)
		if c.code != 202 || !strings.HasPrefix(fmt.Sprint(c.body["requestId"]), "reprocess-") {
			t.Fatalf("reprocess: %d %s, want 202 with a requestId", c.code, c.raw)
		}
		// A reprocess re-sends the current state, under its webhook-id.
		testenv.Eventually(t, 30*time.Second, func() (bool, string) {
			got, _, _ := sink.snapshot()
			return len(got) >= 3 && got[2] == wf+":2 IN_TRANSIT", fmt.Sprintf("delivered %q", got)
		})
		if c := s.admin("POST", "/v1/entities/"+url.PathEscape(wf)+"/reprocess", tok, `not json`); c.code != 400 {
			t.Errorf("a body that is not JSON: %d %s, want 400", c.code, c.raw)
		}
	})

	t.Run("only entity workflows, whatever the query or ID", func(t *testing.T) {
		// A workflow of another type in the same namespace: no worker runs
		// it, so it stays open with its first task scheduled.
		const other = "not-an-entity:adm"
		if _, err := s.tc.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{
			ID: other, TaskQueue: "adm-elsewhere", WorkflowRunTimeout: time.Minute,
		}, "SomethingElse"); err != nil {
			t.Fatal(err)
		}
		for _, call := range []struct{ method, path string }{
			{"GET", "/v1/entities/" + url.PathEscape(other)},
			{"POST", "/v1/entities/" + url.PathEscape(other) + "/reprocess"},
			{"POST", "/v1/entities/" + url.PathEscape(other) + "/redeliver"},
		} {
			if c := s.admin(call.method, call.path, tok, ""); c.code != 404 {
				t.Errorf("%s %s: %d %s, want 404", call.method, call.path, c.code, c.raw)
			}
		}
		// The other workflow is visible to a plain query: the listing must
		// still leave it out.
		testenv.Eventually(t, 30*time.Second, func() (bool, string) {
			n, err := s.tc.CountWorkflow(context.Background(), &workflowservice.CountWorkflowExecutionsRequest{
				Query: fmt.Sprintf("WorkflowId = %q", other),
			})
			return err == nil && n.GetCount() == 1, fmt.Sprint(n, err)
		})
		for _, q := range []string{
			fmt.Sprintf("WorkflowId = %q", other),
			fmt.Sprintf("WorkflowId = %q OR WorkflowType = \"SomethingElse\"", other),
		} {
			c := s.admin("GET", "/v1/entities?query="+url.QueryEscape(q), tok, "")
			if c.code != 200 || strings.Contains(c.raw, other) {
				t.Errorf("query %s: %d %s, want 200 without %s", q, c.code, c.raw, other)
			}
		}
		for _, q := range []string{
			`EntityID = "x") OR (WorkflowType = "SomethingElse"`,
			`EntityID = "x" /* ( */) OR (WorkflowType = "SomethingElse" /* ) */`,
			`EntityID = "x") OR WorkflowType = "SomethingElse" -- (`,
			`EntityID = "x\") OR (WorkflowType = 'SomethingElse'`,
		} {
			if c := s.admin("GET", "/v1/entities?query="+url.QueryEscape(q), tok, ""); c.code != 400 {
				t.Errorf("escaping query %s: %d %s, want 400", q, c.code, c.raw)
			}
		}
	})
}
