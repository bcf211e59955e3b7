package stats

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"

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

// QuantileSorted is Quantile for an ascending, non-empty sample and p in
// [0, 1]; it does not check its input. Infinite values are allowed: a
// quantile between a finite value and +Inf (or −Inf and a finite value) is
// that infinity, and one between −Inf and +Inf is NaN.
func QuantileSorted(p float64, sorted []float64) float64 {
	n := len(sorted)
	h := float64(n-1) * p
	lo := math.Floor(h)
	i := int(lo)
	if i >= n-1 {
		return sorted[n-1]
	}
	return interpolate(sorted[i], sorted[i+1], h-lo)
}

// interpolate is the point frac of the way from a to b (a ≤ b), with
// infinite ends kept (NaN from −Inf to +Inf).
func interpolate(a, b, frac float64) float64 {
	switch {
	case frac == 0 || a == b:
		return a
	case math.IsInf(a, -1) && math.IsInf(b, 1):
		return math.NaN()
	case math.IsInf(a, -1):
		return a
	case math.IsInf(b, 1):
		return b
	}
	return a + frac*(b-a)
}

// MarshalJSON writes the summary with non-finite values as the strings
// "NaN", "+Inf" and "-Inf" (encoding/json cannot write them as numbers).
func (s Summary) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Count  int `json:"count"`
		Mean   any `json:"mean"`
		Std    any `json:"std"`
		Min    any `json:"min"`
		Max    any `json:"max"`
		Median any `json:"median"`
		Q1     any `json:"q1"`
		Q3     any `json:"q3"`
	}{s.Count, JSONNumber(s.Mean), JSONNumber(s.Std), JSONNumber(s.Min), JSONNumber(s.Max), JSONNumber(s.Median), JSONNumber(s.Q1), JSONNumber(s.Q3)})
}

// JSONNumber returns v for encoding/json: the number itself when finite,
// else the string "NaN", "+Inf" or "-Inf".
func JSONNumber(v float64) any {
	switch {
	case math.IsNaN(v):
		return "NaN"
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	}
	return v
}

// FormatNumber writes a number for people, the same in every text judge
// writes (reasons, text output, reports): four significant digits, "+∞",
// "−∞" and "NaN". Data formats write non-finite numbers as JSONNumber does.
func FormatNumber(v float64) string {
	switch {
	case math.IsNaN(v):
		return "NaN"
	case math.IsInf(v, 1):
		return "+∞"
	case math.IsInf(v, -1):
		return "−∞"
	}
	return strconv.FormatFloat(v, 'g', 4, 64)
}
