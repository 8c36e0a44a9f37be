// Package operate signals entity workflows on an operator's behalf
// (`hookflow reprocess` and `redeliver`): it resolves the targets, by
// workflow ID, by provider and entity, or by a Temporal visibility query,
// and signals each through the Starter (SignalWithStart, so a closed entity
// gets a new run) at a bounded rate.
package operate

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/hookflow/hookflow/config"
	"github.com/hookflow/hookflow/event"
	"github.com/hookflow/hookflow/providers"
	"github.com/hookflow/hookflow/receivers/starter"
	"github.com/hookflow/hookflow/workflows"
)

// Selection is how an operator names the target workflows: exactly one of
// IDs, Provider with Entity, or Query. Its errors name the commands' flags.
type Selection struct {
	// IDs are workflow IDs, or workflow IDs that write their entity ID as
	// it is ("phoenix-order:Müller"), resolved through Providers.
	IDs       []string
	Providers *providers.Registry
	Provider  string // with Entity: that provider's workflows of the entity ID
	Entity    string
	// File, with Provider, names a file of entity IDs to backfill, one a
	// line ("-" for the standard input Batch.Run is given): each one's
	// workflow is signalled, and started where there is none yet.
	File  string
	Query string // a Temporal visibility query
	// Tenant, when set, keeps the selection to that tenant's entities
	// (contract section 17): Provider with Entity and Query find only
	// workflows whose search attribute Tenant is Tenant, File names the
	// tenant's workflow IDs, and IDs of the default tenant are taken as
	// the tenant's (see ForTenant).
	Tenant string
}

// CheckTenant returns an error naming the --tenant flag unless tenant is
// "" or a valid tenant ID.
func CheckTenant(tenant string) error {
	if tenant == "" || event.ValidTenantID(tenant) {
		return nil
	}
	return fmt.Errorf("--tenant %q is not a tenant ID (lower-case letters, digits, '.' and '-', at most %d bytes, like wearhumans.myshopify.com)", tenant, event.MaxTenantIDBytes)
}

// ForTenant is the workflow ID of the entity id names, as tenant's: a
// default-tenant entity workflow ID is made tenant's
// (fenix-shipment:1 becomes fenix-shipment@a:1), and one of tenant's is
// itself. One of another tenant, or an ID that names no entity of reg, is
// an error: the tenant cannot be guessed. With tenant "", id is resolved
// as operators may write it (reg.WorkflowID) and nothing is refused.
func ForTenant(reg *providers.Registry, tenant, id string) (string, error) {
	if tenant == "" {
		return reg.WorkflowID(id), nil
	}
	if err := CheckTenant(tenant); err != nil {
		return "", err
	}
	has, provider, entityType, entityID, ok := reg.ParseTenantWorkflowID(id)
	switch {
	case !ok:
		return "", fmt.Errorf("%s is not an entity workflow ID (provider-type:id) that --tenant could apply to", id)
	case has != "" && has != tenant:
		return "", fmt.Errorf("%s is tenant %s's entity, not %s's", id, has, tenant)
	}
	return event.TenantWorkflowID(tenant, provider, entityType, entityID), nil
}

