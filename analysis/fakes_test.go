package analysis

import (
	"math"
	"time"
)

// steps returns n values of f(i).
func steps(n int, f func(i int) float64) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = f(i)
	}
	return out
}

// wiggle is deterministic noise around level.
func wiggle(level float64) func(int) float64 {
	return func(i int) float64 {
		return level * (1 + 0.04*math.Sin(float64(i)*1.9) + 0.02*math.Cos(float64(i)*0.7))
	}
}

// fixtureStart is where fixture windows begin: two days ago, on the hour
// (older than the three hours promtool cannot backfill).
var fixtureStart = time.Now().Add(-48 * time.Hour).Truncate(time.Hour).UTC()
