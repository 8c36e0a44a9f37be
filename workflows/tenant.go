package workflows

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/hookflow/hookflow/event"
)

// A runtime tenant (contract section 18) is one Tenant workflow, ID
// tenant:<id>, added, changed and removed through the admin API or
// `hookflow tenants`. Temporal is its only store: the record lives in the
// run's state and, for the receivers and workers that list tenants, in its
// memo. Its secrets arrive sealed (internal/seal) and stay sealed here:
// no history, memo or query answer holds one in clear.

// TenantWorkflowType is the type a runtime tenant's workflow runs as.
const TenantWorkflowType = "Tenant"

// SignalTenantChange carries a TenantChange; QueryTenant returns the
// TenantRecord; MemoTenantKey holds it in the memo.
const (
	SignalTenantChange = "tenant-change"
	QueryTenant        = "tenant"
	MemoTenantKey      = "tenant"
)

// tenantWorkflowIDPrefix starts every runtime tenant's workflow ID. No
// entity's ID starts so: an entity's begins with its provider's name,
// then '-'.
const tenantWorkflowIDPrefix = "tenant:"

// TenantWorkflowID is the workflow ID of runtime tenant id.
func TenantWorkflowID(id string) string { return tenantWorkflowIDPrefix + id }

// Bounds of a runtime tenant's record, which every receiver lists: a
// change past one is rejected whole.
const (
	MaxTenantProviders      = 16   // providers with secrets or a token
	MaxTenantSecrets        = 4    // secrets of one provider, rotation included
	MaxTenantSealedBytes    = 2048 // one sealed value
	MaxTenantFilterBytes    = MaxConnectionFilters
	maxTenantChangesPerRun  = 500 // then the run continues as new
	maxTenantProviderLength = 64
)

// TenantRecord is a runtime tenant as stored: every secret and token
// sealed, bound to the tenant and its provider.
type TenantRecord struct {
	ID string `json:"id"`
	// Secrets are the sealed webhook secrets by provider, the newest
	// first; each one verifies (rotation).
	Secrets map[string][]string `json:"secrets,omitempty"`
	// AccessTokens are the sealed API tokens by provider that a connection
	// registers webhooks with (Fenix's store access token).
	AccessTokens map[string]string `json:"accessTokens,omitempty"`
	// Filters are the providers' filters a connection registers (Fenix's
	// carriers and statuses), JSON, not secret.
	Filters map[string]json.RawMessage `json:"filters,omitempty"`
	// Revision counts the changes applied; Updated is when the last was.
	Revision int64     `json:"revision"`
	Updated  time.Time `json:"updated"`
}

// TenantChange is one change of a runtime tenant. Remove ends the tenant;
// Replace makes Secrets and AccessTokens the whole record; otherwise each
// provider named gets the values given, and an empty list or token
// removes that provider's.
type TenantChange struct {
	Remove       bool                       `json:"remove,omitempty"`
	Replace      bool                       `json:"replace,omitempty"`
	Secrets      map[string][]string        `json:"secrets,omitempty"`
	AccessTokens map[string]string          `json:"accessTokens,omitempty"`
	Filters      map[string]json.RawMessage `json:"filters,omitempty"`
}

// TenantInput is the input of a run of a Tenant workflow: the record as
// it stands (empty at the first run, carried by continue-as-new).
type TenantInput struct {
	Record TenantRecord `json:"record"`
}