// Targets resolves s to distinct workflow IDs, in the order given or found.
// stdin is read when s.File is "-".
func Targets(ctx context.Context, tc client.Client, namespace string, s Selection, stdin io.Reader) ([]string, error) {
	ways := 0
	for _, used := range []bool{len(s.IDs) > 0, s.Provider != "" || s.Entity != "" || s.File != "", s.Query != ""} {
		if used {
			ways++
		}
	}
	if ways != 1 {
		return nil, errors.New("give workflow IDs, or --provider with --entity or --file, or --query (exactly one of them)")
	}
	if err := CheckTenant(s.Tenant); err != nil {
		return nil, err
	}
	switch {
	case s.File != "":
		return backfillTargets(s, stdin)
	case len(s.IDs) > 0:
		ids := make([]string, len(s.IDs))
		for i, id := range s.IDs {
			var err error
			if ids[i], err = ForTenant(s.Providers, s.Tenant, id); err != nil {
				return nil, err
			}
		}
		return distinct(ids), nil
	case s.Query != "":
		query, err := tenantQuery(s.Tenant, s.Query)
		if err != nil {
			return nil, err
		}
		return listWorkflowIDs(ctx, tc, namespace, query)
	}
	if s.Provider == "" || s.Entity == "" {
		return nil, errors.New("--provider and --entity go together")
	}
	query, err := tenantQuery(s.Tenant, fmt.Sprintf("WebhookProvider = %q AND EntityID = %q", s.Provider, s.Entity))
	if err != nil {
		return nil, err
	}
	ids, err := listWorkflowIDs(ctx, tc, namespace, query)
	if err != nil {
		return nil, err
	}
	if len(ids) == 0 && s.Tenant != "" {
		return nil, fmt.Errorf("no %s workflow of tenant %s has entity ID %q", s.Provider, s.Tenant, s.Entity)
	}
	if len(ids) == 0 {
		return nil, fmt.Errorf("no %s workflow has entity ID %q", s.Provider, s.Entity)
	}
	return ids, nil
}

// tenantQuery is query kept to tenant's entity workflows, as the admin
// API keeps a tenant token's listings (EntityQuery), or query itself for
// tenant "", as an operator wrote it.
func tenantQuery(tenant, query string) (string, error) {
	if tenant == "" {
		return query, nil
	}
	return EntityQuery(tenant, query)
}

// backfillTargets are the workflow IDs of s.Entities, entities of
// s.Provider, whether their workflows exist or not: a backfill imports
// entities hookflow has never heard of, so it cannot look them up. The
// provider must have one entity type, and an API to read their status from.
func backfillTargets(s Selection, stdin io.Reader) ([]string, error) {
	if s.Provider == "" || s.Entity != "" {
		return nil, errors.New("--file goes with --provider, and without --entity")
	}
	entities, err := readEntityFile(s.File, stdin)
	if err != nil {
		return nil, err
	}
	p, err := s.Providers.Lookup(s.Provider)
	if err != nil {
		return nil, err
	}
	if len(p.Tables) != 1 {
		return nil, fmt.Errorf("--file: %s has %d entity types; give workflow IDs instead", p.Name, len(p.Tables))
	}
	var ids []string
	for entityType, table := range p.Tables { // the one entry
		if !table.API {
			return nil, fmt.Errorf("--file: %s has no API to read its %ss' status from, so a backfill would start them empty", p.Name, entityType)
		}
		for i, id := range entities {
			if !event.UsableID(id, event.MaxEntityIDBytes) {
				return nil, fmt.Errorf("--file entry %d: %q is not an entity ID the receivers would take (1 to %d bytes, printable)", i+1, id, event.MaxEntityIDBytes)
			}
			ids = append(ids, event.TenantWorkflowID(s.Tenant, p.Name, entityType, id))
		}
	}
	return distinct(ids), nil
}

// readEntityFile reads a backfill's entity IDs from path, or from stdin
// for "-".
func readEntityFile(path string, stdin io.Reader) ([]string, error) {
	if path == "-" {
		return readEntityIDs(stdin)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("--file: %w", err)
	}
	defer f.Close()
	return readEntityIDs(f)
}

// readEntityIDs reads a backfill file: one entity ID a line, blank lines
// skipped, spaces and tabs around an ID dropped.
func readEntityIDs(r io.Reader) ([]string, error) {
	ids := []string{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if id := strings.Trim(sc.Text(), " \t\r"); id != "" {
			ids = append(ids, id)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read entity IDs: %w", err)
	}
	return ids, nil
}

// listWorkflowIDs pages through a visibility query; runs of one workflow
// count once.
func listWorkflowIDs(ctx context.Context, tc client.Client, namespace, query string) ([]string, error) {
	var ids []string
	var token []byte
	for {
		resp, err := tc.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Namespace: namespace, Query: query, PageSize: 1000, NextPageToken: token,
		})
		if err != nil {
			return nil, fmt.Errorf("visibility query %s: %w", query, err)
		}
		for _, ex := range resp.GetExecutions() {
			ids = append(ids, ex.GetExecution().GetWorkflowId())
		}
		if token = resp.GetNextPageToken(); len(token) == 0 {
			return distinct(ids), nil
		}
	}
}

