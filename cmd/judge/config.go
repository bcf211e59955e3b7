package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

func newConfigCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Work with canary configs",
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "validate FILE",
		Short: "Check a canary config and print every problem found",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := loadCanaryConfig(args[0])
			if err != nil {
				return dataError(err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: valid (%d metrics, judge %s)\n", args[0], len(cfg.Metrics), cfg.Judge)
			return nil
		},
	})
	return cmd
}
