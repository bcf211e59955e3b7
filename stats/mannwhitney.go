package stats

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/stat/distuv"
)

// Alternative is the alternative hypothesis of a test on the location shift
// Δ = canary − baseline.
type Alternative int

const (
	// TwoSided tests Δ ≠ 0.
	TwoSided Alternative = iota
	// Greater tests Δ > 0: the canary is shifted upwards.
	Greater
	// Less tests Δ < 0: the canary is shifted downwards.
	Less
)

// String returns the name used on the command line and in JSON output.
func (a Alternative) String() string {
	switch a {
	case TwoSided:
		return "two-sided"
	case Greater:
		return "greater"
	case Less:
		return "less"
	}
	return fmt.Sprintf("Alternative(%d)", int(a))
}

// ParseAlternative parses "two-sided" (also R's "two.sided"), "greater" or
// "less".
func ParseAlternative(s string) (Alternative, error) {
	switch s {
	case "two-sided", "two.sided", "two_sided":
		return TwoSided, nil
	case "greater":
		return Greater, nil
	case "less":
		return Less, nil
	}
	return 0, fmt.Errorf("%q: %w (want two-sided, greater or less)", s, ErrAlternative)
}

// Method tells how a p-value and interval were computed.
type Method int

const (
	// Exact uses the exact null distribution of W.
	Exact Method = iota + 1
	// Asymptotic uses the normal approximation with tie-corrected variance
	// and continuity correction.
	Asymptotic
	// Serial uses the bounded approximation for serially dependent samples
	// (see Dependence).
	Serial
)

// String returns "exact" or "asymptotic".
func (m Method) String() string {
	switch m {
	case Exact:
		return "exact"
	case Asymptotic:
		return "asymptotic"
	case Serial:
		return "serial"
	}
	return fmt.Sprintf("Method(%d)", int(m))
}

// ExactLimit is the sample size from which the normal approximation is used:
// the exact distribution is used when both samples have fewer values and
// there are no ties, as in R's wilcox.test up to R 4.5.
const ExactLimit = 50

// MannWhitneyOptions configures MannWhitney. The zero value is a two-sided
// test with a 95% interval.
type MannWhitneyOptions struct {
	// Alternative is the alternative hypothesis.
	Alternative Alternative
	// ConfLevel is the requested confidence level in (0, 1); 0 means 0.95.
	ConfLevel float64
	// VarianceInflation multiplies the null variance of W, for samples that
	// are not independent (for example autocorrelated time series, where it
	// is (1+ρ)/(1−ρ) for AR(1) with coefficient ρ). Values above 1 force the
	// normal approximation; 0 and 1 mean independent samples.
	VarianceInflation float64
	// Asymptotic forces the normal approximation even for small samples
	// without ties (R's exact=FALSE; Kayenta always does this).
	Asymptotic bool
	// Dependence, when estimated, makes the test one for serially dependent
	// samples (time series): the p-value and interval come from the
	// tie-corrected variance inflated for the dependence, with the bounded
	// tail and the uncertainty of the estimate of Dependence.boundedTail,
	// and Method is Serial. VarianceInflation must then be 0 or 1.
	Dependence Dependence
	// PValueOnly computes the p-value alone: Estimate, CILow and CIHigh
	// are NaN. For a test whose interval is not reported (the serial
	// interval's inversion costs several evaluations of the dependent
	// reference).
	PValueOnly bool
}

// MannWhitneyResult is the outcome of MannWhitney. Shifts are canary − baseline.
type MannWhitneyResult struct {
	// NCanary and NBaseline are the sample sizes.
	NCanary, NBaseline int
	// W is the Mann-Whitney U of the canary: its rank sum in the combined
	// sample minus NCanary(NCanary+1)/2, with mid-ranks for ties.
	W float64
	// PValue is the p-value for Alternative.
	PValue float64
	// Estimate is the Hodges-Lehmann estimate of the shift: the median of
	// all pairwise differences canary_i − baseline_j.
	Estimate float64
	// CILow and CIHigh bound the confidence interval; an unbounded side is
	// -Inf or +Inf.
	CILow, CIHigh float64
	// ConfLevel is the achieved confidence level: for exact intervals the
	// coverage of the chosen order statistics (at least the requested level
	// when achievable), else the requested level.
	ConfLevel float64
	// Alternative is the alternative hypothesis tested.
	Alternative Alternative
	// Method is Exact or Asymptotic.
	Method Method
}

