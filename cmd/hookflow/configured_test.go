package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/converter"

	"github.com/hookflow/hookflow/config"
	"github.com/hookflow/hookflow/internal/dev/testenv"
	"github.com/hookflow/hookflow/internal/operator/inspect"
	"github.com/hookflow/hookflow/workflows"
)

// acmeYAML defines a test-only provider in configuration: Standard
// Webhooks, a hyphen in its name, body paths and a header field, accepted
// types, siblings in the last rank and an anytime status.
const acmeYAML = `providers:
  - name: acme-eu
    route: /webhooks/acme-eu
    entity_type: order
    auth:
      scheme: standard-webhooks
      secret_env: ACME_EU_WEBHOOK_SECRET
    fields:
      entity_id: data.order.id
      status: data.order.status
      time: header:webhook-timestamp
      type: type
    accept_types: [order.updated]
    states:
      - [created]
      - [paid]
      - [shipped]
      - [delivered, cancelled]
    terminal: [delivered, cancelled]
    anytime: [on_hold]
`

// acmeSecret is ACME_EU_WEBHOOK_SECRET in the tests, with a rotated one.
const acmeSecret = "whsec_YWNtZS1ldS10ZXN0LXNlY3JldC0wMDAx,whsec_YWNtZS1ldS1uZXh0LXNlY3JldC0wMDAy"

