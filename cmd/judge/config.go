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
		Short: "Check a canary config (YAML or JSON, native or Kayenta) and print every problem found, each with its line and column",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := loadCanaryConfig(args[0])
			if err != nil {
				return dataError(err)
			}
			metrics := fmt.Sprintf("%d metrics", len(cfg.Metrics))
			if len(cfg.Metrics) == 1 {
				metrics = "1 metric"
			}
			judge := string(cfg.Judge)
			if cfg.KayentaJudge != "" {
				judge += fmt.Sprintf(" for %s; judge serve's kayenta-aca-judge setting chooses which judge serves it", cfg.KayentaJudge)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: valid (%s, judge %s)\n", args[0], metrics, judge)
			return nil
		},
	})
	return cmd
}