// MannWhitney performs the two-sample Mann-Whitney / Wilcoxon rank-sum test of
// canary against baseline and estimates the location shift canary − baseline
// with the Hodges-Lehmann estimator and its confidence interval. It follows R's
// wilcox.test(canary, baseline, conf.int=TRUE, correct=TRUE) as of R ≤ 4.5.
//
// With n = len(canary), m = len(baseline), W is the number of pairs with
// canary_i > baseline_j plus half the number of tied pairs.
//
// Exact method (n < 50, m < 50 and no ties in the combined sample): the
// p-value comes from the exact null distribution of W, and the interval
// bounds are the order statistics D_(k) and D_(nm−k+1) of the pairwise
// differences D = canary_i − baseline_j, with k = qwilcox(α/2, n, m) (α for a
// one-sided interval) as in R; ConfLevel is then 1 − P(W < k) (doubled for
// two-sided), the coverage actually achieved.
//
// Asymptotic method: z = (W − nm/2 − c) / σ with
//
//	σ² = nm/12 · ((N+1) − Σ(t³−t) / (N(N−1))),  N = n+m,
//
// t the sizes of tie groups and c the continuity correction (±0.5 towards
// zero for two-sided, +0.5 for greater, −0.5 for less). The interval inverts
// the same statistic as a function of the shift d, as R does with uniroot;
// that function is a step function whose steps sit on pairwise differences,
// so each bound is returned as the exact order statistic where it crosses
// its target, not an iterative approximation of it.
//
// The estimate is always the true Hodges-Lehmann median of the nm pairwise
// differences (R's asymptotic branch reports a root of the standardised
// statistic instead, which lies in the same step).
//
// Order statistics of the differences are selected from the two sorted
// samples without materialising them, in O((n+m) log(n+m)) time and O(n+m)
// memory.
//
// Edge cases: an empty sample returns ErrNoData; NaN or ±Inf returns
// ErrNotFinite naming the sample and index; samples whose differences
// overflow float64 (magnitudes near 1e308) return ErrRange; when every value of both samples
// is identical the result is p = 1, estimate 0 and the interval [0, 0] (with
// the one-sided interval open on its unbounded side).
//
// References: Hollander, Wolfe & Chicken (2014) Nonparametric Statistical
// Methods, 3rd ed., §4.1–4.3; Bauer (1972) "Constructing confidence sets using
// rank statistics", JASA 67:687–690; R's src/library/stats/R/wilcox.test.R.
func MannWhitney(canary, baseline []float64, opts MannWhitneyOptions) (MannWhitneyResult, error) {
	conf, err := checkOptions(opts.ConfLevel, opts.Alternative)
	if err != nil {
		return MannWhitneyResult{}, err
	}
	inflation := opts.VarianceInflation
	if inflation == 0 {
		inflation = 1
	}
	if !(inflation >= 1) || math.IsInf(inflation, 0) {
		return MannWhitneyResult{}, fmt.Errorf("variance inflation %v: must be a finite number ≥ 1", inflation)
	}
	x, err := checkedSorted("canary", canary)
	if err != nil {
		return MannWhitneyResult{}, err
	}
	y, err := checkedSorted("baseline", baseline)
	if err != nil {
		return MannWhitneyResult{}, err
	}
	n, m := len(x), len(y)
	if lo, hi := x[0]-y[m-1], x[n-1]-y[0]; math.IsInf(lo, 0) || math.IsInf(hi, 0) {
		return MannWhitneyResult{}, fmt.Errorf("differences range over [%v, %v]: %w", lo, hi, ErrRange)
	}
	res := MannWhitneyResult{
		NCanary:     n,
		NBaseline:   m,
		Alternative: opts.Alternative,
		ConfLevel:   conf,
	}
	rs := rankSum(x, y)
	res.W = rs.u

	if x[0] == x[n-1] && y[0] == y[m-1] && x[0] == y[0] {
		// Every value is tied: W sits at its null mean and the variance is
		// zero, so there is no evidence of any shift.
		res.Method = Asymptotic
		res.PValue = 1
		res.CILow, res.CIHigh = 0, 0
		switch opts.Alternative {
		case Greater:
			res.CIHigh = math.Inf(1)
		case Less:
			res.CILow = math.Inf(-1)
		}
		if opts.PValueOnly {
			noInterval(&res)
		}
		return res, nil
	}

	// A selection enumerates at most about n+m differences (selectRank):
	// on the stack for the usual windows.
	var small [256]float64
	pd := newPairwiseDiffs(x, y, small[:])
	diffs := &pd
	switch {
	case opts.Dependence.Estimated():
		if inflation != 1 {
			return MannWhitneyResult{}, fmt.Errorf("variance inflation %v with an estimated dependence: set one of them", inflation)
		}
		res.Method = Serial
		serialTest(&res, diffs, conf, rs, opts.Dependence, opts.PValueOnly)
	case n < ExactLimit && m < ExactLimit && !rs.ties && inflation == 1 && !opts.Asymptotic:
		res.Method = Exact
		exactTest(&res, diffs, conf, opts.PValueOnly)
	default:
		res.Method = Asymptotic
		asymptoticTest(&res, diffs, conf, rs, inflation, opts.PValueOnly)
	}
	return res, nil
}

