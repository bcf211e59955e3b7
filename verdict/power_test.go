package verdict

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/canaryjudge/judge/stats"
)

// analyzeTwenty judges 20 critical metrics of AR(1) noise (cv, rho; n
// points a side, no history); metric m00's canary is multiplied by shift.
// allowedIncrease, when not 0, is every metric's.
func analyzeTwenty(t *testing.T, r *rand.Rand, n int, cv, rho, shift, allowedIncrease float64) *Result {
	t.Helper()
	cfg := &Config{Name: "power"}
	for i := range 20 {
		m := Metric{Name: fmt.Sprintf("m%02d", i), Groups: []string{"all"}, Critical: true, Direction: DirectionIncrease}
		if allowedIncrease != 0 {
			m.EffectSize.AllowedIncrease = ptr(allowedIncrease)
		}
		cfg.Metrics = append(cfg.Metrics, m)
	}
	if err := cfg.Validate("power"); err != nil {
		t.Fatal(err)
	}
	pairs := make([]MetricSetPair, 20)
	for i := range pairs {
		level := 100.0
		pairs[i].Name = cfg.Metrics[i].Name
		pairs[i].Values.Control = ar1(r, n, level, cv, rho)
		if i == 0 {
			level *= shift
		}
		pairs[i].Values.Experiment = ar1(r, n, level, cv, rho)
	}
	res, err := Analyze(cfg, pairs, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// TestPassCertifiesAllowedEffect: a default-judge metric without a
// significant change is a PASS only when its test would have detected
// the smallest shift its config does not allow with 80% power at the
// level it is tested at; otherwise it is INCONCLUSIVE, says what would
// make it judgeable, and a critical one holds the analysis at MARGINAL.
// Over random windows (5 to 240 points, ρ 0 to 0.9, cv 2% to 40%, no
// shift to +50%, allowed increase neutral to +50%) every PASS of that
// kind is certified; 20 metrics of 15 noisy points never PASS a +35%
// regression, and enough points or a larger allowed effect make the same
// noise a PASS.
func TestPassCertifiesAllowedEffect(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(31, 7))
	passes, unjudged := 0, 0
	for range 150 {
		n := []int{5, 10, 15, 30, 60, 240}[r.IntN(6)]
		rho := []float64{0, 0.5, 0.9}[r.IntN(3)]
		cv := []float64{0.02, 0.1, 0.4}[r.IntN(3)]
		shift := []float64{1, 1.1, 1.5}[r.IntN(3)]
		allowed := []float64{0, 1.1, 1.5}[r.IntN(3)]
		res := analyzeTwenty(t, r, n, cv, rho, shift, allowed)
		for _, m := range res.Metrics {
			switch {
			case m.Classification == Pass && strings.HasPrefix(m.Reason, "no significant change"):
				passes++
				if m.allowed > 0 && m.detectable > m.allowed {
					t.Fatalf("n %d ρ %g cv %g: %s PASS could detect %g, more than its allowed %g: %s", n, rho, cv, m.Name, m.detectable, m.allowed, m.Reason)
				}
			case m.Classification == Inconclusive && strings.HasPrefix(m.Reason, "not judgeable, too little data for a pass"):
				unjudged++
				if !(m.detectable > m.allowed) || !strings.Contains(m.Reason, "would make it judgeable") || !strings.Contains(m.Reason, "critical metric: the analysis is at most MARGINAL") {
					t.Fatalf("n %d ρ %g cv %g: %s: %s", n, rho, cv, m.Name, m.Reason)
				}
				if res.Result == ResultPass {
					t.Fatalf("n %d ρ %g cv %g: PASS beside the critical unjudged %s", n, rho, cv, m.Name)
				}
			}
		}
	}
	if passes < 300 || unjudged < 300 {
		t.Errorf("%d certified passes and %d underpowered metrics over 3,000: the draws reach too few of either", passes, unjudged)
	}

	// 15 points of 20% noise: +35% on one of 20 metrics is not
	// significant at its 0.05/20 share in most windows, and such a window
	// could not have seen 20% either.
	passed, failed := 0, 0
	for range 200 {
		res := analyzeTwenty(t, r, 15, 0.2, 0.5, 1.35, 0)
		switch res.Result {
		case ResultPass:
			passed++
		case ResultFail:
			failed++
		}
	}
	if passed != 0 {
		t.Errorf("+35%% on 15 noisy points: %d of 200 analyses PASS (%d FAIL), want none", passed, failed)
	}

	// Unchanged, 60 points of the same noise: metrics that could not have
	// seen 20% hold the analysis at MARGINAL and say how many points
	// would; the same window with 50% allowed, or with four times the
	// points, certifies its PASS.
	draw := func(n int, allowed float64) *Result {
		return analyzeTwenty(t, rand.New(rand.NewPCG(5, 5)), n, 0.2, 0.5, 1, allowed)
	}
	res := draw(60, 0)
	var m *MetricResult
	for i := range res.Metrics {
		if strings.HasPrefix(res.Metrics[i].Reason, "not judgeable, too little data for a pass") {
			m = &res.Metrics[i]
			break
		}
	}
	if res.Result != ResultMarginal || m == nil || !strings.Contains(m.Reason, "more points per window (about ") {
		t.Fatalf("unchanged, 60 noisy points: %s (%s)", res.Result, res.Reason)
	}
	if res := draw(60, 1.5); res.Result != ResultPass {
		t.Errorf("unchanged, 60 points, 50%% allowed: %s (%s)", res.Result, res.Reason)
	}
	if res := draw(240, 0); res.Result != ResultPass {
		t.Errorf("unchanged, 240 points: %s (%s)", res.Result, res.Reason)
	}
}

// TestDetectableShiftLevel: the smallest detectable shift is read off the
// interval at the judge's level and scaled to the level the metric is
// tested at: (z_{1−level} + z_{0.8}) · half-width / z_{1−alpha}.
func TestDetectableShiftLevel(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		e            evidence
		alpha, level float64
		want         float64
	}{
		// z_{0.95} = 1.6449, z_{0.9975} = 2.8070, z_{0.8} = 0.8416
		{"one-sided, same level", evidence{estimate: 0, ciLow: -1.6449, ciHigh: math.Inf(1), alternative: stats.Greater}, 0.05, 0.05, 1.6449 + 0.8416},
		{"one-sided, a twentieth", evidence{estimate: 0, ciLow: -1.6449, ciHigh: math.Inf(1), alternative: stats.Greater}, 0.05, 0.0025, 2.8070 + 0.8416},
		// z_{0.975} = 1.9600, z_{0.99875} = 3.0233
		{"two-sided, a twentieth", evidence{estimate: 1, ciLow: -0.96, ciHigh: 2.96, alternative: stats.TwoSided}, 0.05, 0.0025, 3.0233 + 0.8416},
		{"unbounded", evidence{estimate: 0, ciLow: math.Inf(-1), ciHigh: math.Inf(1), alternative: stats.Greater}, 0.05, 0.0025, math.Inf(1)},
		{"unknown", evidence{estimate: math.NaN(), ciLow: -1, ciHigh: 1, alternative: stats.Greater}, 0.05, 0.0025, math.Inf(1)},
		// Constant differences: the bounded side has no width, and any
		// shift would be seen.
		{"no width", evidence{estimate: 0, ciLow: 0, ciHigh: math.Inf(1), alternative: stats.Greater}, 0.05, 0.0025, 0},
		{"no width below", evidence{estimate: 0, ciLow: math.Inf(-1), ciHigh: 0, alternative: stats.Less}, 0.05, 0.0025, 0},
	}
	for _, tc := range tests {
		got := detectableShift(&tc.e, tc.alpha, tc.level)
		if !(math.Abs(got-tc.want) <= 1e-3 || math.IsInf(tc.want, 1) && math.IsInf(got, 1)) {
			t.Errorf("%s: %g, want %g", tc.name, got, tc.want)
		}
	}
}

