package stats

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"
)

// TestBatchMeansT pins the statistic on cases computed apart (Welch's and
// the one-sample t by hand, Student's t tail by numerical integration of
// its density): t.test(1:3, 4:6) in R is t = −3.6742, df = 4,
// p = 0.02131.
func TestBatchMeansT(t *testing.T) {
	t.Parallel()
	// Each batch one point: Welch's t-test itself.
	r, err := BatchMeansT([]float64{1, 2, 3}, []float64{4, 5, 6}, 3, false, TwoSided)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(r.T+3.674234614174767) > 1e-12 || math.Abs(r.DF-4) > 1e-12 || math.Abs(r.PValue-2*0.010655820564) > 1e-9 {
		t.Errorf("t.test(1:3, 4:6): t %v df %v p %v", r.T, r.DF, r.PValue)
	}
	// Batches of two points whose means are 2, 4, 9, 1 and 1, 1.5, 2, 1.2.
	x := []float64{1, 3, 3, 5, 8, 10, 0, 2}
	y := []float64{0.5, 1.5, 1, 2, 2.5, 1.5, 1, 1.4}
	r, err = BatchMeansT(x, y, 4, false, Greater)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(r.T-1.43633952767) > 1e-9 || math.Abs(r.DF-3.08958528289) > 1e-9 || math.Abs(r.PValue-0.1219596659) > 1e-8 {
		t.Errorf("Welch on batch means: t %v df %v p %v", r.T, r.DF, r.PValue)
	}
	// Paired: batch means of the differences 0.5, −0.2, 0.9, 0.4, 1.1.
	base := []float64{10, 10, 20, 20, 30, 30, 40, 40, 50, 50, 60}
	canary := []float64{99, 10.5, 20.5, 19.8, 29.8, 30.9, 40.9, 40.4, 50.4, 51.1, 61.1}
	r, err = BatchMeansT(canary, base, 5, true, TwoSided)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(r.T-2.40059281216) > 1e-9 || r.DF != 4 || math.Abs(r.PValue-0.07430853611) > 1e-8 || math.Abs(r.Estimate-0.54) > 1e-12 {
		t.Errorf("paired (the first point left out): t %v df %v p %v estimate %v", r.T, r.DF, r.PValue, r.Estimate)
	}
	// Sides, ties and bad input.
	if r, _ := BatchMeansT(x, y, 4, false, Less); math.Abs(r.PValue-(1-0.1219596659)) > 1e-8 {
		t.Errorf("less: %v", r.PValue)
	}
	if r, _ := BatchMeansT([]float64{1, 1, 1, 1}, []float64{1, 1, 1, 1}, 2, false, Greater); r.PValue != 1 {
		t.Errorf("identical constant series: p %v, want 1", r.PValue)
	}
	if r, _ := BatchMeansT([]float64{2, 2, 2, 2}, []float64{1, 1, 1, 1}, 2, false, Greater); r.PValue != 0 {
		t.Errorf("constant series apart: p %v, want 0", r.PValue)
	}
	for _, tc := range []struct {
		x, y   []float64
		k      int
		paired bool
	}{
		{[]float64{1, 2}, []float64{1, 2}, 1, false},
		{[]float64{1}, []float64{1, 2}, 2, false},
		{[]float64{1, 2, 3}, []float64{1, 2}, 2, true},
		{[]float64{1, math.NaN()}, []float64{1, 2}, 2, false},
	} {
		if _, err := BatchMeansT(tc.x, tc.y, tc.k, tc.paired, TwoSided); err == nil {
			t.Errorf("BatchMeansT(%v, %v, %d, %v): no error", tc.x, tc.y, tc.k, tc.paired)
		}
	}
	if _, err := BatchMeansT([]float64{1, math.Inf(1)}, []float64{1, 2}, 2, false, TwoSided); !errors.Is(err, ErrNotFinite) {
		t.Errorf("an infinite point: %v", err)
	}
}

// TestBatchMeansTLevel: under dependence shorter than a batch (AR(1),
// ρ 0.7, 60 points per side, 6 batches of 10) the batch-means test about
// holds its level, where Welch's test on the points rejects far more
// often, and it sees a shift of one standard deviation of the points.
func TestBatchMeansTLevel(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(7, 31))
	const trials = 2000
	rejected, naive, detected := 0, 0, 0
	for range trials {
		x, y := ar1Series(r, 60, 0.7), ar1Series(r, 60, 0.7)
		if res, err := BatchMeansT(x, y, 6, false, Greater); err == nil && res.PValue <= 0.05 {
			rejected++
		}
		if res, err := BatchMeansT(x, y, 60, false, Greater); err == nil && res.PValue <= 0.05 {
			naive++ // batches of one point: Welch on the points
		}
		for i := range x {
			x[i]++ // one standard deviation of the points
		}
		if res, err := BatchMeansT(x, y, 6, false, Greater); err == nil && res.PValue <= 0.05 {
			detected++
		}
	}
	t.Logf("AR(0.7), 60 points: batch means A/A %.3f, Welch on points %.3f, +1 SD detected %.3f",
		float64(rejected)/trials, float64(naive)/trials, float64(detected)/trials)
	if rate := float64(rejected) / trials; rate > 0.08 {
		t.Errorf("A/A at 5%% under ρ 0.7: %.3f", rate)
	}
	if rate := float64(naive) / trials; rate < 0.15 {
		t.Errorf("Welch on the points rejects %.3f under ρ 0.7: the case does not show dependence", rate)
	}
	if rate := float64(detected) / trials; rate < 0.5 {
		t.Errorf("a shift of one standard deviation detected %.3f", rate)
	}
}
