package verdict

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestPValueAndIntervalAgree is a property test over random inputs: the
// default judge's location p-value and its interval of the shift (at the
// judge's level 1 − α) say the same thing, the interval excluding 0 exactly
// when p < α, for unpaired and paired series, one- and two-sided, with and
// without dependence. A metric whose interval cannot bound the shift is
// never significant.
func TestPValueAndIntervalAgree(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(31, 30))
	aligned := map[string]PairScope{"control": {StartTimeMillis: 1_700_000_000_000, StepMillis: 60_000},
		"experiment": {StartTimeMillis: 1_700_000_000_000, StepMillis: 60_000}}
	disagree, checked := 0, 0
	for i := range 600 {
		n := 10 + r.IntN(110)
		rho := []float64{0, 0.5, 0.9}[i%3]
		shift := []float64{1, 1.02, 1.1, 1.4}[r.IntN(4)]
		load, own := 0.0, 0.0
		control, canary := make([]float64, n), make([]float64, n)
		for j := range n {
			load = rho*load + math.Sqrt(1-rho*rho)*r.NormFloat64()
			own = rho*own + math.Sqrt(1-rho*rho)*r.NormFloat64()
			control[j] = 100 * math.Exp(0.2*load+0.05*r.NormFloat64())
			canary[j] = shift * 100 * math.Exp(0.2*load+0.05*own)
		}
		metric := Metric{Direction: []Direction{DirectionIncrease, DirectionDecrease, DirectionEither}[r.IntN(3)]}
		p := MetricSetPair{Values: PairValues{Control: control, Experiment: canary}}
		if i%2 == 0 {
			p.Scopes = aligned
		}
		m := judgeOne(t, metric, p)
		if m.PValue == nil {
			continue
		}
		checked++
		lo, hi := math.Inf(-1), math.Inf(1)
		if m.CILow != nil {
			lo = *m.CILow
		}
		if m.CIHigh != nil {
			hi = *m.CIHigh
		}
		excludes := lo > 0 || hi < 0
		if significant := *m.PValue < 0.05; significant != excludes {
			disagree++
			if disagree <= 5 {
				t.Errorf("case %d (%s, n %d, ρ %g, shift %g, %s): p %.4g but interval [%.4g, %.4g]", i, m.Comparison, n, rho, shift, metric.Direction, *m.PValue, lo, hi)
			}
		}
	}
	if checked < 500 {
		t.Errorf("only %d of 600 cases had a location p-value", checked)
	}
	if disagree > 0 {
		t.Errorf("%d of %d cases disagree", disagree, checked)
	}
}
