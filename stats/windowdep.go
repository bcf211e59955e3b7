package stats

import "math"

// Bound returns the dependence z standard errors from its estimate on
// the atanh scale, tanh(atanh(ρ̂) + z·SE), with ρ̂ capped at 0.98: about
// the one-sided upper confidence bound at level Φ(z) for positive z, the
// lower for negative z. The estimate is the Fisher-transformed lag-1
// correlation, whose sampling distribution is close to normal
// (EstimateDependence gives its SE).
func (d Dependence) Bound(z float64) float64 {
	return math.Tanh(math.Atanh(math.Min(d.Rho, 0.98)) + z*d.SE)
}

// WindowDependence is the dependence of a baseline seen at the scale of
// its window: the window and its history cut into pieces of the window's
// length (counted back from the history's last point), each centred on
// its own level by EstimateDependence, so that a slow wander or the slope
// of a daily cycle between windows does not read as dependence within
// one. A history shorter than the window adds nothing.
func WindowDependence(history, window []float64) Dependence {
	return EstimateDependence(WindowPieces(history, window)...)
}
