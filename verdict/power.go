package verdict

import (
	"fmt"
	"math"

	"github.com/canaryjudge/judge/stats"
	"gonum.org/v1/gonum/stat/distuv"
)

// DefaultDetectableShare is the shift, as a share of the baseline's
// median, that a PASS must be able to detect when a metric's config
// allows no change at all (allowedIncrease and allowedDecrease neutral,
// no minEffect).
const DefaultDetectableShare = 0.2

// DefaultCountRatio is the rate ratio that a PASS of a sparse counter
// (event counts per step, sparseCounts) must be able to detect on each
// regressing side when its config allows no change there: a doubling, or
// halving, of the baseline's rate. A rate's natural scale is a ratio
// (error-budget burn-rate alerts are multiples of the allowed rate), and a
// counter's Poisson scatter puts DefaultDetectableShare out of reach of
// any window a canary runs: telling a 20% rise apart at one of 20 metrics'
// level takes about 750 events a side (25 minutes of a counter at 30 a
// minute), a doubling about 40 (countPower).
const DefaultCountRatio = 2.0

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
	allowed := math.Inf(1)
	for _, up := range regressingSides(cfg) {
		allowed = math.Min(allowed, configuredShift(m, cfg, up))
	}
	if !(allowed > 0) || math.IsInf(allowed, 0) {
		allowed = DefaultDetectableShare * math.Abs(m.Baseline.Median)
		if math.IsNaN(allowed) || math.IsInf(allowed, 0) {
			allowed = 0
		}
	}
	return math.Max(allowed, cfg.MinEffect)
}

// regressingSides lists the sides on which the metric regresses: true for
// an increase, false for a decrease.
func regressingSides(cfg *Metric) []bool {
	switch cfg.Direction {
	case DirectionIncrease:
		return []bool{true}
	case DirectionDecrease:
		return []bool{false}
	}
	return []bool{true, false}
}

