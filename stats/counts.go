package stats

import (
	"errors"
	"math"

	"gonum.org/v1/gonum/stat/distuv"
)

// CountTestResult is the outcome of CountTest.
type CountTestResult struct {
	// Canary and Baseline are the event totals, over NCanary and
	// NBaseline steps.
	Canary, Baseline   float64
	NCanary, NBaseline int
	// Inflation is the variance inflation allowed for (≥ 1).
	Inflation float64
	// PValue is the p-value for the alternative.
	PValue float64
	// RateRatio is the canary's rate over the baseline's, with its
	// interval at the confidence level (one-sided intervals are unbounded
	// on one side).
	RateRatio, RatioLow, RatioHigh float64
}

// ErrNotCounts is returned by CountTest for values that are not
// non-negative integers.
var ErrNotCounts = errors.New("not event counts")

// CountTest compares the event rates of two series of counts per step
// (errors a minute, say) by the conditional test of their totals. With C
// canary and B baseline events over n_c and n_b steps, under equal
// Poisson rates and given N = C + B,
//
//	C ~ Binomial(N, π₀),  π₀ = n_c / (n_c + n_b),
//
// an exact test whatever the rate (Przyborowski & Wilenski 1940; Lehmann &
// Romano, Testing Statistical Hypotheses, §4.5). Real counters are
// overdispersed and serially dependent: with a variance inflation f > 1
// (the baseline's dispersion times its serial dependence) the exact tail
// probability p is moved to the quasi-Poisson scale, p' = 1 − Φ(Φ⁻¹(1 − p)/√f),
// which is p itself at f = 1. The rate ratio's interval is Clopper–Pearson
// for C/N on the effective counts C/f and N/f, mapped through
// θ = π/(1 − π) · n_b/n_c.
//
// Assumptions: independent steps apart from what f allows for; the same
// rate throughout each window under the null hypothesis. Values must be
// non-negative integers (ErrNotCounts otherwise); NaN points are left out
// by the caller.
func CountTest(canary, baseline []float64, alt Alternative, conf, inflation float64) (CountTestResult, error) {
	total := func(x []float64) (float64, error) {
		s := 0.0
		for _, v := range x {
			if !(v >= 0) || v != math.Trunc(v) || math.IsInf(v, 0) {
				return 0, ErrNotCounts
			}
			s += v
		}
		return s, nil
	}
	c, err := total(canary)
	if err != nil {
		return CountTestResult{}, err
	}
	b, err := total(baseline)
	if err != nil {
		return CountTestResult{}, err
	}
	conf, err = checkOptions(conf, alt)
	if err != nil {
		return CountTestResult{}, err
	}
	if len(canary) == 0 || len(baseline) == 0 {
		return CountTestResult{}, errors.New("count test: an empty sample")
	}
	f := math.Max(inflation, 1)
	nc, nb := float64(len(canary)), float64(len(baseline))
	res := CountTestResult{Canary: c, Baseline: b, NCanary: len(canary), NBaseline: len(baseline), Inflation: f, PValue: 1,
		RateRatio: math.NaN(), RatioLow: 0, RatioHigh: math.Inf(1)}
	n := c + b
	if n == 0 {
		return res, nil
	}
	res.RateRatio = (c / nc) / (b / nb)
	pi0 := nc / (nc + nb)
	bin := distuv.Binomial{N: n, P: pi0}
	quasi := func(p float64) float64 {
		if f == 1 || p >= 0.5 {
			return p
		}
		return normalSurvival(distuv.UnitNormal.Quantile(1-p) / math.Sqrt(f))
	}
	upper := quasi(bin.Survival(c - 0.5)) // P(C ≥ c)
	lower := quasi(bin.CDF(c))            // P(C ≤ c)
	switch alt {
	case Greater:
		res.PValue = upper
	case Less:
		res.PValue = lower
	default:
		res.PValue = math.Min(1, 2*math.Min(upper, lower))
	}
	// Clopper–Pearson on the effective counts, one- or two-sided.
	ce, ne := c/f, n/f
	tail := 1 - conf
	if alt == TwoSided {
		tail /= 2
	}
	ratio := func(pi float64) float64 { return pi / (1 - pi) * nb / nc }
	if alt != Less && ce > 0 {
		res.RatioLow = ratio(distuv.Beta{Alpha: ce, Beta: ne - ce + 1}.Quantile(tail))
	}
	if alt != Greater && ce < ne {
		res.RatioHigh = ratio(distuv.Beta{Alpha: ce + 1, Beta: ne - ce}.Quantile(1 - tail))
	}
	return res, nil
}

// CountInflation is the variance inflation of a counter's total, estimated
// from the baseline's counts (its window and history, in time order): the
// dispersion index (variance over mean, at least 1: 1 for Poisson counts)
// times the long-run factor of their serial dependence, a Bartlett-kernel
// sum of autocorrelations (KernelInflation) up to lag ⌈n^(1/2)⌉ at most 30,
// which follows slowly varying rates that an AR(1) fit of noisy counts
// would cut short. Reference: Cameron & Trivedi, Regression Analysis of
// Count Data (2013), §3.2 on quasi-Poisson; Newey & West (1987).
func CountInflation(baseline []float64) float64 {
	n := float64(len(baseline))
	if n < 2 {
		return 1
	}
	m := 0.0
	for _, x := range baseline {
		m += x / n
	}
	if m <= 0 {
		return 1
	}
	v := 0.0
	for _, x := range baseline {
		v += (x - m) * (x - m) / (n - 1)
	}
	lags := min(int(math.Ceil(math.Sqrt(n))), 30)
	serial := KernelInflation(baseline, lags)
	if d := EstimateDependence(baseline); d.Rho > 0 {
		serial = math.Max(serial, RankInflation(d.Rho))
	}
	return math.Max(1, v/m) * math.Max(1, serial)
}

// PoissonDispersion is the p-value of the hypothesis that counts are
// independent Poisson draws of one rate, against overdispersion or
// positive serial dependence: the smaller, doubled (Bonferroni), of
//
//	the index-of-dispersion test: D = Σ(x − x̄)²/x̄ ~ χ²(n − 1)
//	(Cochran 1954, Biometrics 10:417–451), upper tail; and
//	the lag-1 dependence of the counts' normal scores (EstimateDependence):
//	atanh(ρ̂)/SE ~ N(0, 1), upper tail.
//
// A short baseline's CountInflation scatters widely around 1 for Poisson
// counts (60 points at 0.5 a step exceed 1.5 about a fifth of the time);
// this says whether an estimate above a bound is evidence of burstiness
// or its scatter. Both approximations are somewhat bold for sparse counts
// (about 1.6% below 0.01 at 0.5 a step over 60 points). Counts with no
// events, or fewer than
// MinAutocorrelationPoints, give 1.
func PoissonDispersion(x []float64) float64 {
	n := float64(len(x))
	if len(x) < MinAutocorrelationPoints {
		return 1
	}
	var m float64
	for _, v := range x {
		m += v / n
	}
	if !(m > 0) {
		return 1
	}
	var d float64
	for _, v := range x {
		d += (v - m) * (v - m) / m
	}
	p := distuv.ChiSquared{K: n - 1}.Survival(d)
	if dep := EstimateDependence(x); dep.SE > 0 {
		p = math.Min(p, distuv.UnitNormal.Survival(math.Atanh(dep.Rho)/dep.SE))
	}
	return math.Min(1, 2*p)
}
