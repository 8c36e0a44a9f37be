// Package connections is what `hookflow connect`, `hookflow connections`
// and the admin API's /v1/tenants/{id}/connections do (contract section
// 18): start, steer and read the Connection workflow of each tenant and
// provider, which registers hookflow's webhook at the provider and keeps it
// there. The commands and the API call the same operations, so they cannot
// drift apart.
package connections

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/hookflow/hookflow/config"
	"github.com/hookflow/hookflow/event"
	"github.com/hookflow/hookflow/internal/tenantstore"
	"github.com/hookflow/hookflow/providers/registration"
	"github.com/hookflow/hookflow/workflows"
)

// Errors the commands and the API answer by.
var (
	// ErrNoPublicURL: HOOKFLOW_PUBLIC_URL is not set, so there is no URL
	// to register.
	ErrNoPublicURL = errors.New("HOOKFLOW_PUBLIC_URL is not set: the URL providers reach the receivers at is needed to register it")
	// ErrNotConnected: the tenant has no connection at that provider.
	ErrNotConnected = errors.New("no connection")
	// ErrUnknownProvider: not a provider of this deployment.
	ErrUnknownProvider = errors.New("not a provider of this deployment")
)

// ManualError is the refusal of a provider without a registration API: what
// to do by hand instead.
type ManualError struct {
	Provider, Tenant, URL string
}

func (e *ManualError) Error() string {
	return fmt.Sprintf("%s has no webhook registration API: register %s by hand in %s's dashboard, "+
		"with the tenant's secret (hookflow tenants add %s --secret-file %s=…), then run "+
		"`hookflow connect %s --tenant %s --check` to wait for its first verified event",
		e.Provider, e.URL, e.Provider, e.Tenant, e.Provider, e.Provider, e.Tenant)
}

// Service runs the operations against one deployment.
type Service struct {
	Client client.Client
	Config *config.Config
	// Tenants tells whether a tenant exists, from the file or at runtime.
	Tenants *tenantstore.Store
	// Verified reads when a provider's deliveries for a tenant last
	// verified (receivers/verified.Marks); nil: --check is unavailable.
	Verified interface {
		LastVerified(ctx context.Context, provider, tenant string) (time.Time, error)
	}
}

// Options are a connect's choices; zero values are the workflow's defaults.
type Options struct {
	Policy     string          // workflows.ConnectionPolicyRepair or Raise
	CheckEvery time.Duration   // the drift check's period
	Overlap    time.Duration   // how long a rotated-out secret still verifies
	Filters    json.RawMessage // the provider's filters (Fenix)
}

// URL is the URL a tenant's webhooks of provider are registered with:
// HOOKFLOW_PUBLIC_URL plus the tenant's route.
func (s *Service) URL(provider, tenant string) (string, error) {
	if s.Config.PublicURL == "" {
		return "", ErrNoPublicURL
	}
	return strings.TrimRight(s.Config.PublicURL, "/") + "/webhooks/" + provider + "/" + tenant, nil
}

// check refuses an unknown provider or tenant, and a provider without a
// registration API (with what to do by hand).
func (s *Service) check(ctx context.Context, provider, tenant string) (string, error) {
	if _, ok := s.Config.Providers.Get(provider); !ok {
		return "", fmt.Errorf("%w: %q", ErrUnknownProvider, clip(provider))
	}
	if !event.ValidTenantID(tenant) {
		return "", tenantstore.ErrBadID
	}
	if _, err := s.Tenants.Get(ctx, tenant); err != nil {
		return "", fmt.Errorf("tenant %s: %w", tenant, err)
	}
	url, err := s.URL(provider, tenant)
	if err != nil {
		return "", err
	}
	if _, err := registration.New(provider, "http://unused", nil); errors.Is(err, registration.ErrNoRegistrationAPI) {
		return url, &ManualError{Provider: provider, Tenant: tenant, URL: url}
	}
	return url, nil
}

// Connect starts tenant's connection at provider, or, when it runs already,
// has it register again (reconnect). It returns without waiting: Await
// waits for the outcome.
func (s *Service) Connect(ctx context.Context, provider, tenant string, o Options) error {
	url, err := s.check(ctx, provider, tenant)
	if err != nil {
		return err
	}
	if o.Filters == nil { // the tenant's, from the file or its record
		if o.Filters, err = s.Tenants.Filters(ctx, tenant, provider); err != nil {
			return fmt.Errorf("tenant %s: %w", tenant, err)
		}
	}
	in := workflows.ConnectionInput{Provider: provider, Tenant: tenant, URL: url, Filters: o.Filters,
		CheckEvery: o.CheckEvery, Policy: o.Policy, Overlap: o.Overlap}
	id := workflows.ConnectionWorkflowID(provider, tenant)
	_, err = s.Client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: id, TaskQueue: s.Config.TaskQueue,
		WorkflowIDConflictPolicy:                 enums.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
		WorkflowExecutionErrorWhenAlreadyStarted: true, // then a reconnect
		StaticSummary:                            fmt.Sprintf("hookflow connection: %s for tenant %s", provider, tenant),
	}, workflows.ConnectionWorkflowType, in)
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	if errors.As(err, &started) {
		err = s.Client.SignalWorkflow(ctx, id, "", workflows.SignalConnectionReconnect, nil)
	}
	if err != nil {
		return fmt.Errorf("connect %s for tenant %s: %w", provider, tenant, err)
	}
	return nil
}

