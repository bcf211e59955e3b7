package verdict

import (
	"fmt"
	"math"
	"strings"
)

// equivalenceInterval sets the metric's two-sided 1 − 2α interval of the
// shift (each side a one-sided α bound) when its location test was a rank
// test that can give one: a count test, a test that could not run, or
// α ≥ 1/2 leave it unset, and the metric then cannot show equivalence.
func equivalenceInterval(r *metricCase, alpha float64) {
	e := r.test
	if e == nil || e.interval == nil || e.counts != nil || !(alpha > 0 && alpha < 0.5) {
		return
	}
	lo, hi, err := e.interval(1 - 2*alpha)
	if err != nil {
		return
	}
	r.EquivalenceLow, r.EquivalenceHigh = finite(lo), finite(hi)
}

// decideEquivalence records on each result whether its metric shows
// equivalence (after classification, for Result.Equivalent).
func decideEquivalence(cases []*metricCase) {
	for _, c := range cases {
		ok, why := c.equivalent()
		c.Equivalent, c.EquivalenceReason = &ok, why
	}
}

// Equivalent reports whether an analysis run with Options.Equivalence
// established that no counted metric regressed beyond what its config
// allows: every one is PASS, was rank-tested with the mean-ratio effect
// size, and its 1 − 2α interval of the shift lies inside the allowed
// shift on each regressing side,
//
//	upper < max((allowedIncrease − 1)·|baseline mean|, minEffect)   (increase, either)
//	lower > −max((1 − allowedDecrease)·|baseline mean|, minEffect)  (decrease, either)
//
// (the two one-sided tests, TOST, of Schuirmann 1987, J Pharmacokinet
// Biopharm 15:657–680). Requiring every metric to show it is an
// intersection-union test: the chance of calling a canary equivalent when
// one metric's shift lies beyond its bound is at most α, with no
// adjustment for the number of metrics (Berger & Hsu 1996, Statistical
// Science 11:283–319). The reason names the first metric that did not
// show it, or the bounds every one met.
func (r *Result) Equivalent() (bool, string) {
	var inside []string
	for i := range r.Metrics {
		m := &r.Metrics[i]
		if m.Muted {
			continue
		}
		if m.Equivalent == nil {
			return false, fmt.Sprintf("%s (%s): analysed without Options.Equivalence", m.Name, m.Test)
		}
		ok, why := *m.Equivalent, m.EquivalenceReason
		if !ok {
			return false, fmt.Sprintf("%s (%s): %s", m.Name, m.Test, why)
		}
		inside = append(inside, m.Name+": "+why)
	}
	if len(inside) == 0 {
		return false, "no metric counts toward the verdict"
	}
	return true, fmt.Sprintf("every one of the %d counted metrics has its interval inside its allowed bounds (%s)", len(inside), strings.Join(inside, "; "))
}

func (m *metricCase) equivalent() (bool, string) {
	cfg := m.metric
	switch {
	case m.Classification != Pass:
		return false, "classified " + string(m.Classification)
	case m.Test == TestThreshold:
		return false, "a threshold test gives no interval to compare with bounds"
	case cfg == nil || cfg.EffectSize.Measure == MeasureCLES:
		return false, "its effect size is not a mean ratio"
	case m.EquivalenceLow == nil || m.EquivalenceHigh == nil:
		return false, "no finite interval of the shift yet"
	}
	b := math.Abs(m.Baseline.Mean)
	var out []string
	if cfg.Direction != DirectionDecrease {
		up := math.Max((*cfg.EffectSize.AllowedIncrease-1)*b, cfg.MinEffect)
		if !(*m.EquivalenceHigh < up) {
			return false, fmt.Sprintf("the interval's upper end %.4g does not lie below the allowed increase %.4g", *m.EquivalenceHigh, up)
		}
		out = append(out, fmt.Sprintf("upper %.4g < %.4g", *m.EquivalenceHigh, up))
	}
	if cfg.Direction != DirectionIncrease {
		down := math.Max((1-*cfg.EffectSize.AllowedDecrease)*b, cfg.MinEffect)
		if !(*m.EquivalenceLow > -down) {
			return false, fmt.Sprintf("the interval's lower end %.4g does not lie above the allowed decrease −%.4g", *m.EquivalenceLow, down)
		}
		out = append(out, fmt.Sprintf("lower %.4g > −%.4g", *m.EquivalenceLow, down))
	}
	return true, strings.Join(out, ", ")
}
