package verdict

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/stat/distuv"

	"github.com/canaryjudge/judge/stats"
)

// classifyAdjusted adjusts the default judge's metric p-values (each the
// combination of its location and shape tests, evidence.combined) across
// the scored metrics of the analysis (Holm by default, so the chance that
// an unchanged canary has any metric flagged stays at most
// familyWiseError) and classifies each metric.
func classifyAdjusted(cases []*metricCase, cfg *Config) {
	var idx []int
	var p []float64
	for i, r := range cases {
		if r.test != nil && !r.Muted {
			idx = append(idx, i)
			p = append(p, r.test.combined())
		}
	}
	var adj []float64
	switch cfg.Adjustment {
	case AdjustBH:
		adj = stats.AdjustBH(p)
	case AdjustNone:
		adj = p
	default:
		adj = stats.AdjustHolm(p)
	}
	adjusted := make(map[int]float64, len(idx))
	for k, i := range idx {
		adjusted[i] = adj[k]
	}
	// The level a metric's combined p-value meets at best: the first step
	// of Holm's and of Benjamini-Hochberg's adjustment divides the level
	// by the number of metrics adjusted together.
	reach := cfg.FamilyWiseError
	if cfg.Adjustment != AdjustNone && len(idx) > 0 {
		reach /= float64(len(idx))
	}
	for i, r := range cases {
		if r.test == nil {
			continue
		}
		a, ok := adjusted[i]
		level := reach
		if !ok { // muted: reported unadjusted
			a, level = r.test.combined(), cfg.FamilyWiseError
		}
		r.AdjustedPValue = ptr(a)
		decideDefault(r, a, cfg.FamilyWiseError, level)
		r.test = nil
	}
}