// checkOptions returns the confidence level (0 means 0.95) after checking
// it and the alternative.
func checkOptions(conf float64, alt Alternative) (float64, error) {
	if conf == 0 {
		conf = 0.95
	}
	if !(conf > 0 && conf < 1) {
		return 0, fmt.Errorf("conf level %v: %w", conf, ErrConfLevel)
	}
	if alt < TwoSided || alt > Less {
		return 0, fmt.Errorf("alternative %d: %w", int(alt), ErrAlternative)
	}
	return conf, nil
}

// sidedPValue is the p-value of statistic s for the alternative, from its
// upper tail P(S ≥ s) and lower tail P(S ≤ s) (two-sided: twice the
// smaller, at most 1).
func sidedPValue(alt Alternative, s float64, upper, lower func(float64) float64) float64 {
	switch alt {
	case Greater:
		return upper(s)
	case Less:
		return lower(s)
	}
	return math.Min(1, 2*math.Min(upper(s), lower(s)))
}

// noInterval marks a result computed for its p-value alone
// (MannWhitneyOptions.PValueOnly).
func noInterval(res *MannWhitneyResult) {
	res.Estimate, res.CILow, res.CIHigh = math.NaN(), math.NaN(), math.NaN()
}

// checkedSorted returns the sample s ascending (s itself when it already
// is), or checkSample's error. A sample that is ascending with finite ends
// is checked in one pass: a NaN fails every comparison, and finite ends
// bound the values between them.
func checkedSorted(name string, s []float64) ([]float64, error) {
	if finiteAscending(s) {
		return s, nil
	}
	if err := checkSample(name, s); err != nil {
		return nil, err
	}
	return sorted(s), nil
}

// finiteAscending reports whether s is non-empty, ascending and finite.
func finiteAscending(s []float64) bool {
	if len(s) == 0 || math.IsNaN(s[0]) || math.IsInf(s[0], 0) || math.IsInf(s[len(s)-1], 0) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if !(s[i] >= s[i-1]) {
			return false
		}
	}
	return true
}

// checkSample returns ErrNoData for an empty sample and ErrNotFinite naming
// the first NaN or infinite value.
func checkSample(name string, s []float64) error {
	if len(s) == 0 {
		return fmt.Errorf("%s sample: %w", name, ErrNoData)
	}
	for i, v := range s {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("%s[%d] = %v: %w", name, i, v, ErrNotFinite)
		}
	}
	return nil
}

// exactTest fills the p-value, interval and estimate from the exact null
// distribution of W, following R's wilcox.test (R ≤ 4.5) step by step.
func exactTest(res *MannWhitneyResult, diffs *pairwiseDiffs, conf float64, pOnly bool) {
	n, m := res.NCanary, res.NBaseline
	d := wilcoxDistribution(n, m)
	mn := float64(n * m)
	w := res.W
	switch res.Alternative {
	case TwoSided:
		var p float64
		if w > mn/2 {
			p = d.cdf(w-1, false)
		} else {
			p = d.cdf(w, true)
		}
		res.PValue = math.Min(2*p, 1)
	case Greater:
		res.PValue = d.cdf(w-1, false)
	case Less:
		res.PValue = d.cdf(w, true)
	}
	if pOnly {
		noInterval(res)
		return
	}

	alpha := 1 - conf
	nm := n * m
	var achieved float64
	switch res.Alternative {
	case TwoSided:
		qu := max(d.quantile(alpha/2), 1)
		ql := nm - qu
		achieved = 2 * d.cdf(float64(qu-1), true)
		res.CILow = diffs.kth(qu).value
		res.CIHigh = diffs.kth(ql + 1).value
	case Greater:
		qu := max(d.quantile(alpha), 1)
		achieved = d.cdf(float64(qu-1), true)
		res.CILow, res.CIHigh = diffs.kth(qu).value, math.Inf(1)
	case Less:
		qu := max(d.quantile(alpha), 1)
		achieved = d.cdf(float64(qu-1), true)
		res.CILow, res.CIHigh = math.Inf(-1), diffs.kth(nm-qu+1).value
	}
	res.ConfLevel = 1 - achieved
	res.Estimate = diffs.median()
}

