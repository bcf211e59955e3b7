package verdict

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// podPair is CPU of two pods behind one load balancer, time-aligned: the
// load they share (AR(1) at 0.5, sd 0.3 on the log scale) times each
// pod's own noise (AR(1) at 0.7, sd 0.03), the canary's scaled by shift.
func podPair(r *rand.Rand, n int, shift float64) MetricSetPair {
	// ar1 at level 1 and cv 1 is 1 + a unit AR(1) series.
	load := ar1(r, n, 1, 1, 0.5)
	pod := func(scale float64) []float64 {
		own := ar1(r, n, 1, 1, 0.7)
		out := make([]float64, n)
		for i := range out {
			out[i] = scale * 50 * math.Exp(0.3*(load[i]-1)+0.03*(own[i]-1))
		}
		return out
	}
	scope := PairScope{StartTimeMillis: 1, StepMillis: 60_000}
	return MetricSetPair{Values: PairValues{Control: pod(1), Experiment: pod(shift)}, Scopes: map[string]PairScope{"control": scope, "experiment": scope}}
}

// TestEvidenceGrowsWithTheEffect is the evidence cap's regression test
// (issue 31): +25% on pods behind one load balancer whose own noise is
// AR(0.7) puts the canary above the baseline at all 60 instants, which a
// signed-rank test with a dependence allowance read as p 0.27 (n_eff ≈ 2)
// and passed with score 100. Every such canary now fails (HIGH, with a
// bounded interval), by the batch-means test where the differences'
// dependence caps the rank test, except the few whose 60 differences
// look as dependent as the window is long (INCONCLUSIVE, MARGINAL); an
// unchanged canary passes.
func TestEvidenceGrowsWithTheEffect(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(25, 7))
	inc := Metric{Direction: DirectionIncrease, Critical: true}
	var cases, batch, unjudged int
	for range 300 {
		pair := podPair(r, 60, 1.25)
		above := 0
		for i, c := range pair.Values.Experiment {
			if c > pair.Values.Control[i] {
				above++
			}
		}
		if above != 60 {
			continue // the case of the issue: every difference positive
		}
		cases++
		m := judgeOne(t, inc, pair)
		if m.Classification == Inconclusive {
			// ρ̂ of 60 differences at its upper tail (0.9 and more): not
			// judgeable, never a pass.
			unjudged++
			continue
		}
		if m.Classification != High || m.Comparison != ComparisonPaired || m.CILow == nil || *m.CILow <= 0 || *m.PValue > 0.05 {
			t.Fatalf("+25%%, 60 of 60 differences positive: %s (%s)", m.Classification, m.Reason)
		}
		if strings.Contains(m.Reason, "batch means of log values") {
			batch++
		}
	}
	var aa int
	for range 400 {
		if m := judgeOne(t, inc, podPair(r, 60, 1)); m.Classification == High {
			aa++
		}
	}
	t.Logf("%d draws with 60 of 60 positive differences: %d not judgeable, the rest HIGH, %d by batch means; unchanged canaries HIGH %d of 400", cases, unjudged, batch, aa)
	if cases < 50 || batch == 0 || unjudged*10 > cases {
		t.Errorf("%d draws with every difference positive, %d judged by batch means, %d not judgeable: want ≥ 50, some and at most a tenth", cases, batch, unjudged)
	}
	// One metric alone is judged at the whole 5% level: a calibrated test
	// fails about 20 of 400 unchanged canaries, and more than 30 (7.5%,
	// 2.3 binomial standard errors above) would show it too bold.
	if aa > 30 {
		t.Errorf("unchanged canaries HIGH %d of 400, want ≤ 30 at the 5%% level", aa)
	}
}

// TestNotJudgeable: a window no longer than a few dependence times (a
// random walk of 30 points with no history) is INCONCLUSIVE whatever the
// canary does, never PASS, and a critical metric leaves the analysis
// MARGINAL, not FAIL; the reason names the window that would judge it.
func TestNotJudgeable(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(3, 4))
	walk := func(n int, level float64) []float64 {
		out := make([]float64, n)
		w := 0.0
		for i := range out {
			w += 0.05 * r.NormFloat64()
			out[i] = level * math.Exp(w)
		}
		return out
	}
	cfg := &Config{Name: "walk", Metrics: []Metric{{Name: "mem", Groups: []string{"g"}, Critical: true}}}
	if err := cfg.Validate("walk"); err != nil {
		t.Fatal(err)
	}
	for _, level := range []float64{100, 103} {
		res, err := Analyze(cfg, []MetricSetPair{{Name: "mem", Values: PairValues{Control: walk(30, 100), Experiment: walk(30, level)}}}, Options{})
		if err != nil {
			t.Fatal(err)
		}
		m := res.Metrics[0]
		if m.Classification != Inconclusive || res.Result != ResultMarginal || !strings.Contains(m.Reason, "would make it judgeable") ||
			m.CILow != nil || m.CIHigh != nil {
			t.Errorf("random walk, canary at %g: %s %s (%s)", level, res.Result, m.Classification, m.Reason)
		}
	}
}
