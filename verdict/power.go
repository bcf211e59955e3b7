package verdict

import (
	"fmt"
	"math"
)

// DefaultDetectableShare is the shift, as a share of the baseline's
// median, that a PASS must be able to detect when a metric's config
// allows no change at all (allowedIncrease and allowedDecrease neutral,
// no minEffect): the share above which the default judge warns that a
// pass had too little data.
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

// Powered reports whether every counted metric that passed without a
// significant change could have detected its allowed effect (allowedShift)
// at the analysis' level: its minimum detectable shift with 80% power,
// (z_{1−α} + z_{0.8}) times the standard error read off its interval, is
// no larger. A PASS certifies that a regression of the allowed size would
// have been seen; a look tested at a level so small that it could not is
// not a PASS (sequence.Plan.Decide). Metrics judged by a threshold or a
// count test, and those with a zero baseline and no minEffect, are not
// held to it. The reason names the first metric that falls short and what
// would make it judgeable.
func (r *Result) Powered() (bool, string) {
	for i := range r.Metrics {
		m := &r.Metrics[i]
		if m.Muted || m.Classification != Pass || m.detectable == 0 || m.allowed == 0 {
			continue
		}
		if m.detectable > m.allowed {
			mde := "no shift, however large"
			if !math.IsInf(m.detectable, 1) {
				mde = fmt.Sprintf("only a shift of about %s or more", fmtFloat(m.detectable))
			}
			return false, fmt.Sprintf("%s: at this level %s would be detected, more than its allowed effect %s; "+
				"more points per look, fewer looks (a planned sequence, or a new one) or a larger allowed effect would make it judgeable",
				m.Name, mde, fmtFloat(m.allowed))
		}
	}
	return true, ""
}

// notePower records, for a metric that passed without a significant change
// under the default judge, what it could have detected at its level
// (detectableShift's mde when ok; +Inf when the interval is unbounded, as
// no shift however large would have been significant; 0 when it has no
// width, as constant samples show any shift) and what its config allows
// (Result.Powered).
func notePower(r *metricCase, mde float64, ok bool) {
	e := r.test
	if e == nil || e.counts != nil || r.metric == nil {
		return
	}
	switch w := e.ciHigh - e.ciLow; {
	case ok:
		r.detectable = mde
	case math.IsInf(w, 0) || math.IsNaN(w):
		r.detectable = math.Inf(1)
	default:
		r.detectable = 0
	}
	r.allowed = allowedShift(&r.MetricResult, r.metric)
}
