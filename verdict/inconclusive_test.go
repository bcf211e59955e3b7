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

// TestUnreachableAmongManyMetrics: a canary 1.5 times the baseline on
// separate hosts with 5 points a side among twenty critical metrics:
// complete separation reads at best 1/C(10, 5) ≈ 0.004, above the
// 0.05·0.9/20 the adjustment asks of each metric, so no shift however
// large could fail the metric, and it is MARGINAL (INCONCLUSIVE, naming
// what would make it judgeable), not PASS 100 as before. Ten time-aligned
// pairs a metric among twenty, one doubled, are never PASS: their
// dependence is bounded from the window's ten differences
// (stats.Dependence.ExactBound) for the batch-means test, which fails the
// doubling or leaves it unjudged (before, the missing estimate of their
// 5-point halves sent them to a signed-rank test as if independent, whose
// best p ≈ 0.003 could not reach the level). With one metric, or 60 pairs
// a metric, the doubling fails.
func TestUnreachableAmongManyMetrics(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(10, 20))
	analyze := func(metrics, n int) *Result {
		t.Helper()
		cfg := &Config{Name: "many"}
		var pairs []MetricSetPair
		for i := range metrics {
			name := "m" + string(rune('a'+i))
			cfg.Metrics = append(cfg.Metrics, Metric{Name: name, Groups: []string{"g"}, Critical: true})
			p := podPair(r, n, 1)
			if i == 0 {
				for j := range p.Values.Experiment {
					p.Values.Experiment[j] *= 2
				}
			}
			p.Name = name
			pairs = append(pairs, p)
		}
		if err := cfg.Validate("many"); err != nil {
			t.Fatal(err)
		}
		res, err := Analyze(cfg, pairs, Options{})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	for range 5 {
		if res := analyze(20, 10); res.Result == ResultPass {
			t.Errorf("20 metrics of 10 pairs, one doubled: %s %s (%s)", res.Result, res.Metrics[0].Classification, res.Metrics[0].Reason)
		}
	}
	// Separate hosts, 5 points a side: complete separation reads at best
	// 1/C(10, 5) ≈ 0.004, above 0.05·0.9/20.
	cfg := &Config{Name: "apart"}
	var pairs []MetricSetPair
	for i := range 20 {
		name := "m" + string(rune('a'+i))
		cfg.Metrics = append(cfg.Metrics, Metric{Name: name, Groups: []string{"g"}, Critical: true, Direction: DirectionIncrease})
		canary, control := ar1(r, 5, 100, 0.1, 0), ar1(r, 5, 100, 0.1, 0)
		if i == 0 {
			for j := range canary {
				canary[j] *= 1.5
			}
		}
		pairs = append(pairs, MetricSetPair{Name: name, Values: PairValues{Control: control, Experiment: canary}})
	}
	if err := cfg.Validate("apart"); err != nil {
		t.Fatal(err)
	}
	apart, err := Analyze(cfg, pairs, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if m := apart.Metrics[0]; apart.Result != ResultMarginal || m.Classification != Inconclusive || !strings.Contains(m.Reason, "fewer metrics, would make it judgeable") {
		t.Errorf("20 metrics of 5 points a side, one at 1.5×: %s %s (%s)", apart.Result, m.Classification, m.Reason)
	}
	for _, tc := range []struct{ metrics, n int }{{1, 10}, {20, 60}} {
		if res := analyze(tc.metrics, tc.n); res.Result != ResultFail || res.Metrics[0].Classification != High {
			t.Errorf("%d metrics of %d pairs, one doubled: %s %s (%s)", tc.metrics, tc.n, res.Result, res.Metrics[0].Classification, res.Metrics[0].Reason)
		}
	}
}
