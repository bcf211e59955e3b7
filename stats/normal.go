package stats

import (
	"math"
)

// normalCDF is the standard normal P(Z ≤ z), accurate far into the lower
// tail (gonum's UnitNormal.Survival computes 1 − erf and underflows to 0 in
// the upper tail, so both tails are written with erfc here).
func normalCDF(z float64) float64 { return 0.5 * math.Erfc(-z/math.Sqrt2) }

// normalSurvival is the standard normal P(Z > z), accurate far into the
// upper tail.
func normalSurvival(z float64) float64 { return 0.5 * math.Erfc(z/math.Sqrt2) }
