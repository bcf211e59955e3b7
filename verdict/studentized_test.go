package verdict

import (
	"math"
	"math/rand/v2"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/canaryjudge/judge/stats"
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
// dependence caps the rank test, or by the unpaired ranks across time
// beside them or, where the 60 differences look as dependent as the
// window is long, in their place (acrossTest), or by the later half; the rest are INCONCLUSIVE (MARGINAL), never PASS; an
// unchanged canary passes.
func TestEvidenceGrowsWithTheEffect(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(25, 7))
	inc := Metric{Direction: DirectionIncrease, Critical: true}
	var cases, batch, unpaired, unjudged int
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
		fellBack := m.Comparison == ComparisonUnpaired && strings.Contains(m.Reason, "; compared unpaired")
		if m.Classification != High || m.Comparison != ComparisonPaired && !fellBack || m.CILow == nil || *m.CILow <= 0 || *m.PValue > 0.05 {
			t.Fatalf("+25%%, 60 of 60 differences positive: %s (%s)", m.Classification, m.Reason)
		}
		switch {
		case fellBack:
			unpaired++
		case strings.Contains(m.Reason, "batch means of log values"):
			batch++
		}
	}
	var aa int
	for range 400 {
		if m := judgeOne(t, inc, podPair(r, 60, 1)); m.Classification == High {
			aa++
		}
	}
	t.Logf("%d draws with 60 of 60 positive differences: %d not judgeable, the rest HIGH, %d by batch means, %d compared unpaired; unchanged canaries HIGH %d of 400",
		cases, unjudged, batch, unpaired, aa)
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

// TestLaterHalfBatchMeans pins the later-half test of the batch-means
// path (lateBatchTest): a canary whose level steps up halfway through its
// window, on pods behind one load balancer whose own noise is AR(0.7)
// (paired) and on series of their own at AR(0.8) with three windows of
// history (unpaired), is HIGH, by its later half where the whole window's
// batch means cannot see the step (it inflates their spread as much as
// their mean and, paired, makes the differences look too dependent to
// judge); the reason names the later half's test. Unchanged canaries stay
// at the level.
func TestLaterHalfBatchMeans(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(41, 2))
	inc := Metric{Direction: DirectionIncrease, Critical: true}
	step := func(x []float64, size float64) []float64 {
		for i := len(x) / 2; i < len(x); i++ {
			x[i] *= size
		}
		return x
	}
	own := func(size float64) MetricSetPair {
		baseline := ar1(r, 240, 100, 0.2, 0.8)
		return MetricSetPair{Values: PairValues{ControlHistory: baseline[:180], Control: baseline[180:], Experiment: step(ar1(r, 60, 100, 0.2, 0.8), size)}}
	}
	pods := func(size float64) MetricSetPair {
		p := podPair(r, 60, 1)
		p.Values.Experiment = step(p.Values.Experiment, size)
		return p
	}
	for _, tc := range []struct {
		name     string
		draw     func(size float64) MetricSetPair
		size     float64
		minHigh  int
		minLater int
	}{
		// Before the later half's test: HIGH 2, 56 and 177 of 200, none
		// by the later half.
		{"pods behind one load balancer, ×1.35 halfway", pods, 1.35, 100, 90},
		{"pods behind one load balancer, ×2 halfway", pods, 2, 140, 100},
		{"own series at AR(0.8), ×2 halfway", own, 2, 186, 40},
	} {
		var high, later, aa int
		for range 200 {
			m := judgeOne(t, inc, tc.draw(tc.size))
			if m.Classification == High {
				high++
				if strings.Contains(m.Reason, "(shift of the later half)") && strings.Contains(m.Reason, "later 30 points: level") {
					later++
				}
			}
			if m := judgeOne(t, inc, tc.draw(1)); m.Classification == High {
				aa++
			}
		}
		t.Logf("%s: HIGH %d of 200 (%d by the later half); unchanged HIGH %d of 200", tc.name, high, later, aa)
		if high < tc.minHigh || later < tc.minLater {
			t.Errorf("%s: HIGH %d of 200, %d by the later half: want at least %d and %d", tc.name, high, later, tc.minHigh, tc.minLater)
		}
		if aa > 16 {
			t.Errorf("%s: unchanged canaries HIGH %d of 200, want ≤ 16 at the 5%% level", tc.name, aa)
		}
	}
}