// signal sends one of the connection's signals; ErrNotConnected when it
// does not run.
func (s *Service) signal(ctx context.Context, provider, tenant, name string) error {
	err := s.Client.SignalWorkflow(ctx, workflows.ConnectionWorkflowID(provider, tenant), "", name, nil)
	var notFound *serviceerror.NotFound
	if errors.As(err, &notFound) {
		return ErrNotConnected
	}
	return err
}

// Rotate has the connection rotate its webhook's secret.
func (s *Service) Rotate(ctx context.Context, provider, tenant string) error {
	return s.signal(ctx, provider, tenant, workflows.SignalConnectionRotate)
}

// Disconnect has the connection delete its webhook at the provider.
func (s *Service) Disconnect(ctx context.Context, provider, tenant string) error {
	return s.signal(ctx, provider, tenant, workflows.SignalConnectionDisconnect)
}

// Check has the connection check its webhook now.
func (s *Service) Check(ctx context.Context, provider, tenant string) error {
	return s.signal(ctx, provider, tenant, workflows.SignalConnectionCheck)
}

// Get is the connection's state, from its workflow (the latest run, open or
// closed).
func (s *Service) Get(ctx context.Context, provider, tenant string) (workflows.ConnectionState, error) {
	v, err := s.Client.QueryWorkflow(ctx, workflows.ConnectionWorkflowID(provider, tenant), "", workflows.QueryConnection)
	var notFound *serviceerror.NotFound
	if errors.As(err, &notFound) {
		return workflows.ConnectionState{}, ErrNotConnected
	}
	if err != nil {
		return workflows.ConnectionState{}, err
	}
	var st workflows.ConnectionState
	return st, v.Get(&st)
}

// Await polls the connection's state until done accepts it or ctx ends,
// and returns the last state read.
func (s *Service) Await(ctx context.Context, provider, tenant string, done func(workflows.ConnectionState) bool) (workflows.ConnectionState, error) {
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	var last workflows.ConnectionState
	var lastErr error
	for {
		st, err := s.Get(ctx, provider, tenant)
		if err == nil && done(st) {
			return st, nil
		}
		if err == nil {
			last = st
		} else {
			lastErr = err
		}
		select {
		case <-ctx.Done():
			if lastErr != nil {
				return last, fmt.Errorf("%w (and: %v)", ctx.Err(), lastErr)
			}
			return last, ctx.Err()
		case <-tick.C:
		}
	}
}

// AwaitVerified waits until a delivery of provider for tenant passes
// verification at or after since: the first verified event of a webhook
// registered by hand.
func (s *Service) AwaitVerified(ctx context.Context, provider, tenant string, since time.Time) (time.Time, error) {
	if s.Verified == nil {
		return time.Time{}, errors.New("--check needs Redis (REDIS_URL), where the receivers mark verified deliveries")
	}
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		last, err := s.Verified.LastVerified(ctx, provider, tenant)
		if err == nil && !last.Before(since.Truncate(time.Second)) {
			return last, nil
		}
		select {
		case <-ctx.Done():
			return time.Time{}, fmt.Errorf("no verified %s delivery for tenant %s yet: %w", provider, tenant, ctx.Err())
		case <-tick.C:
		}
	}
}

// MaxListed bounds the connections one listing reads.
const MaxListed = 10000

// List is every connection's state (tenant's alone when not ""), from the
// memos in visibility, by provider and tenant: the running ones and the
// disconnected ones still in retention.
func (s *Service) List(ctx context.Context, tenant string) ([]workflows.ConnectionState, error) {
	query := fmt.Sprintf("WorkflowType = %q", workflows.ConnectionWorkflowType)
	var out []workflows.ConnectionState
	seen := map[string]bool{}
	var token []byte
	for {
		resp, err := s.Client.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Namespace: s.Config.TemporalNamespace, Query: query, PageSize: 1000, NextPageToken: token,
		})
		if err != nil {
			return nil, fmt.Errorf("list connections: %w", err)
		}
		for _, ex := range resp.GetExecutions() {
			id := ex.GetExecution().GetWorkflowId()
			if seen[id] { // an older run of a connection listed already
				continue
			}
			seen[id] = true
			var st workflows.ConnectionState
			if p := ex.GetMemo().GetFields()[workflows.MemoConnectionKey]; p != nil {
				_ = converter.GetDefaultDataConverter().FromPayload(p, &st)
			}
			if st.Provider == "" { // registering: no memo yet
				rest := strings.TrimPrefix(id, "connection:")
				st.Provider, st.Tenant, _ = strings.Cut(rest, "@")
				st.State = workflows.ConnectionRegistering
			}
			if ex.GetStatus() != enums.WORKFLOW_EXECUTION_STATUS_RUNNING && st.State != workflows.ConnectionDisconnected {
				st.State = workflows.ConnectionFailing
				st.LastError = "its workflow is " + strings.ToLower(strings.TrimPrefix(ex.GetStatus().String(), "WORKFLOW_EXECUTION_STATUS_"))
			}
			if tenant == "" || st.Tenant == tenant {
				out = append(out, st)
			}
		}
		token = resp.GetNextPageToken()
		if len(token) == 0 || len(out) >= MaxListed {
			break
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Provider != out[j].Provider {
			return out[i].Provider < out[j].Provider
		}
		return out[i].Tenant < out[j].Tenant
	})
	return out, nil
}

// Counts are the connections by provider and state, for the
// hookflow_connections gauge.
func Counts(states []workflows.ConnectionState) map[[2]string]int {
	counts := map[[2]string]int{}
	for _, st := range states {
		counts[[2]string{st.Provider, st.State}]++
	}
	return counts
}

func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}
