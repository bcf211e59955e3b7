package stats

import (
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/stat"
	"gonum.org/v1/gonum/stat/distuv"
)

// TestBatchCorrelation checks the closed form against the double sum of
// AR(1) autocorrelations ρ^|s−t| over two batches.
func TestBatchCorrelation(t *testing.T) {
	for _, tc := range []struct {
		rho       float64
		size, lag int
	}{{0.7, 10, 1}, {0.7, 10, 2}, {0.9, 5, 1}, {0.3, 3, 1}, {0.95, 40, 1}} {
		cov := func(lag int) float64 {
			var s float64
			for i := range tc.size {
				for j := range tc.size {
					s += math.Pow(tc.rho, math.Abs(float64(lag*tc.size+j-i)))
				}
			}
			return s
		}
		want := cov(tc.lag) / cov(0)
		if got := BatchCorrelation(tc.rho, tc.size, tc.lag); math.Abs(got-want) > 1e-12 {
			t.Errorf("BatchCorrelation(%g, %d, %d) = %.15g, want %.15g", tc.rho, tc.size, tc.lag, got, want)
		}
		if got, want := batchVariance(tc.rho, tc.size), cov(0)/float64(tc.size*tc.size); math.Abs(got-want) > 1e-12 {
			t.Errorf("batchVariance(%g, %d) = %.15g, want %.15g", tc.rho, tc.size, got, want)
		}
	}
}

// TestSpread checks spread's O(k) sums against the double-centred
// correlation matrix built whole: tr C and ‖C‖², and the Satterthwaite
// degrees of freedom k − 1 for independent batch means.
func TestSpread(t *testing.T) {
	for _, tc := range []struct {
		rho     float64
		size, k int
	}{{0, 5, 6}, {0.5, 1, 60}, {0.7, 10, 6}, {0.9, 3, 20}, {0.98, 1, 240}, {0.3, 7, 2}} {
		k := tc.k
		r := make([][]float64, k)
		var sum float64
		rowMean := make([]float64, k)
		for i := range r {
			r[i] = make([]float64, k)
			for j := range r[i] {
				r[i][j] = 1
				if i != j {
					r[i][j] = BatchCorrelation(tc.rho, tc.size, max(i-j, j-i))
				}
				rowMean[i] += r[i][j] / float64(k)
				sum += r[i][j]
			}
		}
		grand := sum / float64(k*k)
		var tr, frob float64
		for i := range r {
			for j := range r[i] {
				c := r[i][j] - rowMean[i] - rowMean[j] + grand
				frob += c * c
				if i == j {
					tr += c
				}
			}
		}
		gotSum, gotTr, gotFrob := spread(tc.rho, tc.size, k)
		if math.Abs(gotSum-sum) > 1e-9*sum || math.Abs(gotTr-tr) > 1e-9 || math.Abs(gotFrob-frob) > 1e-9*math.Max(frob, 1) {
			t.Errorf("spread(%g, %d, %d) = %g, %g, %g; want %g, %g, %g", tc.rho, tc.size, k, gotSum, gotTr, gotFrob, sum, tr, frob)
		}
		if tc.rho == 0 && math.Abs(gotTr*gotTr/gotFrob-float64(k-1)) > 1e-9 {
			t.Errorf("independent batch means: %g degrees of freedom, want %d", gotTr*gotTr/gotFrob, k-1)
		}
	}
}

