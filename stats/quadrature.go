package stats

import (
	"math"
	"sync"

	"gonum.org/v1/gonum/integrate/quad"
)

// integrationPoints scales the spread over which the uncertainty of ρ̂ is
// integrated out: SE·min(1, √(60/N)) for an estimate from N points. The error that
// matters is less the sampling error of ρ̂ than its dependence on the
// window's own excursion (see smallSampleConstant), which fades like 1/N;
// simulation of A/A pairs with 30 to 240 points of baseline puts the
// reference at 60 points. That holds where a history joined the estimate;
// an estimate of more than 60 points from the compared windows alone is
// integrated over its whole SE, with its own finite-window term
// (windowsConstant): with the 60-point reference, its 120- and 240-point
// windows at ρ 0.8–0.9 fell below the level 1.3–1.8 times too often; so is
// one from more than 60 paired differences alone (differencesConstant).
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