// configuredShift is the shift on one side that the effect-size bound
// allows, in the metric's unit ((allowedIncrease − 1)·|baseline mean| up,
// (1 − allowedDecrease)·|baseline mean| down); +Inf for a CLES bound,
// which is no shift.
func configuredShift(m *MetricResult, cfg *Metric, up bool) float64 {
	if cfg.EffectSize.Measure == MeasureCLES {
		return math.Inf(1)
	}
	b := math.Abs(m.Baseline.Mean)
	if up {
		return (*cfg.EffectSize.AllowedIncrease - 1) * b
	}
	return (1 - *cfg.EffectSize.AllowedDecrease) * b
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
// smallest shift its config does not allow (notePower): a PASS certifies
// that a regression of the allowed size would have been seen. "" when it
// could have been seen, or when the metric is not held to it (a zero
// baseline without minEffect).
func (r *metricCase) underpowered(level float64, points int) string {
	if r.allowed == 0 || !(r.detectable > r.allowed) {
		return ""
	}
	mde, more := "no shift, however large", "more points per window"
	if r.rate > 0 && math.IsInf(r.detectable, 1) {
		mde = "not even a fall to no events"
	}
	if !math.IsInf(r.detectable, 1) {
		mde = "only a shift of about " + fmtFloat(r.detectable)
		switch rel := stats.RelativeShift(r.detectable, r.Baseline.Median); {
		case r.rate > 0:
			how, moved := "rise", r.rate+r.detectable
			if !r.rateSide {
				how, moved = "fall", r.rate-r.detectable
			}
			mde = fmt.Sprintf("only a %s of about %s events a step (to %.2g times the baseline's %s)", how, fmtFloat(r.detectable), moved/r.rate, fmtFloat(r.rate))
		case !math.IsNaN(rel):
			mde += fmt.Sprintf(" (%.0f%% of the baseline median)", 100*rel)
		}
		mde += " or more"
	}
	// The standard error falls as 1/√n for a fixed dependence.
	need := float64(r.need)
	if ratio := r.detectable / r.allowed; need == 0 && !math.IsInf(ratio, 1) {
		need = math.Ceil(float64(points) * ratio * ratio)
	}
	if points > 0 && need > 0 && need < 1e6 {
		more = fmt.Sprintf("more points per window (about %.0f, now %d)", need, points)
	}
	return fmt.Sprintf("not judgeable, too little data for a pass: at the level this metric is tested at (%.2g), %s would be detected with 80%% power, "+
		"more than its allowed effect %s; %s, a baseline history, fewer metrics or a larger allowed effect "+
		"(allowedIncrease / allowedDecrease, minEffect) would make it judgeable", level, mde, fmtFloat(r.allowed), more)
}

// notePower records, for a default-judge metric without a significant
// change, what it could have detected at its level and what its config
// allows (metricCase.underpowered): for a sparse counter, its totals'
// power (countPower) against DefaultCountRatio's allowance on the side
// where it falls shortest; for every other metric, the location test's
// detectable shift read off its interval (detectableShift) against
// allowedShift.
func notePower(r *metricCase, e *evidence, alpha, level float64) {
	if r.metric == nil {
		return
	}
	if !e.counter {
		r.detectable, r.allowed = detectableShift(e, alpha, level), allowedShift(&r.MetricResult, r.metric)
		return
	}
	sides := regressingSides(r.metric)
	if len(sides) == 2 {
		level /= 2
	}
	lambda, nc, nb := r.Baseline.Mean, len(r.canary), len(r.control)
	for _, up := range sides {
		allowed := configuredShift(&r.MetricResult, r.metric, up)
		if !(allowed > 0) || math.IsInf(allowed, 0) {
			allowed = (DefaultCountRatio - 1) * lambda
			if !up {
				allowed = (1 - 1/DefaultCountRatio) * lambda
			}
		}
		allowed = math.Max(allowed, r.metric.MinEffect)
		detectable, need := countPower(lambda, e.countInflation, nc, nb, level, up, allowed)
		if r.allowed == 0 || detectable/allowed > r.detectable/r.allowed {
			r.detectable, r.allowed, r.need, r.rateSide = detectable, allowed, need, up
		}
	}
	r.rate = lambda
}

// countPower is, for a sparse counter whose baseline counts λ events a
// step, the change of the mean count per step on one side (up: a rise)
// that comparing the windows' totals would detect with 80% power at
// level, and the points per window (both sides alike) with which a change
// of allowed would be. On the square-root scale Poisson counts have
// variance 1/4 whatever their rate (Anscombe 1948, Biometrika 35:246–254;
// times the counter's variance inflation f for overdispersed or dependent
// counts), so rates λ and λ′ are told apart when
//
//	|√λ′ − √λ| ≥ δ = (z_{1−level} + z_{0.8})·√(f/4·(1/n_c + 1/n_b)),
//
// that is at λ′ = (√λ ± δ)²: a rise of 2δ√λ + δ², a fall of 2δ√λ − δ²,
// which is +Inf when δ ≥ √λ (not even a fall to zero would be seen). The
// approximation is the normal one of the totals test (stats.CountTest),
// which at these levels asks for a few more events than the exact test.
func countPower(lambda, f float64, nc, nb int, level float64, up bool, allowed float64) (detectable float64, need int) {
	root := math.Sqrt(lambda)
	z := distuv.UnitNormal.Quantile(1-level) + distuv.UnitNormal.Quantile(0.8)
	spread := math.Sqrt(math.Max(f, 1) / 4 * (1/float64(nc) + 1/float64(nb)))
	delta := z * spread
	switch {
	case math.IsNaN(delta) || math.IsNaN(root):
		return math.Inf(1), 0 // nothing is certified from undefined counts
	case up:
		detectable = 2*delta*root + delta*delta
	case delta < root:
		detectable = 2*delta*root - delta*delta
	default:
		detectable = math.Inf(1)
	}
	// The δ that a change of allowed needs; δ scales as √(2/n) with n
	// points on each side.
	want := math.Sqrt(lambda+allowed) - root
	if !up {
		want = root - math.Sqrt(math.Max(lambda-allowed, 0))
	}
	if want > 0 {
		if n := (z / want) * (z / want) * math.Max(f, 1) / 2; n < 1e6 {
			need = int(math.Ceil(n))
		}
	}
	return detectable, need
}
