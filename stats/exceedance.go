package stats

import (
	"math"
	"slices"
)

// ExceedanceResult is the outcome of Exceedance.
type ExceedanceResult struct {
	// Count is the number of canary innovations beyond every reference
	// innovation; Canary and Baseline the numbers of canary and reference
	// innovations compared.
	Count, Canary, Baseline int
	// Bound is the most extreme reference innovation.
	Bound float64
	// PValue is P(Count or more) when canary and reference innovations are
	// exchangeable.
	PValue float64
}

// Exceedance tests whether the canary's point-to-point jumps reach beyond
// anything the baseline did: a shape test for regressions that hit some
// points hard (a third of the requests three times slower, a burst of
// errors, a latency spike) and move the median little, which a location
// test cannot see through serially correlated noise (kayenta#780).
//
// The reference is one or more baseline series in time order: the
// baseline's window and, when there is one, its history before the window.
// Every point of the reference is evidence of what the unchanged service
// does, and a longer reference makes each canary exceedance rarer by
// chance: with a reference four times the canary's length, k exceedances
// have a chance of about 5^−k instead of 2^−k.
//
// Each series is prewhitened with the dependence's AR(1) coefficient ρ ≥ 0
// (its normal-score correlation, used on the values' own scale): the
// innovations e_t = (x_t − m) − ρ(x_{t−1} − m), t ≥ 2, with m the series'
// own median, are nearly independent, so slow wandering of the noise
// cannot produce many exceedances while isolated jumps stand out, and a
// reference series at another level than the canary's does not shift the
// bound. The statistic is Rosenbaum's count K of canary innovations above
// the largest reference innovation (below the smallest when upper is
// false); for exchangeable innovations, with n_c canary and n_b reference
// innovations,
//
//	P(K ≥ k) = C(n_c, k) / C(n_c + n_b, k) = Π_{i<k} (n_c − i)/(n_c + n_b − i).
//
// Series need at least 3 points (shorter ones are left out); with no
// canary or reference innovation, or no canary innovation beyond the
// bound, the p-value is 1. Values must be finite.
//
// Reference: Rosenbaum (1954) "Tables for a nonparametric test of location",
// Ann. Math. Statist. 25:146–150; Box, Jenkins & Reinsel, Time Series
// Analysis, on prewhitening.
func Exceedance(canary []float64, rho float64, upper bool, reference ...[]float64) ExceedanceResult {
	g := math.Min(math.Max(rho, 0), 0.98)
	ec := innovations(canary, g)
	var eb []float64
	for _, b := range reference {
		eb = append(eb, innovations(b, g)...)
	}
	res := ExceedanceResult{Canary: len(ec), Baseline: len(eb), PValue: 1}
	if len(ec) == 0 || len(eb) == 0 {
		return res
	}
	if upper {
		res.Bound = slices.Max(eb)
	} else {
		res.Bound = slices.Min(eb)
	}
	for _, v := range ec {
		if (upper && v > res.Bound) || (!upper && v < res.Bound) {
			res.Count++
		}
	}
	nc, total := float64(len(ec)), float64(len(ec)+len(eb))
	logP := 0.0
	for i := range res.Count {
		logP += math.Log((nc - float64(i)) / (total - float64(i)))
	}
	res.PValue = math.Exp(logP)
	return res
}

// innovations returns the AR(1) innovations of x around its median.
func innovations(x []float64, rho float64) []float64 {
	if len(x) < 3 {
		return nil
	}
	m := QuantileSorted(0.5, sorted(x))
	out := make([]float64, len(x)-1)
	for t := 1; t < len(x); t++ {
		out[t-1] = (x[t] - m) - rho*(x[t-1]-m)
	}
	return out
}
