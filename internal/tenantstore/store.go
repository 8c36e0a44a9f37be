// Package tenantstore keeps runtime tenants (contract section 18) in
// Temporal itself, one Tenant workflow each (workflows.Tenant), with their
// secrets sealed under HOOKFLOW_SECRETS_KEY before they leave the process:
// the admin API and `hookflow tenants` add, change and remove them,
// connections read and rotate their credentials, and Watch hands every
// receiver and worker the tenants as they stand, within seconds. Tenants
// from the configuration file are listed beside them, read-only.
package tenantstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
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
	"github.com/hookflow/hookflow/signature/seal"
	"github.com/hookflow/hookflow/workflows"
)

// Errors of the store's operations, which the admin API maps to statuses.
var (
	ErrNotFound = errors.New("no such tenant")
	ErrReadOnly = errors.New("the tenant is configured in the file, read-only through the API")
	ErrNoKey    = errors.New("runtime tenants need HOOKFLOW_SECRETS_KEY")
	ErrBadID    = errors.New("not a tenant ID (lower-case letters, digits, '.' and '-', like wearhumans.myshopify.com)")
	// ErrInvalid wraps a change that cannot be stored: an unknown
	// provider, too many secrets, one too long.
	ErrInvalid = errors.New("invalid tenant change")
)

// permanent marks an error of the credentials' methods that no retry can
// fix (activities turn it into a refusal).
type permanent struct{ error }

func (permanent) Permanent() bool { return true }
func (e permanent) Unwrap() error { return e.error }

// classify marks err permanent where it is: the tenant gone, no key, a
// file tenant to change, a change refused, a value no key opens.
func classify(err error) error {
	for _, p := range []error{ErrNotFound, ErrNoKey, ErrReadOnly, ErrInvalid, ErrBadID, seal.ErrNotSealed} {
		if errors.Is(err, p) {
			return permanent{err}
		}
	}
	return err
}

// MaxTenants bounds the runtime tenants one listing reads.
const MaxTenants = 10000

// Store reads and writes runtime tenants.
type Store struct {
	Client    client.Client
	Namespace string
	TaskQueue string       // where Tenant workflows run: the worker's queue
	Keys      seal.Keyring // seals and opens their secrets
	// File are the configuration file's tenants: listed, never changed.
	File []config.Tenant
	// Providers are the provider names a tenant may hold secrets for.
	Providers []string
}

// New is the store of cfg's deployment, reached through tc.
func New(cfg *config.Config, tc client.Client) (*Store, error) {
	keys, err := seal.ParseKeys(cfg.SecretsKeys)
	if err != nil {
		return nil, fmt.Errorf("HOOKFLOW_SECRETS_KEY: %w", err)
	}
	s := &Store{Client: tc, Namespace: cfg.TemporalNamespace, TaskQueue: cfg.TaskQueue, Keys: keys, File: cfg.Tenants}
	for _, p := range cfg.Providers.All() {
		s.Providers = append(s.Providers, p.Name)
	}
	return s, nil
}

// Tenant is what the store tells of a tenant: never a secret.
type Tenant struct {
	ID     string `json:"id"`
	Source string `json:"source"` // "file" or "runtime"
	// Providers are those it has webhook secrets for, with how many;
	// AccessTokens those it has an API token for.
	Providers    map[string]int `json:"providers"`
	AccessTokens []string       `json:"accessTokens,omitempty"`
	// Filters are the providers' filters a connection registers.
	Filters  map[string]json.RawMessage `json:"filters,omitempty"`
	Revision int64                      `json:"revision,omitempty"`
	Updated  time.Time                  `json:"updated,omitzero"`
}

// Change is a change of a runtime tenant, in clear: Put seals it.
// Replace makes it the whole tenant; otherwise the providers named are
// set, an empty list or token removing theirs.
type Change struct {
	Replace      bool
	Secrets      map[string][]string
	AccessTokens map[string]string
	Filters      map[string]json.RawMessage // not secret: stored as they are
}

// context binds a sealed value to its tenant, provider and kind, so it
// cannot be moved to another.
func sealContext(tenant, provider, kind string) string {
	return "hookflow/tenant/" + tenant + "/" + provider + "/" + kind
}

func (s *Store) fileTenant(id string) (config.Tenant, bool) {
	for _, t := range s.File {
		if t.ID == id {
			return t, true
		}
	}
	return config.Tenant{}, false
}

