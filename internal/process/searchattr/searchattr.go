// Package searchattr registers and checks the search attributes hookflow
// needs on its Temporal namespace: `hookflow setup` adds them, and serve,
// worker and dev wait for them (or say which are missing) before they start.
package searchattr

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/hookflow/hookflow/workflows"
)

// Register adds the search attributes hookflow needs that the
// namespace lacks, waits until visibility queries accept them (registration
// takes effect asynchronously), and returns the names it added.
func Register(ctx context.Context, tc client.Client, namespace string) ([]string, error) {
	existing, err := tc.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: namespace})
	if err != nil {
		return nil, fmt.Errorf("list search attributes of namespace %s: %w", namespace, err)
	}
	missing := map[string]enums.IndexedValueType{}
	var added []string
	for _, key := range workflows.SearchAttributes() {
		if _, ok := existing.GetCustomAttributes()[key.GetName()]; ok {
			continue
		}
		missing[key.GetName()] = key.GetValueType()
		added = append(added, key.GetName())
	}
	if len(missing) > 0 {
		_, err := tc.OperatorService().AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{
			Namespace: namespace, SearchAttributes: missing,
		})
		if err != nil {
			return nil, fmt.Errorf("add search attributes %s to namespace %s: %w", strings.Join(added, ", "), namespace, err)
		}
	}
	return added, wait(ctx, tc, namespace)
}

// wait polls a visibility query naming every attribute until
// the server accepts it.
func wait(ctx context.Context, tc client.Client, namespace string) error {
	var terms []string
	for _, key := range workflows.SearchAttributes() {
		if key.GetValueType() == enums.INDEXED_VALUE_TYPE_BOOL {
			terms = append(terms, key.GetName()+" = false")
		} else {
			terms = append(terms, key.GetName()+` = "x"`)
		}
	}
	query := strings.Join(terms, " AND ")
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, err := tc.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Namespace: namespace, Query: query, PageSize: 1})
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("search attributes not usable after 30s: %w", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// ErrTemporalUnreachable is returned by Check when Temporal
// does not answer, so the caller can choose to start without the check.
var ErrTemporalUnreachable = errors.New("temporal does not answer")

// MissingError says which of hookflow's search attributes a
// namespace lacks; `hookflow setup` adds them.
type MissingError struct {
	Namespace string
	Names     []string
}

func (e *MissingError) Error() string {
	what := "search attribute " + e.Names[0] + " is"
	if len(e.Names) > 1 {
		what = "search attributes " + strings.Join(e.Names, ", ") + " are"
	}
	return fmt.Sprintf("%s not registered in namespace %s; run `hookflow setup` first", what, e.Namespace)
}

// Check makes sure the namespace has every search attribute
// the workflows set, with its type: without them each workflow task that
// sets one fails, over and over, and receivers keep accepting events that
// are never processed. It returns a *MissingError naming the
// missing ones, or an error wrapping ErrTemporalUnreachable.
func Check(ctx context.Context, tc client.Client, namespace string) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	resp, err := tc.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: namespace})
	if err != nil {
		var unavailable *serviceerror.Unavailable
		var deadline *serviceerror.DeadlineExceeded
		if errors.As(err, &unavailable) || errors.As(err, &deadline) || errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("%w: %w", ErrTemporalUnreachable, err)
		}
		return fmt.Errorf("check search attributes of namespace %s: %w", namespace, err)
	}
	var missing []string
	for _, key := range workflows.SearchAttributes() {
		got, ok := resp.GetCustomAttributes()[key.GetName()]
		if !ok {
			missing = append(missing, key.GetName())
			continue
		}
		if got != key.GetValueType() {
			return fmt.Errorf("search attribute %s in namespace %s has type %s, hookflow needs %s", key.GetName(), namespace, got, key.GetValueType())
		}
	}
	if len(missing) > 0 {
		return &MissingError{Namespace: namespace, Names: missing}
	}
	return nil
}

// Await checks the search attributes once Temporal answers,
// for a process that started while it did not; it returns nil when ctx ends
// first.
func Await(ctx context.Context, tc client.Client, namespace string) error {
	wait := time.Second
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
		err := Check(ctx, tc, namespace)
		if !errors.Is(err, ErrTemporalUnreachable) {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		wait = min(2*wait, 15*time.Second)
	}
}

// CheckOrLater is the receivers' start-up check: they start
// while Temporal is away (and answer 503, so providers retry). When Temporal
// does not answer, it logs so and returns nil, the check running in the
// background once Temporal answers, with failed called if it fails then.
// Any other failure of the check is returned.
func CheckOrLater(ctx context.Context, tc client.Client, namespace string, log *slog.Logger, failed func(error)) error {
	err := Check(ctx, tc, namespace)
	if !errors.Is(err, ErrTemporalUnreachable) {
		return err
	}
	log.Warn("temporal does not answer: receivers answer 503 until it does; search attributes will be checked then", "error", err.Error())
	go func() {
		if err := Await(ctx, tc, namespace); err != nil {
			failed(err)
		}
	}()
	return nil
}
