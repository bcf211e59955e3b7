package backtest

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"gonum.org/v1/gonum/stat"
)

// TestBucketQuantile pins Prometheus' histogram_quantile rules: linear
// interpolation inside the bucket holding the rank, the lowest bucket from
// zero, the largest finite bound when the rank is in the +Inf bucket.
func TestBucketQuantile(t *testing.T) {
	counts := func(m map[int]float64) []float64 {
		c := make([]float64, len(promBuckets)+1)
		for b, v := range m {
			c[b] = v
		}
		return c
	}
	for _, tc := range []struct {
		name   string
		q      float64
		counts []float64
		want   float64
	}{
		{"middle of a bucket", 0.5, counts(map[int]float64{4: 10}), 0.075},           // (0.05, 0.1]: half way
		{"first bucket from zero", 0.5, counts(map[int]float64{0: 4}), 0.0025},       // (0, 0.005]
		{"rank in +Inf", 0.99, counts(map[int]float64{4: 90, 11: 10}), 10},           // the largest finite bound
		{"across buckets", 0.9, counts(map[int]float64{4: 80, 5: 20}), 0.1 + 0.15/2}, // rank 90: 10 of 20 into (0.1, 0.25]
	} {
		if got := bucketQuantile(tc.q, tc.counts); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
	if got := bucketQuantile(0.99, counts(nil)); !math.IsNaN(got) {
		t.Errorf("no observations: %v, want NaN", got)
	}
}

// TestRealisticShapes checks each shape has the structure it models.
func TestRealisticShapes(t *testing.T) {
	o, err := SyntheticOptions{Noises: []string{NoiseRateWindow}}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	o.History, o.Points = 600, 600
	rng := rand.New(rand.NewPCG(7, 7)) //nolint:gosec // test data
	aa := Regression{KindAA, 0}
	draw := func(s shape, rho float64, reg Regression) (h, b, c []float64) {
		h, b, c, _ = s(rng, o, rho, reg)
		if len(h) != o.History || len(b) != o.Points || len(c) != o.Points {
			t.Fatalf("lengths %d/%d/%d", len(h), len(b), len(c))
		}
		return h, b, c
	}
	// A 5-minute rate window over independent minutes is a moving average:
	// strongly correlated at lag 1, not beyond the window.
	_, b, _ := draw(rateWindow, 0, aa)
	if r1, r6 := lagCorr(b, 1), lagCorr(b, 6); r1 < 0.6 || math.Abs(r6) > 0.25 {
		t.Errorf("rate-window: lag-1 correlation %.2f (want > 0.6), lag-6 %.2f (want about 0: within 3 standard errors, 0.25)", r1, r6)
	}
	// p99 from buckets: within the buckets' range; a level shift applied
	// to the requests moves it up.
	_, b, c := draw(shapes[NoiseHistogram], 0.5, Regression{KindLevelShift, 1.5})
	for _, v := range append(b, c...) {
		if !(v > 0 && v <= 10) {
			t.Fatalf("p99-histogram value %v outside (0, 10]", v)
		}
	}
	if median(c) <= median(b) {
		t.Error("p99-histogram: a 1.5× slower canary's p99 is not above the baseline's")
	}
	// Error counts: integers at about 0.5 a minute; a burst raises only
	// the last fifth.
	_, b, c = draw(poissonCounter, 0, Regression{KindBurst, 10})
	if m := meanOf(b); math.Abs(m-0.5) > 0.1 {
		t.Errorf("poisson: mean %.2f, want about 0.5", m)
	}
	for _, v := range b {
		if v != math.Trunc(v) || v < 0 {
			t.Fatalf("poisson: %v is not a count", v)
		}
	}
	if early, late := meanOf(c[:o.Points*4/5]), meanOf(c[o.Points*4/5:]); early > 1 || late < 3 {
		t.Errorf("poisson burst: mean %.2f before, %.2f in the last fifth", early, late)
	}
	// The fleet's history is far smoother than a 5% share's windows.
	h, b, _ := draw(fleetHistory, 0, aa)
	if vh, vb := variance(h), variance(b); vh > vb/5 {
		t.Errorf("fleet-history: history variance %.3g not well below the window's %.3g", vh, vb)
	}
	// Memory behind one load balancer: over a few collections (hourly
	// means) the pods share their wander; the heap returns to its live set
	// at every collection, so it never drifts above it by more than the
	// sawtooth (a collection at most every 20 minutes: +60%).
	var rs []float64
	for range 10 {
		_, b, c = draw(sawtooth, 0, aa)
		rs = append(rs, corr(movingMean(b, 60, 1), movingMean(c, 60, 1)))
	}
	// Pods that did not share their wander would correlate about 0 (±0.1
	// over ten draws); the sawtooth's own swing keeps it well below 1.
	if r := meanOf(rs); r < 0.3 {
		t.Errorf("sawtooth: hourly means of baseline and canary correlate %.2f (mean of 10 draws), want them to move together", r)
	}
	// CPU behind one load balancer: the pods move together, and what sets
	// them apart (their own slow noise) is itself strongly dependent.
	_, b, c = draw(shapes[NoiseAlignedCPU], 0.5, aa)
	ratio := make([]float64, len(b))
	for i := range b {
		ratio[i] = math.Log(c[i] / b[i])
	}
	if r, r1 := corr(b, c), lagCorr(ratio, 1); r < 0.7 || r1 < 0.5 {
		t.Errorf("aligned-cpu: pods correlate %.2f (want > 0.7), their log ratio at lag 1 %.2f (want > 0.5)", r, r1)
	}
	// A daily cycle (±30% of 100) over 1,200 minutes swings the hourly
	// level by far more than the noise.
	h, b, _ = draw(daily, 0.5, aa)
	hourly := movingMean(append(h, b...), 60, 1)
	if lo, hi := slices.Min(hourly), slices.Max(hourly); hi-lo < 25 {
		t.Errorf("daily: hourly level swings only %.1f", hi-lo)
	}
}

func median(x []float64) float64 {
	s := slices.Clone(x)
	slices.Sort(s)
	return stat.Quantile(0.5, stat.Empirical, s, nil)
}

func meanOf(x []float64) float64 { return stat.Mean(x, nil) }

func variance(x []float64) float64 { return stat.Variance(x, nil) }

func corr(x, y []float64) float64 { return stat.Correlation(x, y, nil) }

func lagCorr(x []float64, lag int) float64 { return corr(x[:len(x)-lag], x[lag:]) }