// configuredConfig loads acmeYAML with env over the defaults.
func configuredConfig(t *testing.T, env map[string]string) *config.Config {
	t.Helper()
	path := filepath.Join(t.TempDir(), "hookflow.yaml")
	if err := os.WriteFile(path, []byte(acmeYAML), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path, func(k string) string { return env[k] })
	if err != nil {
		t.Fatalf("load config: %v", err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("validate config: %v", err)
	}
	return cfg
}

// TestConfiguredProviderSample: `hookflow send`'s sample of a configured
// provider is signed as its preset verifies it, with the second, rotated
// secret too, and parses into the entity and status asked for.
func TestConfiguredProviderSample(t *testing.T) {
	cfg := configuredConfig(t, map[string]string{"ACME_EU_WEBHOOK_SECRET": acmeSecret})
	p := providerByName(t, cfg, "acme-eu")
	if p.Verifier == nil {
		t.Fatal("acme-eu is disabled with its secret set")
	}
	for _, secret := range strings.Split(acmeSecret, ",") {
		d := sendOptions{entity: "o-1", status: "paid", eventID: "msg_1"}.delivery()
		body := p.Sample.Body(d)
		h := p.Sample.Headers(d, body, secret, cfg.Setting)
		if err := p.Verifier.Verify(body, testenv.Lookup(h)); err != nil {
			t.Fatalf("signed with %s…: %v", secret[:10], err)
		}
		ev, err := p.Parse(body, testenv.Lookup(h))
		if err != nil {
			t.Fatalf("parse %s: %v", body, err)
		}
		ev.Provider = p.Name
		if ev.ID != "msg_1" || ev.Status != "paid" || ev.Type != "order.updated" || ev.WorkflowID() != "acme-eu-order:o-1" {
			t.Errorf("parsed %+v, workflow %s", ev, ev.WorkflowID())
		}
	}
	if got, want := p.Sample.Lifecycle, []string{"created", "paid", "shipped", "delivered"}; !equalStrings(got, want) {
		t.Errorf("lifecycle %v, want %v", got, want)
	}
}

func equalStrings(a, b []string) bool { return strings.Join(a, "\x00") == strings.Join(b, "\x00") }

// TestConfiguredProviderLifecycle drives the configuration-defined acme-eu
// provider through the real receivers, Redis, Temporal dev server and
// worker: accepted, duplicate, an earlier status ignored, terminal, then
// `hookflow status` and `hookflow reprocess` of the closed entity, whose new
// run carries the configured table in its input.
func TestConfiguredProviderLifecycle(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "hookflow.yaml")
	if err := os.WriteFile(path, []byte(acmeYAML), 0o600); err != nil {
		t.Fatal(err)
	}
	s := newStack(t, map[string]string{"HOOKFLOW_CONFIG": path, "ACME_EU_WEBHOOK_SECRET": acmeSecret, "HOOKFLOW_LINGER": "2s"})
	p := providerByName(t, s.cfg, "acme-eu")
	const wfID = "acme-eu-order:A-1"
	// deliver signs a delivery of status as acme would and posts it.
	deliver := func(eventID, status string) (body []byte, headers map[string]string) {
		d := sendOptions{entity: "A-1", status: status, eventID: eventID}.delivery()
		body = p.Sample.Body(d)
		return body, p.Sample.Headers(d, body, p.SendSecret(s.cfg.Setting), s.cfg.Setting)
	}
	post := func(body []byte, headers map[string]string, wantDuplicate bool) {
		t.Helper()
		r := s.post(p.Routes[0], body, headers)
		if r.status != 200 || r.body["duplicate"] != wantDuplicate || r.body["workflowId"] != wfID {
			t.Fatalf("answer %d %v, want 200 duplicate=%v for %s", r.status, r.body, wantDuplicate, wfID)
		}
	}

	body, headers := deliver("msg_1", "created")
	post(body, headers, false)
	s.waitState(wfID, func(st workflows.State) bool { return len(st.Events) == 1 })
	post(body, headers, true) // the provider's retry: answered from Redis

	b, h := deliver("msg_2", "paid")
	post(b, h, false)
	s.waitState(wfID, func(st workflows.State) bool { return len(st.Events) == 2 })
	b, h = deliver("msg_3", "created") // late: an earlier status
	post(b, h, false)
	st := s.waitState(wfID, func(st workflows.State) bool { return len(st.Events) == 3 })
	if st.Status != "paid" || st.Events[2].Outcome != string(workflows.Backwards) {
		t.Fatalf("after a late created: status %s, outcome %s; want paid, %s", st.Status, st.Events[2].Outcome, workflows.Backwards)
	}
	b, h = deliver("msg_4", "delivered")
	post(b, h, false)
	st = s.waitState(wfID, func(st workflows.State) bool { return st.Terminal })
	if st.Status != "delivered" || st.Sequence != 3 {
		t.Fatalf("terminal: %s after %d transitions, want delivered after 3 (%+v)", st.Status, st.Sequence, st.Transitions)
	}

	rep, err := inspect.Describe(context.Background(), s.tc, s.cfg, wfID, inspect.LiveQueryWait)
	if err != nil {
		t.Fatal(err)
	}
	var text bytes.Buffer
	_ = rep.WriteText(&text)
	if rep.State.Status != "delivered" || !rep.State.Terminal || !strings.Contains(text.String(), "delivered") {
		t.Errorf("status: %+v\n%s", rep.State, text.String())
	}

	// Closed after its 2s linger; reprocess starts a new run that loads it.
	firstRun := s.waitClosed(wfID)
	var out bytes.Buffer
	if err := reprocess(context.Background(), strings.NewReader(""), &out, s.tc, s.cfg, []string{wfID}, reprocessOptions{rate: 10, reason: "test"}); err != nil {
		t.Fatalf("reprocess: %v\n%s", err, out.String())
	}
	var newRun string
	testenv.Eventually(t, 30*time.Second, func() (bool, string) {
		d, err := s.tc.DescribeWorkflowExecution(context.Background(), wfID, "")
		if err != nil {
			return false, err.Error()
		}
		newRun = d.GetWorkflowExecutionInfo().GetExecution().GetRunId()
		return newRun != firstRun, "run " + newRun
	})
	st = s.waitState(wfID, func(st workflows.State) bool { return st.Status != "" })
	if st.Status != "delivered" || !st.Terminal || st.Sequence != 3 || st.LastError != "" {
		t.Errorf("reprocessed run: %s terminal=%v after %d transitions, error %q; want the closed run's delivered after 3",
			st.Status, st.Terminal, st.Sequence, st.LastError)
	}
	in := startInput(t, s, wfID, newRun)
	if in.Table == nil || in.Table.Rank["shipped"] != 2 || !in.Table.Terminal["cancelled"] || !in.Table.Anytime["on_hold"] {
		t.Errorf("the new run's input carries table %+v, want acme-eu's", in.Table)
	}
}

// startInput is the input a run was started with, from its history.
func startInput(t *testing.T, s *stack, workflowID, runID string) workflows.EntityInput {
	t.Helper()
	it := s.tc.GetWorkflowHistory(context.Background(), workflowID, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	first, err := it.Next()
	if err != nil {
		t.Fatal(err)
	}
	var in workflows.EntityInput
	payloads := first.GetWorkflowExecutionStartedEventAttributes().GetInput()
	if err := converter.GetDefaultDataConverter().FromPayloads(payloads, &in); err != nil {
		t.Fatal(err)
	}
	return in
}
