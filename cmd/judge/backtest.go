package main

import (
	"cmp"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"github.com/spf13/viper"
	"golang.org/x/term"

	"github.com/canaryjudge/judge/backtest"
	"github.com/canaryjudge/judge/kayenta"
	htmlreport "github.com/canaryjudge/judge/report"
	"github.com/canaryjudge/judge/verdict"
)

func newBacktestCmd(v *viper.Viper) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "backtest (--nab-data DIR --nab-labels FILE | --synthetic)",
		Short: "Replay labelled incidents and controls through a canary config and the judges",
		Long: `backtest answers: would this canary config, with these thresholds, have caught
past incidents, and how often would it fail a good release?

NAB input: each labelled window of a series is an incident (canary = the
window, baseline = the equally long stretch right before it, expected FAIL);
stretches away from every label are controls (expected PASS). Without
--canary-config a built-in config judges the single metric "value"
(direction either, critical).

Synthetic input: seeded A/A analyses and injected regressions of known kind
and size on 20 metrics of AR(1) noise (--seed, --cases).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runBacktest(cmd, v) },
	}
	f := cmd.Flags()
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
	var (
		cases []backtest.Case
		cfg   *verdict.Config
		err   error
	)
	switch nabData, nabLabels := v.GetString("nab-data"), v.GetString("nab-labels"); {
	case v.GetBool("synthetic") && (nabData != "" || nabLabels != "" || v.GetString("nab-half") != ""):
		return usageError("--synthetic and --nab-data/--nab-labels/--nab-half exclude each other")
	case v.GetBool("synthetic"):
		if v.GetInt("cases") < 1 || v.GetInt("cases") > 100_000 {
			return usageError("--cases %d: want 1–100000", v.GetInt("cases"))
		}
		opts, err := syntheticOptions(v)
		if err != nil {
			return err
		}
		if cases, err = backtest.Synthetic(v.GetUint64("seed"), v.GetInt("cases"), opts); err != nil {
			return usageError("%v", err)
		}
		cfg = backtest.SyntheticConfig()
	case nabData != "" && nabLabels != "":
		if cases, err = backtest.LoadNAB(nabData, nabLabels); err != nil {
			return dataError(err)
		}
		if half := v.GetString("nab-half"); half != "" {
			if cases, err = backtest.SplitNAB(cases, half); err != nil {
				return usageError("--nab-half: %v", err)
			}
		}
		cfg = backtest.DefaultConfig()
	default:
		return usageError("backtest needs --nab-data and --nab-labels, or --synthetic")
	}
	if path := v.GetString("canary-config"); path != "" {
		raw, err := readBounded(path)
		if err != nil {
			return dataError(err)
		}
		if cfg, err = kayenta.ParseConfig(raw, path); err != nil {
			return dataError(err)
		}
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
		return nil
	case "html":
		title := "Backtest of " + cmp.Or(cfg.Name, "the canary config")
		if err := htmlreport.Backtest(cmd.OutOrStdout(), title, report, cases); err != nil {
			return &exitError{code: exitInternal, err: err}
		}
		return nil
	}
	return writeBacktestText(cmd.OutOrStdout(), report)
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

// writeSyntheticTables prints the synthetic summaries: A/A false fails per
// noise model and ρ, detection per regression, and the power curve.
// fewCases is the number of cases below which a rate is flagged: with
// fewer than 20, its 95% interval is ±20 points or wider.
const fewCases = 20

// rateText prints a rate, flagged with † when it rests on fewer than
// fewCases cases (and *flagged set).
func rateText(rate float64, cases int, format string, flagged *bool) string {
	text := fmt.Sprintf(format, 100*rate)
	if cases < fewCases {
		*flagged = true
		text += "†"
	}
	return text
}

func writeSyntheticTables(out io.Writer, s backtest.Summary) error {
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	flagged := false
	if len(s.ByNoise) > 0 {
		fmt.Fprintln(tw, "  A/A NOISE\tRHO\tCASES\tFALSE FAILS\tRATE")
		for _, n := range s.ByNoise {
			fmt.Fprintf(tw, "  %s\t%g\t%d\t%d\t%s\n", n.Noise, n.Rho, n.Controls, n.FalseFails, rateText(n.FalseFailRate, n.Controls, "%.1f%%", &flagged))
		}
		fmt.Fprintln(tw)
	}
	if len(s.ByKind) > 0 {
		fmt.Fprintln(tw, "  KIND\tSIZE\tNOISE\tCASES\tDETECTED\tRATE")
		for _, k := range s.ByKind {
			fmt.Fprintf(tw, "  %s\t%g\t%s\t%d\t%d\t%s\n", k.Kind, k.Size, k.Noise, k.Cases, k.Detected, rateText(k.Rate, k.Cases, "%.0f%%", &flagged))
		}
		fmt.Fprintln(tw)
	}
	if len(s.PowerCurve) > 0 {
		fmt.Fprintln(tw, "  LEVEL SHIFT\tRHO\tCASES\tDETECTED\tRATE\tPARAMETRIC LIMIT")
		for _, p := range s.PowerCurve {
			fmt.Fprintf(tw, "  ×%g\t%g\t%d\t%d\t%s\t%.0f%%\n", p.Size, p.Rho, p.Cases, p.Detected, rateText(p.Rate, p.Cases, "%.0f%%", &flagged), 100*p.Parametric)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(s.PowerCurve) > 0 {
		fmt.Fprintln(out, "  PARAMETRIC LIMIT: what a test that knew the noise's distribution, variance and autocorrelation would detect")
		fmt.Fprintln(out, "  (a z-test of mean log levels at 0.05/20); no test that must estimate them reaches it.")
	}
	if flagged {
		fmt.Fprintf(out, "  † fewer than %d cases: the rate is a rough guide (its 95%% interval is ±20 points or wider); add --cases.\n", fewCases)
	}
	return nil
}

func writeBacktestText(out io.Writer, report backtest.Report) error {
	for _, j := range report.Judges {
		fmt.Fprintf(out, "judge %s: %s\n", j.Judge, j.Summary)
		if err := writeSyntheticTables(out, j.Summary); err != nil {
			return err
		}
		for _, o := range j.Cases {
			if o.Error != "" {
				fmt.Fprintf(out, "  %s: %s\n", printable(o.ID), printable(o.Error))
			}
		}
		fmt.Fprintln(out)
	}
	if a := report.Advice; a != nil {
		tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "FAMILY-WISE LEVEL\tMARGINAL\tRECALL\tFALSE FAILS")
		for _, s := range a.Settings {
			fmt.Fprintf(tw, "%g\t%g\t%.1f%%\t%.1f%%\n", s.FamilyWiseError, s.Marginal, 100*s.Recall, 100*s.FalseFailRate)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		if r := a.Recommended; r != nil {
			fmt.Fprintf(out, "recommended (false fails at most %.1f%%): familyWiseError %g, thresholds.marginal %g — recall %.1f%%, false fails %.1f%%\n",
				100*a.Target, r.FamilyWiseError, r.Marginal, 100*r.Recall, 100*r.FalseFailRate)
		} else {
			fmt.Fprintf(out, "no setting keeps false fails at most %.1f%%\n", 100*a.Target)
		}
	}
	return nil
}
