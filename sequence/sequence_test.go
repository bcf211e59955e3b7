package sequence

import (
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/canaryjudge/judge/verdict"
)

// TestLevelsHoldAlpha checks that the looks of a plan never spend more
// than alpha together, that Spent is their running sum, and that the last
// planned look and a single look are recognised.
func TestLevelsHoldAlpha(t *testing.T) {
	for _, p := range []Plan{{Alpha: 0.05, Looks: 1}, {Alpha: 0.05, Looks: 6}, {Alpha: 0.05, Looks: 24}, {Alpha: 0.01, Looks: 0}} {
		looks := max(p.Looks, 500)
		var sum float64
		for k := 1; k <= min(looks, max(p.Looks, looks)); k++ {
			if p.Looks > 0 && k > p.Looks {
				break
			}
			sum += p.Level(k)
			if math.Abs(sum-p.Spent(k)) > 1e-12 {
				t.Fatalf("%+v look %d: levels sum to %.15f, Spent %.15f", p, k, sum, p.Spent(k))
			}
		}
		if sum > p.Alpha+1e-12 {
			t.Errorf("%+v: %.15f spent, more than alpha", p, sum)
		}
		if p.Looks > 0 && (!p.Last(p.Looks) || p.Last(p.Looks-1)) {
			t.Errorf("%+v: last look wrong", p)
		}
	}
	if (Plan{Alpha: 0.05}).Last(1000) {
		t.Error("an open-ended plan has no last look")
	}
	if err := (Plan{Alpha: 0.05, Looks: 3}).Check(4); !errors.Is(err, ErrSpent) {
		t.Errorf("look 4 of 3: %v", err)
	}
	for _, bad := range []Plan{{Alpha: 0}, {Alpha: 1}, {Alpha: math.NaN()}, {Alpha: 0.05, Looks: -1}, {Alpha: 0.05, Looks: MaxLooks + 1}} {
		if err := bad.Check(1); !errors.Is(err, ErrPlan) {
			t.Errorf("%+v: %v, want ErrPlan", bad, err)
		}
	}
}

// analyze judges one metric (allowed increase 1.2, direction either) with
// a canary shifted by shift·100 over n points a side, baseline N(100, 5²),
// at the level of look k of p.
func analyze(t *testing.T, p Plan, k, n int, shift float64, nanCanary bool) *verdict.Result {
	t.Helper()
	cfg, err := verdict.ParseConfig([]byte(`name: s
metrics:
  - {name: latency, groups: [g], critical: true, effectSize: {allowedIncrease: 1.2, allowedDecrease: 0.8, criticalIncrease: 1.2, criticalDecrease: 0.8}}
`), "test")
	if err != nil {
		t.Fatal(err)
	}
	cfg.FamilyWiseError = p.Level(k)
	r := rand.New(rand.NewPCG(1, uint64(n)))
	pair := verdict.MetricSetPair{Name: "latency"}
	for range n {
		pair.Values.Control = append(pair.Values.Control, 100+5*r.NormFloat64())
		c := 100*(1+shift) + 5*r.NormFloat64()
		if nanCanary {
			c = math.NaN()
		}
		pair.Values.Experiment = append(pair.Values.Experiment, c)
	}
	res, err := verdict.Analyze(cfg, []verdict.MetricSetPair{pair}, verdict.Options{Equivalence: p.PassEarly})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// TestDecide pins what a look decides.
func TestDecide(t *testing.T) {
	six := Plan{Alpha: 0.05, Looks: 6}
	early := Plan{Alpha: 0.05, Looks: 6, PassEarly: true}
	open := Plan{Alpha: 0.05, PassEarly: true}
	for _, tc := range []struct {
		name      string
		plan      Plan
		look, n   int
		shift     float64
		nanCanary bool
		want      Decision
		reason    string
		// underpowered: the look's PASS could not have seen the allowed
		// effect, so it is MARGINAL.
		underpowered bool
	}{
		{"a regression at look 1 fails the sequence", six, 1, 60, 0.5, false, Fail, "regression is established", false},
		{"no change at look 2 continues", six, 2, 60, 0, false, Continue, "next look is tested at", false},
		{"missing canary data early: that look fails, the sequence continues", six, 2, 60, 0, true, Continue, "this look fails", false},
		{"missing canary data at the last look fails", six, 6, 60, 0, true, Fail, "only PASS passes", false},
		{"no change at the last look passes", six, 6, 60, 0, false, Pass, "last look passes", false},
		{"without pass_early no early pass", six, 2, 400, 0, false, Continue, "no regression established", false},
		{"equivalence established early passes", early, 2, 400, 0, false, PassEarly, "equivalence established early", false},
		{"a shift beyond the bound never passes early", early, 2, 400, 0.25, false, Fail, "regression", false},
		{"a shift inside the bound but too few points: continue", early, 2, 4, 0.1, false, Continue, "", false},
		{"open-ended: a regression fails", open, 30, 60, 0.5, false, Fail, "open-ended", false},
		{"open-ended: no change passes early on equivalence", open, 3, 400, 0, false, PassEarly, "open-ended", false},
		// The budget burnt: at look 900 (level 6e-7) a 12-point look could
		// not see a 20% shift; a 10% regression is not detected, and the
		// look must not pass.
		{"open-ended: a deep underpowered look does not pass", Plan{Alpha: 0.05}, 900, 12, 0.1, false, Continue, "could not have detected", true},
		{"planned: an underpowered last look fails", Plan{Alpha: 0.05, Looks: 1000}, 1000, 12, 0, false, Fail, "could not have detected", true},
		{"planned: a powered last look passes", Plan{Alpha: 0.05, Looks: 1000}, 1000, 400, 0, false, Pass, "last look passes", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := analyze(t, tc.plan, tc.look, tc.n, tc.shift, tc.nanCanary)
			got, why, under := tc.plan.Decide(tc.look, res)
			if got != tc.want || !strings.Contains(why, tc.reason) || under != tc.underpowered {
				t.Errorf("%s (%s, underpowered %v): %s, want %s containing %q (underpowered %v)", got, res.Result, under, why, tc.want, tc.reason, tc.underpowered)
			}
			if under && res.Result != verdict.ResultMarginal {
				t.Errorf("an underpowered look's result is %s, want MARGINAL", res.Result)
			}
		})
	}
}
