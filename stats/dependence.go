package stats

import (
	"math"
)

// MinAutocorrelationPoints is the fewest points a series needs for
// EstimateDependence to use it; shorter series carry too little information
// about their correlation and are skipped.
const MinAutocorrelationPoints = 10

// Dependence is an estimate of the serial dependence shared by a set of
// series: a Gaussian-copula AR(1) model, in which the normal scores
// Φ⁻¹(F(x_t)) of every series follow an AR(1) process with lag-1
// correlation Rho. The model covers any monotone transform of a Gaussian
// AR(1) series (log-normal latencies, say) and is what rank tests need: the
// ranks of such a series have lag-k correlation (6/π)·asin(Rho^k/2).
//
// The zero value means independence (nothing was estimated).
type Dependence struct {
	// Rho is the bias-corrected lag-1 correlation of the normal scores, in
	// [−0.9, 0.98].
	Rho float64 `json:"rho"`
	// SE is the standard error of atanh(Rho).
	SE float64 `json:"se"`
	// Points and Series count the points and series the estimate used.
	Points int `json:"points"`
	Series int `json:"series"`
	// Inflation, when positive, replaces the AR(1) model's variance
	// inflation by a model-free one (KernelInflation, for seasonal
	// series); Rho and SE are then reported only.
	Inflation float64 `json:"inflation,omitempty"`
	// Window, when positive, is the length of the series the test
	// compares, for the finite-window allowance (smallSampleConstant),
	// when the estimate pooled pieces of other lengths.
	Window int `json:"window,omitempty"`
	// small, for an estimate from fewer than exactBelow points of one
	// series or two, is their shape, for ExactBound.
	small smallSample
	// windows, when positive, marks an estimate drawn from the compared
	// series alone, whose error moves with the statistic it allows for:
	// the constant k of its finite-window term 1 + k·τ/L
	// (windowsConstant for two windows, EstimateWindowsDependence;
	// differencesConstant for paired differences, DifferencesDependence).
	windows float64
}

// Estimated reports whether the dependence was estimated from data.
func (d Dependence) Estimated() bool { return d.Points > 0 }

// meanLength is the length of the windows compared (Window), else the
// mean length of the series behind the estimate.
func (d Dependence) meanLength() float64 {
	if d.Window > 0 {
		return float64(d.Window)
	}
	return float64(d.Points) / float64(max(d.Series, 1))
}

// EstimateDependence estimates the Gaussian-copula AR(1) correlation shared
// by the given series. Each series is replaced by the normal scores of its
// own mid-ranks, q_t = Φ⁻¹(r_t/(n+1)), centred on their mean (exactly 0
// without ties), and the lag-1 products and squares of all series are
// pooled:
//
//	r = Σ_s Σ_t q_t q_{t+1} / Σ_s Σ_t q_t²
//
// Ranks make the estimate robust to spikes and to the scale of each series;
// each series is centred on its own level, so a level shift between series
// (a regression) does not look like correlation. Normal scores estimate ρ
// about as efficiently as the Gaussian maximum likelihood.
//
// Bias correction: centring biases r down by about (1 + 4ρ)/n for a series
// of n points (Marriott & Pope 1954, Biometrika 41:390–402); with k series
// of N points in all the corrected estimate solves r = ρ − (1 + 4ρ)k/N, that
// is ρ = (r + a)/(1 − 4a) with a = k/N. A second-order term a·ρ/√(1 − ρ),
// measured by simulation of Gaussian AR(1) series of 30 to 120 points,
// removes the rest of the bias near 1. The result is clamped to
// [−0.9, 0.98].
//
// SE is the standard error of atanh(ρ̂): Var(ρ̂) ≈ (1 − ρ²)/N (Bartlett),
// enlarged by 1 + 6ρ²a/(1 − ρ) for the small-sample excess that simulation
// shows near 1, and divided by (1 − ρ²)² for the atanh scale.
//
// Series with fewer than MinAutocorrelationPoints points or no variation
// are skipped; with none left the zero Dependence (independence) is
// returned.
func EstimateDependence(series ...[]float64) Dependence {
	var sums lagSums
	buf := floatBufs.Get().(*[]float64)
	defer floatBufs.Put(buf)
	for _, s := range series {
		if len(s) >= MinAutocorrelationPoints {
			sums.add(normalScoresInto(sized(buf, len(s)), s))
		}
	}
	return sums.dependence(centred)
}

