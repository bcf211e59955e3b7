package stats

import (
	"math"
	"slices"
	"sync"

	lru "github.com/hashicorp/golang-lru/v2"
	"gonum.org/v1/gonum/integrate/quad"
	"gonum.org/v1/gonum/stat/distuv"
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
	scores := make([][]float64, 0, len(series))
	for _, s := range series {
		if len(s) >= MinAutocorrelationPoints {
			scores = append(scores, normalScores(s))
		}
	}
	return dependenceOf(scores)
}

// dependenceOf is EstimateDependence from the normal scores of the series
// long enough to count (nil for a constant one).
func dependenceOf(scores [][]float64) Dependence {
	var num, den float64
	n, k := 0, 0
	for _, q := range scores {
		if q == nil {
			continue
		}
		for t := range q {
			den += q[t] * q[t]
			if t+1 < len(q) {
				num += q[t] * q[t+1]
			}
		}
		n += len(q)
		k++
	}
	if k == 0 || den == 0 {
		return Dependence{}
	}
	a := float64(k) / float64(n)
	rho := (num/den + a) / (1 - 4*a)
	if rho > 0 {
		rho += a * rho / math.Sqrt(math.Max(1-rho, 0.01))
	}
	rho = math.Min(math.Max(rho, -0.9), 0.98)
	h := 1 + 6*rho*rho*a/math.Max(1-rho, 0.01)
	return Dependence{
		Rho:    rho,
		SE:     math.Sqrt(h / ((1 - rho*rho) * float64(n))),
		Points: n,
		Series: k,
	}
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
	q := normalScores(baseline)
	dep := dependenceOf([][]float64{q})
	if len(baseline) < 16 || q == nil {
		return dep, 0
	}
	p := seasonOf(q, len(baseline)/2)
	if p > 0 {
		dep.Inflation = kernelOf(q, window)
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

// smallSampleConstant sets the finite-window inflation 1 + (c/(L(1−ρ)))²
// of the rank-process variance, where L is the mean length of the series
// behind the estimate. Within a short window, a persistent excursion of the
// noise moves the window's level (the variance the test needs) and, through
// the centring, hides from the estimate of ρ at the same time; simulation of
// Gaussian AR(1) A/A pairs (30 to 120 points, ρ up to 0.9, with and without
// a baseline history three windows long) puts c at about 10.
const smallSampleConstant = 10

// integrationPoints scales the spread over which the uncertainty of ρ̂ is
// integrated out: SE·min(1, √(60/N)) for an estimate from N points. The error that
// matters is less the sampling error of ρ̂ than its dependence on the
// window's own excursion (see smallSampleConstant), which fades like 1/N;
// simulation of A/A pairs with 30 to 240 points of baseline puts the
// reference at 60 points.
const integrationPoints = 60

// hermite holds Gauss-Hermite nodes and weights for expectations over a
// standard normal variable: E[g(Z)] ≈ Σ w_i g(x_i).
var hermite = sync.OnceValue(func() [2][]float64 {
	const n = 12
	x, w := make([]float64, n), make([]float64, n)
	quad.Hermite{}.FixedLocations(x, w, math.Inf(-1), math.Inf(1))
	for i := range x {
		x[i] *= math.Sqrt2
		w[i] /= math.Sqrt(math.Pi)
	}
	return [2][]float64{x, w}
})

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
// Without an estimate (d.Estimated() false) the data are taken as
// independent.
func (d Dependence) boundedTail(s, m, iidVar float64) float64 {
	return d.reference(m, iidVar)(s)
}

// reference returns boundedTail(·, m, iidVar) as a function of s, with the
// beta shape of every quadrature node computed once (tests invert it many
// times for an interval).
func (d Dependence) reference(m, iidVar float64) func(s float64) float64 {
	shape := func(rho float64) float64 {
		f := RankInflation(rho)
		if rho > 0 {
			q := smallSampleConstant / (d.meanLength() * (1 - rho))
			f *= 1 + q*q
		}
		v := f * iidVar / (m * m)
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

// ranks returns the mid-ranks (1-based) of x in its original order, given
// s, the same values ascending: the mid-rank of a value is the mean of the
// positions its ties take in s.
func ranks(x, s []float64) []float64 {
	r := make([]float64, len(x))
	for i, v := range x {
		lo, hi := 0, len(s)
		for lo < hi { // first index with s[lo] >= v
			mid := int(uint(lo+hi) >> 1)
			if s[mid] < v {
				lo = mid + 1
			} else {
				hi = mid
			}
		}
		end := lo + 1
		if end < len(s) && s[end] == v { // ties: first index with s[end] > v
			for hi = len(s); end < hi; {
				mid := int(uint(end+hi) >> 1)
				if s[mid] <= v {
					end = mid + 1
				} else {
					hi = mid
				}
			}
		}
		r[i] = float64(lo+1+end) / 2
	}
	return r
}

// Comovement is the correlation of the normal scores of two equally long
// series at the same instants: how much of their variation they share (a
// common load, say), robust to spikes and to their levels and scales. It is
// 0 when either series is constant or shorter than 3 points.
func Comovement(x, y []float64) float64 {
	if len(x) != len(y) || len(x) < 3 {
		return 0
	}
	qx, qy := normalScores(x), normalScores(y)
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

// normalScores returns Φ⁻¹(r/(n+1)) of the mid-ranks r of x, centred on
// their mean, or nil when x is constant. One sort of the positions ranks
// the series (ties share their mid-rank), and the quantiles come from a
// table per length (scoreTable): the same numbers as ranking by binary
// search and evaluating Φ⁻¹ for every point, at a fraction of the cost.
func normalScores(x []float64) []float64 {
	n := len(x)
	buf := pointBufs.Get().(*[]point)
	defer pointBufs.Put(buf)
	order := slices.Grow((*buf)[:0], n)[:n]
	*buf = order
	for i, v := range x {
		order[i] = point{v, int32(i)} //nolint:gosec // series are far shorter than 2³¹
	}
	sortPoints(order)
	if order[0].v == order[n-1].v {
		return nil
	}
	table := scoreTable(n)
	q := make([]float64, n)
	for i := 0; i < n; {
		j := i + 1
		for j < n && order[j].v == order[i].v {
			j++
		}
		// Positions i+1 … j share the mid-rank (i+1+j)/2, at half-rank
		// index i+1+j of the table.
		v := table[i+1+j]
		for k := i; k < j; k++ {
			q[order[k].i] = v
		}
		i = j
	}
	var mean float64
	for _, v := range q {
		mean += v
	}
	mean /= float64(n)
	for t := range q {
		q[t] -= mean
	}
	return q
}

// pointBufs recycles normalScores' sort buffers: ranking is done for
// every series of every analysis.
var pointBufs = sync.Pool{New: func() any { return new([]point) }}

// point is a value and its position in its series.
type point struct {
	v float64
	i int32
}

// sortPoints sorts points by value: a three-way quicksort (ties, common in
// metrics, are grouped in one pass) with a median-of-three pivot and
// insertion sort for short runs, comparing values directly rather than
// through a function, which ranking every series spends most of its time
// on. The order within ties is unspecified: ties share their mid-rank.
func sortPoints(p []point) {
	for len(p) > 12 {
		a, b, c := p[0].v, p[len(p)/2].v, p[len(p)-1].v
		pivot := max(min(a, b), min(max(a, b), c))
		lt, gt := 0, len(p)
		for i := 0; i < gt; {
			switch v := p[i].v; {
			case v < pivot:
				p[lt], p[i] = p[i], p[lt]
				lt++
				i++
			case v > pivot:
				gt--
				p[gt], p[i] = p[i], p[gt]
			default:
				i++
			}
		}
		// Recurse into the shorter side, loop on the longer: depth log n.
		if lt < len(p)-gt {
			sortPoints(p[:lt])
			p = p[gt:]
		} else {
			sortPoints(p[gt:])
			p = p[:lt]
		}
	}
	for i := 1; i < len(p); i++ {
		for j := i; j > 0 && p[j].v < p[j-1].v; j-- {
			p[j], p[j-1] = p[j-1], p[j]
		}
	}
}

// Bounds of the normal-score cache: tables for series up to
// scoreCacheMaxN points are kept, the scoreCacheEntries most recently used
// (at most about 64 × 256 KiB = 16 MiB); a longer series computes its table
// for its own request, so memory follows the points a request carries.
const (
	scoreCacheMaxN    = 1 << 14
	scoreCacheEntries = 64
)

// scoreTables caches, per series length n, Φ⁻¹(h/2/(n+1)) for every
// half-rank h = 0 … 2n: the normal score of every possible mid-rank.
// lru.New fails only for a size below 1.
var scoreTables, _ = lru.New[int, []float64](scoreCacheEntries)

func scoreTable(n int) []float64 {
	if t, ok := scoreTables.Get(n); ok {
		return t
	}
	t := make([]float64, 2*n+1)
	for h := 2; h <= 2*n; h++ {
		t[h] = distuv.UnitNormal.Quantile(float64(h) / 2 / float64(n+1))
	}
	if n <= scoreCacheMaxN {
		scoreTables.Add(n, t)
	}
	return t
}
