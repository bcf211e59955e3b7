package verdict

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// TestEquivalent pins when a verdict shows equivalence: only with the
// option, only for rank-tested mean-ratio metrics whose interval lies
// inside the allowed shift on each regressing side, never through a
// threshold test, a CLES effect size or a metric that did not pass; a
// muted metric does not count.
func TestEquivalent(t *testing.T) {
	const bounds = "effectSize: {allowedIncrease: 1.2, allowedDecrease: 0.8}"
	pairs := func(shift float64, names ...string) []MetricSetPair {
		r := rand.New(rand.NewPCG(7, 7))
		var out []MetricSetPair
		for _, name := range names {
			p := MetricSetPair{Name: name}
			for range 300 {
				p.Values.Control = append(p.Values.Control, 100+5*r.NormFloat64())
				p.Values.Experiment = append(p.Values.Experiment, 100*(1+shift)+5*r.NormFloat64())
			}
			out = append(out, p)
		}
		return out
	}
	for _, tc := range []struct {
		name, config string
		shift        float64
		off          bool
		want         bool
		reason       string
	}{
		{"unchanged, both sides inside", "metrics: [{name: a, groups: [g], " + bounds + "}]", 0, false, true, "upper"},
		{"without the option", "metrics: [{name: a, groups: [g], " + bounds + "}]", 0, true, false, "without Options.Equivalence"},
		{"a +10% shift inside +20%", "metrics: [{name: a, groups: [g], direction: increase, " + bounds + "}]", 0.1, false, true, "upper"},
		{"a +15% shift with the default bounds", "metrics: [{name: a, groups: [g], direction: increase}]", 0.15, false, false, "classified HIGH"},
		{"a −10% shift, direction increase: only the upper side counts", "metrics: [{name: a, groups: [g], direction: increase, " + bounds + "}]", -0.1, false, true, "upper"},
		{"a −20% shift at the lower bound", "metrics: [{name: a, groups: [g], direction: decrease, " + bounds + "}]", -0.2, false, false, "lower end"},
		{"a threshold test", "metrics: [{name: a, groups: [g], tests: [threshold], threshold: {aggregate: max, max: 1000}}]", 0, false, false, "threshold test"},
		{"a CLES effect size", "metrics: [{name: a, groups: [g], effectSize: {measure: cles, allowedIncrease: 0.7, allowedDecrease: 0.3}}]", 0, false, false, "not a mean ratio"},
		{"a muted metric does not count", "metrics: [{name: a, groups: [g], " + bounds + "}, {name: b, groups: [g], muted: true, tests: [threshold], threshold: {aggregate: max, max: 1}}]", 0, false, true, "1 counted"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := ParseConfig([]byte(tc.config), "test")
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, m := range cfg.Metrics {
				names = append(names, m.Name)
			}
			res, err := Analyze(cfg, pairs(tc.shift, names...), Options{Equivalence: !tc.off})
			if err != nil {
				t.Fatal(err)
			}
			got, why := res.Equivalent()
			if got != tc.want || !strings.Contains(why, tc.reason) {
				t.Errorf("equivalent %v: %s; want %v containing %q", got, why, tc.want, tc.reason)
			}
		})
	}
}
