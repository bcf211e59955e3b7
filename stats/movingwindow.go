package stats

import "math"

// A series of moving-window aggregates — rate(x[5m]), avg_over_time, a
// recording rule's rolling mean — whose window the query does not say is
// not AR(1): each point averages the last w steps of a noise u, so its
// lag-1 correlation is high (0.8 for w = 5 and independent u) while its
// dependence ends a few steps after w. An AR(1) fit reads it as a near
// random walk (a five-point mean of AR(0.5) noise as ρ̂ 0.98, a long-run
// variance factor of 99 where the truth is 6.7), and no window of an hour
// looks judgeable. Its jumps give the window away: y_t − y_{t−1} =
// (u_t − u_{t−w})/w, whose autocorrelation at lag w is about −½ (exactly
// −½ for independent u), while the jumps of any AR(1) series correlate
// least at lag 1, at −(1−ρ)/2, and beyond it by −(1−ρ)ρ^{k−1}/2.
const (
	// maxMovingWindow is the longest window MovingWindow
	// looks for, in steps.
	maxMovingWindow = 12
	// minMovingJumps is the fewest jumps, pooled over the pieces, from
	// which a window is inferred: a 60-point window's, whose
	// autocorrelations' standard error is about 0.13. Five-point means
	// of AR(0) and AR(0.5) noise are then recognised in 89% and 74% of
	// 60-point baselines without history; the least of eleven lags of an
	// AR(1) series' jumps lies below movingSpike in 1–11% of them (ρ
	// 0–0.95, TestMovingWindowAlone), which left the A/A rate of
	// 20-metric analyses of AR(0.8) and AR(0.9) noise without history
	// unchanged (5.6% → 5.7% and 5.6%, 1,000 a cell). With history, over
	// 150 jumps, no AR(1) baseline showed a window.
	minMovingJumps = 50
	// movingSpike is how far below zero the jumps' autocorrelation at the
	// window's lag must lie: about −½ for a moving window, 4–5 standard
	// errors of an AR(1) series' (whose least over lags 2–12 lay below
	// −0.27 in 1% of 240-point AR(0.5) baselines and never below −0.3 at
	// AR 0.8–0.98; five-point means of AR(0.5) and AR(0.8) noise lay
	// below −0.45 and −0.33 in half).
	movingSpike = -1.0 / 3
)

// MovingWindow looks in a baseline (its window and history, cut into
// pieces of the window's length by WindowPieces) for the jumps of a
// moving window of w ≥ 2 steps: the lag k in 2…12 at which the pooled
// autocorrelation of the pieces' first differences is least, when it is
// below movingSpike and below lag 1's and the jumps do not repeat at lag
// 2k (movingWindow). It returns w, or 0 when no window shows or fewer
// than minMovingJumps jumps were seen. ThinnedDependence is the model's
// dependence.
func MovingWindow(history, window []float64) int {
	if len(window) < 2 {
		return 0
	}
	return movingWindow(WindowPieces(history, window))
}

