package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/hookflow/hookflow/workflows"
)

func newSetupCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "setup",
		Short: "Register hookflow's search attributes on a Temporal cluster (safe to run twice)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, tc, err := a.dial(newLogger(), nil)
			if err != nil {
				return err
			}
			defer tc.Close()
			added, err := registerSearchAttributes(cmd.Context(), tc, cfg.TemporalNamespace)
			if err != nil {
				return err
			}
			if len(added) == 0 {
				fmt.Fprintln(cmd.OutOrStdout(), "search attributes already registered")
			} else {
				fmt.Fprintln(cmd.OutOrStdout(), "registered search attributes:", strings.Join(added, ", "))
			}
			return nil
		},
	}
}

// registerSearchAttributes adds the search attributes hookflow needs that the
// namespace lacks, waits until visibility queries accept them (registration
// takes effect asynchronously), and returns the names it added.
func registerSearchAttributes(ctx context.Context, tc client.Client, namespace string) ([]string, error) {
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
	return added, waitSearchAttributes(ctx, tc, namespace)
}

// waitSearchAttributes polls a visibility query naming every attribute until
// the server accepts it.
func waitSearchAttributes(ctx context.Context, tc client.Client, namespace string) error {
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