// Tenant is the workflow of one runtime tenant: it applies changes in the
// order they arrive, keeps the record in its memo, and ends on a Remove.
// A change that cannot be decoded, or breaks a bound, is logged and
// dropped: the record stays as it was.
func Tenant(ctx workflow.Context, in TenantInput) error {
	rec := in.Record
	rec.ID = strings.TrimPrefix(workflow.GetInfo(ctx).WorkflowExecution.ID, tenantWorkflowIDPrefix)
	if err := workflow.SetQueryHandler(ctx, QueryTenant, func() (TenantRecord, error) { return rec, nil }); err != nil {
		return err
	}
	log := workflow.GetLogger(ctx)
	changes := workflow.GetSignalChannel(ctx, SignalTenantChange)
	removed := false
	for applied := 0; ; {
		// Wait for a change, then take every one there is, in order. A
		// cancel (the Temporal UI's) ends the run, as a removal does: the
		// receivers drop a tenant whose workflow is not running.
		workflow.NewSelector(ctx).
			AddReceive(changes, func(workflow.ReceiveChannel, bool) {}).
			AddReceive(ctx.Done(), func(workflow.ReceiveChannel, bool) {}).
			Select(ctx)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		for changes.Len() > 0 {
			raw, ok := takeSignal(changes)
			if !ok {
				log.Warn("tenant change dropped: payload could not be decoded")
				continue
			}
			change, err := decodeSignal[TenantChange](raw)
			if err == nil {
				err = change.check()
			}
			if err != nil {
				log.Warn("tenant change dropped", "reason", err.Error())
				continue
			}
			if change.Remove {
				// Ended, unless a later change in this batch adds the
				// tenant again: a new tenant, with nothing of the old.
				removed, rec = true, TenantRecord{ID: rec.ID, Revision: rec.Revision}
				continue
			}
			removed = false
			rec = rec.apply(change, workflow.Now(ctx))
			applied++
		}
		if removed {
			return nil
		}
		if err := workflow.UpsertMemo(ctx, map[string]any{MemoTenantKey: rec}); err != nil {
			return err
		}
		if applied >= maxTenantChangesPerRun {
			return workflow.NewContinueAsNewError(ctx, Tenant, TenantInput{Record: rec})
		}
	}
}

// check refuses a change past the record's bounds.
func (c TenantChange) check() error {
	providers := map[string]bool{}
	for _, p := range sortedKeys(c.Secrets) {
		secrets := c.Secrets[p]
		providers[p] = true
		if len(secrets) > MaxTenantSecrets {
			return fmt.Errorf("provider %.64q: %d secrets, at most %d", p, len(secrets), MaxTenantSecrets)
		}
		for _, s := range secrets {
			if len(s) == 0 || len(s) > MaxTenantSealedBytes {
				return fmt.Errorf("provider %.64q: a sealed secret of %d bytes (1 to %d)", p, len(s), MaxTenantSealedBytes)
			}
		}
	}
	for _, p := range sortedKeys(c.AccessTokens) {
		token := c.AccessTokens[p]
		providers[p] = true
		if len(token) > MaxTenantSealedBytes {
			return fmt.Errorf("provider %.64q: a sealed token of %d bytes (at most %d)", p, len(token), MaxTenantSealedBytes)
		}
	}
	for _, p := range sortedKeys(c.Filters) {
		providers[p] = true
		if len(c.Filters[p]) > MaxTenantFilterBytes {
			return fmt.Errorf("provider %.64q: filters of %d bytes (at most %d)", p, len(c.Filters[p]), MaxTenantFilterBytes)
		}
	}
	if len(providers) > MaxTenantProviders {
		return fmt.Errorf("%d providers, at most %d", len(providers), MaxTenantProviders)
	}
	for _, p := range sortedKeys(providers) {
		if p == "" || len(p) > maxTenantProviderLength || !event.ValidTenantID(p) {
			return fmt.Errorf("provider %.64q is not a provider name", p)
		}
	}
	return nil
}

// apply is the record after change c, made at now.
func (r TenantRecord) apply(c TenantChange, now time.Time) TenantRecord {
	next := TenantRecord{ID: r.ID, Secrets: map[string][]string{}, AccessTokens: map[string]string{}, Filters: map[string]json.RawMessage{},
		Revision: r.Revision + 1, Updated: now}
	if !c.Replace {
		for _, p := range sortedKeys(r.Secrets) {
			next.Secrets[p] = r.Secrets[p]
		}
		for _, p := range sortedKeys(r.AccessTokens) {
			next.AccessTokens[p] = r.AccessTokens[p]
		}
		for _, p := range sortedKeys(r.Filters) {
			next.Filters[p] = r.Filters[p]
		}
	}
	for _, p := range sortedKeys(c.Filters) {
		if len(c.Filters[p]) == 0 {
			delete(next.Filters, p)
		} else {
			next.Filters[p] = slices.Clone(c.Filters[p])
		}
	}
	for _, p := range sortedKeys(c.Secrets) {
		s := c.Secrets[p]
		if len(s) == 0 {
			delete(next.Secrets, p)
		} else {
			next.Secrets[p] = slices.Clone(s)
		}
	}
	for _, p := range sortedKeys(c.AccessTokens) {
		t := c.AccessTokens[p]
		if t == "" {
			delete(next.AccessTokens, p)
		} else {
			next.AccessTokens[p] = t
		}
	}
	// A merge may bring the record past the bound a change alone kept.
	if (TenantChange{Secrets: next.Secrets, AccessTokens: next.AccessTokens, Filters: next.Filters}).check() != nil {
		return r
	}
	return next
}
