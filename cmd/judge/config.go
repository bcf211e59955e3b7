package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/viper"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/canaryjudge/judge/kayenta"
	judgev1 "github.com/canaryjudge/judge/proto/judge/v1"
	"github.com/canaryjudge/judge/verdict"
)

func newConfigCmd(v *viper.Viper) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Work with canary configs",
	}
	validate := &cobra.Command{
		Use:   "validate (FILE | --server ADDR NAME)",
		Short: "Check a canary config (YAML or JSON, native or Kayenta) and print every problem found, each with its line and column",
		Long: `validate checks a canary config, from a file or (with --server) as a judge
server stores it by name or by the id Kayenta's POST /canaryConfig gave it,
and prints every problem found. For a Kayenta config it also lists what
judge will do differently from Kayenta: which judge serves its judge name,
scopes placed where only a regex would match (and the account setting that
allows them), fields judge ignores.

Exit codes: 0 valid, 64 bad usage, 65 invalid, 69 server unavailable.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return runValidate(cmd, v, args[0]) },
	}
	validate.Flags().String("server", "", "read the config stored on the judge server at this gRPC address (host:port) under the name given")
	addClientFlags(validate.Flags())
	cmd.AddCommand(validate)
	return cmd
}

// runValidate validates a config file, or one a server stores, and prints
// its summary and its differences from Kayenta.
func runValidate(cmd *cobra.Command, v *viper.Viper, arg string) error {
	source := arg
	var raw []byte
	var err error
	if addr := v.GetString("server"); addr != "" {
		source = fmt.Sprintf("%s on %s", arg, addr)
		if raw, err = storedConfig(cmd.Context(), v, addr, arg); err != nil {
			return err
		}
	} else if raw, err = readBounded(arg); err != nil {
		return dataError(err)
	}
	cfg, err := kayenta.ParseConfig(raw, source)
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
	fmt.Fprintf(cmd.OutOrStdout(), "%s: valid (%s, judge %s)\n", printable(source), metrics, judge)
	if diffs := kayenta.Differences(raw, verdict.JudgeDefault); len(diffs) > 0 {
		fmt.Fprintln(cmd.OutOrStdout(), "differences from Kayenta:")
		for _, d := range diffs {
			fmt.Fprintln(cmd.OutOrStdout(), "  -", printable(d))
		}
	}
	return nil
}

// storedConfig reads a stored config's JSON from a judge server.
func storedConfig(ctx context.Context, v *viper.Viper, addr, name string) ([]byte, error) {
	conn, err := clientSettings(v)
	if err != nil {
		return nil, err
	}
	cc, err := dial(addr, conn)
	if err != nil {
		return nil, err
	}
	defer cc.Close()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	resp, err := judgev1.NewJudgeServiceClient(cc).GetCanaryConfig(ctx, &judgev1.GetCanaryConfigRequest{Name: name})
	if err != nil {
		return nil, remoteError(addr, err)
	}
	raw, err := protojson.Marshal(resp.GetCanaryConfig().GetConfig())
	if err != nil {
		return nil, &exitError{code: exitInternal, err: err}
	}
	return raw, nil
}