// TestRanksAcrossTimeWherePairsUnjudged: pods behind one load balancer
// whose own noise wanders for many minutes (AR 0.8 or 0.95, sd 0.1 on
// the log scale, under a shared load at AR 0.5, sd 0.3) give paired
// differences often too dependent to judge; they are then compared
// unpaired, the ranks allowing for the pods' own wander (acrossTest),
// or by those ranks beside judged batch means. That comparison holds
// its level in both, judges most unchanged canaries that the pairs left
// INCONCLUSIVE where the own noise wanders for minutes, and sees a
// doubling in most; where it wanders for most of the window it mostly
// stays INCONCLUSIVE.
func TestRanksAcrossTimeWherePairsUnjudged(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(95, 1))
	pods := func(ownRho, shift float64) MetricSetPair {
		const n, hist = 60, 180
		load := ar1(r, hist+n, 1, 1, 0.5)
		pod := func(load []float64, scale float64) []float64 {
			own := ar1(r, len(load), 1, 1, ownRho)
			out := make([]float64, len(load))
			for i := range out {
				out[i] = scale * 50 * math.Exp(0.3*(load[i]-1)+0.1*(own[i]-1))
			}
			return out
		}
		base := pod(load, 1)
		scope := PairScope{StartTimeMillis: 1, StepMillis: 60_000}
		return MetricSetPair{Values: PairValues{ControlHistory: base[:hist], Control: base[hist:], Experiment: pod(load[hist:], shift)},
			Scopes: map[string]PairScope{"control": scope, "experiment": scope}}
	}
	inc := Metric{Direction: DirectionIncrease, Critical: true}
	// inconclusive counts the windows no shift however large could have
	// failed; underpowered, those whose test could not have seen the
	// allowed 20% (metricCase.underpowered).
	underpowered := 0
	count := func(ownRho, shift float64, draws int) (high, inconclusive, unpaired int) {
		for range draws {
			m := judgeOne(t, inc, pods(ownRho, shift))
			switch {
			case m.Classification == High:
				high++
			case m.Classification == Inconclusive && strings.HasPrefix(m.Reason, "not judgeable, too little data for a pass"):
				underpowered++
			case m.Classification == Inconclusive:
				inconclusive++
			}
			if strings.Contains(m.Reason, "compared unpaired: the paired differences depend") {
				unpaired++
			}
		}
		return high, inconclusive, unpaired
	}
	for _, ownRho := range []float64{0.8, 0.95} {
		aaHigh, aaUnjudged, aaUnpaired := count(ownRho, 1, 1000)
		high, unjudged, unpaired := count(ownRho, 2, 300)
		t.Logf("own AR %g: unchanged HIGH %d, INCONCLUSIVE %d, compared unpaired %d of 1000; doubled HIGH %d, INCONCLUSIVE %d, compared unpaired %d of 300; %d underpowered in all",
			ownRho, aaHigh, aaUnjudged, aaUnpaired, high, unjudged, unpaired, underpowered)
		underpowered = 0
		// One metric alone is judged at the whole 5% level.
		if aaHigh > 55 {
			t.Errorf("own AR %g: unchanged canaries HIGH %d of 1000, want ≤ 55", ownRho, aaHigh)
		}
		// Before the fallback: own AR 0.8, INCONCLUSIVE 162 of 1000
		// unchanged and 25 of 300 doubled; own AR 0.95, 179 of 300
		// doubled HIGH.
		switch {
		case ownRho == 0.8 && (aaUnjudged > 80 || aaUnpaired < 60 || unjudged > 12):
			t.Errorf("own AR 0.8: INCONCLUSIVE %d of 1000 unchanged (%d compared unpaired) and %d of 300 doubled: want ≤ 80 (≥ 60) and ≤ 12", aaUnjudged, aaUnpaired, unjudged)
		case ownRho == 0.95 && high < 200:
			t.Errorf("own AR 0.95: doubled HIGH %d of 300, want ≥ 200", high)
		}
	}
}