// EstimateWindowsDependence is EstimateDependence of the compared windows
// themselves (pieces of them, each centred on its own level), with no
// other series: a baseline without history. A rank test allowing for it
// integrates over the estimate's whole uncertainty and over the way its
// error moves with the windows' levels (Dependence.reference). window is
// the length of the windows compared.
func EstimateWindowsDependence(window int, series ...[]float64) Dependence {
	d := EstimateDependence(series...)
	d.Window, d.windows = window, windowsConstant
	return d
}

// DifferencesDependence marks d, an estimate from a window's paired
// differences alone (their halves, say), as drawn from the n differences
// a signed-rank test compares: like EstimateWindowsDependence's, its
// error moves with the statistic, and a signed-rank test allowing for it
// integrates over the estimate's whole uncertainty, with a finite-window
// term of its own (differencesConstant). An estimate of at most
// integrationPoints points keeps the pooled rule and is returned as it is.
func (d Dependence) DifferencesDependence(n int) Dependence {
	if d.Points > integrationPoints {
		d.Window, d.windows = n, differencesConstant
	}
	return d
}

// EstimateTrendDependence is EstimateDependence with each series' normal
// scores detrended, not only centred: the least-squares line through them
// is removed before the lag-1 products are pooled, so a steady climb (a
// regression that ramps) does not look like correlation, where centring
// alone reads it as slow wandering. The line's second parameter biases r
// further down; by simulation of Gaussian AR(1) series of 30 to 120 points
// the bias is about (2 + 6ρ)/n, so the first-order correction solves
// r = ρ − (2 + 6ρ)k/N, and the second-order term is 1.5 times
// EstimateDependence's (the bias of a fitted trend is of the same order,
// one parameter more: Shaman & Stine 1988, JASA 83:842–848). Within 0.02 of
// ρ on average for 60 points and ρ up to 0.9; the SE is EstimateDependence's.
func EstimateTrendDependence(series ...[]float64) Dependence {
	var sums lagSums
	buf := floatBufs.Get().(*[]float64)
	defer floatBufs.Put(buf)
	for _, s := range series {
		if len(s) >= MinAutocorrelationPoints {
			sums.add(detrend(normalScoresInto(sized(buf, len(s)), s)))
		}
	}
	return sums.dependence(detrended)
}

// biasCorrection holds the coefficients of dependenceOf's correction for
// what was removed from each series before the lag-1 products: the
// first-order bias (c0 + c1·ρ)·k/N and the weight of the second-order term.
type biasCorrection struct{ c0, c1, second float64 }

var (
	// centred: the mean (Marriott & Pope 1954).
	centred = biasCorrection{c0: 1, c1: 4, second: 1}
	// detrended: the mean and a linear trend (EstimateTrendDependence).
	detrended = biasCorrection{c0: 2, c1: 6, second: 1.5}
)

// detrend subtracts from q, in place, its least-squares line in time,
// and returns it (nil for nil).
func detrend(q []float64) []float64 {
	if q == nil {
		return nil
	}
	n := float64(len(q))
	var st, sq, stt, stq float64
	for i, v := range q {
		t := float64(i)
		st += t
		sq += v
		stt += t * t
		stq += t * v
	}
	slope := (n*stq - st*sq) / (n*stt - st*st)
	intercept := (sq - slope*st) / n
	for i := range q {
		q[i] -= intercept + slope*float64(i)
	}
	return q
}

// dependenceOf is EstimateDependence from the normal scores of the series
// long enough to count (nil for a constant one), with the bias correction
// for what was removed from them.
func dependenceOf(scores [][]float64, bias biasCorrection) Dependence {
	var sums lagSums
	for _, q := range scores {
		sums.add(q)
	}
	return sums.dependence(bias)
}

// lagSums accumulates dependenceOf's sums over series of normal scores:
// the lag-1 products and the squares, and how many points and series.
type lagSums struct {
	num, den float64
	n, k     int
}

// add adds the series q (nil, a constant series, adds nothing).
func (s *lagSums) add(q []float64) {
	if q == nil {
		return
	}
	for t := range q {
		s.den += q[t] * q[t]
		if t+1 < len(q) {
			s.num += q[t] * q[t+1]
		}
	}
	s.n += len(q)
	s.k++
}