// decideDefault classifies a default-judge metric from its adjusted p-value.
// A significant change is a regression only in the configured direction and
// only when it exceeds both the relative bound (effect size) and the
// absolute minimum effect. A zero baseline mean does not make the effect
// undefined: any rise from zero exceeds every ratio bound. When nothing is
// significant, the smallest shift the test could have detected is reported,
// and flagged when the data were too few to see a relevant change.
func decideDefault(r *metricCase, adjP, alpha, reach float64) {
	m, e := r.metric, r.test
	es := m.EffectSize
	// The side of the change: the location test's when it is significant on
	// its own at the metric's adjusted level, else the later half's when
	// it is, else the shape test's.
	alone := func(weighted float64) bool { return adjP*weighted/e.combined() <= alpha }
	byLate := e.late != nil && !alone(e.p/e.locationShare()) && alone(e.late.p/lateShare)
	byShape := e.tail != nil && !alone(e.p/e.locationShare()) && !byLate
	up := e.up
	shift := e.estimate
	switch {
	case byLate:
		up, shift = e.late.up, e.late.shift
	case byShape:
		up = e.tailUp
	}
	if shift == 0 { // zero-inflated data: the median difference hides the change
		shift = r.Canary.Mean - r.Baseline.Mean
	}
	effect := e.effect
	lateAlone := byLate && e.unjudged != "" && e.late.bounded
	if lateAlone {
		lateDecides(r, e)
	}
	desc := describeEvidence(r, e, adjP)
	if lateAlone {
		desc += "; the whole window alone was " + e.unjudged
	}
	if !(adjP <= alpha) {
		if why := unjudged(r, e, reach); why != "" {
			r.Classification, r.Critical = Inconclusive, m.Critical
			r.Reason = why + ": " + desc
			if r.Critical {
				r.Reason += "; critical metric: the analysis is at most MARGINAL"
			}
			return
		}
	}
	if !(adjP <= alpha) {
		level := reach * e.locationShare()
		notePower(r, e, alpha, level)
		if why := r.underpowered(level, e.n); why != "" {
			r.Classification, r.Critical = Inconclusive, m.Critical
			r.Reason = why + ": " + desc
			if r.Critical {
				r.Reason += "; critical metric: the analysis is at most MARGINAL"
			}
			return
		}
		r.Classification = Pass
		r.Reason = "no significant change: " + desc
		if e.ciLow > 0 || e.ciHigh < 0 {
			r.Reason += "; the interval is at the unadjusted level, so it can exclude 0 while the adjusted p, which decides, is not significant"
		}
		return
	}
	what := "shift"
	switch {
	case byLate:
		what = "shift of the later half"
	case byShape:
		what = "jumps"
	}
	switch {
	case up && m.Direction != DirectionDecrease:
		if effect < *es.AllowedIncrease || math.Abs(shift) < m.MinEffect && !byShape {
			r.Classification = Pass
			r.Reason = fmt.Sprintf("significant increase within the allowed bounds (effect size %s < %g or |shift| %.4g < minimum %g): %s",
				fmtFloat(effect), *es.AllowedIncrease, math.Abs(shift), m.MinEffect, desc)
			return
		}
		r.Classification = High
		r.Critical = m.Critical && effect >= *es.CriticalIncrease
		r.Reason = fmt.Sprintf("significant increase (%s), effect size %s ≥ allowed %g: %s", what, fmtFloat(effect), *es.AllowedIncrease, desc)
	case !up && m.Direction != DirectionIncrease:
		if effect > *es.AllowedDecrease || math.Abs(shift) < m.MinEffect && !byShape {
			r.Classification = Pass
			r.Reason = fmt.Sprintf("significant decrease within the allowed bounds (effect size %s > %g or |shift| %.4g < minimum %g): %s",
				fmtFloat(effect), *es.AllowedDecrease, math.Abs(shift), m.MinEffect, desc)
			return
		}
		r.Classification = Low
		r.Critical = m.Critical && effect <= *es.CriticalDecrease
		r.Reason = fmt.Sprintf("significant decrease (%s), effect size %s ≤ allowed %g: %s", what, fmtFloat(effect), *es.AllowedDecrease, desc)
	default:
		r.Classification = Pass
		r.Reason = "significant change in the harmless direction: " + desc
	}
	// Ties explain a zero shift beside a significant location test; where
	// the jumps decided, the location test's own account stands beside
	// its unbounded interval.
	if (r.Classification == High || r.Classification == Low) && byShape && e.unjudged != "" {
		r.Reason += "; the location test alone was " + e.unjudged
	}
	if (r.Classification == High || r.Classification == Low) && what == "shift" && e.unjudged == "" && (e.estimate == 0 || e.ciLow == 0 && up || e.ciHigh == 0 && !up) {
		r.Reason += fmt.Sprintf("; the shift and its interval reach 0 because most points tie (canary mean %.4g vs baseline %.4g), while the rank test still finds the canary's values %s",
			r.Canary.Mean, r.Baseline.Mean, map[bool]string{true: "higher", false: "lower"}[up])
	}
	criticalNote(r, effect)
}

// lateDecides makes the later half's test the metric's location result
// where it decided and the whole window could not be judged: its shift,
// its interval and its p-value are then what the metric reports (they
// agree), in place of the whole window's unbounded interval.
func lateDecides(r *metricCase, e *evidence) {
	l := e.late
	e.lateAlone = true
	e.estimate, e.ciLow, e.ciHigh = l.shift, l.ciLow, l.ciHigh
	r.PValue, r.Estimate = ptr(l.p), ptr(l.shift)
	r.CILow, r.CIHigh = finite(l.ciLow), finite(l.ciHigh)
}

// unjudged says why a metric the default judge did not find significant
// was not judged at all, or "" when its silence is a pass: the batch-means
// test had too few batches (batchTest), the location test's interval at
// the judge's level is the whole line, or its rank test could not have
// been significant at the level its p-value meets at best, reach
// (unreachable): no shift however large could have been excluded. Such a
// metric is INCONCLUSIVE, never PASS: an interval that cannot bound the
// shift certifies nothing.
func unjudged(r *metricCase, e *evidence, reach float64) string {
	if e.unjudged != "" {
		return e.unjudged
	}
	if e.counts == nil && math.IsInf(e.ciLow, -1) && math.IsInf(e.ciHigh, 1) {
		return fmt.Sprintf("not judgeable: with %d canary and %d baseline points and the dependence allowed for, no shift however large would be significant: "+
			"the minimum detectable effect is unbounded; more points per window, or a baseline history, would make it judgeable", e.n, e.nb)
	}
	if level, ok := unreachable(e, reach); ok {
		return fmt.Sprintf("not judgeable: with %d canary and %d baseline points and the dependence allowed for, no shift however large would be significant "+
			"at the share of the level this metric's location test has among the analysis' metrics (%.2g): the minimum detectable effect is unbounded; "+
			"more points per window, or fewer metrics, would make it judgeable", e.n, e.nb, level)
	}
	return ""
}

