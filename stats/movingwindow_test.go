package stats

import (
	"math/rand/v2"
	"testing"
)

// movingMean is the mean of each w consecutive points of x.
func movingMean(x []float64, w int) []float64 {
	out := make([]float64, len(x)-w+1)
	for i := range out {
		for _, v := range x[i : i+w] {
			out[i] += v / float64(w)
		}
	}
	return out
}

// TestMovingWindow: a baseline (history three windows long)
// that is a w-point moving mean of AR(ρ) noise shows its window in its
// jumps, and the factor the model gives is near the truth, (1+ρ)/(1−ρ)
// over the variance of a w-point mean, where the AR(1) reading is many
// times too slow; AR(1) series of any dependence show no window; a
// baseline of fewer than 50 jumps is not read, and pieces that hold
// fewer than ten points once thinned to every w-th give no dependence.
func TestMovingWindow(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(5, 6))
	factor := func(rho float64) float64 { return (1 + rho) / (1 - rho) }
	for _, tc := range []struct {
		w, window int
		rho       float64
		// minFound is the least share of baselines showing the window,
		// minNear of those the least share whose factor is within 1.6×
		// of the truth.
		minFound, minNear float64
	}{
		{5, 60, 0, 0.97, 0.8}, {5, 60, 0.5, 0.93, 0.75}, {3, 60, 0.5, 0.88, 0.75}, {10, 120, 0.5, 0.95, 0.75},
		// A window over slow noise shows less often, and its factor
		// spreads wider (about 0.6 to 4 times the truth, 10% to 90%).
		{5, 60, 0.8, 0.3, 0.5},
		// Thinned to every 10th point, 60-point pieces leave 6 points
		// each, too few to estimate from: the window may show, but it
		// gives no dependence.
		{10, 60, 0.5, 0, 0},
	} {
		truth := factor(tc.rho) / batchVariance(tc.rho, tc.w)
		found, near, slow := 0, 0, 0
		const draws = 200
		for range draws {
			x := movingMean(ar1Series(r, 4*tc.window+tc.w-1, tc.rho), tc.w)
			var dep Dependence
			w := MovingWindow(x[:3*tc.window], x[3*tc.window:])
			if w > 1 {
				dep = ThinnedDependence(w, WindowPieces(x[:3*tc.window], x[3*tc.window:])...)
			}
			if tc.minFound == 0 && dep.Estimated() {
				t.Errorf("%d-point mean, %d-point window: window %d estimated from thinned pieces of %d points", tc.w, tc.window, w, tc.window/tc.w)
			}
			if w != tc.w || !dep.Estimated() {
				continue
			}
			found++
			if f := factor(dep.Rho); f > truth/1.6 && f < truth*1.6 {
				near++
			}
			if ar := WindowDependence(x[:3*tc.window], x[3*tc.window:]); factor(ar.Rho) > 2*truth {
				slow++
			}
		}
		t.Logf("%d-point mean of AR(%g), %d-point window, factor %.1f: window found in %d of %d, factor within 1.6× in %d, AR(1) reading over twice the factor in %d",
			tc.w, tc.rho, tc.window, truth, found, draws, near, slow)
		if float64(found) < tc.minFound*draws || float64(near) < tc.minNear*float64(found) {
			t.Errorf("%d-point mean of AR(%g): window found in %d of %d, its factor near %.1f in %d", tc.w, tc.rho, found, draws, truth, near)
		}
		if tc.rho == 0.5 && tc.w == 5 && slow < draws/2 {
			t.Errorf("the AR(1) reading was over twice the factor in %d of %d; the case should show it", slow, draws)
		}
	}
	for _, rho := range []float64{0, 0.3, 0.5, 0.8, 0.9, 0.95, 0.98} {
		found := 0
		for range 300 {
			x := ar1Series(r, 240, rho)
			if w := MovingWindow(x[:180], x[180:]); w != 0 {
				found++
			}
		}
		t.Logf("AR(%g): a moving window found in %d of 300 baselines", rho, found)
		if found > 3 {
			t.Errorf("AR(%g): a moving window found in %d of 300 baselines", rho, found)
		}
	}
	x := movingMean(ar1Series(r, 44, 0.5), 5)
	if w := MovingWindow(nil, x); w != 0 {
		t.Errorf("40 points (39 jumps): window %d; want none read", w)
	}
}

// TestMovingWindowAlone: a 60-point window without history shows a
// five-point mean's window in most baselines, and an AR(1) series shows
// one by chance in at most an eighth of them.
func TestMovingWindowAlone(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(7, 8))
	const draws = 400
	for _, tc := range []struct {
		rho      float64
		minFound float64
	}{{0, 0.8}, {0.5, 0.65}} {
		found := 0
		for range draws {
			if MovingWindow(nil, movingMean(ar1Series(r, 64, tc.rho), 5)) == 5 {
				found++
			}
		}
		t.Logf("5-point mean of AR(%g), 60 points alone: window found in %d of %d", tc.rho, found, draws)
		if float64(found) < tc.minFound*draws {
			t.Errorf("5-point mean of AR(%g), 60 points alone: window found in %d of %d, want at least %.0f%%", tc.rho, found, draws, 100*tc.minFound)
		}
	}
	for _, rho := range []float64{0, 0.5, 0.8, 0.9, 0.95} {
		read := 0
		for range draws {
			if MovingWindow(nil, ar1Series(r, 60, rho)) > 1 {
				read++
			}
		}
		t.Logf("AR(%g), 60 points alone: a window read in %d of %d", rho, read, draws)
		if read > draws/8 {
			t.Errorf("AR(%g), 60 points alone: a window read in %d of %d, want at most an eighth", rho, read, draws)
		}
	}
}
