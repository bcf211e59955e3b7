package stats

import (
	"math"

	"gonum.org/v1/gonum/stat/distuv"
)

// serialTest fills the p-value, interval and estimate for serially dependent
// samples: W is referred to Dependence.boundedTail with the tie-corrected
// independent variance, with the continuity correction of the asymptotic
// test. The interval inverts the same tail: its bounds are the pairwise
// differences at the smallest count c₀ whose upper tail is at most the
// interval's α (α/2 for two-sided): D_(nm−c₀+1) below and, by symmetry,
// D_(c₀) above. When no count reaches the level (too few points for the
// dependence allowed for) the interval is the whole line, so that it
// agrees with the p-value: it excludes zero only when p is below α.
func serialTest(res *MannWhitneyResult, diffs *pairwiseDiffs, conf float64, rs rankSums, dep Dependence, pOnly bool) {
	n, m := float64(res.NCanary), float64(res.NBaseline)
	mn := n * m
	N := n + m
	iidVar := (mn / 12) * ((N + 1) - rs.tieSum/(N*(N-1)))
	ref := dep.reference(mn, iidVar)
	res.PValue = sidedPValue(res.Alternative, res.W,
		func(w float64) float64 { return ref(w - 0.5) },      // P(W ≥ w)
		func(w float64) float64 { return ref(mn - w - 0.5) }) // P(W ≤ w)
	if pOnly {
		noInterval(res)
		return
	}

	ciVar := (mn / 12) * ((N + 1) - rs.within/(N*(N-1)))
	nm := len(diffs.x) * len(diffs.y)
	alpha := 1 - conf
	side := alpha
	if res.Alternative == TwoSided {
		side = alpha / 2
	}
	ciRef := dep.reference(mn, ciVar)
	c0 := criticalCount(nm, side, func(c int) float64 { return ciRef(float64(c) - 0.5) }, dep.guessCount(mn, ciVar, side))
	if c0 > nm {
		// No count, not even complete separation, is significant at the
		// interval's level: no shift is excluded, however large.
		res.CILow, res.CIHigh = math.Inf(-1), math.Inf(1)
		res.Estimate = diffs.median()
		return
	}
	lowRank, highRank := min(max(nm-c0+1, 1), nm), min(max(c0, 1), nm)
	switch res.Alternative {
	case TwoSided:
		lo := diffs.kth(lowRank)
		hi := diffs.kthFrom(highRank, lo)
		res.CILow, res.CIHigh = lo.value, hi.value
		res.Estimate = diffs.medianBetween(lo, hi)
		return
	case Greater:
		res.CILow, res.CIHigh = diffs.kth(lowRank).value, math.Inf(1)
	case Less:
		res.CILow, res.CIHigh = math.Inf(-1), diffs.kth(highRank).value
	}
	res.Estimate = diffs.median()
}

// criticalCount returns the smallest count c in (total/2, total] whose
// upper tail tail(c) is at most alpha, or total+1 when there is none; tail
// is non-increasing in c. guess, where the caller expects the answer (a
// normal approximation), only saves evaluations of tail, each costly for
// the dependence-aware reference. The search keeps the bracket (lo, hi]
// around the answer and probes, in turn: the guess and its neighbour on
// the answer's side; the secant through the last two probes on the
// normal-score scale of the tail, which is nearly linear in c there, and
// that point's neighbour on the answer's side, which closes the bracket
// when the secant was right; bisection once the secant stops helping.
// Typically 2 to 4 evaluations. With tail non-increasing the answer is
// the same from any guess.
func criticalCount(total int, alpha float64, tail func(c int) float64, guess int) int {
	lo, hi := total/2, total+1 // tail(lo) counts as > alpha, tail(hi) as ≤ alpha
	// The last two probes, for the secant.
	var last [2]struct {
		c int
		t float64
	}
	probes := 0
	// probe evaluates tail at c, strictly inside the bracket, narrows the
	// bracket, and reports whether c is the new upper end.
	probe := func(c int) bool {
		t := tail(c)
		last[0], last[1] = last[1], last[0]
		last[1].c, last[1].t = c, t
		probes++
		if t <= alpha {
			hi = c
			return true
		}
		lo = c
		return false
	}
	// neighbour probes beside c, the end of the bracket it became, towards
	// the other end: when the answer is c (or c+1) the bracket closes.
	neighbour := func(upper bool) {
		switch {
		case hi-lo <= 1:
		case upper:
			probe(hi - 1)
		default:
			probe(lo + 1)
		}
	}
	za := distuv.UnitNormal.Quantile(1 - alpha)
	secant := func() (int, bool) {
		a, b := last[0], last[1]
		if probes < 2 || !(a.t > 0 && a.t < 1 && b.t > 0 && b.t < 1) || a.t == b.t {
			return 0, false
		}
		za1, zb := distuv.UnitNormal.Quantile(1-a.t), distuv.UnitNormal.Quantile(1-b.t)
		c := float64(a.c) + (za-za1)*float64(b.c-a.c)/(zb-za1)
		if math.IsNaN(c) || c <= float64(lo) || c >= float64(hi) {
			return 0, false
		}
		return int(math.Ceil(c)), true
	}
	if g := min(max(guess, lo+1), total); g > lo && g < hi {
		neighbour(probe(g))
	}
	for round := 0; hi-lo > 1; round++ {
		c, ok := secant()
		if !ok || round >= 3 || c <= lo || c >= hi {
			c = int(uint(lo+hi) >> 1)
		}
		neighbour(probe(c))
	}
	return hi
}

