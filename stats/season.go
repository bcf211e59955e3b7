package stats

import "math"

// Seasonality thresholds of DetectSeason: a period counts only when the
// autocorrelation of the normal scores dips to MinSeasonTrough or below
// before rising to MinSeasonPeak or above at the period. A stationary
// AR(1) process, whose autocorrelation falls monotonically and stays
// positive, never qualifies.
const (
	MinSeasonPeak   = 0.3
	MinSeasonTrough = -0.3
)

// maxSeasonPoints bounds the points DetectSeason and KernelInflation read
// (the most recent ones); KernelInflation then sums at most a third of
// them.
const maxSeasonPoints = 4096

// DetectSeason looks for a periodic pattern (a daily cycle, say) in a
// series in time order: the first lag P at which the autocorrelation of
// its normal scores peaks again after a trough, and peaks again at 2P
// (within a lag). It returns 0 when the series shows none or has fewer
// than 16 points. Periods up to a quarter of the series are considered, so
// that the pattern is seen to repeat at least four times.
//
// The repeat at 2P is what tells a cycle from the wandering of a strongly
// autocorrelated series: the sample autocorrelation of an AR(1) series
// with ρ = 0.9 over 240 points has a standard error near 0.2 at long
// lags, so a dip below −0.3 followed by a bump above 0.3 happens in one
// series of 60, and treating such a bump as a cycle would cancel the
// series' real persistence in KernelInflation; the same bump again at
// twice its lag is rare.
func DetectSeason(x []float64) int {
	if len(x) > maxSeasonPoints {
		x = x[len(x)-maxSeasonPoints:]
	}
	if len(x) < 16 {
		return 0
	}
	q := normalScores(x)
	if q == nil {
		return 0
	}
	return seasonOf(newAutocorrelations(q, len(x)/2), len(x), len(x)/2)
}

// seasonOf is DetectSeason from the autocorrelations of the normal
// scores of a series of n points, asked for up to lag maxLag (mostly the
// first quarter).
func seasonOf(acf *autocorrelations, n, maxLag int) int {
	trough := -1
	for k := 2; k < n/4; k++ {
		if acf.at(k) <= MinSeasonTrough {
			trough = k
			break
		}
	}
	if trough < 0 {
		return 0
	}
	for k := trough + 1; k < n/4 && 2*k+1 <= min(maxLag, n-1); k++ {
		if a := acf.at(k); a >= MinSeasonPeak && a >= acf.at(k-1) && a >= acf.at(k+1) {
			if k < 4 || max(acf.at(2*k-1), acf.at(2*k), acf.at(2*k+1)) < MinSeasonPeak {
				return 0
			}
			return k
		}
	}
	return 0
}

// autocorrelations are the autocorrelations of normal scores q up to a
// largest lag,
//
//	r_k = Σ_t q_t q_{t+k} / Σ_t q_t²,
//
// each lag computed once, when first asked for, so that season detection
// and the kernel inflation of one series share them.
type autocorrelations struct {
	q, memo []float64
	done    []bool
	den     float64
}

func newAutocorrelations(q []float64, maxLag int) *autocorrelations {
	a := &autocorrelations{q: q, memo: make([]float64, min(maxLag, len(q)-1)+1)}
	a.done = make([]bool, len(a.memo))
	for _, v := range q {
		a.den += v * v
	}
	return a
}

// at returns r_k, 0 ≤ k ≤ the largest lag. The lag products are summed
// in four interleaved parts, which keeps the floating-point adder busy.
func (a *autocorrelations) at(k int) float64 {
	if k == 0 {
		return 1
	}
	if !a.done[k] {
		x, y := a.q[:len(a.q)-k], a.q[k:]
		var s0, s1, s2, s3 float64
		t := 0
		for ; t+4 <= len(x); t += 4 {
			s0 += x[t] * y[t]
			s1 += x[t+1] * y[t+1]
			s2 += x[t+2] * y[t+2]
			s3 += x[t+3] * y[t+3]
		}
		for ; t < len(x); t++ {
			s0 += x[t] * y[t]
		}
		a.memo[k], a.done[k] = (s0+s1+(s2+s3))/a.den, true
	}
	return a.memo[k]
}

// KernelInflation is a model-free long-run variance factor of the ranks of
// a series: the Bartlett-kernel (Newey-West) sum of the autocorrelations
// of its normal scores up to lag K,
//
//	f = 1 + 2 Σ_{k=1}^{K} (1 − k/(K+1)) r_k,
//
// at least 1. Unlike an AR(1) fit it lets the negative autocorrelation of
// a cycle's far side cancel its near side, so a daily pattern, which
// averages out over a window of several days, does not read as slow
// wandering. Reference: Newey & West (1987), Econometrica 55:703–708.
func KernelInflation(x []float64, k int) float64 {
	if len(x) > maxSeasonPoints {
		x = x[len(x)-maxSeasonPoints:]
		k = min(k, len(x)/3)
	}
	if len(x) < 16 || k < 1 {
		return 1
	}
	q := normalScores(x)
	if q == nil {
		return 1
	}
	return kernelOf(newAutocorrelations(q, k), k)
}

// kernelOf is KernelInflation from the autocorrelations of the normal
// scores of the series, computed up to lag k at least.
func kernelOf(acf *autocorrelations, k int) float64 {
	if k < 1 {
		return 1
	}
	lags := min(k, len(acf.q)-1) + 1
	f := 1.0
	for lag := 1; lag < lags; lag++ {
		f += 2 * (1 - float64(lag)/float64(lags)) * acf.at(lag)
	}
	return math.Max(f, 1)
}