// TestBatchSize: independent points need no batching; a correction for
// more dependence than the series likely have calls for longer batches,
// which lean on it less; and a window too short for a degree of freedom
// has no batch length.
func TestBatchSize(t *testing.T) {
	if l := BatchSize(BatchPlan{X: 60, Y: 60, Paired: true, Alpha: 0.0025}); l != 1 {
		t.Errorf("independent pairs: batch length %d, want 1", l)
	}
	if l := BatchSize(BatchPlan{X: 60, Y: 60, Paired: true, Rho: 0.85, Expected: 0.7, Alpha: 0.0025, MinSize: 6}); l < 6 {
		t.Errorf("batch length %d, want at least MinSize 6", l)
	}
	// Exactly AR(1) and corrected for it, the most degrees of freedom
	// (single points) make the smallest detectable shift.
	if l := BatchSize(BatchPlan{X: 60, Y: 60, Paired: true, Rho: 0.7, Expected: 0.7, Alpha: 0.0025}); l != 1 {
		t.Errorf("known AR(0.7): batch length %d, want 1", l)
	}
	if l := BatchSize(BatchPlan{X: 60, Y: 60, History: 180, Rho: 0.85, Expected: 0.7, Alpha: 0.0025}); l < 1 || l > 60 {
		t.Errorf("unpaired with history: batch length %d, want 1–60", l)
	}
	// Earlier differences joining the spread of paired batch means lend
	// degrees of freedom, so no longer batch is planned than without.
	alone := BatchPlan{X: 30, Y: 30, Paired: true, Rho: 0.9, Expected: 0.7, Alpha: 0.0025, MinSize: 6}
	with := alone
	with.History = 30
	if a, w := BatchSize(alone), BatchSize(with); w < 6 || w > a || with.Detectable(w) >= alone.Detectable(a) {
		t.Errorf("paired with 30 earlier differences: batch length %d (MDS %.3g), alone %d (MDS %.3g): want no longer and a smaller MDS",
			w, with.Detectable(w), a, alone.Detectable(a))
	}
	if l := BatchSize(BatchPlan{X: 1, Y: 1, Paired: true, Alpha: 0.0025}); l != 0 {
		t.Errorf("one pair: batch length %d, want 0", l)
	}
}

// TestBatchShiftIndependent: with Rho 0 the test is the pooled t-test on
// the batch means of the three groups, computed here by hand.
func TestBatchShiftIndependent(t *testing.T) {
	x := []float64{5, 7, 6, 9, 8, 6, 7, 10, 9, 8, 7, 9}
	y := []float64{4, 6, 5, 5, 7, 6, 4, 5, 6, 7, 5, 4}
	h := []float64{5, 6, 4, 6, 5, 7, 6, 5}
	r, err := BatchShift(x, y, BatchShiftOptions{Size: 2, History: h, Alternative: Greater, ConfLevel: 0.9})
	if err != nil {
		t.Fatal(err)
	}
	bx, by, bh := BatchMeans(x, 6), BatchMeans(y, 6), BatchMeans(h, 4)
	ss := func(b []float64) float64 { _, v := stat.MeanVariance(b, nil); return v * float64(len(b)-1) }
	df := 5.0 + 5 + 3
	s2 := (ss(bx) + ss(by) + ss(bh)) / df
	est := stat.Mean(bx, nil) - stat.Mean(by, nil)
	se := math.Sqrt(s2 * (1.0/6 + 1.0/6))
	tt := distuv.StudentsT{Mu: 0, Sigma: 1, Nu: df}
	if r.DF != df || r.X != 6 || r.Y != 6 || r.History != 4 ||
		math.Abs(r.Estimate-est) > 1e-12 || math.Abs(r.SE-se) > 1e-12 || math.Abs(r.PValue-tt.Survival(est/se)) > 1e-12 ||
		math.Abs(r.CILow-(est-tt.Quantile(0.9)*se)) > 1e-12 || !math.IsInf(r.CIHigh, 1) {
		t.Errorf("got %+v; want estimate %g se %g df %g p %g", r, est, se, df, tt.Survival(est/se))
	}
	// Paired, earlier differences (the history) join the spread, each
	// group about its own mean, and take no part in the shift.
	earlier := []float64{1, -1, 2, 0, 1, 3, -2, 1}
	r, err = BatchShift(x, y, BatchShiftOptions{Size: 2, Paired: true, History: earlier, Alternative: Greater, ConfLevel: 0.9})
	if err != nil {
		t.Fatal(err)
	}
	d := make([]float64, len(x))
	for i := range x {
		d[i] = x[i] - y[i]
	}
	bd, be := BatchMeans(d, 6), BatchMeans(earlier, 4)
	df = 5.0 + 3
	est = stat.Mean(bd, nil)
	se = math.Sqrt((ss(bd) + ss(be)) / df / 6)
	tt = distuv.StudentsT{Mu: 0, Sigma: 1, Nu: df}
	if r.DF != df || r.X != 6 || r.History != 4 || math.Abs(r.Estimate-est) > 1e-12 || math.Abs(r.SE-se) > 1e-12 ||
		math.Abs(r.PValue-tt.Survival(est/se)) > 1e-12 {
		t.Errorf("paired with earlier differences: got %+v; want estimate %g se %g df %g", r, est, se, df)
	}
	if _, err := BatchShift(x, y[:3], BatchShiftOptions{Size: 2, Paired: true}); err == nil {
		t.Error("paired series of unequal length: want an error")
	}
	if _, err := BatchShift([]float64{1, math.Inf(1)}, y, BatchShiftOptions{Size: 1}); err == nil {
		t.Error("infinite point: want an error")
	}
	if _, err := BatchShift(x[:3], y[:3], BatchShiftOptions{Size: 4}); err == nil {
		t.Error("no batch: want an error")
	}
}