// guessCount is where a count of total pairs is significant at one-sided
// level alpha by the normal approximation with the dependence's variance
// allowance: a starting point for criticalCount.
func (d Dependence) guessCount(total, iidVar, alpha float64) int {
	f := RankInflation(d.Rho)
	if d.Inflation > 0 {
		f = math.Max(d.Inflation, 1)
	}
	z := distuv.UnitNormal.Quantile(1 - alpha)
	return int(total/2 + z*math.Sqrt(f*iidVar) + 0.5)
}

// smallSampleConstant sets the finite-window inflation 1 + (c/(L(1−ρ)))²
// of the rank-process variance, where L is the mean length of the series
// behind the estimate. Within a short window, a persistent excursion of the
// noise moves the window's level (the variance the test needs) and, through
// the centring, hides from the estimate of ρ at the same time; simulation of
// Gaussian AR(1) A/A pairs (30 to 120 points, ρ up to 0.9, with and without
// a baseline history three windows long) puts c at about 10.
const smallSampleConstant = 10

// WindowInflation is the variance allowance of a rank statistic over a
// window of length points of a Gaussian-copula AR(1) series with
// normal-score correlation rho: RankInflation(ρ) times the finite-window
// term 1 + (c/(L(1−ρ)))² for ρ > 0 (smallSampleConstant), which the
// dependence-aware reference (boundedTail) uses at each ρ.
func WindowInflation(rho, length float64) float64 {
	f := RankInflation(rho)
	if rho > 0 {
		q := smallSampleConstant / (length * (1 - rho))
		f *= 1 + q*q
	}
	return f
}

// windowsConstant sets windowsInflation's term 1 + k·τ/L. Without history
// the dependence is estimated from the compared windows themselves, each
// centred on its own level: a persistent excursion that moves a window's
// level, and so the statistic, also hides from the estimate, which then
// reads low exactly when the statistic reads far. Simulation of Gaussian
// AR(1) A/A pairs (30 to 240 points a window, ρ 0.3 to 0.9, 60,000 pairs
// each, the rank test at 0.0019) puts the variance the test needs, beyond
// the estimate's whole uncertainty integrated out, at about 1 + 2τ/L (1.05
// to 1.2 for 30 to 240 points at ρ 0.3–0.9, 2.2 at 30 points and ρ 0.9).
// It is used where the estimate holds more than integrationPoints points
// (windows over 30 points, with the canary's halves): in shorter windows
// the rank test is chosen only when ρ̂ reads low (it needs 20 effective
// points), and the pooled rule's finite-window term, which hedges that
// choice, stands (with 1 + 2τ/L, unchanged 10-point windows of 20 metrics
// failed 7.3% of the time, against 1.3%).
const windowsConstant = 2

// differencesConstant is windowsConstant for paired differences
// (DifferencesDependence): the signed-rank statistic of n differences
// about 0, with ρ estimated from the differences' two halves, each centred
// on its own level. With the pooled rule (the finite-window term over the
// halves, integrated over SE·√(60/N)) unchanged Gaussian AR(1)
// differences of 240 to 720 points at ρ 0.5–0.9 fell below the level
// 1.2–1.5 times too often; simulation (60,000 series a cell, the test at
// 0.00225) puts the term at about 1 + 3τ/n (1.0–1.2 times the level at
// ρ 0.5–0.8). It is used where the differences number more than
// integrationPoints, as windowsConstant is.
const differencesConstant = 3

