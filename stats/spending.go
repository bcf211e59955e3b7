package stats

import (
	"math"

	"gonum.org/v1/gonum/stat/distuv"
)

// SpentLevel returns the part of a family-wise level alpha that a look
// covering the information fraction (from, to] of a planned sequence may
// use, by the Lan–DeMets spending function of O'Brien–Fleming type,
//
//	A(t) = 2 − 2Φ(z_{1−α/2} / √t),  0 < t ≤ 1,  A(0) = 0,  A(1) = α,
//
// as A(to) − A(from). Testing look k at level A(t_k) − A(t_{k−1}) keeps the
// chance of any false rejection over all looks at most α by the union
// bound, whatever the correlation between looks (conservative: the exact
// Lan–DeMets boundaries use that correlation to spend the same α with
// wider levels). Early looks get little of α, so the last look's power is
// close to a single test's. from and to are clamped to [0, 1]; to ≤ from
// spends nothing.
//
// Reference: Lan & DeMets (1983), Discrete sequential boundaries for
// clinical trials, Biometrika 70:659–663.
func SpentLevel(alpha, from, to float64) float64 {
	spend := func(t float64) float64 {
		t = math.Min(math.Max(t, 0), 1)
		if t == 0 {
			return 0
		}
		z := distuv.UnitNormal.Quantile(1 - alpha/2)
		return 2 - 2*distuv.UnitNormal.CDF(z/math.Sqrt(t))
	}
	return math.Max(spend(to)-spend(from), 0)
}
