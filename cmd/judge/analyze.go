package main

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"unicode"

	"github.com/spf13/cobra"
	"github.com/spf13/viper"

	"github.com/canaryjudge/judge/analysis"
	"github.com/canaryjudge/judge/kayenta"
	"github.com/canaryjudge/judge/report"
	"github.com/canaryjudge/judge/sequence"
	"github.com/canaryjudge/judge/verdict"
)

// Exit codes of judge analyze for the verdict itself.
const (
	exitFail     = 1
	exitMarginal = 2
)

func newAnalyzeCmd(v *viper.Viper) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "analyze --canary-config FILE --data FILE",
		Short: "Judge a canary: per-metric tests, group scores and PASS / MARGINAL / FAIL",
		Long: `analyze classifies every metric of the canary config from baseline (control)
and canary (experiment) samples in a Kayenta MetricSetPairList file, scores
the metric groups and decides PASS, MARGINAL or FAIL.

With --server, the same analysis runs on a shared judge server over gRPC.
With --sequence ID as well, it is the next look of a sequence the server
stores (a CI pipeline that checks a canary every few minutes): the server
numbers the looks and tests each at its share of the level, so the level
holds over all of them, and the reason says how much is spent.

Exit codes: 0 PASS, 1 FAIL, 2 MARGINAL, 64 bad usage, 65 bad config or data,
69 server unavailable.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runAnalyze(cmd, v)
		},
	}
	f := cmd.Flags()
	f.String("canary-config", "", "canary config: native YAML/JSON or Kayenta CanaryConfig JSON")
	f.String("data", "", "Kayenta MetricSetPairList JSON file")
	f.String("scopes", "", "Kayenta CanaryExecutionRequest JSON file: fetch the series from the metrics accounts (metrics.accounts in --config)")
	f.String("metrics-account", "", "with --scopes: the account to use where several of a source type are configured")
	f.String("save-data", "", "with --scopes: write the fetched series to this file as a MetricSetPairList (replay with --data)")
	f.String("judge", "", "judge: default or kayenta (default: the config's)")
	f.Float64("pass", 0, "pass score threshold (default: the config's, else 95)")
	f.Float64("marginal", 0, "marginal score threshold (default: the config's, else 75)")
	f.String("output", "text", "output format: text, json, kayenta (a Kayenta CanaryJudgeResult) or html (a self-contained report with charts)")
	f.String("report", "", "also write the HTML report of the same analysis to this file (CI keeps it as an artifact)")
	f.String("summary", "", "also append a Markdown summary of the verdict to this file (a CI job summary: $GITHUB_STEP_SUMMARY)")
	f.String("server", "", "run the analysis on a judge server at this gRPC address (host:port)")
	addClientFlags(f)
	f.String("sequence", "", "with --server: this analysis is the next look of the named sequence (a CI pipeline's id), judged at its share of the level so that the level holds over all the sequence's looks; a regression established at one look fails every later one")
	f.Int("looks", 0, "with --sequence: the planned number of looks (0: not known, open-ended spending)")
	f.Bool("pass-early", false, "with --sequence: a look before the last may PASS when every metric's interval lies inside its allowed bounds")
	return cmd
}

func runAnalyze(cmd *cobra.Command, v *viper.Viper) error {
	cfgPath, dataPath, scopesPath := v.GetString("canary-config"), v.GetString("data"), v.GetString("scopes")
	if cfgPath == "" || (dataPath == "") == (scopesPath == "") {
		return usageError("analyze needs --canary-config and one of --data or --scopes")
	}
	if v.GetString("save-data") != "" && scopesPath == "" {
		return usageError("--save-data needs --scopes")
	}
	format := v.GetString("output")
	if format != "text" && format != "json" && format != "kayenta" && format != "html" {
		return usageError("--output %q: want text, json, kayenta or html", format)
	}
	looks := v.GetInt("looks")
	if looks < 0 || looks > sequence.MaxLooks {
		return usageError("--looks %d: want 0 (open-ended) to %d", looks, sequence.MaxLooks)
	}
	seq := lookOptions{Sequence: v.GetString("sequence"), Looks: int32(looks), PassEarly: v.GetBool("pass-early")} //nolint:gosec // bounded above
	if seq.Sequence == "" && (seq.Looks != 0 || seq.PassEarly) {
		return usageError("--looks and --pass-early need --sequence")
	}
	if seq.Sequence != "" && v.GetString("server") == "" {
		return usageError("--sequence needs --server: the server stores the sequence's looks")
	}
	opts := verdict.Options{Judge: verdict.JudgeName(v.GetString("judge"))}
	if err := verdict.CheckJudge(opts.Judge); err != nil {
		return usageError("--judge: %w", err)
	}
	rawConfig, err := readBounded(cfgPath)
	if err != nil {
		return dataError(err)
	}
	cfg, err := kayenta.ParseConfig(rawConfig, cfgPath)
	if err != nil {
		return dataError(err)
	}
	if v.IsSet("pass") || v.IsSet("marginal") {
		t := cfg.Thresholds
		if v.IsSet("pass") {
			t.Pass = v.GetFloat64("pass")
		}
		if v.IsSet("marginal") {
			t.Marginal = v.GetFloat64("marginal")
		}
		if err := t.Check(); err != nil {
			return usageError("--%w", err)
		}
		opts.Thresholds = &t
	}
	var res *verdict.Result
	if scopesPath != "" {
		if v.GetString("server") != "" {
			return usageError("--scopes with --server: the server fetches with its own accounts; use the API's spec.scopes")
		}
		res, pairs, err := analyzeScopes(cmd, v, cfg, scopesPath, opts)
		if err != nil {
			return err
		}
		return writeOutputs(cmd.OutOrStdout(), v, res, format, cfg.Name, pairs)
	}
	raw, err := readBounded(dataPath)
	if err != nil {
		return dataError(err)
	}
	pairs, err := verdict.ParseMetricSetPairList(raw, dataPath)
	if err != nil {
		return dataError(err)
	}
	analysis.FillWindows(cfg, pairs)
	if addr := v.GetString("server"); addr != "" {
		conn, err := clientSettings(v)
		if err != nil {
			return err
		}
		res, err = analyzeRemote(cmd.Context(), addr, conn, rawConfig, pairs, opts, seq)
		if err != nil {
			return err
		}
	} else if res, err = analysis.JudgeInline(cmd.Context(), cfg, pairs, opts); err != nil {
		if errors.Is(err, verdict.ErrInvalidData) {
			return dataError(err)
		}
		return usageError("%w", err)
	}
	return writeOutputs(cmd.OutOrStdout(), v, res, format, cfg.Name, pairs)
}

// writeOutputs writes the --report and --summary files, then the verdict,
// and returns the exit status it means; a file that cannot be written
// exits 70, never the verdict's status.
func writeOutputs(out io.Writer, v *viper.Viper, res *verdict.Result, format, name string, pairs []verdict.MetricSetPair) error {
	if path := v.GetString("report"); path != "" {
		if err := writeReport(path, res, name, pairs); err != nil {
			return &exitError{code: exitInternal, err: err}
		}
	}
	if path := v.GetString("summary"); path != "" {
		if err := writeSummary(path, res); err != nil {
			return &exitError{code: exitInternal, err: err}
		}
	}
	return writeVerdict(out, res, format, name, pairs)
}

// writeReport writes the HTML report of an analysis to path.
func writeReport(path string, res *verdict.Result, name string, pairs []verdict.MetricSetPair) error {
	f, err := os.Create(path) //nolint:gosec // the user's output file
	if err != nil {
		return fmt.Errorf("--report: %w", err)
	}
	err = report.Analysis(f, "Canary analysis: "+cmp.Or(name, "canary config"), res, pairs)
	return errors.Join(err, f.Close())
}

// writeVerdict prints the verdict (an HTML report shows the series too)
// and returns the exit status it means.
func writeVerdict(out io.Writer, res *verdict.Result, format, name string, pairs []verdict.MetricSetPair) error {
	var err error
	switch format {
	case "html":
		err = report.Analysis(out, "Canary analysis: "+cmp.Or(name, "canary config"), res, pairs)
	case "json":
		err = writeJSON(out, res)
	case "kayenta":
		err = writeJSON(out, kayenta.FromResult(res))
	default:
		err = writeVerdictText(out, res)
	}
	if err != nil {
		return &exitError{code: exitInternal, err: err}
	}
	switch res.Result {
	case verdict.ResultFail:
		return &exitError{code: exitFail}
	case verdict.ResultMarginal:
		return &exitError{code: exitMarginal}
	}
	return nil
}

func loadCanaryConfig(path string) (*verdict.Config, error) {
	raw, err := readBounded(path)
	if err != nil {
		return nil, err
	}
	return kayenta.ParseConfig(raw, path)
}

// readBounded reads a whole file of at most the input limit shared with the
// service (verdict.DefaultLimits.MaxRequestBytes).
func readBounded(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	maxInputBytes := verdict.DefaultLimits.MaxRequestBytes
	b, err := io.ReadAll(io.LimitReader(f, int64(maxInputBytes)+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if len(b) > maxInputBytes {
		return nil, fmt.Errorf("%s: larger than the limit of %d bytes", path, maxInputBytes)
	}
	return b, nil
}

func writeJSON(out io.Writer, v any) error {
	enc := json.NewEncoder(out)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// printable escapes control characters (newlines, tabs, ANSI escapes) in
// text that came from a config or data file, so a metric name cannot forge
// table rows or recolour the terminal.
func printable(s string) string {
	if !strings.ContainsFunc(s, unicode.IsControl) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if unicode.IsControl(r) {
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func writeVerdictText(out io.Writer, res *verdict.Result) error {
	judge := printable(string(res.Judge))
	if res.Serves != "" {
		judge += " for " + printable(res.Serves)
	}
	fmt.Fprintf(out, "%s  score %.2f  (pass ≥ %g, marginal ≥ %g, judge %s)\n%s\n\n",
		res.Result, res.Score, res.Thresholds.Pass, res.Thresholds.Marginal, judge, printable(res.Reason))
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CLASS\tMETRIC\tTEST\tCANARY MEDIAN\tBASELINE MEDIAN\tSHIFT\tADJ P\tREASON")
	var marks []string
	for _, m := range res.WorstFirst() {
		class := m.Classification
		switch {
		case m.Critical && class != verdict.Pass:
			class += "!"
			marks = appendOnce(marks, "! critical: this result fails the analysis")
		case m.ConfiguredCritical && (class == verdict.High || class == verdict.Low):
			class += "*"
			marks = appendOnce(marks, "* configured critical, but within its critical effect size: counts in its groups' scores only")
		}
		if m.Muted {
			class += " (muted)"
		}
		test := m.Test
		if m.Comparison == verdict.ComparisonPaired {
			// The default judge's rank test of time-aligned series is the
			// signed-rank test of their paired differences.
			test += " (paired signed-rank)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", class, printable(m.Name), printable(string(test)),
			median(m.Canary.Count, m.Canary.Median), median(m.Baseline.Count, m.Baseline.Median),
			optional(m.Estimate), optional(m.AdjustedPValue), printable(m.Reason))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, mark := range marks {
		fmt.Fprintln(out, mark)
	}
	fmt.Fprintln(out)
	tw = tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "GROUP\tWEIGHT\tSCORE")
	for _, g := range res.Groups {
		score := fmt.Sprintf("%.2f", g.Score)
		if g.NoData {
			score += " (no counted metrics)"
		}
		fmt.Fprintf(tw, "%s\t%.4g\t%s\n", printable(g.Name), g.Weight, score)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, w := range res.Warnings {
		fmt.Fprintln(out, "warning:", printable(w))
	}
	return nil
}

func appendOnce(list []string, s string) []string {
	if slices.Contains(list, s) {
		return list
	}
	return append(list, s)
}

func median(n int, v float64) string {
	if n == 0 {
		return "-"
	}
	return fmt.Sprintf("%.4g", v)
}

func optional(v *float64) string {
	if v == nil {
		return "-"
	}
	return fmt.Sprintf("%.3g", *v)
}