// dependence is dependenceOf's estimate from the sums.
func (s lagSums) dependence(bias biasCorrection) Dependence {
	n, k := s.n, s.k
	if k == 0 || s.den == 0 {
		return Dependence{}
	}
	a := float64(k) / float64(n)
	rho := (s.num/s.den + bias.c0*a) / (1 - bias.c1*a)
	if rho > 0 {
		rho += bias.second * a * rho / math.Sqrt(math.Max(1-rho, 0.01))
	}
	rho = math.Min(math.Max(rho, -0.9), 0.98)
	h := 1 + 6*rho*rho*a/math.Max(1-rho, 0.01)
	d := Dependence{
		Rho:    rho,
		SE:     math.Sqrt(h / ((1 - rho*rho) * float64(n))),
		Points: n,
		Series: k,
	}
	if n < exactBelow && k <= 2 {
		d.small = smallSample{k: k, m: int(math.Round(float64(n) / float64(k))), detrended: bias == detrended}
	}
	return d
}

// BaselineDependence is the noise model of a baseline (its window after
// its history, in time order) for a window of the given length:
// EstimateDependence of the baseline, and, when DetectSeason finds a
// period, that period and KernelInflation(baseline, window) as the
// dependence's Inflation. The same as calling the three, with the
// baseline's normal scores computed once.
func BaselineDependence(baseline []float64, window int) (Dependence, int) {
	if len(baseline) > maxSeasonPoints || len(baseline) < MinAutocorrelationPoints {
		dep := EstimateDependence(baseline)
		p := DetectSeason(baseline)
		if p > 0 {
			dep.Inflation = KernelInflation(baseline, window)
		}
		return dep, p
	}
	buf := floatBufs.Get().(*[]float64)
	defer floatBufs.Put(buf)
	q := normalScoresInto(sized(buf, len(baseline)), baseline)
	var sums lagSums
	sums.add(q)
	dep := sums.dependence(centred)
	if len(baseline) < 16 || q == nil {
		return dep, 0
	}
	acf := newAutocorrelations(q, max(len(baseline)/2, window))
	p := seasonOf(acf, len(baseline), len(baseline)/2)
	if p > 0 {
		dep.Inflation = kernelOf(acf, window)
	}
	return dep, p
}

// RankInflation returns the long-run variance factor of the ranks of a
// Gaussian-copula AR(1) series with normal-score correlation rho: the
// variance of a sum of n of its ranks divided by the variance of n
// independent ranks, for large n,
//
//	f(ρ) = 1 + 2 Σ_{k≥1} (6/π)·asin(ρ^k / 2),
//
// since (6/π)·asin(ρ/2) is the rank (Spearman) correlation of a bivariate
// normal pair with correlation ρ. It is 1 for ρ = 0, about (1+ρ)/(1−ρ)
// otherwise, and at least 0.05 (strong negative correlation).
func RankInflation(rho float64) float64 {
	// With asin(y) = Σ_j c_j y^{2j+1}, c_0 = 1, c_j = c_{j−1}(2j−1)²/(2j(2j+1)),
	// the sum over k is geometric in each term:
	//
	//	Σ_k asin(ρ^k/2) = Σ_j c_j 2^{−(2j+1)} ρ^{2j+1}/(1 − ρ^{2j+1}),
	//
	// and 2^{−(2j+1)} makes 30 terms exact to double precision.
	if rho == 0 {
		return 1
	}
	var sum float64
	c, half, r := 1.0, 0.5, rho
	for j := range 30 {
		if j > 0 {
			c *= float64((2*j-1)*(2*j-1)) / float64(2*j*(2*j+1))
			half /= 4
			r *= rho * rho
		}
		sum += c * half * r / (1 - r)
	}
	return math.Max(1+2*6/math.Pi*sum, 0.05)
}

// Comovement is the correlation of the normal scores of two equally long
// series at the same instants: how much of their variation they share (a
// common load, say), robust to spikes and to their levels and scales. It is
// 0 when either series is constant or shorter than 3 points.
func Comovement(x, y []float64) float64 {
	if len(x) != len(y) || len(x) < 3 {
		return 0
	}
	bx, by := floatBufs.Get().(*[]float64), floatBufs.Get().(*[]float64)
	defer floatBufs.Put(bx)
	defer floatBufs.Put(by)
	qx, qy := normalScoresInto(sized(bx, len(x)), x), normalScoresInto(sized(by, len(y)), y)
	if qx == nil || qy == nil {
		return 0
	}
	var sxy, sxx, syy float64
	for i := range qx {
		sxy += qx[i] * qy[i]
		sxx += qx[i] * qx[i]
		syy += qy[i] * qy[i]
	}
	return sxy / math.Sqrt(sxx*syy)
}