func distinct(ids []string) []string {
	seen := map[string]bool{}
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

// Signal is what each target is sent: the signal's name and its payload,
// which carries the run's request ID.
type Signal struct {
	Name    string
	Done    string // the summary's verb: "reprocessed"
	Payload func(requestID string) any
}

// Reprocess is `hookflow reprocess`'s signal: the provider API queried
// again where one exists and the current state's handling re-applied, with
// reason recorded.
func Reprocess(reason string) Signal {
	return Signal{Name: workflows.SignalReprocess, Done: "reprocessed", Payload: func(requestID string) any {
		return workflows.ReprocessRequest{RequestID: requestID, Reason: reason}
	}}
}

// Redeliver is `hookflow redeliver`'s signal: every failed delivery goes
// again, in order, and the transitions queued behind it follow; only the
// named destination's when destination is set.
func Redeliver(destination string) Signal {
	return Signal{Name: workflows.SignalRedeliver, Done: "redelivered", Payload: func(requestID string) any {
		return workflows.RedeliverRequest{RequestID: requestID, Destination: destination}
	}}
}

// CheckDestination reports an error naming the known destinations unless
// name is "" (every destination) or one of cfg's.
func CheckDestination(cfg *config.Config, name string) error {
	if name == "" {
		return nil
	}
	var names []string
	for _, d := range cfg.Destinations() {
		names = append(names, d.Name)
	}
	if cfg.HandlerQueue != "" {
		names = append(names, config.HandlerDestination)
	}
	if slices.Contains(names, name) {
		return nil
	}
	if len(names) == 0 {
		return fmt.Errorf("unknown destination %q: no destination is configured", name)
	}
	return fmt.Errorf("unknown destination %q (one of %s)", name, strings.Join(names, ", "))
}

// Failure is one target whose signal failed.
type Failure struct {
	WorkflowID string
	Err        error
}

// Sender signals entity workflows through the process's Starter. Providers
// parse the workflow IDs: configured providers count, since their names
// may hold hyphens and a new run needs their table.
type Sender struct {
	Starter   starter.Starter
	Providers *providers.Registry
	Rate      float64 // signals per second; must be positive
}

// Send signals each target in turn, Rate a second, and calls progress with
// the number done after each. It returns the run's request ID and the
// targets that failed, in order; its error is ctx's when it ends first.
func (s Sender) Send(ctx context.Context, targets []string, sig Signal, progress func(done int)) (requestID string, failed []Failure, err error) {
	tick := time.NewTicker(time.Duration(float64(time.Second) / s.Rate))
	defer tick.Stop()
	requestID = sig.Name + "-" + time.Now().UTC().Format("20060102T150405Z") + "-" + randomHex(3)
	for i, id := range targets {
		if i > 0 {
			select {
			case <-ctx.Done():
				return requestID, failed, ctx.Err()
			case <-tick.C:
			}
		}
		if err := s.signal(ctx, id, sig.Name, sig.Payload(requestID)); err != nil {
			failed = append(failed, Failure{WorkflowID: id, Err: err})
		}
		progress(i + 1)
	}
	return requestID, failed, nil
}

// signal signals one entity workflow, starting a new run if it closed.
func (s Sender) signal(ctx context.Context, workflowID, signal string, payload any) error {
	tenant, provider, entityType, entityID, ok := s.Providers.ParseTenantWorkflowID(workflowID)
	if !ok {
		if _, _, _, form := event.ParseWorkflowID(workflowID); form {
			return fmt.Errorf("hookflow has no provider entities of the kind %s names", workflowID)
		}
		return fmt.Errorf("not an entity workflow ID (want provider-type:id)")
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	_, err := s.Starter.SignalTenant(ctx, tenant, provider, entityType, entityID, signal, payload)
	return err
}

// randomHex is n random bytes in hex, for request IDs.
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