func (s *Store) check(id string) error {
	if !event.ValidTenantID(id) {
		return ErrBadID
	}
	if _, ok := s.fileTenant(id); ok {
		return ErrReadOnly
	}
	if s.Keys.Empty() {
		return ErrNoKey
	}
	return nil
}

// Put adds tenant id, or changes it, as c says. The change is sealed here
// and signalled to the tenant's workflow, started if it is not running.
func (s *Store) Put(ctx context.Context, id string, c Change) error {
	if err := s.check(id); err != nil {
		return err
	}
	change := workflows.TenantChange{Replace: c.Replace, Secrets: map[string][]string{}, AccessTokens: map[string]string{}}
	if len(c.Secrets)+len(c.AccessTokens)+len(c.Filters) > 3*workflows.MaxTenantProviders {
		return fmt.Errorf("%w: more than %d providers", ErrInvalid, workflows.MaxTenantProviders)
	}
	for p, secrets := range c.Secrets {
		if !slices.Contains(s.Providers, p) {
			return fmt.Errorf("%w: provider %q is not a provider of this deployment (%s)", ErrInvalid, clip(p), strings.Join(s.Providers, ", "))
		}
		if len(secrets) > workflows.MaxTenantSecrets {
			return fmt.Errorf("%w: provider %s: %d secrets, at most %d", ErrInvalid, p, len(secrets), workflows.MaxTenantSecrets)
		}
		sealed := []string{}
		for _, secret := range secrets {
			if secret == "" || len(secret) > workflows.MaxTenantSealedBytes/2 {
				return fmt.Errorf("%w: provider %s: a secret must be 1 to %d bytes", ErrInvalid, p, workflows.MaxTenantSealedBytes/2)
			}
			v, err := s.Keys.Seal(secret, sealContext(id, p, "secret"))
			if err != nil {
				return err
			}
			sealed = append(sealed, v)
		}
		change.Secrets[p] = sealed
	}
	for p, token := range c.AccessTokens {
		if !slices.Contains(s.Providers, p) {
			return fmt.Errorf("%w: provider %q is not a provider of this deployment", ErrInvalid, clip(p))
		}
		if len(token) > workflows.MaxTenantSealedBytes/2 {
			return fmt.Errorf("%w: provider %s: an access token must be at most %d bytes", ErrInvalid, p, workflows.MaxTenantSealedBytes/2)
		}
		if token == "" {
			change.AccessTokens[p] = ""
			continue
		}
		v, err := s.Keys.Seal(token, sealContext(id, p, "token"))
		if err != nil {
			return err
		}
		change.AccessTokens[p] = v
	}
	for p, f := range c.Filters {
		if !slices.Contains(s.Providers, p) {
			return fmt.Errorf("%w: provider %q is not a provider of this deployment", ErrInvalid, clip(p))
		}
		if len(f) > 0 && !json.Valid(f) || len(f) > workflows.MaxTenantFilterBytes {
			return fmt.Errorf("%w: provider %s: filters must be JSON of at most %d bytes", ErrInvalid, p, workflows.MaxTenantFilterBytes)
		}
		if change.Filters == nil {
			change.Filters = map[string]json.RawMessage{}
		}
		change.Filters[p] = f
	}
	_, err := s.Client.SignalWithStartWorkflow(ctx, workflows.TenantWorkflowID(id), workflows.SignalTenantChange, change,
		client.StartWorkflowOptions{
			TaskQueue:                s.TaskQueue,
			WorkflowIDConflictPolicy: enums.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
			StaticSummary:            "hookflow tenant " + id,
		}, workflows.Tenant, workflows.TenantInput{})
	if err != nil {
		return fmt.Errorf("store tenant %s: %w", id, err)
	}
	return nil
}

// Remove removes runtime tenant id: its deliveries get 401 once the
// receivers have seen it gone.
func (s *Store) Remove(ctx context.Context, id string) error {
	if err := s.check(id); err != nil && !errors.Is(err, ErrNoKey) {
		return err
	}
	err := s.Client.SignalWorkflow(ctx, workflows.TenantWorkflowID(id), "", workflows.SignalTenantChange, workflows.TenantChange{Remove: true})
	var notFound *serviceerror.NotFound
	if errors.As(err, &notFound) {
		return ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("remove tenant %s: %w", id, err)
	}
	return nil
}