// unreachable reports whether a rank location test could not have been
// significant at its share of reach however far the canary had moved
// (every canary point beyond every baseline point, every difference on
// the regressing side: evidence.best), and that level. The judge's
// interval can be bounded while the adjustment across metrics asks for
// more than the ranks can give: 10 pairs read at best p ≈ 0.003, above
// 0.05·0.9/20. The best p-value is computed only where a bound on it —
// 2^−n/f paired, 1/C((n+m)/f, n/f) unpaired, f the dependence allowance —
// does not already clear the level a thousandfold.
func unreachable(e *evidence, reach float64) (float64, bool) {
	if e.batch != nil || e.counts != nil || e.best == nil {
		return 0, false
	}
	level := reach * e.locationShare()
	f := 1.0
	switch {
	case e.dep.Inflation > 0:
		f = e.dep.Inflation
	case e.dep.Estimated():
		f = stats.RankInflation(e.dep.Rho)
	}
	if bestLogP(float64(e.n)/f, float64(e.nb)/f, e.paired) < math.Log(level/1000) {
		return 0, false
	}
	p, err := e.best()
	return level, err == nil && p > level
}

// bestLogP is about the log of the smallest p-value a rank test of n
// canary and m baseline effective points (points over the dependence
// allowance) can give: every difference on one side, 2^−n, paired; every
// canary point beyond every baseline point, 1/C(n+m, n), unpaired.
func bestLogP(n, m float64, paired bool) float64 {
	if paired {
		return -n * math.Ln2
	}
	lc, _ := math.Lgamma(n + m + 1)
	la, _ := math.Lgamma(n + 1)
	lb, _ := math.Lgamma(m + 1)
	return la + lb - lc
}

