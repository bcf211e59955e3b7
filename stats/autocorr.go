package stats

import "math"

// Series is a time series: its values in time order and, optionally, the
// same values in ascending order (computed when nil), for callers that have
// sorted them already.
type Series struct {
	Values, Sorted []float64
}

// MinAutocorrelationPoints is the fewest points a series needs for
// Lag1Autocorrelation to use it; shorter series carry too little information
// about their correlation and are skipped.
const MinAutocorrelationPoints = 10

// Lag1Autocorrelation estimates the lag-1 autocorrelation ρ shared by the
// given series from their within-series ranks, pooling the centred lag-1
// products and squares of all series:
//
//	r = Σ_s Σ_t (q_t − q̄)(q_{t+1} − q̄) / Σ_s Σ_t (q_t − q̄)²
//
// where q are the mid-ranks of a series. Ranks make the estimate robust to
// spikes. The estimate is corrected for the downward bias that centring each
// series on its own mean causes, about (1 + 4ρ)/n for a series of n points
// (Marriott & Pope 1954, "Bias in the estimation of autocorrelations",
// Biometrika 41:390–402): r + k(1 + 4r)/N for k series of N points in all.
// As the estimate is noisy (standard error about sqrt((1−ρ²)/N)) and an
// underestimate narrows a test more than an overestimate widens it, three
// quarters of a standard error are added (calibrated so that A/A analyses of
// AR(1) series with ρ = 0.5 and 60 points stay at the 5% level). The result is clamped to [0, 0.95]: negative
// autocorrelation is ignored, which keeps a test conservative. Series with
// fewer than MinAutocorrelationPoints points or no variation are skipped;
// with none left the result is 0.
func Lag1Autocorrelation(series ...Series) float64 {
	var num, den float64
	n, k := 0, 0
	for _, s := range series {
		if len(s.Values) < MinAutocorrelationPoints {
			continue
		}
		sortedValues := s.Sorted
		if sortedValues == nil {
			sortedValues = sorted(s.Values)
		}
		if sortedValues[0] == sortedValues[len(sortedValues)-1] {
			continue
		}
		q := ranks(s.Values, sortedValues)
		mean := float64(len(q)+1) / 2
		for t := range q {
			d := q[t] - mean
			den += d * d
			if t+1 < len(q) {
				num += d * (q[t+1] - mean)
			}
		}
		n += len(q)
		k++
	}
	if k == 0 {
		return 0
	}
	r := num / den
	r += float64(k) * (1 + 4*r) / float64(n)
	r += 0.75 * math.Sqrt(math.Max(1-r*r, 0)/float64(n))
	return math.Min(math.Max(r, 0), 0.95)
}

// AR1VarianceInflation returns (1+ρ)/(1−ρ), the factor by which lag-1
// autocorrelation ρ of an AR(1) process inflates the variance of a sum of
// its values compared with independent values (the inverse of the effective
// sample size ratio). ρ ≤ 0 gives 1.
func AR1VarianceInflation(rho float64) float64 {
	if rho <= 0 {
		return 1
	}
	return (1 + rho) / (1 - rho)
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
