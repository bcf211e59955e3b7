package stats

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/stat"
	"gonum.org/v1/gonum/stat/distuv"
)

// BatchShiftOptions configures BatchShift.
type BatchShiftOptions struct {
	// Size is the batch length in points (at least 1).
	Size int
	// Paired compares x and y point by point (equal lengths, aligned in
	// time): the batch means of the differences x − y.
	Paired bool
	// History holds earlier points of the process the window's spread is
	// estimated from, exchangeable with it: y's (unpaired) or, paired,
	// earlier differences x − y. Its batches, centred on their own mean,
	// join the estimate of the batch means' spread, which multiplies the
	// degrees of freedom; they take no part in the shift.
	History []float64
	// Rho is the AR(1) coefficient of the points, for the correlation that
	// remains between adjacent batch means (BatchCorrelation); 0 treats
	// the batch means as independent, negative values count as 0.
	Rho float64
	// Alternative and ConfLevel (default 0.95) set the test's side and its
	// interval.
	Alternative Alternative
	ConfLevel   float64
}

// BatchShiftResult is the batch-means test of a shift.
type BatchShiftResult struct {
	// Estimate is the shift x − y (the mean of the batch means of each
	// side, or of the differences); SE its standard error; T = Estimate/SE
	// on DF degrees of freedom; PValue for the alternative; CILow and
	// CIHigh its interval at ConfLevel (one-sided for a one-sided test).
	Estimate, SE, T, DF, PValue, CILow, CIHigh float64
	// Batches of x, y and the history (Paired: X = Y = the differences').
	X, Y, History int
}

// BatchCorrelation returns the correlation of two batch means lag batches
// apart, each the mean of size consecutive points of a stationary AR(1)
// series with coefficient rho ≥ 0:
//
//	r_j = ρ^{(j−1)L+1} (1 − ρ^L)² / (L(1 − ρ²) − 2ρ(1 − ρ^L))
//
// from Cov(B_i, B_{i+j}) = σ²ρ^{(j−1)L+1}((1 − ρ^L)/(1 − ρ))²/L² and
// Var(B) = σ²(L(1+ρ)/(1−ρ) − 2ρ(1−ρ^L)/(1−ρ)²)/L². About ρ/(L(1 − ρ²)) for
// the adjacent pair once L is long against 1/(1 − ρ).
func BatchCorrelation(rho float64, size, lag int) float64 {
	if rho <= 0 || lag < 1 || size < 1 {
		return 0
	}
	l := float64(size)
	pl := math.Pow(rho, l)
	return math.Pow(rho, float64(lag-1)*l+1) * (1 - pl) * (1 - pl) / (l*(1-rho*rho) - 2*rho*(1-pl))
}

// batchVariance is Var(B)/σ² for a batch mean of size points of an AR(1)
// series with coefficient rho ≥ 0.
func batchVariance(rho float64, size int) float64 {
	l := float64(size)
	if rho <= 0 {
		return 1 / l
	}
	return (l*(1+rho)/(1-rho) - 2*rho*(1-math.Pow(rho, l))/((1-rho)*(1-rho))) / (l * l)
}

// spread is what k batch means of size points owe to AR(1) dependence with
// coefficient rho ≥ 0, through their correlation matrix R (Toeplitz,
// R_ij = BatchCorrelation(rho, size, |i−j|)) and its double centring
// C = ARA, A = I − J/k:
//
//	sum = Σ_ij R_ij,   tr = tr C = k − sum/k,   frob = ‖C‖²_F = Σ_ij R_ij² − 2k Σ_i a_i² + sum²/k²
//
// with a_i the row means of R. For Gaussian batch means, their sum of
// squared deviations over σ²·Var(B) has mean tr and variance 2·frob, which
// give the Satterthwaite degrees of freedom tr²/frob (k − 1 when
// independent). O(k).
func spread(rho float64, size, k int) (sum, tr, frob float64) {
	// Batch-length planning evaluates this for every candidate length:
	// up to spreadStack batches its working rows stay on the stack.
	var rBuf, prefixBuf [spreadStack]float64
	r, prefix := rBuf[:0], prefixBuf[:0]
	if k > spreadStack {
		r, prefix = make([]float64, 0, k), make([]float64, 0, k)
	}
	r = r[:k]
	clear(r)
	r[0] = 1
	for j := 1; j < k; j++ {
		if r[j] = BatchCorrelation(rho, size, j); r[j] < 1e-15 {
			r[j] = 0
			break
		}
	}
	// prefix[j] = r_0 + … + r_j; row i of R sums prefix[i] + prefix[k−1−i] − 1.
	prefix = prefix[:k]
	var sq float64
	for j, v := range r {
		prefix[j] = v
		if j > 0 {
			prefix[j] += prefix[j-1]
			sq += 2 * float64(k-j) * v * v
		} else {
			sq += float64(k)
		}
	}
	var a2 float64
	for i := range k {
		row := prefix[i] + prefix[k-1-i] - 1
		sum += row
		a2 += row * row / float64(k*k)
	}
	kf := float64(k)
	return sum, kf - sum/kf, sq - 2*kf*a2 + sum*sum/(kf*kf)
}

