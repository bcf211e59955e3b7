package stats

import (
	"fmt"
	"math"
	"slices"

	"gonum.org/v1/gonum/stat/distuv"
)

// SignedRankOptions configures SignedRank. The zero value is a two-sided
// test of independent differences with a 95% interval.
type SignedRankOptions struct {
	// Alternative is the alternative hypothesis about the location of the
	// differences (Greater: the canary is above the baseline).
	Alternative Alternative
	// ConfLevel is the requested confidence level in (0, 1); 0 means 0.95.
	ConfLevel float64
	// Dependence, when estimated, is the serial dependence of the
	// differences (a time series); see MannWhitneyOptions.Dependence.
	Dependence Dependence
}

// SignedRankResult is the outcome of SignedRank.
type SignedRankResult struct {
	// N is the number of non-zero differences tested; Zeros the number of
	// zero differences dropped.
	N, Zeros int
	// V is the sum of the ranks of |d| over the positive differences, with
	// mid-ranks for ties (R's statistic V).
	V float64
	// PValue is the p-value for Alternative.
	PValue float64
	// Estimate is the pseudo-median of the differences: the median of the
	// n(n+1)/2 Walsh averages (d_i + d_j)/2, i ≤ j (the one-sample
	// Hodges-Lehmann estimator).
	Estimate float64
	// CILow and CIHigh bound the confidence interval of the pseudo-median;
	// an unbounded side is -Inf or +Inf.
	CILow, CIHigh float64
	// ConfLevel is the requested confidence level.
	ConfLevel float64
	// Alternative is the alternative hypothesis tested.
	Alternative Alternative
	// Method is Asymptotic, or Serial for dependent differences.
	Method Method
}

