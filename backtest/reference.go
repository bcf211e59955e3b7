package backtest

import (
	"math"
	"slices"

	"gonum.org/v1/gonum/stat"

	"github.com/canaryjudge/judge/stats"
	"github.com/canaryjudge/judge/verdict"
)

// JudgeReference names the reference test that backtests report beside
// the judges: what a careful analyst would run by hand on the same data,
// knowing nothing the data do not say. Per metric, for series of counts
// (non-negative integers, at most 10 a step at baseline) the exact
// conditional binomial test of the totals (stats.CountTest without
// inflation); otherwise the batch-means test of the canary's window
// against the baseline's (stats.BatchShift): on the log scale when every
// point of both is positive (so shared load cancels in a ratio), paired
// on the batch means of the pointwise differences when the series share
// their time grid, else with the baseline's history joining the batch
// means' spread. The batches are 6 a window, but never shorter than one
// dependence time, (1+ρ̂)/(1−ρ̂) steps, with ρ̂ the dependence of the
// differences (paired) or of the baseline's window and history
// (stats.WindowDependence), and the correlation left between adjacent
// batch means is corrected at ρ̂'s 97.5% upper bound, so the test holds
// its level however long the dependence (where too few batches are left
// it finds nothing). One-sided in the configured direction; Holm across
// the metrics at the config's family-wise level; FAIL when a critical
// metric is significant in a regressing direction. It shares the default
// judge's batch-means statistic but none of its choices (no rank tests,
// no planned batch length, no shape test, no judgeability rule).
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

// referenceBatches is the reference test's batches per window, and
// referenceBound how many standard errors above its estimate the
// dependence is corrected for (stats.Dependence.Bound; ExactBound for
// paired differences).
const (
	referenceBatches = 6
	referenceBound   = 2
)

// referenceP is one metric's p-value by the reference test.
func referenceP(pair *verdict.MetricSetPair, direction verdict.Direction) float64 {
	alt := stats.TwoSided
	switch direction {
	case verdict.DirectionIncrease:
		alt = stats.Greater
	case verdict.DirectionDecrease:
		alt = stats.Less
	}
	k := 1
	if s := pair.Scopes["control"]; s.StepMillis > 0 && s.WindowMillis > s.StepMillis {
		k = int((s.WindowMillis + s.StepMillis - 1) / s.StepMillis)
	}
	if canary, control := finiteEvery(pair.Values.Experiment, k), finiteEvery(pair.Values.Control, k); isCounts(canary) && isCounts(control) &&
		len(canary) > 0 && len(control) > 0 && stat.Mean(control, nil) <= 10 {
		if r, err := stats.CountTest(canary, control, alt, 0.95, 1); err == nil {
			return r.PValue
		}
	}
	x, y := pair.Values.Experiment, pair.Values.Control
	var history []float64
	paired := pair.TimeAligned()
	if paired {
		x, y = bothFinite(x, y)
	} else {
		x, y, history = finiteEvery(x, 1), finiteEvery(y, 1), finiteEvery(pair.Values.ControlHistory, 1)
	}
	if stats.Positive(x, y) {
		x, y = stats.Logs(x), stats.Logs(y)
		if stats.Positive(history) {
			history = stats.Logs(history)
		} else {
			history = nil
		}
	}
	var dep stats.Dependence
	var upper float64
	if paired {
		d := make([]float64, len(x))
		for i := range x {
			d[i] = x[i] - y[i]
		}
		// The differences' dependence comes from the window alone: under
		// 60 of them the standard error's bound misses strong dependence
		// far too often (stats.Dependence.ExactBound).
		dep = stats.EstimateDependence(d)
		upper = dep.ExactBound(referenceBound)
	} else {
		dep = stats.WindowDependence(history, y)
		upper = dep.Bound(referenceBound)
	}
	rho := math.Max(dep.Rho, 0)
	size := max(min(len(x), len(y))/referenceBatches, int(math.Ceil((1+rho)/(1-rho))), 1)
	r, err := stats.BatchShift(x, y, stats.BatchShiftOptions{Size: size, Paired: paired, History: history, Rho: upper, Alternative: alt})
	if err != nil {
		return 1
	}
	return r.PValue
}

// bothFinite keeps the instants at which both series have a finite point.
func bothFinite(x, y []float64) ([]float64, []float64) {
	var a, b []float64
	for i := range min(len(x), len(y)) {
		if !math.IsNaN(x[i]) && !math.IsInf(x[i], 0) && !math.IsNaN(y[i]) && !math.IsInf(y[i], 0) {
			a, b = append(a, x[i]), append(b, y[i])
		}
	}
	return a, b
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
