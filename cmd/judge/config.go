package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/canaryjudge/judge/kayenta"
	"github.com/canaryjudge/judge/verdict"
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
			raw, err := readBounded(args[0])
			if err != nil {
				return dataError(err)
			}
			cfg, err := kayenta.ParseConfig(raw, args[0])
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
			if diffs := kayenta.Differences(raw, verdict.JudgeDefault); len(diffs) > 0 {
				fmt.Fprintln(cmd.OutOrStdout(), "differences from Kayenta:")
				for _, d := range diffs {
					fmt.Fprintln(cmd.OutOrStdout(), "  -", printable(d))
				}
			}
			return nil
		},
	})
	return cmd
}
