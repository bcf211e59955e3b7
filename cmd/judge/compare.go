package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"github.com/spf13/viper"

	"github.com/canaryjudge/judge/sample"
	"github.com/canaryjudge/judge/stats"
)

func newCompareCmd(v *viper.Viper, stdin io.Reader) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "compare --canary FILE --baseline FILE",
		Short: "Mann-Whitney test and Hodges-Lehmann shift of two samples",
		Long: `compare tests whether the canary sample is shifted against the baseline
sample (Mann-Whitney / Wilcoxon rank-sum test, as R's wilcox.test) and
estimates the shift canary − baseline with its confidence interval.

FILE holds one number per line; blank lines and lines starting with # are
ignored; - reads standard input.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runCompare(cmd.OutOrStdout(), stdin, v)
		},
	}
	f := cmd.Flags()
	f.String("canary", "", "canary sample file (- for stdin)")
	f.String("baseline", "", "baseline sample file (- for stdin)")
	f.String("alternative", "two-sided", "alternative hypothesis: two-sided, greater (canary higher) or less")
	f.Float64("conf-level", 0.95, "confidence level of the interval, in (0, 1)")
	f.String("output", "text", "output format: text or json")
	return cmd
}

// compareJSON is the --output json document of judge compare.
type compareJSON struct {
	NCanary     int      `json:"n_canary"`
	NBaseline   int      `json:"n_baseline"`
	W           float64  `json:"w"`
	PValue      float64  `json:"p_value"`
	Estimate    float64  `json:"estimate"`
	CILow       *float64 `json:"ci_low"`
	CIHigh      *float64 `json:"ci_high"`
	ConfLevel   float64  `json:"conf_level"`
	Alternative string   `json:"alternative"`
	Method      string   `json:"method"`
}

func runCompare(out io.Writer, stdin io.Reader, v *viper.Viper) error {
	canaryPath, baselinePath := v.GetString("canary"), v.GetString("baseline")
	if canaryPath == "" || baselinePath == "" {
		return usageError("compare needs both --canary and --baseline")
	}
	if canaryPath == "-" && baselinePath == "-" {
		return usageError("--canary and --baseline cannot both read standard input")
	}
	alt, err := stats.ParseAlternative(v.GetString("alternative"))
	if err != nil {
		return usageError("--alternative: %w", err)
	}
	conf := v.GetFloat64("conf-level")
	if !(conf > 0 && conf < 1) {
		return usageError("--conf-level %v: must be in (0, 1)", conf)
	}
	format := v.GetString("output")
	if format != "text" && format != "json" {
		return usageError("--output %q: want text or json", format)
	}

	canary, err := readSample(canaryPath, stdin)
	if err != nil {
		return dataError(err)
	}
	baseline, err := readSample(baselinePath, stdin)
	if err != nil {
		return dataError(err)
	}
	res, err := stats.MannWhitney(canary, baseline, stats.MannWhitneyOptions{Alternative: alt, ConfLevel: conf})
	if err != nil {
		return dataError(err)
	}
	if format == "json" {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(compareJSON{
			NCanary:     res.NCanary,
			NBaseline:   res.NBaseline,
			W:           res.W,
			PValue:      res.PValue,
			Estimate:    res.Estimate,
			CILow:       finiteOrNil(res.CILow),
			CIHigh:      finiteOrNil(res.CIHigh),
			ConfLevel:   res.ConfLevel,
			Alternative: res.Alternative.String(),
			Method:      res.Method.String(),
		})
	}
	cs, err := stats.Describe(canary)
	if err != nil {
		return dataError(err)
	}
	bs, err := stats.Describe(baseline)
	if err != nil {
		return dataError(err)
	}
	return writeCompareText(out, res, cs, bs)
}

func readSample(path string, stdin io.Reader) ([]float64, error) {
	if path == "-" {
		return sample.Read(stdin, "<stdin>")
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return sample.Read(f, path)
}

func finiteOrNil(v float64) *float64 {
	if math.IsInf(v, 0) || math.IsNaN(v) {
		return nil
	}
	return &v
}

func writeCompareText(out io.Writer, r stats.MannWhitneyResult, canary, baseline stats.Summary) error {
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "\tn\tmedian\tmean\tstd\t\n")
	fmt.Fprintf(tw, "canary\t%d\t%.6g\t%.6g\t%.6g\t\n", canary.Count, canary.Median, canary.Mean, canary.Std)
	fmt.Fprintf(tw, "baseline\t%d\t%.6g\t%.6g\t%.6g\t\n", baseline.Count, baseline.Median, baseline.Mean, baseline.Std)
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(out, `
Mann-Whitney rank-sum test (%s), alternative: %s
  W = %g   p-value = %.4g
  shift canary − baseline (Hodges-Lehmann) = %.6g
  %.4g%% confidence interval: [%s, %s]
`, r.Method, r.Alternative, r.W, r.PValue, r.Estimate, 100*r.ConfLevel, bound(r.CILow), bound(r.CIHigh))
	return err
}

func bound(v float64) string {
	switch {
	case math.IsInf(v, -1):
		return "-∞"
	case math.IsInf(v, 1):
		return "+∞"
	}
	return fmt.Sprintf("%.6g", v)
}
