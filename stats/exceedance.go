package stats

import (
	"math"
	"slices"
)

// ExceedanceResult is the outcome of Exceedances on one side.
type ExceedanceResult struct {
	// Count is the number of canary innovations (or stretches of Block
	// innovations) beyond every reference innovation; Canary and Baseline
	// the numbers of canary and reference innovations (or stretches)
	// compared.
	Count, Canary, Baseline int
	// Block is the number of consecutive innovations in each stretch
	// compared (1: each innovation alone).
	Block int
	// Bound is the most extreme reference innovation.
	Bound float64
	// PValue is P(Count or more) when canary and reference innovations are
	// exchangeable.
	PValue float64
}

// Exceedances tests whether the canary's point-to-point jumps reach beyond
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
// the largest reference innovation (or below the smallest); for exchangeable innovations, with n_c canary and n_b reference
// innovations,
//
//	P(K ≥ k) = C(n_c, k) / C(n_c + n_b, k) = Π_{i<k} (n_c − i)/(n_c + n_b − i).
//
// Both sides are tested at once: up counts the canary innovations above
// the largest reference innovation, down those below the smallest.
//
// A block of b > 1 compares stretches of b consecutive innovations (each
// series cut from its start, a shorter last stretch kept): a stretch is
// beyond when its most extreme innovation is, and the count and the
// numbers compared are of stretches. Under a moving window of b steps
// (rate(x[5m]) at 1 m, a rolling mean) a change of the noise spreads its
// jumps over b steps, so exceedances come in runs that the count of
// single innovations takes for independent evidence (a p99 from
// histogram buckets whose canary wandered into a wider bucket: runs of
// five, and unchanged 20-metric analyses failed 8% on them); stretches
// of b jumps share little, and a run counts about once.
// Series need at least 3 points (shorter ones are left out); with no
// canary or reference innovation, or no canary innovation beyond the
// bound, the p-value is 1. Values must be finite.
//
// Reference: Rosenbaum (1954) "Tables for a nonparametric test of location",
// Ann. Math. Statist. 25:146–150; Box, Jenkins & Reinsel, Time Series
// Analysis, on prewhitening.
func Exceedances(canary []float64, rho float64, block int, reference ...[]float64) (up, down ExceedanceResult) {
	g := math.Min(math.Max(rho, 0), 0.98)
	block = max(block, 1)
	longest := len(canary)
	for _, b := range reference {
		longest = max(longest, len(b))
	}
	pooled := floatBufs.Get().(*[]float64)
	defer floatBufs.Put(pooled)
	buf := sized(pooled, longest)
	nb, hi, lo := 0, math.Inf(-1), math.Inf(1)
	for _, b := range reference {
		e := innovations(b, g, buf)
		nb += stretches(len(e), block)
		for _, v := range e {
			hi, lo = math.Max(hi, v), math.Min(lo, v)
		}
	}
	ec := innovations(canary, g, buf)
	nc := stretches(len(ec), block)
	up = ExceedanceResult{Canary: nc, Baseline: nb, Block: block, PValue: 1}
	down = up
	if nc == 0 || nb == 0 {
		return up, down
	}
	up.Bound, down.Bound = hi, lo
	for start := 0; start < len(ec); start += block {
		s := ec[start:min(start+block, len(ec))]
		if slices.Max(s) > hi {
			up.Count++
		}
		if slices.Min(s) < lo {
			down.Count++
		}
	}
	up.PValue, down.PValue = exceedanceP(up.Count, nc, nb), exceedanceP(down.Count, nc, nb)
	return up, down
}

// stretches is the number of stretches of block innovations (the last
// possibly shorter) that n innovations make.
func stretches(n, block int) int { return (n + block - 1) / block }

// exceedanceP is P(K ≥ k) for nc canary and nb reference innovations.
func exceedanceP(k, nc, nb int) float64 {
	c, total := float64(nc), float64(nc+nb)
	logP := 0.0
	for i := range k {
		logP += math.Log((c - float64(i)) / (total - float64(i)))
	}
	return math.Exp(logP)
}

// innovations returns the AR(1) innovations of x around its median,
// written over buf (at least len(x) long), which also holds the median's
// selection.
func innovations(x []float64, rho float64, buf []float64) []float64 {
	if len(x) < 3 {
		return nil
	}
	m := medianInto(x, buf)
	out := buf[:len(x)-1]
	for t := 1; t < len(x); t++ {
		out[t-1] = (x[t] - m) - rho*(x[t-1]-m)
	}
	return out
}

// medianInto is QuantileSorted(0.5, x sorted), found by selection in buf
// (at least len(x) long) instead of a sort.
func medianInto(x, buf []float64) float64 {
	n := len(x)
	a := buf[:n]
	copy(a, x)
	i := (n - 1) / 2
	lo := selectNth(a, i)
	if n%2 == 1 {
		return lo
	}
	return interpolate(lo, slices.Min(a[i+1:]), 0.5)
}