// record is runtime tenant id's record, from its workflow (not visibility:
// a change signalled before is there once the workflow has taken it).
func (s *Store) record(ctx context.Context, id string) (workflows.TenantRecord, error) {
	v, err := s.Client.QueryWorkflow(ctx, workflows.TenantWorkflowID(id), "", workflows.QueryTenant)
	var notFound *serviceerror.NotFound
	if errors.As(err, &notFound) {
		return workflows.TenantRecord{}, ErrNotFound
	}
	if err != nil {
		return workflows.TenantRecord{}, fmt.Errorf("read tenant %s: %w", id, err)
	}
	var rec workflows.TenantRecord
	if err := v.Get(&rec); err != nil {
		return workflows.TenantRecord{}, fmt.Errorf("read tenant %s: %w", id, err)
	}
	d, err := s.Client.DescribeWorkflowExecution(ctx, workflows.TenantWorkflowID(id), "")
	if err == nil && d.GetWorkflowExecutionInfo().GetStatus() != enums.WORKFLOW_EXECUTION_STATUS_RUNNING {
		return workflows.TenantRecord{}, ErrNotFound // removed: its last run answers queries still
	}
	return rec, nil
}

// Get tells of tenant id, from the file or at runtime.
func (s *Store) Get(ctx context.Context, id string) (Tenant, error) {
	if !event.ValidTenantID(id) {
		return Tenant{}, ErrBadID
	}
	if t, ok := s.fileTenant(id); ok {
		return fromFile(t), nil
	}
	rec, err := s.record(ctx, id)
	if err != nil {
		return Tenant{}, err
	}
	return fromRecord(rec), nil
}

// List tells of every tenant: the file's, then the runtime ones, by ID.
func (s *Store) List(ctx context.Context) ([]Tenant, error) {
	var out []Tenant
	for _, t := range s.File {
		out = append(out, fromFile(t))
	}
	recs, err := s.Records(ctx)
	if err != nil {
		return nil, err
	}
	for _, r := range recs {
		if _, ok := s.fileTenant(r.ID); !ok {
			out = append(out, fromRecord(r))
		}
	}
	return out, nil
}

// Records are the running Tenant workflows' records, from their memos in
// visibility, by ID.
func (s *Store) Records(ctx context.Context) ([]workflows.TenantRecord, error) {
	query := fmt.Sprintf("WorkflowType = %q AND ExecutionStatus = 'Running'", workflows.TenantWorkflowType)
	var recs []workflows.TenantRecord
	var token []byte
	for {
		resp, err := s.Client.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Namespace: s.Namespace, Query: query, PageSize: 1000, NextPageToken: token,
		})
		if err != nil {
			return nil, fmt.Errorf("list tenants: %w", err)
		}
		for _, ex := range resp.GetExecutions() {
			id := strings.TrimPrefix(ex.GetExecution().GetWorkflowId(), workflows.TenantWorkflowID(""))
			rec := workflows.TenantRecord{ID: id}
			if p := ex.GetMemo().GetFields()[workflows.MemoTenantKey]; p != nil {
				if err := converter.GetDefaultDataConverter().FromPayload(p, &rec); err != nil {
					continue // not ours to read: listed as having nothing
				}
				rec.ID = id
			}
			if event.ValidTenantID(id) {
				recs = append(recs, rec)
			}
		}
		token = resp.GetNextPageToken()
		if len(token) == 0 || len(recs) >= MaxTenants {
			break
		}
	}
	sort.Slice(recs, func(i, j int) bool { return recs[i].ID < recs[j].ID })
	return recs, nil
}

// Open is rec as a configuration tenant, its secrets in clear, and its
// access tokens. A value no key opens is left out and named in the error,
// never shown.
func (s *Store) Open(rec workflows.TenantRecord) (config.Tenant, map[string]string, error) {
	t := config.Tenant{ID: rec.ID, Secrets: map[string]config.Secrets{}}
	tokens := map[string]string{}
	var errs []error
	for p, sealed := range rec.Secrets {
		for _, v := range sealed {
			secret, err := s.Keys.Open(v, sealContext(rec.ID, p, "secret"))
			if err != nil {
				errs = append(errs, fmt.Errorf("tenant %s: a %s secret: %w", rec.ID, p, err))
				continue
			}
			t.Secrets[p] = append(t.Secrets[p], secret)
		}
	}
	for p, v := range rec.AccessTokens {
		token, err := s.Keys.Open(v, sealContext(rec.ID, p, "token"))
		if err != nil {
			errs = append(errs, fmt.Errorf("tenant %s: the %s access token: %w", rec.ID, p, err))
			continue
		}
		tokens[p] = token
	}
	return t, tokens, errors.Join(errs...)
}