// TestAcrossTimeBesideBatchMeans: pods behind one load balancer (a
// load they share at AR 0.5, sd 0.3 on the log scale) whose own noise
// wanders (AR 0.8, sd 0.1) give paired differences whose batch means are
// judged on three to six degrees of freedom: +25% was caught in about a
// quarter of 20-metric analyses, where the kayenta judge's plain ranks
// caught it every time. The unpaired ranks across time, where planned to
// give the narrower interval (acrossTest), see it far more often and
// hold the level. Separate hosts whose AR(0.8) noise happens to move
// together (comovement above the pairing's 0.5 by chance) are not taken
// to share a load (sharedLoad): the ranks across time would allow only
// for their differences' wander, which the chance correlation
// understates.
func TestAcrossTimeBesideBatchMeans(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(47, 3))
	const n = 60
	pods := func(loadSD, shift float64) MetricSetPair {
		load := ar1(r, n, 1, 1, 0.5)
		pod := func(scale float64) []float64 {
			own := ar1(r, n, 1, 1, 0.8)
			out := make([]float64, n)
			for i := range out {
				out[i] = scale * 50 * math.Exp(loadSD*(load[i]-1)+0.1*(own[i]-1))
			}
			return out
		}
		scope := PairScope{StartTimeMillis: 1, StepMillis: 60_000}
		return MetricSetPair{Name: "m", Values: PairValues{Control: pod(1), Experiment: pod(shift)}, Scopes: map[string]PairScope{"control": scope, "experiment": scope}}
	}
	// One metric at a 20-metric analysis' share of the level.
	inc := Metric{Name: "m", Groups: []string{"g"}, Direction: DirectionIncrease, Critical: true}
	cfg := &Config{Name: "one", Metrics: []Metric{inc}, FamilyWiseError: 0.05 / 20}
	if err := cfg.Validate("one"); err != nil {
		t.Fatal(err)
	}
	count := func(loadSD, shift float64, draws int) (high, across int) {
		for range draws {
			res, err := Analyze(cfg, []MetricSetPair{pods(loadSD, shift)}, Options{})
			if err != nil {
				t.Fatal(err)
			}
			m := res.Metrics[0]
			if m.Classification == High {
				high++
			}
			if strings.Contains(m.Reason, "compared unpaired across time") {
				across++
			}
		}
		return high, across
	}
	aa, _ := count(0.3, 1, 2000)
	high, across := count(0.3, 1.25, 300)
	t.Logf("shared load, +25%%: HIGH %d of 300 (%d judged by the ranks across time); unchanged HIGH %d of 2000", high, across, aa)
	// Before the ranks across time: HIGH 58 of 300; with them 144 (196
	// judged by them).
	if high < 110 || across < 100 {
		t.Errorf("+25%% on pods behind one load balancer: HIGH %d of 300 (%d judged by the ranks across time), want ≥ 110 (≥ 100)", high, across)
	}
	// At 0.0025 a calibrated test fails 5 of 2000 unchanged canaries; 15
	// would show it three times too bold.
	if aa > 15 {
		t.Errorf("unchanged canaries HIGH %d of 2000 at the level 0.0025, want ≤ 15", aa)
	}
	// Separate hosts (no shared load), paired when their noise happens to
	// move together: the load is shown shared by chance at most 1% of
	// the time (2 of 2000 here; without sharedLoad, 28), and the level
	// holds.
	aaApart, chance := count(0, 1, 2000)
	t.Logf("separate hosts: unchanged HIGH %d of 2000, judged by the ranks across time in %d", aaApart, chance)
	if chance > 20 || aaApart > 15 {
		t.Errorf("separate hosts: judged by the ranks across time in %d of 2000 and HIGH in %d, want ≤ 20 and ≤ 15", chance, aaApart)
	}
}

