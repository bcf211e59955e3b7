package verdict

import (
	"fmt"
	"math"
	"slices"
	"strconv"
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
	c, b := rankable(r.canarySorted, beyond, infinite), rankable(r.controlSorted, beyond, infinite)
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
	// The reason is appended in one buffer: the interval's clause, then the
	// classification's (%.4g throughout, as fmt would format it).
	g := func(w []byte, v float64) []byte { return strconv.AppendFloat(w, v, 'g', 4, 64) }
	w := make([]byte, 0, 256)
	w = append(w, "98% interval ["...)
	w = append(g(w, mw.CILow), ", "...)
	w = append(g(w, mw.CIHigh), "] of the shift "...)
	w = append(g(w, mw.Estimate), " (canary median "...)
	w = append(g(w, r.Canary.Median), " vs baseline "...)
	w = append(g(w, r.Baseline.Median), ", n="...)
	w = append(strconv.AppendInt(w, int64(mw.NCanary), 10), '/')
	w = append(strconv.AppendInt(w, int64(mw.NBaseline), 10), infiniteNote(infinite)...)
	w = append(w, ") "...)
	switch {
	case dir != DirectionDecrease && mw.CILow > tol && (math.IsNaN(effect) || effect >= *es.AllowedIncrease):
		r.Classification = High
		r.Critical = m.Critical && (math.IsNaN(effect) || effect >= *es.CriticalIncrease)
		w = append(g(append(w, "lies above +"...), tol), " (0.25·|shift|); effect size "...)
		w = append(append(w, fmtFloat(effect)...), " ≥ allowed "...)
		w = strconv.AppendFloat(w, *es.AllowedIncrease, 'g', -1, 64)
	case dir != DirectionIncrease && mw.CIHigh < -tol && (math.IsNaN(effect) || effect <= *es.AllowedDecrease):
		r.Classification = Low
		r.Critical = m.Critical && (math.IsNaN(effect) || effect <= *es.CriticalDecrease)
		w = append(g(append(w, "lies below -"...), tol), " (0.25·|shift|); effect size "...)
		w = append(append(w, fmtFloat(effect)...), " ≤ allowed "...)
		w = strconv.AppendFloat(w, *es.AllowedDecrease, 'g', -1, 64)
	default:
		r.Classification = Pass
		w = append(g(append(w, "does not clear ±"...), tol), " (0.25·|shift|) in a regressing direction within the effect-size bounds (effect size "...)
		w = append(append(w, fmtFloat(effect)...), ')')
	}
	r.Reason = string(w)
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