// asymptoticTest fills the p-value, interval and estimate from the normal
// approximation, with the tie sums of rs (the combined sample's for the
// test, the samples' own for the interval); inflation multiplies the null
// variance.
func asymptoticTest(res *MannWhitneyResult, diffs *pairwiseDiffs, conf float64, rs rankSums, inflation float64, pOnly bool) {
	n, m := float64(res.NCanary), float64(res.NBaseline)
	mn := n * m
	N := n + m
	res.PValue = asymptoticP(res.W, n, m, rs.tieSum, inflation, res.Alternative)
	if pOnly {
		noInterval(res)
		return
	}

	// Between consecutive pairwise differences no new tie arises, so the
	// inverted statistic has the variance of the within-sample ties only.
	ciSigma := math.Sqrt(inflation * (mn / 12) * ((N + 1) - rs.within/(N*(N-1))))
	alpha := 1 - conf
	nm := len(diffs.x) * len(diffs.y)
	switch res.Alternative {
	case TwoSided:
		zq := distuv.UnitNormal.Quantile(1 - alpha/2)
		lo := diffs.kth(crossingRank(nm, ciSigma, zq, res.Alternative))
		hi := diffs.kthFrom(crossingRank(nm, ciSigma, -zq, res.Alternative), lo)
		res.CILow, res.CIHigh = lo.value, hi.value
		res.Estimate = diffs.medianBetween(lo, hi)
		return
	case Greater:
		zq := distuv.UnitNormal.Quantile(1 - alpha)
		res.CILow, res.CIHigh = diffs.kth(crossingRank(nm, ciSigma, zq, res.Alternative)).value, math.Inf(1)
	case Less:
		zq := distuv.UnitNormal.Quantile(alpha)
		res.CILow, res.CIHigh = math.Inf(-1), diffs.kth(crossingRank(nm, ciSigma, zq, res.Alternative)).value
	}
	res.Estimate = diffs.median()
}

// asymptoticP is the normal-approximation p-value of W = w for samples of
// n and m with the tie sum Σ(t³ − t), the variance inflated by inflation,
// with R's continuity correction.
func asymptoticP(w, n, m, tieSum, inflation float64, alt Alternative) float64 {
	mn, N := n*m, n+m
	sigma := math.Sqrt(inflation * (mn / 12) * ((N + 1) - tieSum/(N*(N-1))))
	z := w - mn/2
	z = (z - continuity(alt, z)) / sigma
	switch alt {
	case Greater:
		return normalSurvival(z)
	case Less:
		return normalCDF(z)
	}
	return 2 * math.Min(normalCDF(z), normalSurvival(z))
}

// RankSumPValue is the Mann-Whitney test's p-value alone, by the normal
// approximation with ties and continuity corrected (R's
// wilcox.test(x, y, exact = FALSE, correct = TRUE)$p.value), for samples
// already sorted ascending; 1 when every value is tied. It skips the
// estimate and interval that MannWhitney computes, for checks that need
// only the p-value.
func RankSumPValue(x, y []float64, alt Alternative) float64 {
	if len(x) == 0 || len(y) == 0 || x[0] == x[len(x)-1] && y[0] == y[len(y)-1] && x[0] == y[0] {
		return 1
	}
	rs := rankSum(x, y)
	return asymptoticP(rs.u, float64(len(x)), float64(len(y)), rs.tieSum, 1, alt)
}

// continuity returns R's continuity correction for the centred statistic dz.
func continuity(alt Alternative, dz float64) float64 {
	switch alt {
	case Greater:
		return 0.5
	case Less:
		return -0.5
	}
	switch {
	case dz > 0:
		return 0.5
	case dz < 0:
		return -0.5
	}
	return 0
}

// crossingRank returns the 1-based rank k of the pairwise difference at which
// the standardised statistic g(d) = (U(d) − nm/2 − c)/σ − zq changes sign,
// where U(d) = #{D > d} on the open intervals between differences. g is
// non-increasing in d and depends on d only through c = U(d), so the sign
// change sits at D_(nm−c₀+1) with c₀ the smallest count where g > 0. The
// rank is clamped to [1, nm], which is R's return of the range ends.
func crossingRank(nm int, sigma, zq float64, alt Alternative) int {
	half := float64(nm) / 2
	g := func(c int) float64 {
		dz := float64(c) - half
		return (dz-continuity(alt, dz))/sigma - zq
	}
	c := int(math.Floor(half+zq*sigma)) - 2
	c = min(max(c, 0), nm)
	for c > 0 && g(c) > 0 {
		c--
	}
	for c <= nm && g(c) <= 0 {
		c++
	}
	return min(max(nm-c+1, 1), nm)
}
