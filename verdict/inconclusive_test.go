package verdict

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// TestFewPointsNeverPass checks issue 18's case: one critical metric, six
// points a side and 18 of history, the canary at twice the baseline (every
// canary point above every baseline point). The dependence allowed for
// leaves no shift significant with six points, so the test is silent, and
// silence must not pass: the metric is INCONCLUSIVE and the analysis FAIL.
// A canary as high that overlaps the baseline, or one below it on an
// increase metric, still passes.
func TestFewPointsNeverPass(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(31, 32))
	noise := func(n int, level float64) []float64 { return ar1(r, n, level, 0.1, 0.6) }
	history, control := noise(18, 100), noise(6, 100)
	canary := noise(6, 200)
	cfg := &Config{Name: "six", Metrics: []Metric{{Name: "latency", Groups: []string{"g"}, Direction: DirectionIncrease, Critical: true}}}
	if err := cfg.Validate("six"); err != nil {
		t.Fatal(err)
	}
	res, err := Analyze(cfg, []MetricSetPair{{Name: "latency", Values: PairValues{Control: control, Experiment: canary, ControlHistory: history}}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	m := res.Metrics[0]
	if res.Result == ResultPass || m.Classification != Inconclusive || !strings.Contains(m.Reason, "minimum detectable effect is unbounded") {
		t.Fatalf("6 points at 2×: %s, %s (%s)", res.Result, m.Classification, m.Reason)
	}
	if m.CILow != nil || m.CIHigh != nil || *m.PValue <= 0.05 {
		t.Errorf("interval [%v, %v] with p=%v: the interval must be the whole line when nothing can be significant", m.CILow, m.CIHigh, *m.PValue)
	}
	// Overlapping: one canary point inside the baseline's range keeps the
	// median beyond it; three do not.
	overlap := append([]float64(nil), canary...)
	for i := range 3 {
		overlap[i] = control[i]
	}
	res, _ = Analyze(cfg, []MetricSetPair{{Name: "latency", Values: PairValues{Control: control, Experiment: overlap, ControlHistory: history}}}, Options{})
	if res.Metrics[0].Classification == Inconclusive {
		t.Errorf("half the canary inside the baseline: %s (%s)", res.Metrics[0].Classification, res.Metrics[0].Reason)
	}
	low := noise(6, 50)
	res, _ = Analyze(cfg, []MetricSetPair{{Name: "latency", Values: PairValues{Control: control, Experiment: low, ControlHistory: history}}}, Options{})
	if res.Result != ResultPass {
		t.Errorf("canary at half the baseline on an increase metric: %s (%s)", res.Result, res.Reason)
	}
}