// ThinnedDependence is the dependence of series that are moving windows
// of w steps over a noise u: points w steps apart average adjacent
// stretches of u that do not overlap, so each series thinned to every
// w-th point, at each of its w offsets, is a series of u's w-step means.
// Their pooled lag-1 correlation (EstimateDependence of all the thinned
// series, each centred on its own level) is ρ_w, and the long-run
// variance factor in steps is
//
//	f = w · (1 + ρ_w)/(1 − ρ_w),
//
// returned as the AR(1) coefficient with that factor, ρ = (f − 1)/(f + 1),
// so that batch means plan and correct as for AR(1) noise of the same
// long-run variance. For AR(1) noise at ρ itself, f = w(1 + ρ^w)/(1 − ρ^w)
// is at least the AR(1) factor (1 + ρ)/(1 − ρ), though its estimate from
// a 60-point series, at ρ ≥ 0.8, falls short of it more often than not.
//
// The w offsets overlap, so together they carry little more than one of
// them: the SE of atanh ρ_w is that of a single offset's N/w points
// (EstimateDependence's SE times √w). By simulation of five-step means
// of AR(φ) noise over one to four 60-point pieces, the spread of atanh
// ρ_w is 1.0–1.25 times this SE for φ up to 0.5 and 0.25–1.15 times it
// at 0.8–0.9, where the small-sample term of EstimateDependence's SE
// dominates; the single-offset estimate, used before, scattered 1.15–1.5
// times as far as the pooled one for φ up to 0.5. The returned SE is that of atanh ρ implied by
// ρ_w's bounds two standard errors either side (the wider half), so Bound
// stays a conservative bound of the factor. Points counts the series'
// points before thinning. The zero Dependence when no thinned series
// holds MinAutocorrelationPoints. Assumptions: u stationary across the
// series, its dependence AR(1)-like at the scale of w steps.
func ThinnedDependence(w int, series ...[]float64) Dependence {
	w = max(w, 1)
	points := 0
	for _, p := range series {
		points += len(p)
	}
	// One backing array for the thinned values and one for their scores:
	// w series per piece would otherwise allocate 2w times.
	values, scoreBuf := make([]float64, 0, points), make([]float64, points)
	scores := make([][]float64, 0, w*len(series))
	for _, p := range series {
		for offset := range w {
			start := len(values)
			for i := len(p) - 1 - offset; i >= 0; i -= w {
				values = append(values, p[i])
			}
			if t := values[start:]; len(t) >= MinAutocorrelationPoints {
				scores = append(scores, normalScoresInto(scoreBuf[start:len(values):len(values)], t))
			}
		}
	}
	dep := dependenceOf(scores, centred)
	if !dep.Estimated() {
		return Dependence{}
	}
	dep.SE *= math.Sqrt(float64(w))
	atFactor := func(rw float64) float64 {
		rw = math.Min(math.Max(rw, 0), 0.98)
		f := float64(w) * (1 + rw) / (1 - rw)
		return math.Atanh((f - 1) / (f + 1))
	}
	centre := atFactor(dep.Rho)
	se := math.Max(atFactor(dep.Bound(2))-centre, centre-atFactor(dep.Bound(-2))) / 2
	return Dependence{Rho: math.Tanh(centre), SE: se, Points: points, Series: len(series)}
}

// WindowPieces cuts a baseline into pieces of its window's length: the
// window, then its history counted back from the history's last point (a
// remainder shorter than the window left out), as WindowDependence
// estimates from.
func WindowPieces(history, window []float64) [][]float64 {
	n := len(window)
	pieces := [][]float64{window}
	for end := len(history); end-n >= 0 && n > 0; end -= n {
		pieces = append(pieces, history[end-n:end])
	}
	return pieces
}

// movingWindow returns the lag w in 2…maxMovingWindow at which the pooled
// autocorrelation of the pieces' first differences (each piece's centred
// on its own mean) is least, when it is below movingSpike and below lag
// 1's, and the jumps do not repeat at lag 2w (autocorrelation there below
// −movingSpike: a cycle of 2w steps, whose jumps correlate −1 at half its
// period and +1 at its period, is no moving window, whose jumps 2w apart
// hardly correlate); 0 otherwise, or when the pieces hold fewer than
// minMovingJumps jumps.
func movingWindow(pieces [][]float64) int {
	var num [2*maxMovingWindow + 1]float64
	var den float64
	jumps := 0
	buf := make([]float64, 0, len(pieces[0]))
	for _, p := range pieces {
		if len(p) < 2 {
			continue
		}
		d := buf[:0]
		var mean float64
		for t := 1; t < len(p); t++ {
			d = append(d, p[t]-p[t-1])
			mean += p[t] - p[t-1]
		}
		mean /= float64(len(d))
		for t := range d {
			d[t] -= mean
			den += d[t] * d[t]
		}
		for k := 1; k < len(num); k++ {
			for t := 0; t+k < len(d); t++ {
				num[k] += d[t] * d[t+k]
			}
		}
		jumps += len(d)
		buf = d
	}
	if jumps < minMovingJumps || !(den > 0) {
		return 0
	}
	best := 2
	for k := 3; k <= maxMovingWindow; k++ {
		if num[k] < num[best] {
			best = k
		}
	}
	if num[best]/den < movingSpike && num[best] < num[1] && num[2*best]/den < -movingSpike {
		return best
	}
	return 0
}