// TestUnjudgeableNamesAJudgeableWindow: a metric left INCONCLUSIVE for
// its window's length names a longer window, and that window is the
// shortest with which the batch-means test, planning as it did, would
// judge it; where the dependence's bound is too loose to plan from, it
// says so. Before, the reason named the batches' need alone (one canary
// batch: "a window of at least 9 points" beside a 10-point window that
// spanned too few dependence times).
func TestUnjudgeableNamesAJudgeableWindow(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(61, 62))
	named := regexp.MustCompile(`A window of at least (\d+) points would make it judgeable(, or a baseline history of at least (\d+) points)?`)
	unjudged, unbounded := 0, 0
	for _, n := range []int{8, 10, 12, 15, 20, 30} {
		for _, rho := range []float64{0.5, 0.7, 0.9} {
			for _, history := range []int{0, 180} {
				for range 20 {
					base := ar1(r, history+n, 100, 0.1, rho)
					m := judgeOne(t, Metric{Direction: DirectionIncrease, Critical: true}, MetricSetPair{Values: PairValues{
						ControlHistory: base[:history], Control: base[history:], Experiment: ar1(r, n, 100, 0.1, rho)}})
					if m.Classification != Inconclusive || !strings.Contains(m.Reason, "not judgeable: the points depend") {
						continue
					}
					unjudged++
					got := named.FindStringSubmatch(m.Reason)
					if got == nil && strings.Contains(m.Reason, "The dependence cannot be bounded from") {
						unbounded++
						continue
					}
					if got == nil {
						t.Errorf("%d points, ρ %g, history %d: the reason names no window: %s", n, rho, history, m.Reason)
						continue
					}
					if w, _ := strconv.Atoi(got[1]); w <= n {
						t.Errorf("%d points, ρ %g, history %d: names a window of %d points: %s", n, rho, history, w, m.Reason)
					}
					if got[3] != "" && history > 0 {
						t.Errorf("%d points, ρ %g: names a history beside one of %d points: %s", n, rho, history, m.Reason)
					}
				}
			}
		}
	}
	t.Logf("%d metrics not judgeable, %d of them for want of a bound on the dependence", unjudged, unbounded)
	if unjudged-unbounded < 50 {
		t.Errorf("%d metrics not judgeable, %d for want of a bound on the dependence; the cases should leave many naming a window", unjudged, unbounded)
	}
	// The named window is the shortest judgeable one.
	for _, tc := range []struct {
		n, history int
		paired     bool
		rho, se    float64
	}{
		{10, 180, false, 0.75, 0.05}, {10, 0, false, 0.5, 0.12}, {20, 0, false, 0.8, 0.1},
		{30, 0, true, 0.9, 0.05}, {12, 36, false, 0.6, 0.08}, {6, 18, false, 0.6, 0.1},
	} {
		dep := stats.Dependence{Rho: tc.rho, SE: tc.se, Points: tc.n + tc.history}
		plan := stats.BatchPlan{X: tc.n, Y: tc.n, History: tc.history, Paired: tc.paired, Rho: upperDependence(dep, tc.paired), Expected: tc.rho,
			Alpha: 0.05 * (1 - tailShare) / 20, MinSize: dependenceTime(tc.rho)}
		judged := func(n int) bool {
			p := plan
			p.X, p.Y = n, n
			return windowSpan(n, lowerDependence(dep)) >= minWindowSpan && judgeablePlan(p, dep)
		}
		w, h := judgeableWindow(plan, dep)
		if w <= tc.n || !judged(w) {
			t.Errorf("%+v: window %d, not a longer judgeable one", tc, w)
		}
		for m := tc.n + 1; m < w; m++ {
			if judged(m) {
				t.Errorf("%+v: names %d points, but %d would judge it", tc, w, m)
				break
			}
		}
		if h > 0 {
			p := plan
			p.History = h
			if tc.paired || tc.history > 0 || !judgeablePlan(p, dep) {
				t.Errorf("%+v: names a history of %d points that would not judge it", tc, h)
			}
		}
	}
}