// TestBatchShiftLevel holds the one-sided level 0.0025 (5% over 20
// metrics) on paired AR(0.7) differences of 60 points, with the batch
// length and correction from the true ρ, and with history on unpaired
// AR(0.8) series; the uncorrected batch means of the same length exceed it.
// 20,000 draws: the Monte Carlo error of a 0.0025 rate is ±0.0007.
func TestBatchShiftLevel(t *testing.T) {
	if testing.Short() {
		t.Skip("Monte Carlo simulation")
	}
	rng := rand.New(rand.NewPCG(3, 9))
	const draws, alpha = 20000, 0.0025
	var paired, raw, unpaired int
	unpairedSize := BatchSize(BatchPlan{X: 60, Y: 60, History: 180, Rho: 0.8, Expected: 0.8, Alpha: alpha})
	for range draws {
		d := ar1Series(rng, 60, 0.7)
		zero := make([]float64, 60)
		size := BatchSize(BatchPlan{X: 60, Y: 60, Paired: true, Rho: 0.7, Expected: 0.7, Alpha: alpha})
		if r, err := BatchShift(d, zero, BatchShiftOptions{Size: size, Paired: true, Rho: 0.7, Alternative: Greater}); err != nil {
			t.Fatal(err)
		} else if r.PValue < alpha {
			paired++
		}
		if r, _ := BatchShift(d, zero, BatchShiftOptions{Size: size, Paired: true, Alternative: Greater}); r.PValue < alpha {
			raw++
		}
		h, y, x := ar1Series(rng, 180, 0.8), ar1Series(rng, 60, 0.8), ar1Series(rng, 60, 0.8)
		if r, _ := BatchShift(x, y, BatchShiftOptions{Size: unpairedSize, History: h, Rho: 0.8, Alternative: Greater}); r.PValue < alpha {
			unpaired++
		}
	}
	t.Logf("rejections at %g: paired corrected %d, uncorrected %d, unpaired with history %d of %d", alpha, paired, raw, unpaired, draws)
	if rate := float64(paired) / draws; rate > 0.004 {
		t.Errorf("paired AR(0.7): level %.4f, want ≤ 0.004", rate)
	}
	if rate := float64(unpaired) / draws; rate > 0.004 {
		t.Errorf("unpaired AR(0.8) with history: level %.4f, want ≤ 0.004", rate)
	}
	if raw <= paired {
		t.Errorf("the correction changed nothing: %d uncorrected rejections vs %d corrected", raw, paired)
	}
}

