package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"github.com/spf13/viper"
	"golang.org/x/term"

	"github.com/canaryjudge/judge/analysis"
	"github.com/canaryjudge/judge/backtest"
	htmlreport "github.com/canaryjudge/judge/report"
	"github.com/canaryjudge/judge/verdict"
)

func newBacktestCmd(v *viper.Viper) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "backtest (--incidents FILE --canary-config FILE | --nab-data DIR --nab-labels FILE | --synthetic)",
		Short: "Replay labelled incidents and controls through a canary config and the judges",
		Long: `backtest answers: would this canary config, with these thresholds, have caught
past incidents, and how often would it fail a good release?

NAB input: each labelled window of a series is an incident (canary = the
window, baseline = the equally long stretch right before it, expected FAIL);
stretches away from every label are controls (expected PASS). Without
--canary-config a built-in config judges the single metric "value"
(direction either, critical).

Your own history (--incidents FILE): past deployments, each labelled
regression or good, with the scopes of its canary analysis (what judge
analyze --scopes reads) or a change (a full rollout at an instant: the
window before against the window after). Every case is fetched from the
metrics accounts of --config through the analysis runner, exactly as judge
analyze --scopes fetches, and judged with --canary-config. --cache DIR keeps
what was fetched (one file per case) so later runs, and other configs,
replay it without contacting any source. See docs/backtest.md.

Synthetic input: seeded A/A analyses and injected regressions of known kind
and size on 20 metrics of AR(1) noise (--seed, --cases).

Exit codes: 0 every case judged, 1 a case errored (its fetch failed, a
metric had no data, its label is unknown: listed with the reason), 64 bad
usage, 65 a bad input file or config.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runBacktest(cmd, v) },
	}
	f := cmd.Flags()
	f.String("incidents", "", "YAML or JSON file of past deployments (cases with name, label regression|good, and scopes or change), fetched from the metrics accounts of --config")
	f.String("cache", "", "with --incidents: directory of fetched series, one file per case; a case whose queries are unchanged is read from it instead of fetched")
	f.String("metrics-account", "", "with --incidents: the account to use where several of a source type are configured")
	f.Int("parallel", 4, "with --incidents: cases fetched at once")
	f.String("server", "", "re-judge the analyses the judge server at this gRPC address (host:port) stored, with --canary-config as the candidate (each analysis' own config without it): each case's recorded verdict beside the candidate's, its label as the expected verdict")
	f.Duration("since", 720*time.Hour, "with --server: analyses created within this long")
	f.String("config-name", "", "with --server: only analyses of this config name")
	f.Bool("labelled-only", false, "with --server: only analyses someone labelled (PUT /v1/analyses/{id}/label or the UI)")
	addClientFlags(f)
	f.String("nab-data", "", "directory of NAB-format series (dir/file.csv with timestamp,value)")
	f.String("nab-labels", "", "NAB combined_windows.json: incident windows per series")
	f.String("nab-half", "", "only one half of the NAB files: tune (every other file, in name order, from the first) or holdout (the rest): choose settings on one, report the other")
	f.Bool("synthetic", false, "generate synthetic cases instead")
	f.Uint64("seed", 1, "seed of the synthetic cases")
	f.Int("cases", 200, "number of synthetic cases")
	f.StringSlice("noise", nil, "synthetic noise models to cycle through: independent, shared, skewed (default all three), or the realistic shapes "+strings.Join(backtest.Shapes(), ", "))
	f.StringSlice("rho", nil, "synthetic AR(1) coefficients to cycle through (default 0,0.3,0.5,0.8)")
	f.StringSlice("regression", nil, "synthetic regressions KIND:SIZE to cycle through (level-shift, variance, tail, errors, ramp, step, burst), e.g. level-shift:1.35,tail:3 (default all kinds and sizes but burst)")
	f.Int("points", 0, "synthetic points per side (default 60)")
	f.Bool("spending", false, "with --looks: test each look at its share of the family-wise level (Hwang–Shih–DeCani spending, γ −4, as stats.SpentLevel), so the level holds over all looks")
	f.Bool("open-ended", false, "with --looks: spend the level as a sequence whose number of looks is not known (stats.OpenLookLevel: look k at α·10/((k+10)(k+9)), anytime-valid); implies --spending")
	f.Bool("pass-early", false, "with --looks: a look before the last passes the sequence when every metric's interval lies inside its allowed bounds (equivalence); implies --spending")
	f.Int("looks", 1, "judge each synthetic case as a sequence of this many analyses of growing windows, as a standalone canary analysis looks: a FAIL at any look fails it, the last look decides otherwise")
	f.Int("history", 0, "synthetic points of baseline history before its window (default 180; 0 keeps the default, -1 none)")
	f.Float64("cv", 0, "coefficient of variation of synthetic independent noise (default 0.2)")
	f.String("judge", "both", "judge: default, kayenta, reference (a plain t-test or binomial test of totals, for comparison), both (default and kayenta) or all")
	f.Float64("pass", 0, "pass score threshold (default: the config's)")
	f.Float64("marginal", 0, "marginal score threshold (default: the config's)")
	f.String("canary-config", "", "canary config to replay the cases with (native or Kayenta); NAB cases have one metric, \"value\"")
	f.String("output", "text", "output format: text, json or html (a self-contained report with the power curve and the cases' series)")
	f.Float64("advise", 0, "also sweep the family-wise level and the marginal threshold (default judge) and recommend the setting with the best recall whose false-fail rate is at most this (e.g. 0.05)")
	return cmd
}

func runBacktest(cmd *cobra.Command, v *viper.Viper) error {
	format := v.GetString("output")
	if format != "text" && format != "json" && format != "html" {
		return usageError("--output %q: want text, json or html", format)
	}
	var judges []verdict.JudgeName
	switch j := verdict.JudgeName(v.GetString("judge")); j {
	case "both":
		judges = []verdict.JudgeName{verdict.JudgeDefault, verdict.JudgeKayenta}
	case "all":
		judges = []verdict.JudgeName{verdict.JudgeDefault, verdict.JudgeKayenta, backtest.JudgeReference}
	case verdict.JudgeDefault, verdict.JudgeKayenta, backtest.JudgeReference:
		judges = []verdict.JudgeName{j}
	default:
		return usageError("--judge %q: want default, kayenta, reference, both or all", j)
	}
	var thresholds *verdict.Thresholds
	if v.IsSet("pass") || v.IsSet("marginal") {
		t := verdict.Thresholds{Pass: 95, Marginal: 75}
		if v.IsSet("pass") {
			t.Pass = v.GetFloat64("pass")
		}
		if v.IsSet("marginal") {
			t.Marginal = v.GetFloat64("marginal")
		}
		if err := t.Check(); err != nil {
			return usageError("--%w", err)
		}
		thresholds = &t
	}
	if addr := v.GetString("server"); addr != "" {
		return runReplay(cmd, v, addr, judges, thresholds, format)
	}
	cases, cfg, err := backtestCases(cmd, v, judges)
	if err != nil {
		return err
	}
	var progress func()
	if f, ok := cmd.ErrOrStderr().(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		bar := progressbar.NewOptions(len(cases)*len(judges), progressbar.OptionSetWriter(f), progressbar.OptionSetDescription("judging"),
			progressbar.OptionClearOnFinish())
		progress = func() { _ = bar.Add(1) }
	}
	report := backtest.Run(cases, cfg, judges, thresholds, progress)
	if target := v.GetFloat64("advise"); v.IsSet("advise") {
		if !(target >= 0 && target <= 1) {
			return usageError("--advise %v: want a false-fail rate in 0–1", target)
		}
		advice := backtest.Advise(cases, cfg, target)
		report.Advice = &advice
	}
	switch format {
	case "json":
		if err := writeJSON(cmd.OutOrStdout(), report); err != nil {
			return &exitError{code: exitInternal, err: err}
		}
	case "html":
		title := "Backtest of " + cmp.Or(cfg.Name, "the canary config")
		if err := htmlreport.Backtest(cmd.OutOrStdout(), title, report, cases); err != nil {
			return &exitError{code: exitInternal, err: err}
		}
	default:
		if err := writeBacktestText(cmd.OutOrStdout(), report); err != nil {
			return &exitError{code: exitInternal, err: err}
		}
	}
	return erroredCases(report)
}

// runReplay is judge backtest --server: stored analyses re-judged on the
// server (replayServer), reported as any backtest.
func runReplay(cmd *cobra.Command, v *viper.Viper, addr string, judges []verdict.JudgeName, thresholds *verdict.Thresholds, format string) error {
	switch {
	case format == "html":
		return usageError("--server: --output text or json (the stored series stay on the server; its UI shows each analysis)")
	case v.IsSet("advise"):
		return usageError("--advise works on local cases (--incidents, --nab-data, --synthetic), not with --server")
	case v.GetString("incidents") != "" || v.GetBool("synthetic") || v.GetString("nab-data") != "":
		return usageError("--server replays stored analyses: it excludes --incidents, --synthetic and --nab-data")
	}
	if !v.IsSet("judge") {
		judges = []verdict.JudgeName{JudgeRecorded}
	}
	if slices.Contains(judges, backtest.JudgeReference) {
		return usageError("--judge reference runs locally: with --server, choose default, kayenta or both")
	}
	report, err := replayServer(cmd.Context(), v, addr, judges, thresholds)
	if err != nil {
		return err
	}
	if format == "json" {
		if err := writeJSON(cmd.OutOrStdout(), report); err != nil {
			return &exitError{code: exitInternal, err: err}
		}
	} else if err := writeBacktestText(cmd.OutOrStdout(), report); err != nil {
		return &exitError{code: exitInternal, err: err}
	}
	return erroredCases(report)
}

// erroredCases is the exit status of a backtest in which cases errored:
// 1, naming how many, so that no run whose cases could not be judged
// exits 0.
func erroredCases(report backtest.Report) error {
	for _, j := range report.Judges {
		if n := j.Summary.Errors; n > 0 {
			return &exitError{code: exitFail, err: fmt.Errorf("%d of %d cases could not be judged (judge %s); their reasons are listed with them", n, len(j.Cases), j.Judge)}
		}
	}
	return nil
}

// backtestCases loads the cases of one source (an incidents file, NAB
// files, or the synthetic generator) and the config that judges them.
func backtestCases(cmd *cobra.Command, v *viper.Viper, judges []verdict.JudgeName) ([]backtest.Case, *verdict.Config, error) {
	var (
		cases []backtest.Case
		cfg   *verdict.Config
		err   error
	)
	nabData, nabLabels, incidents := v.GetString("nab-data"), v.GetString("nab-labels"), v.GetString("incidents")
	sources := 0
	for _, set := range []bool{v.GetBool("synthetic"), nabData != "" || nabLabels != "" || v.GetString("nab-half") != "", incidents != ""} {
		if set {
			sources++
		}
	}
	if sources > 1 {
		return nil, nil, usageError("--incidents, --synthetic and --nab-data/--nab-labels/--nab-half exclude each other")
	}
	if incidents == "" && (v.GetString("cache") != "" || v.GetString("metrics-account") != "") {
		return nil, nil, usageError("--cache and --metrics-account need --incidents")
	}
	switch {
	case incidents != "":
		return incidentCases(cmd, v, incidents, judges)
	case v.GetBool("synthetic"):
		if v.GetInt("cases") < 1 || v.GetInt("cases") > 100_000 {
			return nil, nil, usageError("--cases %d: want 1–100000", v.GetInt("cases"))
		}
		opts, err := syntheticOptions(v)
		if err != nil {
			return nil, nil, err
		}
		if cases, err = backtest.Synthetic(v.GetUint64("seed"), v.GetInt("cases"), opts); err != nil {
			return nil, nil, usageError("%v", err)
		}
		cfg = backtest.SyntheticConfig()
	case nabData != "" && nabLabels != "":
		if cases, err = backtest.LoadNAB(nabData, nabLabels); err != nil {
			return nil, nil, dataError(err)
		}
		if half := v.GetString("nab-half"); half != "" {
			if cases, err = backtest.SplitNAB(cases, half); err != nil {
				return nil, nil, usageError("--nab-half: %v", err)
			}
		}
		cfg = backtest.DefaultConfig()
	default:
		return nil, nil, usageError("backtest needs --incidents and --canary-config, --nab-data and --nab-labels, or --synthetic")
	}
	if path := v.GetString("canary-config"); path != "" {
		if cfg, err = loadCanaryConfig(path); err != nil {
			return nil, nil, dataError(err)
		}
	}
	return cases, cfg, nil
}

// incidentCases reads an incidents file and fetches its cases through the
// analysis runner with the accounts of --config, as judge analyze
// --scopes does, with a progress bar on a terminal.
func incidentCases(cmd *cobra.Command, v *viper.Viper, path string, judges []verdict.JudgeName) ([]backtest.Case, *verdict.Config, error) {
	cfgPath := v.GetString("canary-config")
	if cfgPath == "" {
		return nil, nil, usageError("--incidents needs --canary-config: the config whose metrics are fetched and judged")
	}
	if n := v.GetInt("parallel"); n < 1 || n > 64 {
		return nil, nil, usageError("--parallel %d: want 1–64", n)
	}
	cfg, err := loadCanaryConfig(cfgPath)
	if err != nil {
		return nil, nil, dataError(err)
	}
	raw, err := readBounded(path)
	if err != nil {
		return nil, nil, dataError(err)
	}
	incidents, err := backtest.ParseIncidents(raw, path)
	if err != nil {
		return nil, nil, dataError(err)
	}
	sources, err := configuredSources(v)
	if err != nil {
		return nil, nil, err
	}
	// The default judge's plan fetches the baseline's history, which
	// only it reads; the other judges' plans are its subset.
	judge := cfg.Judge
	if slices.Contains(judges, verdict.JudgeDefault) {
		judge = verdict.JudgeDefault
	}
	opts := backtest.FetchOptions{Analysis: analysis.Options{Account: v.GetString("metrics-account"), Judge: judge},
		Cache: v.GetString("cache"), Parallel: v.GetInt("parallel")}
	if f, ok := cmd.ErrOrStderr().(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		bar := progressbar.NewOptions(len(incidents), progressbar.OptionSetWriter(f), progressbar.OptionSetDescription("fetching"),
			progressbar.OptionClearOnFinish())
		opts.Progress = func() { _ = bar.Add(1) }
	}
	cases, err := backtest.FetchIncidents(cmd.Context(), &analysis.Runner{Sources: sources}, incidents, cfg, opts)
	switch {
	case errors.Is(err, context.Canceled):
		return nil, nil, &exitError{code: exitUnavailable, err: err}
	case err != nil:
		return nil, nil, usageError("%w", err)
	}
	return cases, cfg, nil
}

// syntheticOptions reads the synthetic corpus flags.
func syntheticOptions(v *viper.Viper) (backtest.SyntheticOptions, error) {
	opts := backtest.SyntheticOptions{
		Noises: v.GetStringSlice("noise"), Points: v.GetInt("points"), History: v.GetInt("history"), CV: v.GetFloat64("cv"),
		Looks: v.GetInt("looks"), Spending: v.GetBool("spending"),
		OpenEnded: v.GetBool("open-ended"), PassEarly: v.GetBool("pass-early"),
	}
	if opts.History == -1 {
		opts.History = 0
		opts.NoHistory = true
	}
	for _, r := range v.GetStringSlice("rho") {
		rho, err := strconv.ParseFloat(strings.TrimSpace(r), 64)
		if err != nil {
			return opts, usageError("--rho %q: want numbers such as 0.5", r)
		}
		opts.Rhos = append(opts.Rhos, rho)
	}
	for _, r := range v.GetStringSlice("regression") {
		kind, size, ok := strings.Cut(strings.TrimSpace(r), ":")
		s, err := strconv.ParseFloat(size, 64)
		if !ok || err != nil {
			return opts, usageError("--regression %q: want KIND:SIZE such as level-shift:1.35", r)
		}
		opts.Regressions = append(opts.Regressions, backtest.Regression{Kind: kind, Size: s})
	}
	return opts, nil
}