// SignedRank performs the Wilcoxon signed-rank test of paired differences
// d_i = canary_i − baseline_i against a location of 0, and estimates the
// location with the pseudo-median and its confidence interval. It follows
// R's wilcox.test(d, conf.int=TRUE, correct=TRUE, exact=FALSE): zero
// differences are dropped, V is the sum of the mid-ranks of |d| over the
// positive differences and
//
//	z = (V − n(n+1)/4 − c) / σ,  σ² = n(n+1)(2n+1)/24 − Σ(t³ − t)/48,
//
// with t the sizes of tie groups of |d| and c the continuity correction of
// MannWhitney. With an estimated Dependence, V is referred instead to the
// bounded tail of Dependence.boundedTail on [0, n(n+1)/2] (Method Serial).
//
// V(μ), the statistic of d − μ, is the number of Walsh averages above μ, so
// the interval's bounds are Walsh averages: W_(M−c₀+1) and W_(c₀) for
// M = n(n+1)/2 and c₀ the smallest count significant at the interval's α.
// Walsh averages are selected by bisection on their value with an O(n)
// count, never materialised. Unlike R the interval is always computed from
// the order statistics, so it contains the estimate.
//
// Edge cases: no differences return ErrNoData; NaN or ±Inf ErrNotFinite;
// when every difference is zero the result is p = 1 and estimate and
// interval 0.
//
// Reference: Hollander, Wolfe & Chicken (2014) Nonparametric Statistical
// Methods, 3rd ed., §3.1–3.2; R's src/library/stats/R/wilcox.test.R.
func SignedRank(d []float64, opts SignedRankOptions) (SignedRankResult, error) {
	conf, err := checkOptions(opts.ConfLevel, opts.Alternative)
	if err != nil {
		return SignedRankResult{}, err
	}
	if err := checkSample("differences", d); err != nil {
		return SignedRankResult{}, err
	}
	res := SignedRankResult{ConfLevel: conf, Alternative: opts.Alternative, Method: Asymptotic}
	x := make([]float64, 0, len(d))
	for _, v := range d {
		if v != 0 {
			x = append(x, v)
		}
	}
	res.N, res.Zeros = len(x), len(d)-len(x)
	if len(x) == 0 {
		res.PValue = 1
		switch opts.Alternative {
		case Greater:
			res.CIHigh = math.Inf(1)
		case Less:
			res.CILow = math.Inf(-1)
		}
		return res, nil
	}
	Sort(x)
	if math.IsInf(2*x[0], 0) || math.IsInf(2*x[len(x)-1], 0) {
		return SignedRankResult{}, fmt.Errorf("differences range over [%v, %v]: %w", x[0], x[len(x)-1], ErrRange)
	}
	abs := make([]float64, len(x))
	for i, v := range x {
		abs[i] = math.Abs(v)
	}
	absSorted := slices.Clone(abs)
	Sort(absSorted)
	r := ranks(abs, absSorted)
	for i, v := range x {
		if v > 0 {
			res.V += r[i]
		}
	}
	var tieSum float64
	for i := 0; i < len(absSorted); {
		j := i + 1
		for j < len(absSorted) && absSorted[j] == absSorted[i] {
			j++
		}
		t := float64(j - i)
		tieSum += t*t*t - t
		i = j
	}
	n := float64(len(x))
	total := n * (n + 1) / 2
	iidVar := n*(n+1)*(2*n+1)/24 - tieSum/48

	var upper, lower func(v float64) float64 // P(V ≥ v), P(V ≤ v)
	if opts.Dependence.Estimated() {
		res.Method = Serial
		ref := opts.Dependence.reference(total, iidVar)
		upper = func(v float64) float64 { return ref(v - 0.5) }
		lower = func(v float64) float64 { return ref(total - v - 0.5) }
	} else {
		sigma := math.Sqrt(iidVar)
		upper = func(v float64) float64 { return normalSurvival((v - total/2 - 0.5) / sigma) }
		lower = func(v float64) float64 { return normalCDF((v - total/2 + 0.5) / sigma) }
	}
	res.PValue = sidedPValue(opts.Alternative, res.V, upper, lower)

	w := walsh{x: x}
	m := w.size()
	alpha := 1 - conf
	side := alpha
	if opts.Alternative == TwoSided {
		side = alpha / 2
	}
	c0 := criticalCount(m, side, func(c int) float64 { return upper(float64(c)) }, m/2+int(distuv.UnitNormal.Quantile(1-side)*math.Sqrt(iidVar)))
	lowRank, highRank := min(max(m-c0+1, 1), m), min(max(c0, 1), m)
	res.CILow, res.CIHigh = w.kth(lowRank), w.kth(highRank)
	if c0 > m && res.Method == Serial {
		// Not even every difference on one side is significant at the
		// interval's level: no shift is excluded (the interval agrees
		// with the p-value).
		res.CILow, res.CIHigh = math.Inf(-1), math.Inf(1)
	}
	switch opts.Alternative {
	case Greater:
		res.CIHigh = math.Inf(1)
	case Less:
		res.CILow = math.Inf(-1)
	}
	if m%2 == 1 {
		res.Estimate = w.kth((m + 1) / 2)
	} else {
		res.Estimate = w.kth(m/2)/2 + w.kth(m/2+1)/2
	}
	return res, nil
}

// walsh is the implicit multiset of the Walsh averages (x_i + x_j)/2,
// i ≤ j, of an ascending sample.
type walsh struct{ x []float64 }

func (w walsh) size() int { n := len(w.x); return n * (n + 1) / 2 }

// countSumsLE counts the pairs i ≤ j with x_i + x_j ≤ s in one O(n)
// two-pointer sweep: for growing i the largest admissible j only falls.
func (w walsh) countSumsLE(s float64) int {
	count := 0
	j := len(w.x) - 1
	for i := range w.x {
		for j >= i && w.x[i]+w.x[j] > s {
			j--
		}
		if j < i {
			break
		}
		count += j - i + 1
	}
	return count
}

// kth returns the k-th smallest Walsh average, 1 ≤ k ≤ size: the smallest
// sum s of two points with at least k sums at or below it, found by
// bisection of the ordered float64 bit patterns between the smallest and
// the largest sum (at most 64 steps), halved.
func (w walsh) kth(k int) float64 {
	lo, hi := 2*w.x[0], 2*w.x[len(w.x)-1]
	if w.countSumsLE(lo) >= k {
		return lo / 2
	}
	// Invariant: count(lo) < k ≤ count(hi).
	for {
		mid := bitMidpoint(lo, hi)
		if mid <= lo || mid >= hi {
			return hi / 2
		}
		if w.countSumsLE(mid) >= k {
			hi = mid
		} else {
			lo = mid
		}
	}
}
