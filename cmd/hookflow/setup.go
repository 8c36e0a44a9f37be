package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/hookflow/hookflow/internal/process/searchattr"
)

func newSetupCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "setup",
		Short: "Register hookflow's search attributes on a Temporal cluster (safe to run twice)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, tc, err := a.dial(newLogger(), nil, nil)
			if err != nil {
				return err
			}
			defer tc.Close()
			added, err := searchattr.Register(cmd.Context(), tc, cfg.TemporalNamespace)
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