// rollingMean is n points of a five-point rolling mean of log-normal
// noise at level, sd 0.2 on the log scale, AR(rho).
func rollingMean(r *rand.Rand, n int, level, rho float64) []float64 {
	x := ar1(r, n+4, 1, 1, rho) // 1 + unit AR(rho)
	for i, v := range x {
		x[i] = level * math.Exp(0.2*(v-1))
	}
	return windowMeans(x, 5)
}

// TestMovingWindowJudged: a metric that is a five-point rolling mean of
// AR(0.5) noise (sd 0.2 on the log scale), whose window the scopes do not
// carry, with three windows of history, is judged by batch means under
// the moving window its jumps show, and says so: a canary at 1.5 times
// the baseline is HIGH in most analyses (none before: the AR(1) reading
// of its dependence hit the 0.98 cap and left the metric INCONCLUSIVE),
// and unchanged canaries stay at the level.
func TestMovingWindowJudged(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(71, 72))
	rolling := func(n int, level float64) []float64 { return rollingMean(r, n, level, 0.5) }
	inc := Metric{Direction: DirectionIncrease, Critical: true}
	high, named, aa := 0, 0, 0
	for range 100 {
		base := rolling(240, 100)
		pair := func(level float64) MetricSetPair {
			return MetricSetPair{Values: PairValues{ControlHistory: base[:180], Control: base[180:], Experiment: rolling(60, level)}}
		}
		if m := judgeOne(t, inc, pair(150)); m.Classification == High {
			high++
			if strings.Contains(m.Reason, "the baseline's jumps show a moving window of 5 steps") {
				named++
			}
		}
		if m := judgeOne(t, inc, pair(100)); m.Classification == High {
			aa++
		}
	}
	t.Logf("×1.5: HIGH %d of 100 (%d naming the window); unchanged HIGH %d of 100", high, named, aa)
	if high < 80 || named < high*9/10 || aa > 10 {
		t.Errorf("×1.5: HIGH %d of 100, %d naming the window, unchanged HIGH %d: want ≥ 80, nearly all naming it, ≤ 10", high, named, aa)
	}
}

// TestMovingWindowWithoutHistory: without history a 60-point baseline's
// own 59 jumps show a five-point rolling mean's window (white log-normal
// noise, sd 0.2), and a rate whose scopes name a 5 m window at a 1 m step
// (thinned, it would leave 12 points) is judged whole under that window:
// either way the batch means judge with the window's dependence and the
// reason says which window. A canary at 1.5 times the baseline is HIGH in
// 94 of 100 either way (83 and 80 under the AR(1) reading of a rolling
// mean, 0.85–0.98), unchanged canaries stay at the level.
func TestMovingWindowWithoutHistory(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(91, 92))
	rolling := func(n int, level float64) []float64 { return rollingMean(r, n, level, 0) }
	inc := Metric{Direction: DirectionIncrease, Critical: true}
	scope := PairScope{StartTimeMillis: 1_700_000_000_000, StepMillis: 60_000, WindowMillis: 300_000}
	for _, tc := range []struct {
		name   string
		scopes map[string]PairScope
		says   string
	}{
		{"unnamed", nil, "the baseline's jumps show a moving window of 5 steps"},
		{"named", map[string]PairScope{"control": scope, "experiment": scope}, "the query's window spans 5 steps"},
	} {
		high, said, aa := 0, 0, 0
		for range 100 {
			base := rolling(60, 100)
			pair := func(level float64) MetricSetPair {
				return MetricSetPair{Values: PairValues{Control: base, Experiment: rolling(60, level)}, Scopes: tc.scopes}
			}
			if m := judgeOne(t, inc, pair(150)); m.Classification == High {
				high++
				if strings.Contains(m.Reason, tc.says) {
					said++
				}
			}
			if m := judgeOne(t, inc, pair(100)); m.Classification == High {
				aa++
			}
		}
		t.Logf("%s window, no history: ×1.5 HIGH %d of 100 (%d saying %q); unchanged HIGH %d of 100", tc.name, high, said, tc.says, aa)
		if high < 88 || said < high*8/10 || aa > 10 {
			t.Errorf("%s window, no history: ×1.5 HIGH %d of 100, %d saying so, unchanged HIGH %d: want ≥ 88, most saying so, ≤ 10", tc.name, high, said, aa)
		}
	}
}

