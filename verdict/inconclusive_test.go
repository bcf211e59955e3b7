package verdict

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// TestFewPointsNeverPass checks issue 18's case: one critical metric, six
// points a side and 18 of history, dependent noise (AR 0.6). The points
// depend on their neighbours for about as long as the window, so no test
// can hold its level or see a shift there: the metric is INCONCLUSIVE
// (not judgeable) whatever the canary does, and the analysis MARGINAL —
// never PASS, and never FAIL on that alone — with a reason naming the
// window that would make it judgeable. With a longer window the same
// canary at twice the baseline fails.
func TestFewPointsNeverPass(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(31, 32))
	noise := func(n int, level float64) []float64 { return ar1(r, n, level, 0.1, 0.6) }
	history, control := noise(18, 100), noise(6, 100)
	cfg := &Config{Name: "six", Metrics: []Metric{{Name: "latency", Groups: []string{"g"}, Direction: DirectionIncrease, Critical: true}}}
	if err := cfg.Validate("six"); err != nil {
		t.Fatal(err)
	}
	for name, canary := range map[string][]float64{"twice": noise(6, 200), "same": noise(6, 100), "half": noise(6, 50)} {
		res, err := Analyze(cfg, []MetricSetPair{{Name: "latency", Values: PairValues{Control: control, Experiment: canary, ControlHistory: history}}}, Options{})
		if err != nil {
			t.Fatal(err)
		}
		m := res.Metrics[0]
		if res.Result != ResultMarginal || m.Classification != Inconclusive || !strings.Contains(m.Reason, "minimum detectable effect is unbounded") ||
			!strings.Contains(m.Reason, "would make it judgeable") {
			t.Errorf("6 points, canary %s: %s, %s (%s)", name, res.Result, m.Classification, m.Reason)
		}
		if m.CILow != nil || m.CIHigh != nil {
			t.Errorf("canary %s: interval [%v, %v], want the whole line", name, m.CILow, m.CIHigh)
		}
	}
	history, control = noise(180, 100), noise(60, 100)
	res, err := Analyze(cfg, []MetricSetPair{{Name: "latency", Values: PairValues{Control: control, Experiment: noise(60, 200), ControlHistory: history}}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Result != ResultFail || res.Metrics[0].Classification != High {
		t.Errorf("60 points at 2×: %s, %s (%s)", res.Result, res.Metrics[0].Classification, res.Metrics[0].Reason)
	}
}
