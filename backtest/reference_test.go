package backtest

import (
	"math"
	"testing"

	"github.com/canaryjudge/judge/verdict"
)

// TestReference checks the reference test: the exact binomial test of
// totals for counts (4 events against none over 10 steps each: C ~
// Binomial(4, ½), P(C ≥ 4) = 1/16), Welch's t on non-overlapping points
// (one point in five when the scope says so), and its error rates on
// independent noise, where it is calibrated.
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

	cases, err := Synthetic(3, 400, SyntheticOptions{Noises: []string{NoiseIndependent}, Rhos: []float64{0}, Regressions: []Regression{{KindLevelShift, 1.2}}})
	if err != nil {
		t.Fatal(err)
	}
	s := Run(cases, SyntheticConfig(), []verdict.JudgeName{JudgeReference}, nil, nil).Judges[0].Summary
	if aa, d := float64(s.FalseFails)/float64(s.Controls), float64(s.Detected)/float64(s.Incidents); aa > 0.09 || d < 0.9 {
		t.Errorf("independent noise: A/A %.3f (want ≤ 0.09), +20%% detected %.3f (want ≥ 0.9)", aa, d)
	}
}
