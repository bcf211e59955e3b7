package backtest

import (
	"math"
	"slices"

	"gonum.org/v1/gonum/stat"
	"gonum.org/v1/gonum/stat/distuv"

	"github.com/canaryjudge/judge/stats"
	"github.com/canaryjudge/judge/verdict"
)

// JudgeReference names the reference test that backtests report beside
// the judges: what a careful analyst would run by hand on the same data,
// knowing nothing the data do not say. Per metric, for series of counts
// (non-negative integers, at most 10 a step at baseline) the exact
// conditional binomial test of the totals (stats.CountTest without
// inflation); otherwise Welch's t-test of the canary's window against the
// baseline's on points whose windows do not overlap (one point in k when
// the scopes say each point spans k steps). One-sided in the configured
// direction; Holm across the metrics at the config's family-wise level;
// FAIL when a critical metric is significant in a regressing direction.
// It allows for no serial dependence, so its A/A rate shows where that
// matters.
const JudgeReference verdict.JudgeName = "reference"

// referenceCase judges one case with the reference test.
func referenceCase(c Case, cfg *verdict.Config) verdict.Outcome {
	byName := map[string]*verdict.MetricSetPair{}
	for i := range c.Pairs {
		byName[c.Pairs[i].Name] = &c.Pairs[i]
	}
	var p []float64
	var critical []bool
	for _, m := range cfg.Metrics {
		pair := byName[m.Name]
		if pair == nil {
			continue
		}
		p = append(p, referenceP(pair, m.Direction))
		critical = append(critical, m.Critical)
	}
	for i, a := range stats.AdjustHolm(p) {
		if a <= cfg.FamilyWiseError && critical[i] {
			return verdict.ResultFail
		}
	}
	return verdict.ResultPass
}

// referenceP is one metric's p-value by the reference test.
func referenceP(pair *verdict.MetricSetPair, direction verdict.Direction) float64 {
	k := 1
	if s := pair.Scopes["control"]; s.StepMillis > 0 && s.WindowMillis > s.StepMillis {
		k = int((s.WindowMillis + s.StepMillis - 1) / s.StepMillis)
	}
	canary, control := finiteEvery(pair.Values.Experiment, k), finiteEvery(pair.Values.Control, k)
	if len(canary) < 2 || len(control) < 2 {
		return 1
	}
	alt := stats.TwoSided
	switch direction {
	case verdict.DirectionIncrease:
		alt = stats.Greater
	case verdict.DirectionDecrease:
		alt = stats.Less
	}
	if isCounts(canary) && isCounts(control) && stat.Mean(control, nil) <= 10 {
		if r, err := stats.CountTest(canary, control, alt, 0.95, 1); err == nil {
			return r.PValue
		}
	}
	mc, vc := stat.MeanVariance(canary, nil)
	mb, vb := stat.MeanVariance(control, nil)
	nc, nb := float64(len(canary)), float64(len(control))
	se2 := vc/nc + vb/nb
	if se2 == 0 {
		if mc == mb {
			return 1
		}
		se2 = math.SmallestNonzeroFloat64
	}
	df := se2 * se2 / (vc*vc/(nc*nc*(nc-1)) + vb*vb/(nb*nb*(nb-1)))
	if math.IsNaN(df) || df < 1 {
		df = 1
	}
	t := distuv.StudentsT{Mu: 0, Sigma: 1, Nu: df}
	z := (mc - mb) / math.Sqrt(se2)
	switch alt {
	case stats.Greater:
		return t.Survival(z)
	case stats.Less:
		return t.CDF(z)
	}
	return math.Min(1, 2*t.Survival(math.Abs(z)))
}

// finiteEvery keeps every k-th finite point of x counted back from its
// last point.
func finiteEvery(x []float64, k int) []float64 {
	var out []float64
	for i := len(x) - 1; i >= 0; i -= k {
		if !math.IsNaN(x[i]) && !math.IsInf(x[i], 0) {
			out = append(out, x[i])
		}
	}
	slices.Reverse(out)
	return out
}

func isCounts(x []float64) bool {
	return !slices.ContainsFunc(x, func(v float64) bool { return v < 0 || v != math.Trunc(v) })
}
