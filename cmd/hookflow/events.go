package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

func newEventsCmd(a *app) *cobra.Command {
	var asJSON bool
	var tenant string
	cmd := &cobra.Command{
		Use:   "events <workflow-id>",
		Short: "List the events an entity workflow received and what became of each",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			rep, err := a.report(cmd.Context(), args[0], tenant)
			if err != nil {
				return err
			}
			// The events are as of the note's time when the workflow did not
			// answer. --json keeps printing the bare list scripts expect, so
			// its note goes to stderr.
			note := rep.Note()
			if asJSON {
				if note != "" {
					fmt.Fprintln(cmd.ErrOrStderr(), "note: "+note)
				}
				return writeJSON(cmd.OutOrStdout(), rep.State.Events)
			}
			if note != "" {
				fmt.Fprintln(cmd.OutOrStdout(), "note: "+note)
			}
			return rep.WriteEvents(cmd.OutOrStdout())
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the events as JSON")
	addTenantFlag(cmd, &tenant)
	return cmd
}
