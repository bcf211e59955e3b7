package verdict

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/canaryjudge/judge/stats"
)

func init() { Register(JudgeKayenta, kayentaJudge{}) }

// kayentaJudge reproduces Kayenta's NetflixACAJudge-v1.0: one asymptotic
// Mann-Whitney test per metric at a fixed 98% interval, unadjusted.
type kayentaJudge struct{}

func (kayentaJudge) Thins() bool { return false }

func (kayentaJudge) Test(r *metricCase, _ float64, _ Options) { kayentaTest(r) }

func (kayentaJudge) Decide([]*metricCase, *Config) {}

// kayentaTest classifies like NetflixACAJudge-v1.0's MannWhitneyClassifier:
// a 98% interval from the normal approximation must clear ±0.25·|estimate|
// and the effect size must reach the allowed bound. Constant series are not
// jittered (Kayenta adds random noise), so the verdict is deterministic.
func kayentaTest(r *metricCase) {
	m := r.metric
	if len(r.canary) == 0 || len(r.control) == 0 || (m.Critical && !r.canaryMeasured && r.controlMeasured) {
		if m.NaNStrategy == NaNReplace && (!m.Critical || r.canaryMeasured || !r.controlMeasured) {
			r.Classification = Pass
			r.Reason = missingReason(r) + "; Kayenta passes missing data with nanStrategy replace"
			return
		}
		noData(r, missingReason(r), true)
		return
	}
	if slices.Equal(r.canarySorted, r.controlSorted) {
		r.Classification, r.Reason = Pass, "the canary and baseline data are identical"
		return
	}
	if singleValue(r.canary, r.control) {
		r.Classification, r.Reason = Pass, fmt.Sprintf("every canary and baseline value is %g", r.canary[0])
		return
	}
	beyond, infinite := infinityStandIn(r.canarySorted, r.controlSorted)
	c, b := rankable(r.canarySorted, beyond), rankable(r.controlSorted, beyond)
	mw, err := stats.MannWhitney(c, b, stats.MannWhitneyOptions{ConfLevel: kayentaConfLevel, Asymptotic: true})
	if err != nil {
		fail(r, "metric classification failed: "+err.Error())
		return
	}
	setTestFields(r, mw)
	effect, ratio := effectSize(m, r.canary, r.control, mw.W)
	r.EffectSize, r.MeanRatio = finite(effect), finite(ratio)
	// With infinite points the estimate's size comes from their finite
	// stand-ins, so a tolerance relative to it means nothing: the interval
	// must then only exclude zero.
	tol := kayentaTolerance * math.Abs(mw.Estimate)
	if infinite > 0 {
		tol = 0
	}
	es := m.EffectSize
	dir := m.Direction
	// One formatting of the whole reason: the interval's clause, then the
	// classification's.
	band := "98%% interval [%.4g, %.4g] of the shift %.4g (canary median %.4g vs baseline %.4g, n=%d/%d%s)"
	args := []any{mw.CILow, mw.CIHigh, mw.Estimate, r.Canary.Median, r.Baseline.Median, mw.NCanary, mw.NBaseline, infiniteNote(infinite), tol, fmtFloat(effect)}
	switch {
	case dir != DirectionDecrease && mw.CILow > tol && (math.IsNaN(effect) || effect >= *es.AllowedIncrease):
		r.Classification = High
		r.Critical = m.Critical && (math.IsNaN(effect) || effect >= *es.CriticalIncrease)
		r.Reason = fmt.Sprintf(band+" lies above +%.4g (0.25·|shift|); effect size %s ≥ allowed %g", append(args, *es.AllowedIncrease)...)
	case dir != DirectionIncrease && mw.CIHigh < -tol && (math.IsNaN(effect) || effect <= *es.AllowedDecrease):
		r.Classification = Low
		r.Critical = m.Critical && (math.IsNaN(effect) || effect <= *es.CriticalDecrease)
		r.Reason = fmt.Sprintf(band+" lies below -%.4g (0.25·|shift|); effect size %s ≤ allowed %g", append(args, *es.AllowedDecrease)...)
	default:
		r.Classification = Pass
		r.Reason = fmt.Sprintf(band+" does not clear ±%.4g (0.25·|shift|) in a regressing direction within the effect-size bounds (effect size %s)", args...)
	}
	criticalNote(r, effect)
}

// criticalNote ends the reason of a HIGH or LOW metric configured critical
// with what its criticality decided: "critical metric" when it fails the
// analysis, or why it does not (its effect size within the critical
// increase or decrease, Kayenta's rule: it then counts in its groups'
// scores only).
func criticalNote(r *metricCase, effect float64) {
	m := r.metric
	switch {
	case r.Critical:
		r.Reason += "; critical metric"
	case m.Critical && (r.Classification == High || r.Classification == Low):
		bound, word := *m.EffectSize.CriticalIncrease, "increase"
		if r.Classification == Low {
			bound, word = *m.EffectSize.CriticalDecrease, "decrease"
		}
		r.Reason += fmt.Sprintf("; configured critical, but its effect size %s is within the critical %s %g (effectSize.critical%s), so it does not fail the analysis by itself: it counts in its groups' scores",
			fmtFloat(effect), word, bound, strings.ToUpper(word[:1])+word[1:])
	}
}
