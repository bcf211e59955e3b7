package backtest

import (
	"math"
	"testing"

	"github.com/canaryjudge/judge/verdict"
)

// TestReference checks the reference test: the exact binomial test of
// totals for counts (4 events against none over 10 steps each: C ~
// Binomial(4, ½), P(C ≥ 4) = 1/16), the batch-means test otherwise, and
// its error rates: calibrated under AR(0.5) noise, where a t-test on the
// points failed 66% of unchanged canaries, and under the pods' own AR 0.8
// noise behind one load balancer (aligned-cpu), where six uncorrected
// batches of ten failed 17%; a +35% shift is seen in independent noise
// always, in AR(0.5) noise about half the time (the price of correcting
// for the dependence's upper bound), and +25% on aligned-cpu in about a
// fifth (its window spans few dependence times).
func TestReference(t *testing.T) {
	counts := verdict.MetricSetPair{Values: verdict.PairValues{
		Experiment: []float64{0, 1, 0, 0, 2, 0, 0, 1, 0, 0}, Control: make([]float64, 10)}}
	if p := referenceP(&counts, verdict.DirectionIncrease); math.Abs(p-1.0/16) > 1e-12 {
		t.Errorf("counts: p = %v, want 1/16", p)
	}
	ramp := func(n int, level float64) []float64 {
		out := make([]float64, n)
		for i := range out {
			out[i] = level + float64(i%5) // a cycle of five steps
		}
		return out
	}
	shifted := verdict.MetricSetPair{Values: verdict.PairValues{Experiment: ramp(60, 101), Control: ramp(60, 100)}}
	if p := referenceP(&shifted, verdict.DirectionIncrease); !(p < 0.01) {
		t.Errorf("every point 1 higher: p = %v, want < 0.01", p)
	}
	// One point in five from the end (the last of each cycle): every point
	// is then level + 4, and a one-step shift with no variance left is
	// certain.
	shifted.Scopes = map[string]verdict.PairScope{"control": {StepMillis: 60_000, WindowMillis: 300_000}}
	if p := referenceP(&shifted, verdict.DirectionIncrease); p != 0 {
		t.Errorf("thinned to constant series one apart: p = %v, want 0", p)
	}
	if p := referenceP(&shifted, verdict.DirectionDecrease); p != 1 {
		t.Errorf("an increase on a decrease metric: p = %v, want 1", p)
	}

	for _, tc := range []struct {
		noise              string
		rho, shift         float64
		maxAA, minDetected float64
	}{{NoiseIndependent, 0, 1.35, 0.09, 0.9}, {NoiseIndependent, 0.5, 1.35, 0.09, 0.35}, {NoiseAlignedCPU, 0.5, 1.25, 0.09, 0.1}} {
		cases, err := Synthetic(3, 400, SyntheticOptions{Noises: []string{tc.noise}, Rhos: []float64{tc.rho}, Regressions: []Regression{{KindLevelShift, tc.shift}}})
		if err != nil {
			t.Fatal(err)
		}
		s := Run(cases, SyntheticConfig(), []verdict.JudgeName{JudgeReference}, nil, nil).Judges[0].Summary
		if aa, d := float64(s.FalseFails)/float64(s.Controls), float64(s.Detected)/float64(s.Incidents); aa > tc.maxAA || d < tc.minDetected {
			t.Errorf("%s noise at ρ %g: A/A %.3f (want ≤ %g), ×%g detected %.3f (want ≥ %g)", tc.noise, tc.rho, aa, tc.maxAA, tc.shift, d, tc.minDetected)
		}
	}
	// Time-aligned series are compared pairwise: a shared load cancels.
	load := []float64{1, 9, 2, 8, 3, 7, 4, 6, 5, 5, 6, 4}
	var canary, control []float64
	for i, l := range load {
		control = append(control, 100*l)
		canary = append(canary, 100*l*(1.02+0.001*float64(i%2)))
	}
	scope := verdict.PairScope{StartTimeMillis: 1, StepMillis: 60_000}
	aligned := verdict.MetricSetPair{Values: verdict.PairValues{Experiment: canary, Control: control},
		Scopes: map[string]verdict.PairScope{"control": scope, "experiment": scope}}
	if p := referenceP(&aligned, verdict.DirectionIncrease); !(p < 0.001) {
		t.Errorf("a 2%% rise under a shared load, paired: p = %v, want < 0.001", p)
	}
	aligned.Scopes = nil
	if p := referenceP(&aligned, verdict.DirectionIncrease); !(p > 0.3) {
		t.Errorf("the same, unpaired: p = %v, want the load to hide it", p)
	}
}
