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

// ExactBound is Bound for an estimate from fewer than exactBelow points
// of one series or two (a window, or its halves), except that an upper
// bound (positive z) is at least the exact one at the same level Φ(z):
// the largest ρ under which the estimator, simulated on AR(1) series of
// the same shape, falls at or below ρ̂ with probability 1 − Φ(z)
// (exactUpper). Short series estimate strong dependence far too low too
// often for the standard error's bound to hold its level (exactBelow).
// Estimates pooled from more pieces, or with a kernel inflation, get
// Bound.
func (d Dependence) ExactBound(z float64) float64 {
	b := d.Bound(z)
	if z > 0 && d.small.k > 0 && d.Inflation == 0 {
		b = math.Max(b, exactUpper(d.small, d.Rho, lowerTail(z)))
	}
	return b
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
