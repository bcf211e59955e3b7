package stats

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/stat"
)

// Summary describes one sample.
type Summary struct {
	Count  int     `json:"count"`
	Mean   float64 `json:"mean"`
	Std    float64 `json:"std"`
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
	Median float64 `json:"median"`
	Q1     float64 `json:"q1"`
	Q3     float64 `json:"q3"`
}

// Describe returns the count, mean, sample standard deviation (n−1 in the
// denominator; 0 for a single value), extremes, median and quartiles (R's
// type 7) of x. It returns ErrNoData for an empty sample and ErrNotFinite
// for NaN or ±Inf.
func Describe(x []float64) (Summary, error) {
	if err := checkSample("sample", x); err != nil {
		return Summary{}, err
	}
	s := sorted(x)
	sum := Summary{Count: len(s), Min: s[0], Max: s[len(s)-1]}
	if len(s) > 1 {
		sum.Mean, sum.Std = stat.MeanStdDev(s, nil)
	} else {
		sum.Mean = s[0]
	}
	sum.Median = QuantileSorted(0.5, s)
	sum.Q1 = QuantileSorted(0.25, s)
	sum.Q3 = QuantileSorted(0.75, s)
	return sum, nil
}

// Quantile returns the p-quantile of x by R's default definition (type 7,
// Hyndman & Fan 1996): with h = (n−1)p, the value
//
//	x_(⌊h⌋+1) + (h − ⌊h⌋)·(x_(⌊h⌋+2) − x_(⌊h⌋+1))
//
// of the ascending order statistics. It errors on an empty sample,
// non-finite values or p outside [0, 1].
//
// Reference: Hyndman & Fan (1996), "Sample quantiles in statistical
// packages", The American Statistician 50(4):361–365.
func Quantile(p float64, x []float64) (float64, error) {
	if !(p >= 0 && p <= 1) {
		return 0, fmt.Errorf("quantile %v: %w", p, ErrProbability)
	}
	if err := checkSample("sample", x); err != nil {
		return 0, err
	}
	return QuantileSorted(p, sorted(x)), nil
}

// QuantileSorted is Quantile for an ascending, finite, non-empty sample and p
// in [0, 1]; it does not check its input.
func QuantileSorted(p float64, sorted []float64) float64 {
	n := len(sorted)
	h := float64(n-1) * p
	lo := math.Floor(h)
	i := int(lo)
	if i >= n-1 {
		return sorted[n-1]
	}
	return sorted[i] + (h-lo)*(sorted[i+1]-sorted[i])
}
