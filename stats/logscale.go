package stats

import (
	"math"
	"slices"
)

// Positive reports whether every value of every series is finite and
// positive, so that a test can compare them on the log scale, where load
// two series share cancels in a ratio.
func Positive(series ...[]float64) bool {
	for _, s := range series {
		if slices.ContainsFunc(s, func(v float64) bool { return !(v > 0) || math.IsInf(v, 1) }) {
			return false
		}
	}
	return true
}

// Logs returns the natural logarithm of every value of x.
func Logs(x []float64) []float64 {
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = math.Log(v)
	}
	return out
}
