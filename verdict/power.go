package verdict

import (
	"fmt"
	"math"

	"github.com/canaryjudge/judge/stats"
)

// DefaultDetectableShare is the shift, as a share of the baseline's
// median, that a PASS must be able to detect when a metric's config
// allows no change at all (allowedIncrease and allowedDecrease neutral,
// no minEffect).
const DefaultDetectableShare = 0.2

// allowedShift is the smallest shift on a regressing side that the config
// does not allow, in the metric's unit:
//
//	max((allowedIncrease − 1)·|baseline mean|, minEffect)   (increase)
//	max((1 − allowedDecrease)·|baseline mean|, minEffect)   (decrease)
//
// the smaller of the two for direction either, and DefaultDetectableShare
// of the baseline's median (or minEffect) when the config allows no change.
// 0 means there is nothing to compare with (a zero baseline, no minEffect).
func allowedShift(m *MetricResult, cfg *Metric) float64 {
	b := math.Abs(m.Baseline.Mean)
	allowed := math.Inf(1)
	if cfg.EffectSize.Measure != MeasureCLES {
		if cfg.Direction != DirectionDecrease {
			allowed = math.Min(allowed, (*cfg.EffectSize.AllowedIncrease-1)*b)
		}
		if cfg.Direction != DirectionIncrease {
			allowed = math.Min(allowed, (1-*cfg.EffectSize.AllowedDecrease)*b)
		}
	}
	if !(allowed > 0) || math.IsInf(allowed, 0) {
		allowed = DefaultDetectableShare * math.Abs(m.Baseline.Median)
		if math.IsNaN(allowed) || math.IsInf(allowed, 0) {
			allowed = 0
		}
	}
	return math.Max(allowed, cfg.MinEffect)
}

// Powered reports whether the analysis holds no metric left INCONCLUSIVE
// because its test could not have detected its allowed effect
// (metricCase.underpowered), and names the first that is. A single
// analysis only leaves such a metric out of the score (a critical one
// makes the analysis at most MARGINAL); a sequence's look holds every
// counted metric to it (sequence.Plan.Decide).
func (r *Result) Powered() (bool, string) {
	for i := range r.Metrics {
		m := &r.Metrics[i]
		if !m.Muted && m.Classification == Inconclusive && m.allowed > 0 && m.detectable > m.allowed {
			return false, m.Name + ": " + m.Reason
		}
	}
	return true, ""
}

// underpowered says why a metric with no significant change is not a PASS
// when the smallest shift its location test would detect with 80% power at
// level (the share of the family-wise level it is tested at) exceeds the
// smallest shift its config does not allow (allowedShift): a PASS
// certifies that a regression of the allowed size would have been seen.
// "" when it could have been seen, or when the metric is not held to it
// (a count test, a zero baseline without minEffect).
func (r *metricCase) underpowered(level float64, points int) string {
	if r.allowed == 0 || !(r.detectable > r.allowed) {
		return ""
	}
	mde, more := "no shift, however large", "more points per window"
	if !math.IsInf(r.detectable, 1) {
		mde = "only a shift of about " + fmtFloat(r.detectable)
		if rel := stats.RelativeShift(r.detectable, r.Baseline.Median); !math.IsNaN(rel) {
			mde += fmt.Sprintf(" (%.0f%% of the baseline median)", 100*rel)
		}
		mde += " or more"
		// The standard error falls as 1/√n for a fixed dependence.
		ratio := r.detectable / r.allowed
		if need := math.Ceil(float64(points) * ratio * ratio); points > 0 && need < 1e6 {
			more = fmt.Sprintf("more points per window (about %.0f, now %d)", need, points)
		}
	}
	return fmt.Sprintf("not judgeable, too little data for a pass: at the level this metric is tested at (%.2g), %s would be detected with 80%% power, "+
		"more than its allowed effect %s; %s, a baseline history, fewer metrics or a larger allowed effect "+
		"(allowedIncrease / allowedDecrease, minEffect) would make it judgeable", level, mde, fmtFloat(r.allowed), more)
}

// notePower records, for a default-judge metric without a significant
// change, what it could have detected at its level (detectableShift) and
// what its config allows (metricCase.underpowered). Count tests are not
// held to it.
func notePower(r *metricCase, mde float64) {
	if r.test == nil || r.test.counts != nil || r.metric == nil {
		return
	}
	r.detectable = mde
	r.allowed = allowedShift(&r.MetricResult, r.metric)
}