// TestBatchShiftEvidenceGrows: unlike a rank test with a dependence
// allowance, whose p-value stops falling once every difference is
// positive, the batch-means p-value keeps falling as the shift grows
// against the noise.
func TestBatchShiftEvidenceGrows(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	noise := ar1Series(rng, 60, 0.7)
	zero := make([]float64, 60)
	prev := 1.0
	for _, shift := range []float64{0.5, 1, 2, 4, 8} {
		d := make([]float64, 60)
		for i := range d {
			d[i] = shift + 0.3*noise[i]
		}
		r, err := BatchShift(d, zero, BatchShiftOptions{Size: 9, Paired: true, Rho: 0.7, Alternative: Greater})
		if err != nil {
			t.Fatal(err)
		}
		if !(r.PValue < prev) {
			t.Errorf("shift %g: p %g, not below %g at the smaller shift", shift, r.PValue, prev)
		}
		prev = r.PValue
	}
	if prev > 1e-5 {
		t.Errorf("shift of 8 against noise 0.3: p %g, want < 1e-5", prev)
	}
}

// TestPairedBatchDependenceCost: what 60 paired differences of AR(0.7)
// noise can show of a shift of 2.25 of their standard deviations (a 10%
// rise of pods behind one load balancer whose own noise is 3%, AR 0.7:
// about seven long-run standard errors) at one of 20 metrics' share of a
// 5% level. Knowing ρ, the batch-means test catches it always; estimating
// ρ from the window's two halves, the estimate alone does not hold the
// level, and the exact upper bound the default judge corrects with
// (ExactBound at 99.5%) holds it at the price of most of the power: the
// cost of not knowing the dependence, which no test calibrated on 60
// points avoids (docs/statistics.md, *Known limit: a small shift behind
// one load balancer*).
func TestPairedBatchDependenceCost(t *testing.T) {
	if testing.Short() {
		t.Skip("Monte Carlo simulation")
	}
	const n, rho, shift, alpha = 60, 0.7, 2.25, 0.05 * 0.9 / 20
	const nullDraws, shiftDraws = 20000, 2000
	rng := rand.New(rand.NewPCG(60, 7))
	zero := make([]float64, n)
	rules := []struct {
		name  string
		bound func(Dependence) float64
	}{
		{"known ρ", func(Dependence) float64 { return rho }},
		{"estimate", func(d Dependence) float64 { return d.Rho }},
		{"2-SE bound", func(d Dependence) float64 { return d.Bound(2) }},
		{"exact 99.5% bound", func(d Dependence) float64 { return d.ExactBound(2.576) }},
	}
	rate := func(s float64, draws int) []float64 {
		hits := make([]float64, len(rules))
		for range draws {
			d := ar1Series(rng, n, rho)
			for i := range d {
				d[i] += s
			}
			dep := EstimateDependence(d[:n/2], d[n/2:])
			for i, rule := range rules {
				expected := dep.Rho
				if i == 0 {
					expected = rho
				}
				r := rule.bound(dep)
				size := BatchSize(BatchPlan{X: n, Y: n, Paired: true, Rho: r, Expected: expected, Alpha: alpha,
					MinSize: int(math.Ceil((1 + expected) / (1 - expected)))})
				if size == 0 {
					continue
				}
				res, err := BatchShift(d, zero, BatchShiftOptions{Size: size, Paired: true, Rho: r, Alternative: Greater})
				if err == nil && res.PValue < alpha {
					hits[i]++
				}
			}
		}
		for i := range hits {
			hits[i] /= float64(draws)
		}
		return hits
	}
	size, power := rate(0, nullDraws), rate(shift, shiftDraws)
	for i, rule := range rules {
		t.Logf("%-18s size %.4f (level %.5f), power %.3f", rule.name, size[i], alpha, power[i])
	}
	if power[0] < 0.99 {
		t.Errorf("known ρ: power %.3f, want ≥ 0.99", power[0])
	}
	if size[1] < 1.5*alpha {
		t.Errorf("the estimate alone: size %.4f, want it to exceed the level %.5f by half: the bound is needed", size[1], alpha)
	}
	if size[3] > 1.2*alpha {
		t.Errorf("exact bound: size %.4f, want ≤ 1.2 × %.5f", size[3], alpha)
	}
}