// TestCountersCertifyTheirAllowedRate: a sparse counter's PASS certifies
// that its totals would have shown its allowed rate (a doubling by
// default, DefaultCountRatio) with 80% power at its level.
//   - countPower's detectable change is where the totals test
//     (stats.CountTest) has about 80% power, by simulation, on both sides;
//   - 20 error counters at 0.5 a minute over 60 points (about 30 events
//     a side, where a doubling needs about 40) are not PASS but MARGINAL,
//     naming the points that would do; with a tripling allowed nearly
//     all of them, and with 240 points all, are certified;
//   - a 10× burst in the last fifth of a 10-point window, which the
//     totals cannot show at one of 20 metrics' level, never ends PASS
//     (it passed 77% of the time when counters were not held to it).
func TestCountersCertifyTheirAllowedRate(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(17, 3))
	poisson := func(n int, rate func(i int) float64) []float64 { return poissonSeries(r, n, rate) }
	const level = 0.0021
	for _, c := range []struct {
		lambda float64
		n      int
		up     bool
	}{{0.5, 60, true}, {0.5, 240, true}, {5, 60, false}, {2, 30, true}} {
		d, _ := countPower(c.lambda, 1, c.n, c.n, level, c.up, c.lambda)
		moved, alt := c.lambda+d, stats.Greater
		if !c.up {
			moved, alt = c.lambda-d, stats.Less
		}
		const draws = 2000
		hits := 0
		for range draws {
			b := poisson(c.n, func(int) float64 { return c.lambda })
			x := poisson(c.n, func(int) float64 { return moved })
			ct, err := stats.CountTest(x, b, alt, 0.95, 1)
			if err != nil {
				t.Fatal(err)
			}
			if ct.PValue < level {
				hits++
			}
		}
		// 80% expected; the normal approximation on the square-root
		// scale errs a little on the safe side at these counts.
		if power := float64(hits) / draws; power < 0.72 || power > 0.92 {
			t.Errorf("λ %g, %d points, rise %v: the totals test caught a change of %.3g a step %.1f%% of the time, want about 80%%", c.lambda, c.n, c.up, d, 100*power)
		}
	}

	// Undefined inputs certify nothing.
	for _, c := range []struct{ lambda, f float64 }{{math.NaN(), 1}, {0.5, math.NaN()}} {
		if d, _ := countPower(c.lambda, c.f, 60, 60, level, true, 0.5); !math.IsInf(d, 1) {
			t.Errorf("λ %v, inflation %v: detectable %v, want +Inf", c.lambda, c.f, d)
		}
	}

	twenty := func(n int, allowed float64, canary func(i int) float64) *Result {
		cfg := &Config{Name: "counters"}
		pairs := make([]MetricSetPair, 20)
		for i := range pairs {
			m := Metric{Name: fmt.Sprintf("errors%02d", i), Groups: []string{"all"}, Critical: true, Direction: DirectionIncrease}
			if allowed != 0 {
				m.EffectSize.AllowedIncrease = ptr(allowed)
			}
			cfg.Metrics = append(cfg.Metrics, m)
			flat := func(int) float64 { return 0.5 }
			pairs[i] = MetricSetPair{Name: m.Name, Values: PairValues{Control: poisson(n, flat), Experiment: poisson(n, flat)}}
			if i == 0 {
				pairs[i].Values.Experiment = poisson(n, canary)
			}
		}
		if err := cfg.Validate("counters"); err != nil {
			t.Fatal(err)
		}
		res, err := Analyze(cfg, pairs, Options{})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	flat := func(int) float64 { return 0.5 }
	unjudged := func(res *Result) (int, string) {
		count, why := 0, ""
		for _, m := range res.Metrics {
			if m.Classification == Inconclusive {
				count, why = count+1, m.Reason
			}
		}
		return count, why
	}
	res := twenty(60, 0, flat)
	if count, why := unjudged(res); res.Result != ResultMarginal || count < 18 ||
		!strings.Contains(why, "only a rise of about ") || !strings.Contains(why, "events a step (to ") || !strings.Contains(why, "more points per window (about ") {
		t.Errorf("unchanged counters, 60 points: %s, %d of 20 not judgeable (%s)", res.Result, count, why)
	}
	// A baseline that happened to count few events, with an inflation
	// estimated high, may still fall short of a tripling.
	if count, why := unjudged(twenty(60, 3, flat)); count > 2 {
		t.Errorf("unchanged counters, 60 points, a tripling allowed: %d of 20 not judgeable (%s)", count, why)
	}
	if count, why := unjudged(twenty(240, 0, flat)); count > 0 {
		t.Errorf("unchanged counters, 240 points: %d of 20 not judgeable (%s)", count, why)
	}
	// Six events in 60 baseline steps against 10 canary steps: a fall in
	// the rate cannot be told from the counting noise, not even a fall to
	// none, and the reason says so.
	sparse := make([]float64, 60)
	for i := 5; i < 60; i += 10 {
		sparse[i] = 1
	}
	for _, dir := range []Direction{DirectionDecrease, DirectionEither} {
		m := judgeOne(t, Metric{Direction: dir}, MetricSetPair{Values: PairValues{Control: sparse, Experiment: slices.Clone(sparse[:10])}})
		if m.Classification != Inconclusive || !strings.Contains(m.Reason, "not even a fall to no events would be detected") {
			t.Errorf("six baseline events, one canary event in 10 steps, direction %s: %s (%s)", dir, m.Classification, m.Reason)
		}
	}
	burst := func(i int) float64 {
		if i >= 8 {
			return 5
		}
		return 0.5
	}
	for range 200 {
		if res := twenty(10, 0, burst); res.Result == ResultPass {
			t.Fatalf("a 10× burst over 10 points ended PASS: %s", res.Reason)
		}
	}
}