// Secrets are tenant's webhook secrets of provider in clear, newest first:
// a runtime tenant's from its workflow, a file tenant's from the file.
func (s *Store) Secrets(ctx context.Context, tenant, provider string) ([]string, error) {
	if t, ok := s.fileTenant(tenant); ok {
		return slices.Clone(t.Secrets[provider]), nil
	}
	if s.Keys.Empty() {
		return nil, permanent{fmt.Errorf("tenant %s: %w", tenant, ErrNoKey)}
	}
	rec, err := s.record(ctx, tenant)
	if err != nil {
		return nil, classify(err)
	}
	t, _, err := s.Open(workflows.TenantRecord{ID: rec.ID, Secrets: map[string][]string{provider: rec.Secrets[provider]}})
	return t.Secrets[provider], classify(err)
}

// SetSecrets makes secrets tenant's webhook secrets of provider, and
// returns once the tenant's workflow has taken them, so that a Secrets
// after it reads them (a signal is applied after it is accepted).
func (s *Store) SetSecrets(ctx context.Context, tenant, provider string, secrets []string) error {
	ctx, cancel := context.WithTimeout(ctx, setSecretsWait)
	defer cancel()
	_, err := s.Apply(ctx, tenant, Change{Secrets: map[string][]string{provider: secrets}})
	return classify(err)
}

// ErrNotTaken is Apply's when its context ends before the tenant's
// workflow took the change, which is stored all the same.
var ErrNotTaken = errors.New("stored, but not yet taken by its workflow (is a worker running?)")

// Apply is Put, then the tenant as its workflow has it once it has taken
// the change: the first revision after the one before the Put.
func (s *Store) Apply(ctx context.Context, id string, c Change) (Tenant, error) {
	var before int64
	if t, err := s.Get(ctx, id); err == nil {
		before = t.Revision
	} else if !errors.Is(err, ErrNotFound) {
		return Tenant{}, err
	}
	if err := s.Put(ctx, id, c); err != nil {
		return Tenant{}, err
	}
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		if t, err := s.Get(ctx, id); err == nil && t.Revision > before {
			return t, nil
		}
		select {
		case <-ctx.Done():
			return Tenant{}, fmt.Errorf("tenant %s: %w", id, ErrNotTaken)
		case <-tick.C:
		}
	}
}

// setSecretsWait bounds how long SetSecrets waits for the workflow.
const setSecretsWait = 10 * time.Second

// AccessToken is tenant's API token of provider in clear; "" when none.
func (s *Store) AccessToken(ctx context.Context, tenant, provider string) (string, error) {
	if t, ok := s.fileTenant(tenant); ok {
		if tokens := t.AccessTokens[provider]; len(tokens) > 0 {
			return tokens[0], nil
		}
		return "", nil
	}
	rec, err := s.record(ctx, tenant)
	if err != nil {
		return "", classify(err)
	}
	if rec.AccessTokens[provider] == "" {
		return "", nil
	}
	if s.Keys.Empty() {
		return "", permanent{fmt.Errorf("tenant %s: %w", tenant, ErrNoKey)}
	}
	_, tokens, err := s.Open(workflows.TenantRecord{ID: rec.ID, AccessTokens: map[string]string{provider: rec.AccessTokens[provider]}})
	return tokens[provider], classify(err)
}

// Filters are tenant's filters of provider, as a connection registers
// them; nil when it has none.
func (s *Store) Filters(ctx context.Context, tenant, provider string) (json.RawMessage, error) {
	if t, ok := s.fileTenant(tenant); ok {
		return t.Filters[provider], nil
	}
	rec, err := s.record(ctx, tenant)
	if err != nil {
		return nil, err
	}
	return rec.Filters[provider], nil
}

func fromFile(t config.Tenant) Tenant {
	out := Tenant{ID: t.ID, Source: "file", Providers: map[string]int{}, Filters: t.Filters}
	for p, secrets := range t.Secrets {
		out.Providers[p] = len(secrets)
	}
	for p := range t.AccessTokens {
		out.AccessTokens = append(out.AccessTokens, p)
	}
	sort.Strings(out.AccessTokens)
	return out
}

func fromRecord(r workflows.TenantRecord) Tenant {
	out := Tenant{ID: r.ID, Source: "runtime", Providers: map[string]int{}, Filters: r.Filters, Revision: r.Revision, Updated: r.Updated}
	for p, secrets := range r.Secrets {
		out.Providers[p] = len(secrets)
	}
	for p := range r.AccessTokens {
		out.AccessTokens = append(out.AccessTokens, p)
	}
	sort.Strings(out.AccessTokens)
	return out
}

// clip bounds a caller's string in an error.
func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}