// describeEvidence is the one-sentence account of a default-judge metric:
// medians, which comparison ran, the shift and its interval, the p-values,
// the serial dependence allowed for and, when it mattered, the shape test.
func describeEvidence(r *metricCase, e *evidence, adjP float64) string {
	var desc string
	if b := e.batch; b != nil && e.unjudged == "" {
		desc = batchDescription(r, e, b)
	} else if e.paired && e.lateAlone {
		// The whole window could not be judged; its later half decided
		// and gives the shift (lateDecides), described below.
		desc = fmt.Sprintf("canary median %.4g vs baseline %.4g, paired by timestamp at %d instants (the series move together, correlation %.2f)",
			r.Canary.Median, r.Baseline.Median, e.n, e.comovement)
	} else if e.paired {
		desc = fmt.Sprintf("canary median %.4g vs baseline %.4g, paired by timestamp at %d instants (the series move together, correlation %.2f): canary − baseline %.4g [%s, %s], p=%.3g",
			r.Canary.Median, r.Baseline.Median, e.n, e.comovement, e.estimate, fmtFloat(e.ciLow), fmtFloat(e.ciHigh), e.p)
	} else if c := e.counts; c != nil {
		desc = fmt.Sprintf("%g canary events in %d steps vs %g baseline events in %d (counts compared by their totals, variance allowance %.2g×): mean per step %+.4g [%s, %s], p=%.3g",
			c.Canary, c.NCanary, c.Baseline, c.NBaseline, c.Inflation, e.estimate, fmtFloat(e.ciLow), fmtFloat(e.ciHigh), e.p)
	} else {
		desc = fmt.Sprintf("canary median %.4g vs baseline %.4g (n=%d/%d, unpaired), shift %.4g [%s, %s], p=%.3g",
			r.Canary.Median, r.Baseline.Median, e.n, e.nb, e.estimate, fmtFloat(e.ciLow), fmtFloat(e.ciHigh), e.p)
	}
	if e.across != "" {
		desc += "; " + e.across
	}
	if l := e.late; l != nil && (l.p/lateShare < e.p/e.locationShare() || l.p < 0.05) {
		desc += fmt.Sprintf("; the canary's later %d points: %s, p=%.3g", l.points, l.how, l.p)
	}
	if e.tail != nil && (e.tail.Count > 0 && e.tailP/tailShare < e.p/e.locationShare() || e.tailP < 0.05) {
		side := "above the largest"
		if !e.tailUp {
			side = "below the smallest"
		}
		// Under a moving window the test counts stretches of its steps.
		unit, canary := "jumps", "jumps"
		if e.tail.Block > 1 {
			unit, canary = "stretches", fmt.Sprintf("stretches of %d jumps (the moving window's runs count once)", e.tail.Block)
		}
		of := "baseline " + unit
		if e.tailHistory {
			of = unit + " of the baseline and its history"
		}
		scale := ""
		if e.tailLog {
			scale = " on the log scale"
		}
		desc += fmt.Sprintf("; %d of %d canary %s %s of %d %s (%.4g%s), p=%.3g", e.tail.Count, e.tail.Canary, canary, side, e.tail.Baseline, of, e.tail.Bound, scale, e.tailP)
	}
	if e.historyLeftOutP > 0 {
		desc += fmt.Sprintf("; the history was left out of the jump test: its jumps are smaller than the baseline window's (p=%.2g), so it is not the window's noise", e.historyLeftOutP)
	}
	if r.every > 1 {
		desc += fmt.Sprintf("; each point spans %d steps (the query's window), so the test took one point in %d: %d canary and %d baseline windows that do not overlap",
			r.every, r.every, len(r.canary), len(r.control))
	}
	desc += fmt.Sprintf(", adjusted p=%.3g", adjP)
	if adjP > 1.01*e.p && e.p > 0 {
		late, which := "", "smaller"
		if e.late != nil {
			late, which = fmt.Sprintf(", its later half %.0f%%", 100*lateShare), "smallest"
		}
		desc += fmt.Sprintf(" (the location test has %.0f%% of the level%s and the jump test %.0f%%, and the %s share-weighted p is adjusted across the analysis' metrics)",
			100*e.locationShare(), late, 100*tailShare, which)
	}
	desc += infiniteNote(r.infinite)
	if dc, db := r.canarySeries.dropped, r.controlSeries.dropped; dc+db > 0 && r.metric.Outliers != nil {
		desc += fmt.Sprintf(", %d canary and %d baseline points removed as outliers (beyond %g×IQR, outliers.factor)", dc, db, r.metric.Outliers.Factor)
	}
	if r.season > 0 {
		desc += fmt.Sprintf(", the baseline and its history repeat every %d points: variance allowance %.2g× that of independent points, from their autocorrelation over a window",
			r.season, e.dep.Inflation)
	} else if e.dep.Estimated() && e.dep.Rho > 0 && e.batch == nil && !(e.across != "" && e.dep.Inflation > 0) {
		desc += fmt.Sprintf(", autocorrelation %.2g allowed for (from %d points)", e.dep.Rho, e.dep.Points)
	}
	return desc
}

// detectableShift approximates the smallest shift the location test would
// detect with 80% power at level: (z_{1−level} + z_{0.8}) times the
// standard error of the shift, read off the interval (computed at the
// judge's level 1 − alpha: half-width / z_{1−alpha}); both z two-sided
// (level/2, alpha/2) for a two-sided test, and a one-sided test's
// half-width on its bounded side. +Inf when that half-width is unbounded
// or unknown (no shift however large would be significant), 0 when it is
// 0 (constant differences show any shift).
func detectableShift(e *evidence, alpha, level float64) float64 {
	zAlpha, zLevel := distuv.UnitNormal.Quantile(1-alpha), distuv.UnitNormal.Quantile(1-level)
	halfWidth := e.ciHigh - e.estimate
	if e.alternative == stats.TwoSided {
		zAlpha, zLevel = distuv.UnitNormal.Quantile(1-alpha/2), distuv.UnitNormal.Quantile(1-level/2)
		halfWidth = (e.ciHigh - e.ciLow) / 2
	} else if math.IsInf(halfWidth, 0) {
		halfWidth = e.estimate - e.ciLow
	}
	switch {
	case math.IsInf(halfWidth, 0) || math.IsNaN(halfWidth):
		return math.Inf(1)
	case halfWidth <= 0:
		return 0
	}
	se := halfWidth / zAlpha
	return (zLevel + distuv.UnitNormal.Quantile(0.8)) * se
}