// TestJumpsBlindToLevelWhereLevelUnjudged: separate hosts' five-point
// rolling means of log-normal AR(0.9) noise over 120 points without
// history, whose level the location test cannot judge: an unchanged
// canary whose level wandered above the baseline's has larger jumps
// under multiplicative noise, and on its jumps' sizes failed 14.7% of
// 20-metric analyses; compared on the log scale, the jumps hold the
// level. A canary whose every fourth point spikes to three times its
// level is still HIGH by its jumps, and its reason says the jumps are of
// log values.
func TestJumpsBlindToLevelWhereLevelUnjudged(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(81, 82))
	rolling := func(n int) []float64 { return rollingMean(r, n, 100, 0.9) }
	inc := Metric{Direction: DirectionIncrease, Critical: true}
	byJumps, spiked := 0, 0
	for range 400 {
		if m := judgeOne(t, inc, MetricSetPair{Values: PairValues{Control: rolling(120), Experiment: rolling(120)}}); m.Classification == High && strings.Contains(m.Reason, "(jumps)") {
			byJumps++
		}
	}
	for range 50 {
		canary := rolling(120)
		for i := 3; i < len(canary); i += 4 {
			canary[i] *= 3
		}
		// The reason says the jumps it counted are of log values.
		if m := judgeOne(t, inc, MetricSetPair{Values: PairValues{Control: rolling(120), Experiment: canary}}); m.Classification == High && strings.Contains(m.Reason, "(jumps)") &&
			strings.Contains(m.Reason, " on the log scale), p=") {
			spiked++
		}
	}
	t.Logf("unchanged HIGH by jumps %d of 400; spiking HIGH by jumps %d of 50", byJumps, spiked)
	// The jump test has a tenth of the metric's 5% level (2 of 400; 6
	// here, 17 on the jumps' own scale).
	if byJumps > 8 || spiked < 45 {
		t.Errorf("unchanged canaries HIGH by their jumps %d of 400, spiking %d of 50: want ≤ 8 and ≥ 45", byJumps, spiked)
	}
}

// TestLaterHalfAgainstDriftingBaseline: 240-point windows without
// history on a daily cycle (±30%, AR(0.5) noise, sd 0.1 on the log
// scale) that both sides share, time-aligned on separate hosts: the
// canary's later half sits four hours on from the baseline's start, and
// against the whole baseline window it read as a shift (14.3% of
// unchanged 20-metric analyses failed). The baseline's own halves differ,
// so the later half is compared with the baseline's later half. A canary
// that steps to 1.5 times its level halfway is still HIGH.
func TestLaterHalfAgainstDriftingBaseline(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(91, 92))
	cycle := func(phase float64, n int, step float64) []float64 {
		z := ar1(r, n, 1, 1, 0.5)
		out := make([]float64, n)
		for i := range out {
			out[i] = 100 * (1 + 0.3*math.Sin(2*math.Pi*(phase+float64(i))/1440)) * math.Exp(0.1*(z[i]-1))
			if i >= n/2 {
				out[i] *= step
			}
		}
		return out
	}
	scope := PairScope{StartTimeMillis: 1_700_000_000_000, StepMillis: 60_000}
	pair := func(step float64) MetricSetPair {
		phase := r.Float64() * 1440
		return MetricSetPair{Values: PairValues{Control: cycle(phase, 240, 1), Experiment: cycle(phase, 240, step)},
			Scopes: map[string]PairScope{"control": scope, "experiment": scope}}
	}
	inc := Metric{Direction: DirectionIncrease, Critical: true}
	aa, stepped := 0, 0
	for range 400 {
		if m := judgeOne(t, inc, pair(1)); m.Classification == High {
			aa++
		}
	}
	for range 50 {
		if m := judgeOne(t, inc, pair(1.5)); m.Classification == High {
			stepped++
		}
	}
	t.Logf("unchanged HIGH %d of 400; ×1.5 halfway HIGH %d of 50", aa, stepped)
	// One metric alone is judged at the whole 5% level.
	if aa > 30 || stepped < 45 {
		t.Errorf("unchanged HIGH %d of 400, ×1.5 halfway %d of 50: want ≤ 30 and ≥ 45", aa, stepped)
	}
}