// spreadStack is the most batches spread works on without allocating.
const spreadStack = 256

// batchGroup is one side's batch means and what its spread and mean owe to
// the AR(1) model: v = Var(B)/σ², and spread's sum, tr and frob.
type batchGroup struct {
	means          []float64
	v, sum, tr, fr float64
	size, k        int
}

func newBatchGroup(x []float64, size int, rho float64) batchGroup {
	k := len(x) / size
	g := batchGroup{size: size, k: k}
	if k == 0 {
		return g
	}
	g.means = BatchMeans(x, k)
	g.size = len(x) / k
	g.v = batchVariance(rho, g.size)
	g.sum, g.tr, g.fr = spread(rho, g.size, k)
	return g
}

// mean and ss are the group's mean of batch means and its sum of squared
// deviations, scaled to unit variance (divided by v).
func (g batchGroup) mean() float64 { return stat.Mean(g.means, nil) }
func (g batchGroup) ss() float64 {
	m := g.mean()
	var s float64
	for _, b := range g.means {
		s += (b - m) * (b - m)
	}
	return s / g.v
}

// meanVariance is Var(mean of the batch means)/σ²: v·sum/k².
func (g batchGroup) meanVariance() float64 { return g.v * g.sum / float64(g.k*g.k) }

// BatchShift tests a shift of level between serially dependent series by
// batch means studentized with their own spread (Schmeiser 1982, Operations
// Research 30:556–568), pooled across the canary's window x, the
// baseline's window y and the baseline's history:
//
//	t = (x̄_B − ȳ_B) / (σ̂ √(v_x S_x/k_x² + v_y S_y/k_y²)),
//	σ̂² = Σ_g SS_g/v_g / Σ_g tr_g,   ν = (Σ_g tr_g)² / Σ_g frob_g
//
// where each side g is cut into k_g batches of about Size points (the
// oldest n mod k points left out), SS_g is the sum of squared deviations
// of its batch means from their mean, v_g the variance of one batch mean
// and S_g the sum of the batch means' correlation matrix under AR(1)
// dependence with coefficient Rho (BatchCorrelation): with Rho 0 it is
// the pooled two-sample t-test on the batch means; Rho corrects the
// correlation that remains between adjacent batches. Paired, the compared
// group is the differences x − y (History, when given, earlier ones). The
// reference distribution is Student's t on ν degrees of freedom: Satterthwaite's (1946) for the spread of
// correlated batch means (spread), Σ_g (k_g − 1) when Rho is 0, the exact
// fixed-k limit under short-range dependence: evidence grows with the shift against the batch means'
// spread, not with the number of points, so a large shift is significant
// however strongly the points depend on each other. Assumptions:
// stationarity within each window, the history's batch means as variable
// as the window's, dependence no longer than a batch or two.
func BatchShift(x, y []float64, o BatchShiftOptions) (BatchShiftResult, error) {
	if o.ConfLevel == 0 {
		o.ConfLevel = 0.95
	}
	switch {
	case o.Size < 1:
		return BatchShiftResult{}, fmt.Errorf("batch shift: batch size %d: want at least 1", o.Size)
	case o.Alternative != TwoSided && o.Alternative != Greater && o.Alternative != Less:
		return BatchShiftResult{}, ErrAlternative
	case !(o.ConfLevel > 0 && o.ConfLevel < 1):
		return BatchShiftResult{}, fmt.Errorf("batch shift: confidence level %g: want (0, 1)", o.ConfLevel)
	case o.Paired && len(x) != len(y):
		return BatchShiftResult{}, fmt.Errorf("batch shift: paired series of %d and %d points", len(x), len(y))
	}
	for _, s := range [][]float64{x, y, o.History} {
		for _, v := range s {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return BatchShiftResult{}, ErrNotFinite
			}
		}
	}
	rho := math.Max(o.Rho, 0)
	var groups []batchGroup
	var res BatchShiftResult
	var meanVar float64
	if o.Paired {
		d := make([]float64, len(x))
		for i := range x {
			d[i] = x[i] - y[i]
		}
		g := newBatchGroup(d, o.Size, rho)
		if g.k < 2 {
			return BatchShiftResult{}, fmt.Errorf("batch shift: %d pairs make %d batches of %d: %w", len(d), g.k, o.Size, ErrNoData)
		}
		groups, res.X, res.Y = []batchGroup{g}, g.k, g.k
		res.Estimate, meanVar = g.mean(), g.meanVariance()
		if gh := newBatchGroup(o.History, o.Size, rho); gh.k >= 2 {
			groups, res.History = append(groups, gh), gh.k
		}
	} else {
		gx, gy := newBatchGroup(x, o.Size, rho), newBatchGroup(y, o.Size, rho)
		if gx.k < 1 || gy.k < 1 {
			return BatchShiftResult{}, fmt.Errorf("batch shift: %d and %d points make no batch of %d: %w", len(x), len(y), o.Size, ErrNoData)
		}
		groups, res.X, res.Y = []batchGroup{gx, gy}, gx.k, gy.k
		if gh := newBatchGroup(o.History, o.Size, rho); gh.k >= 2 {
			groups, res.History = append(groups, gh), gh.k
		}
		res.Estimate, meanVar = gx.mean()-gy.mean(), gx.meanVariance()+gy.meanVariance()
	}
	var ss, expected, frob float64
	for _, g := range groups {
		ss += g.ss()
		expected += g.tr
		frob += g.fr
	}
	if res.DF = expected * expected / frob; !(res.DF >= 1) {
		return BatchShiftResult{}, fmt.Errorf("batch shift: %d and %d batches of %d leave no degree of freedom for their spread: %w", res.X, res.Y, o.Size, ErrNoData)
	}
	res.SE = math.Sqrt(ss / expected * meanVar)
	switch {
	case res.SE == 0 && res.Estimate == 0:
		res.PValue = 1
	case res.SE == 0:
		res.T = math.Copysign(math.Inf(1), res.Estimate)
	default:
		res.T = res.Estimate / res.SE
	}
	if res.SE > 0 || res.Estimate != 0 {
		res.PValue = tPValue(res.T, res.DF, o.Alternative)
	}
	if math.IsNaN(res.PValue) || math.IsInf(res.Estimate, 0) || math.IsInf(res.SE, 0) {
		// Values so large that their sums overflow.
		return BatchShiftResult{}, fmt.Errorf("batch shift: the batch means overflow: %w", ErrNotFinite)
	}
	res.CILow, res.CIHigh = res.Interval(o.ConfLevel, o.Alternative)
	return res, nil
}

// Interval is the shift's confidence interval at level conf for the
// alternative: Estimate ± t_ν quantile × SE, open on the side a one-sided
// test does not bound. It agrees with PValue: at conf = 1 − α it excludes
// 0 exactly when PValue < α.
func (r BatchShiftResult) Interval(conf float64, alt Alternative) (lo, hi float64) {
	t := distuv.StudentsT{Mu: 0, Sigma: 1, Nu: r.DF}
	lo, hi = math.Inf(-1), math.Inf(1)
	switch alt {
	case Greater:
		lo = r.Estimate - t.Quantile(conf)*r.SE
	case Less:
		hi = r.Estimate + t.Quantile(conf)*r.SE
	default:
		q := t.Quantile(1 - (1-conf)/2)
		lo, hi = r.Estimate-q*r.SE, r.Estimate+q*r.SE
	}
	return lo, hi
}