// windowsInflation is WindowInflation for an estimate drawn from the
// compared series alone (EstimateWindowsDependence,
// DifferencesDependence): RankInflation(ρ) times 1 + k·τ/L, with k the
// estimate's constant, τ = (1 + ρ)/(1 − ρ) the dependence time and L the
// compared series' length, for ρ > 0.
func windowsInflation(k, rho, length float64) float64 {
	f := RankInflation(rho)
	if rho > 0 {
		f *= 1 + k*(1+rho)/(1-rho)/length
	}
	return f
}

// boundedTail returns P(S ≥ s) for a statistic S on [0, M], symmetric about
// M/2, whose variance under independence is iidVar and which is a sum of
// ranks (or signed ranks) of serially dependent series.
//
// Given ρ, the variance is iidVar·f(ρ)·(1 + (c/(L(1−ρ)))² for ρ > 0)
// (RankInflation, smallSampleConstant), and S/M is approximated by the symmetric beta
// distribution with that variance: a strongly correlated window holds few
// independent pieces, so S cannot stray as far as a normal tail would put
// it (the beta matches the normal approximation for independent data and
// the bounded range for dependent data). The uncertainty of ρ̂ is then
// integrated out: the tail probability is averaged over
// ρ = tanh(atanh(ρ̂) + SE·min(1, √(60/N))·Z), Z standard normal, by Gauss-Hermite
// quadrature, and never taken below the normal tail of independent data.
// An estimate from the compared windows alone (EstimateWindowsDependence)
// of more than 60 points is integrated over its whole standard error,
// SE·Z, with the finite-window term 1 + 2τ/L (windowsInflation) in place
// of the one above; one from more than 60 paired differences alone
// (DifferencesDependence) likewise, with 1 + 3τ/n.
// Without an estimate (d.Estimated() false) the data are taken as
// independent.
func (d Dependence) boundedTail(s, m, iidVar float64) float64 {
	return d.reference(m, iidVar)(s)
}

// reference returns boundedTail(·, m, iidVar) as a function of s, with the
// beta shape of every quadrature node computed once (tests invert it many
// times for an interval).
func (d Dependence) reference(m, iidVar float64) func(s float64) float64 {
	length := d.meanLength()
	// An estimate from the compared windows alone gets its own rule where
	// the pooled one would narrow the integration below its whole SE.
	windows := d.windows > 0 && d.Points > integrationPoints
	inflation := WindowInflation
	if windows {
		inflation = func(rho, length float64) float64 { return windowsInflation(d.windows, rho, length) }
	}
	shape := func(rho float64) float64 {
		v := inflation(rho, length) * iidVar / (m * m)
		return math.Max((0.25/v-1)/2, 0.05)
	}
	independent := shape(0)
	var shapes, weights []float64
	switch {
	case d.Inflation > 0:
		v := math.Max(d.Inflation, 1) * iidVar / (m * m)
		shapes, weights = []float64{math.Max((0.25/v-1)/2, 0.05)}, []float64{1}
	case d.Estimated():
		nodes := hermite()
		center := math.Atanh(d.Rho)
		width := d.SE * math.Min(1, math.Sqrt(integrationPoints/float64(d.Points)))
		if windows {
			width = d.SE
		}
		for i, z := range nodes[0] {
			shapes = append(shapes, shape(math.Tanh(center+width*z)))
			weights = append(weights, nodes[1][i])
		}
	}
	return func(s float64) float64 {
		x := math.Min(math.Max(s/m, 0), 1)
		tail := func(a float64) float64 { return distuv.Beta{Alpha: a, Beta: a}.Survival(x) }
		if shapes == nil {
			return tail(independent)
		}
		var p float64
		for i, a := range shapes {
			p += weights[i] * tail(a)
		}
		// The test is never sharper than the classic one for independent
		// data (the normal approximation): negative correlation is not
		// trusted that far (a slow drift under a jittery lag-1
		// correlation would be missed), and the beta shape, a device for
		// dependent windows, is too light-tailed for a tiny sample.
		return math.Min(math.Max(p, normalSurvival((s-m/2)/math.Sqrt(iidVar))), 1)
	}
}