// TestJumpReasonNamesItsReference: under a query window of 7 steps
// without history, the jump test's stretches come from the baseline's
// window alone, and its reason says so (9 stretches of the 59 jumps, 63
// steps, were once read as more than the window and so as its history);
// where a history joins (a rolling mean's window read from its jumps),
// the reason names both.
func TestJumpReasonNamesItsReference(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(93, 94))
	scope := PairScope{StartTimeMillis: 1_700_000_000_000, StepMillis: 60_000, WindowMillis: 420_000}
	inc := Metric{Direction: DirectionIncrease}
	canary := rollingMean(r, 60, 100, 0)
	for i := 10; i < 60; i += 12 {
		canary[i] *= 4
	}
	for _, tc := range []struct {
		name    string
		scopes  map[string]PairScope
		history []float64
		says    []string
	}{
		{"a named window, no history", map[string]PairScope{"control": scope, "experiment": scope}, nil,
			[]string{"canary stretches of 7 jumps", " baseline stretches ("}},
		{"a window read, with history", nil, rollingMean(r, 180, 100, 0),
			[]string{"canary stretches of 5 jumps", " stretches of the baseline and its history ("}},
	} {
		m := judgeOne(t, inc, MetricSetPair{Values: PairValues{Control: rollingMean(r, 60, 100, 0), Experiment: canary, ControlHistory: tc.history}, Scopes: tc.scopes})
		for _, say := range tc.says {
			if !strings.Contains(m.Reason, say) {
				t.Errorf("%s: the jump test's reason does not say %q: %s", tc.name, say, m.Reason)
			}
		}
	}
}

// TestClipToFences: the batch-means test's points are clipped to the far
// fences of the baseline and its history, which the canary's values never
// move; the counts name the points moved, and the inputs are not
// modified.
func TestClipToFences(t *testing.T) {
	t.Parallel()
	y := []float64{1, 2, 3, 4, 5}
	h := []float64{2, 3, 4, 3, 40}
	x := []float64{3, 100, -60, 4}
	b := &batchEvidence{x: x, y: y, h: h}
	clipToFences(b)
	// Baseline and history sorted: 1 2 2 3 3 3 4 4 5 40; quartiles 2.25
	// and 4 (type 7), so the far fences are 2.25 − 5.25 and 4 + 5.25.
	const lower, upper = -3.0, 9.25
	if math.Abs(b.lower-lower) > 1e-12 || math.Abs(b.upper-upper) > 1e-12 {
		t.Fatalf("fences [%v, %v], want [%v, %v]", b.lower, b.upper, lower, upper)
	}
	want := map[string][][]float64{"canary": {b.x, {3, upper, lower, 4}}, "baseline": {b.y, y}, "history": {b.h, {2, 3, 4, 3, upper}}}
	for name, got := range want {
		if !slices.Equal(got[0], got[1]) {
			t.Errorf("%s clipped to %v, want %v", name, got[0], got[1])
		}
	}
	if b.clippedCanary != 2 || b.clippedBaseline != 1 {
		t.Errorf("clipped %d canary and %d baseline points, want 2 and 1", b.clippedCanary, b.clippedBaseline)
	}
	if x[1] != 100 || h[4] != 40 {
		t.Errorf("the inputs were modified: %v, %v", x, h)
	}
}
