package stats

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// ar1Series is a seeded Gaussian AR(1) series of unit variance.
func ar1Series(rng *rand.Rand, n int, rho float64) []float64 {
	out := make([]float64, n)
	e := rng.NormFloat64()
	for i := range out {
		e = rho*e + math.Sqrt(1-rho*rho)*rng.NormFloat64()
		out[i] = e
	}
	return out
}

func TestEstimateDependence(t *testing.T) {
	t.Parallel()
	trend := make([]float64, 50)
	for i := range trend {
		trend[i] = float64(i)
	}
	if d := EstimateDependence(trend); d.Rho < 0.9 || d.Points != 50 || d.Series != 1 {
		t.Errorf("trend: %+v, want ρ ≥ 0.9 from 50 points", d)
	}
	if a, b := EstimateDependence([]float64{1, 2, 1}, trend), EstimateDependence(trend); a != b {
		t.Errorf("a short series changed the estimate: %+v vs %+v", a, b)
	}
	if d := EstimateDependence(make([]float64, 50)); d.Estimated() {
		t.Errorf("constant series: %+v, want no estimate", d)
	}
	// Seeded AR(1) series: the bias-corrected estimate recovers ρ within
	// its standard error, the series' level and scale do not matter, and a
	// level shift between series does not look like correlation.
	for _, rho := range []float64{0, 0.5, 0.8} {
		rng := rand.New(rand.NewPCG(1, uint64(rho*10)))
		var series [][]float64
		for k := range 40 {
			x := ar1Series(rng, 60, rho)
			for i := range x {
				x[i] = math.Exp(0.2*x[i]) * 100 * float64(1+k%3) // log-normal, a level per series
			}
			series = append(series, x)
		}
		d := EstimateDependence(series...)
		if got, se := math.Atanh(d.Rho), d.SE; math.Abs(got-math.Atanh(rho)) > 3*se || d.Points != 2400 || d.Series != 40 {
			t.Errorf("ρ = %v: estimate %+v", rho, d)
		}
	}
}

// TestEstimateTrendDependence: detrended, a seeded AR(1) series' estimate
// still recovers ρ within its standard error (the bias correction for the
// fitted line), and a ramp of four standard deviations under the noise,
// which centring alone reads as strong dependence (+0.13 to +0.6), moves
// it by less than 0.05 (the ranks, not the values, are detrended).
func TestEstimateTrendDependence(t *testing.T) {
	t.Parallel()
	for _, rho := range []float64{0, 0.5, 0.8} {
		rng := rand.New(rand.NewPCG(2, uint64(rho*10)))
		var series, ramped [][]float64
		for range 40 {
			x := ar1Series(rng, 60, rho)
			series = append(series, x)
			r := slices.Clone(x)
			for i := range r {
				r[i] += 4 * float64(i) / 59 // a climb of four standard deviations
			}
			ramped = append(ramped, r)
		}
		d := EstimateTrendDependence(series...)
		if got, se := math.Atanh(d.Rho), d.SE; math.Abs(got-math.Atanh(rho)) > 3*se || d.Points != 2400 || d.Series != 40 {
			t.Errorf("ρ = %v: detrended estimate %+v", rho, d)
		}
		plain, trend := EstimateDependence(ramped...), EstimateTrendDependence(ramped...)
		if math.Abs(trend.Rho-d.Rho) > 0.05 || plain.Rho < rho+0.1 {
			t.Errorf("ρ = %v under a ramp: detrended %v (without the ramp %v), centred only %v (want it inflated)", rho, trend.Rho, d.Rho, plain.Rho)
		}
	}
	if d := EstimateTrendDependence(make([]float64, 50)); d.Estimated() {
		t.Errorf("constant series: %+v, want no estimate", d)
	}
}

func TestRankInflation(t *testing.T) {
	t.Parallel()
	if f := RankInflation(0); f != 1 {
		t.Errorf("RankInflation(0) = %v, want 1", f)
	}
	// Direct sum of the rank correlations (6/π)·asin(ρ^k/2).
	for _, rho := range []float64{0.3, 0.5, 0.9} {
		want := 1.0
		for k := 1; k < 2000; k++ {
			want += 2 * 6 / math.Pi * math.Asin(math.Pow(rho, float64(k))/2)
		}
		ar1 := (1 + rho) / (1 - rho)
		if got := RankInflation(rho); math.Abs(got-want) > 1e-9 || got > ar1 || got < 0.9*ar1 {
			t.Errorf("RankInflation(%v) = %v, want %v (just under the AR(1) factor %v)", rho, got, want, ar1)
		}
	}
	if f := RankInflation(-0.95); f < 0.05 {
		t.Errorf("RankInflation(-0.95) = %v below the floor", f)
	}
}

// TestBoundedTail checks the dependent reference: with no dependence it is
// close to the normal approximation (the beta with the same variance has
// excess kurtosis −6/(2a+3), −0.07 here, so its tail at z = 3 is within
// 20% of the normal's), and a dependence estimate only ever widens it.
func TestBoundedTail(t *testing.T) {
	t.Parallel()
	m, iidVar := 3600.0, 3600.0*121/12
	sd := math.Sqrt(iidVar)
	for _, z := range []float64{1, 2, 3} {
		s := m/2 + z*sd
		got, want := Dependence{}.boundedTail(s, m, iidVar), normalSurvival(z)
		if math.Abs(got-want) > 0.2*want {
			t.Errorf("independent tail at z=%v: %v, want about %v", z, got, want)
		}
		prev := got
		for _, rho := range []float64{0, 0.3, 0.6, 0.9} {
			d := Dependence{Rho: rho, SE: 0.1, Points: 120, Series: 2}
			p := d.boundedTail(s, m, iidVar)
			if !(p >= prev*0.999) || p > 1 {
				t.Errorf("z=%v ρ=%v: tail %v narrower than %v", z, rho, p, prev)
			}
			prev = p
		}
	}
	// Negative correlation never sharpens the test.
	if p, q := (Dependence{Rho: -0.6, SE: 0.05, Points: 120, Series: 2}).boundedTail(m/2+2*sd, m, iidVar), normalSurvival(2); p < 0.9*q {
		t.Errorf("negative ρ sharpened the tail: %v < %v", p, q)
	}
}

func TestMannWhitneySerial(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(3, 4))
	canary, baseline := ar1Series(rng, 60, 0.5), ar1Series(rng, 60, 0.5)
	for i := range canary {
		canary[i] += 0.8
	}
	plain, err := MannWhitney(canary, baseline, MannWhitneyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	dep := EstimateDependence(canary, baseline)
	serial, err := MannWhitney(canary, baseline, MannWhitneyOptions{Dependence: dep})
	if err != nil {
		t.Fatal(err)
	}
	if serial.Method != Serial || serial.Method.String() != "serial" {
		t.Errorf("method %v", serial.Method)
	}
	if !(serial.PValue > plain.PValue) || !(serial.CILow < plain.CILow) || !(serial.CIHigh > plain.CIHigh) {
		t.Errorf("dependence did not widen the test: p %v vs %v, CI [%v, %v] vs [%v, %v]",
			serial.PValue, plain.PValue, serial.CILow, serial.CIHigh, plain.CILow, plain.CIHigh)
	}
	if serial.Estimate != plain.Estimate || !(serial.CILow <= serial.Estimate && serial.Estimate <= serial.CIHigh) {
		t.Errorf("estimate %v (plain %v) outside [%v, %v]", serial.Estimate, plain.Estimate, serial.CILow, serial.CIHigh)
	}
	if _, err := MannWhitney(canary, baseline, MannWhitneyOptions{Dependence: dep, VarianceInflation: 2}); err == nil {
		t.Error("inflation and dependence together accepted")
	}
}

func TestSignedRank(t *testing.T) {
	t.Parallel()
	// R's ?wilcox.test example (Hollander & Wolfe, depression scale):
	// V = 40 for x − y, alternative greater.
	x := []float64{1.83, 0.50, 1.62, 2.48, 1.68, 1.88, 1.55, 3.06, 1.30}
	y := []float64{0.878, 0.647, 0.598, 2.05, 1.06, 1.29, 1.06, 3.14, 1.29}
	d := make([]float64, len(x))
	for i := range x {
		d[i] = x[i] - y[i]
	}
	res, err := SignedRank(d, SignedRankOptions{Alternative: Greater})
	if err != nil {
		t.Fatal(err)
	}
	// Normal approximation with continuity correction, as R's exact=FALSE:
	// z = (40 − 22.5 − 0.5)/√71.25.
	if res.V != 40 || res.N != 9 || math.Abs(res.PValue-normalSurvival(17/math.Sqrt(71.25))) > 1e-12 {
		t.Errorf("V = %v, n = %d, p = %v", res.V, res.N, res.PValue)
	}
	// Zeros are dropped; the pseudo-median is the median of the Walsh
	// averages (brute force).
	rng := rand.New(rand.NewPCG(5, 6))
	for _, n := range []int{1, 2, 7, 40, 41} {
		d := make([]float64, n)
		for i := range d {
			d[i] = math.Round(rng.NormFloat64()*10) / 4 // ties and zeros
		}
		var walsh []float64
		var nonzero []float64
		for _, v := range d {
			if v != 0 {
				nonzero = append(nonzero, v)
			}
		}
		for i := range nonzero {
			for j := i; j < len(nonzero); j++ {
				walsh = append(walsh, (nonzero[i]+nonzero[j])/2)
			}
		}
		res, err := SignedRank(d, SignedRankOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(walsh) == 0 {
			if res.PValue != 1 || res.Estimate != 0 {
				t.Errorf("n=%d all zero: %+v", n, res)
			}
			continue
		}
		slices.Sort(walsh)
		m := len(walsh)
		want := walsh[m/2]
		if m%2 == 0 {
			want = walsh[m/2-1]/2 + walsh[m/2]/2
		}
		if res.Estimate != want || res.Zeros != n-len(nonzero) {
			t.Errorf("n=%d: estimate %v, want %v; zeros %d", n, res.Estimate, want, res.Zeros)
		}
		if !slices.Contains(walsh, res.CILow) || !slices.Contains(walsh, res.CIHigh) || res.CILow > res.Estimate || res.CIHigh < res.Estimate {
			t.Errorf("n=%d: interval [%v, %v] not Walsh averages around %v", n, res.CILow, res.CIHigh, res.Estimate)
		}
	}
	if _, err := SignedRank(nil, SignedRankOptions{}); !errors.Is(err, ErrNoData) {
		t.Errorf("empty: %v", err)
	}
	if _, err := SignedRank([]float64{1, math.NaN()}, SignedRankOptions{}); !errors.Is(err, ErrNotFinite) {
		t.Errorf("NaN: %v", err)
	}
	if _, err := SignedRank([]float64{1}, SignedRankOptions{ConfLevel: 2}); !errors.Is(err, ErrConfLevel) {
		t.Errorf("conf level 2: %v", err)
	}
}

func TestExceedance(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(7, 8))
	baseline, canary := ar1Series(rng, 60, 0.5), ar1Series(rng, 60, 0.5)
	for i := 0; i < 60; i += 3 { // a third of the points jump by 6 sd
		canary[i] += 6
	}
	up, _ := Exceedances(canary, 0.5, 1, baseline)
	if up.Count < 10 || up.Canary != 59 || up.Baseline != 59 {
		t.Errorf("upward jumps: %+v", up)
	}
	want := 1.0
	for i := range up.Count {
		want *= float64(59-i) / float64(118-i)
	}
	if math.Abs(up.PValue-want) > 1e-12*want || up.PValue > 1e-4 {
		t.Errorf("p = %v, want %v", up.PValue, want)
	}
	// The same series hold no downward jump beyond the baseline's, and a
	// series compared with itself exceeds nothing.
	if _, down := Exceedances(baseline, 0.5, 1, baseline); down.Count != 0 || down.PValue != 1 {
		t.Errorf("self: %+v", down)
	}
	if short, _ := Exceedances([]float64{1, 2}, 0.5, 1, baseline); short.PValue != 1 {
		t.Errorf("two points: %+v", short)
	}
	if none, _ := Exceedances(canary, 0.5, 1); none.PValue != 1 || none.Baseline != 0 {
		t.Errorf("no reference: %+v", none)
	}
}

// TestExceedanceHistory checks a reference of several series: the
// baseline's window and its history, each prewhitened on its own (a series
// shorter than 3 points adds nothing), pooled into one bound; a few spikes
// that a window-long reference cannot tell from chance stand out against
// the longer one.
func TestExceedanceHistory(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(9, 10))
	baseline, canary := ar1Series(rng, 60, 0.5), ar1Series(rng, 60, 0.5)
	history := ar1Series(rng, 180, 0.5)
	for i := range history {
		history[i] += 5 // another level: each series is centred on its own median
	}
	for _, i := range []int{10, 25, 40, 55} {
		canary[i] += 8
	}
	short, _ := Exceedances(canary, 0.5, 1, baseline)
	long, _ := Exceedances(canary, 0.5, 1, baseline, history, []float64{1, 2})
	if long.Baseline != 59+179 || long.Canary != 59 {
		t.Fatalf("reference sizes: %+v", long)
	}
	if long.Count != 4 || short.Count != 4 {
		t.Fatalf("counts: window %+v, with history %+v", short, long)
	}
	want := 1.0
	for i := range 4 {
		want *= float64(59-i) / float64(59+238-i)
	}
	if math.Abs(long.PValue-want) > 1e-12*want {
		t.Errorf("p = %v, want %v", long.PValue, want)
	}
	if !(short.PValue > 0.05) || !(long.PValue < 0.005) {
		t.Errorf("four spikes: p %v against the window, %v against window and history", short.PValue, long.PValue)
	}
}

// TestExceedancesMatchDefinition compares Exceedances with the test
// written out from its definition (medians from sorted copies, every
// innovation stored, one side at a time, each stretch of block
// innovations judged by its most extreme one): the counts, bounds and
// p-values must be identical, ties, odd and even lengths and stretches
// of 1 to 6 included.
func TestExceedancesMatchDefinition(t *testing.T) {
	t.Parallel()
	definition := func(canary []float64, rho float64, upper bool, block int, reference ...[]float64) ExceedanceResult {
		rho = math.Min(math.Max(rho, 0), 0.98)
		innov := func(x []float64) []float64 {
			if len(x) < 3 {
				return nil
			}
			m := QuantileSorted(0.5, sorted(x))
			var out []float64
			for i := 1; i < len(x); i++ {
				out = append(out, (x[i]-m)-rho*(x[i-1]-m))
			}
			return out
		}
		// cut splits innovations into stretches of block.
		cut := func(e []float64) [][]float64 {
			var out [][]float64
			for len(e) > 0 {
				n := min(block, len(e))
				out, e = append(out, e[:n]), e[n:]
			}
			return out
		}
		ec := cut(innov(canary))
		var eb [][]float64
		for _, b := range reference {
			eb = append(eb, cut(innov(b))...)
		}
		res := ExceedanceResult{Canary: len(ec), Baseline: len(eb), Block: block, PValue: 1}
		if len(ec) == 0 || len(eb) == 0 {
			return res
		}
		extreme := func(s []float64) float64 {
			if upper {
				return slices.Max(s)
			}
			return slices.Min(s)
		}
		res.Bound = extreme(slices.Concat(eb...))
		p := 1.0
		for _, s := range ec {
			if v := extreme(s); (upper && v > res.Bound) || (!upper && v < res.Bound) {
				res.Count++
			}
		}
		logP := 0.0
		for i := range res.Count {
			logP += math.Log(float64(len(ec)-i) / float64(len(ec)+len(eb)-i))
		}
		if res.Count > 0 {
			p = math.Exp(logP)
		}
		res.PValue = p
		return res
	}
	rng := rand.New(rand.NewPCG(11, 12))
	for trial := range 300 {
		series := func() []float64 {
			x := ar1Series(rng, 2+rng.IntN(90), 0.6)
			if trial%3 == 0 { // heavy ties, as in counters
				for i := range x {
					x[i] = math.Round(x[i])
				}
			}
			return x
		}
		canary, window, history := series(), series(), series()
		rho := 1.2*rng.Float64() - 0.1
		block := 1 + trial%6
		up, down := Exceedances(canary, rho, block, window, history)
		if want := definition(canary, rho, true, block, window, history); up != want {
			t.Fatalf("trial %d up: %+v, want %+v", trial, up, want)
		}
		if want := definition(canary, rho, false, block, window, history); down != want {
			t.Fatalf("trial %d down: %+v, want %+v", trial, down, want)
		}
	}
}

// TestExceedancesStretchesHoldLevel: canary and baseline both five-point
// moving means of AR(ρ) noise (120 points), unchanged. A climb of the
// noise spreads its jumps over the window's five steps, so single
// exceedances come in runs and their count is rejected at 1% in 2.8–4.5%
// of draws at ρ 0.8–0.95; stretches of five jumps hold the level.
func TestExceedancesStretchesHoldLevel(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(21, 22))
	const draws = 2000
	for _, rho := range []float64{0, 0.5, 0.8, 0.9, 0.95} {
		single, stretched := 0, 0
		for range draws {
			b := movingMean(ar1Series(r, 124, rho), 5)
			c := movingMean(ar1Series(r, 124, rho), 5)
			dep := EstimateDependence(c, b).Rho
			if up, _ := Exceedances(c, dep, 1, b); up.PValue < 0.01 {
				single++
			}
			if up, _ := Exceedances(c, dep, 5, b); up.PValue < 0.01 {
				stretched++
			}
		}
		t.Logf("AR(%g) under a 5-step window: rejected at 1%%: single jumps %d of %d, stretches of 5 %d", rho, single, draws, stretched)
		if stretched > 3*draws/200 {
			t.Errorf("AR(%g): stretches rejected %d of %d at 1%%, want ≤ 1.5%%", rho, stretched, draws)
		}
		if rho >= 0.8 && single < 2*draws/100 {
			t.Errorf("AR(%g): single jumps rejected only %d of %d at 1%%; the case should show their runs", rho, single, draws)
		}
	}
}

// TestWindowsDependenceHoldsLevel: without history the dependence comes
// from the compared windows themselves (EstimateWindowsDependence), and
// the rank test that allows for it holds its level at every window length
// the rule is for: unchanged Gaussian AR(1) pairs (the baseline and the
// canary's two halves estimate ρ) fall below 0.0019, one of 20 metrics'
// share, at most 1.5 times that often (the pooled rule, the finite-window
// term 1 + (c/(L(1−ρ)))² over SE·√(60/N), let 240 points at ρ 0.9 fall
// about 1.8 times too often); the hedge does not swamp the test (+1.52
// sd over 60 points at ρ 0.5, the +35% of 20% noise, is caught in at
// least 83% of pairs); and a 30-point window, whose estimate holds 60
// points, keeps the pooled rule.
func TestWindowsDependenceHoldsLevel(t *testing.T) {
	t.Parallel()
	const level = 0.05 * 0.9 / 20 * 0.85
	p := func(c, b []float64, dep Dependence) float64 {
		mw, err := MannWhitney(c, b, MannWhitneyOptions{Alternative: Greater, Dependence: dep, PValueOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		return mw.PValue
	}
	run := func(n int, rho, shift float64, draws int, seed uint64) float64 {
		rng := rand.New(rand.NewPCG(seed, uint64(n)))
		hits := 0
		for range draws {
			b, c := ar1Series(rng, n, rho), ar1Series(rng, n, rho)
			for i := range c {
				c[i] += shift
			}
			if p(c, b, EstimateWindowsDependence(n, b, c[:n/2], c[n/2:])) < level {
				hits++
			}
		}
		return float64(hits) / float64(draws)
	}
	for _, c := range []struct {
		n   int
		rho float64
	}{{60, 0.5}, {120, 0.8}, {240, 0.9}} {
		// 30,000 draws: about 57 expected at the level, P(> 86) < 0.2%.
		if size := run(c.n, c.rho, 0, 30000, 7); size > 1.5*level {
			t.Errorf("%d points at ρ %g without history: unchanged pairs below %.4f %.3f%% of the time", c.n, c.rho, level, 100*size)
		}
	}
	if power := run(60, 0.5, 1.52, 2000, 8); power < 0.83 {
		t.Errorf("60 points at ρ 0.5, +1.52 sd: caught %.1f%% of the time, want at least 83%%", 100*power)
	}
	rng := rand.New(rand.NewPCG(9, 30))
	for range 20 {
		b, c := ar1Series(rng, 30, 0.5), ar1Series(rng, 30, 0.5)
		for i := range c {
			c[i] += 1.5
		}
		pooled := EstimateDependence(b, c[:15], c[15:])
		pooled.Window = 30
		if got, want := p(c, b, EstimateWindowsDependence(30, b, c[:15], c[15:])), p(c, b, pooled); got != want {
			t.Fatalf("30 points: p %g with the windows' estimate, %g with the pooled rule", got, want)
		}
	}
}

// TestDifferencesDependenceHoldsLevel: a paired window's dependence comes
// from its differences alone (their halves), and the signed-rank test
// allowing for it (DifferencesDependence) holds its level over long
// windows: unchanged Gaussian AR(1) differences fall below 0.00225, one
// of 20 metrics' share, at most 1.3 times that often at 240 points and ρ
// 0.8 and at 480 and ρ 0.7, and less often than under the pooled rule on
// the same draws (which fell below it 1.3–1.4 times too often there);
// 60 differences keep the pooled rule.
func TestDifferencesDependenceHoldsLevel(t *testing.T) {
	t.Parallel()
	const level = 0.05 * 0.9 / 20
	p := func(d []float64, dep Dependence) float64 {
		sr, err := SignedRank(d, SignedRankOptions{Alternative: Greater, Dependence: dep})
		if err != nil {
			t.Fatal(err)
		}
		return sr.PValue
	}
	rng := rand.New(rand.NewPCG(9, 60))
	for range 20 {
		d := ar1Series(rng, 60, 0.5)
		for i := range d {
			d[i] += 0.5
		}
		halves := EstimateDependence(d[:30], d[30:])
		if got, want := p(d, halves.DifferencesDependence(60)), p(d, halves); got != want {
			t.Fatalf("60 differences: p %g marked, %g with the pooled rule", got, want)
		}
	}
	if testing.Short() {
		t.Skip("Monte Carlo simulation")
	}
	for _, c := range []struct {
		n   int
		rho float64
	}{{240, 0.8}, {480, 0.7}} {
		rng := rand.New(rand.NewPCG(11, uint64(c.n)))
		const draws = 20000
		var rule, pooled int
		for range draws {
			d := ar1Series(rng, c.n, c.rho)
			halves := EstimateDependence(d[:c.n/2], d[c.n/2:])
			if p(d, halves.DifferencesDependence(c.n)) < level {
				rule++
			}
			if p(d, halves) < level {
				pooled++
			}
		}
		t.Logf("%d differences at ρ %g: %d of %d below %g (pooled rule %d)", c.n, c.rho, rule, draws, level, pooled)
		// About 45 expected at the level.
		if size := float64(rule) / draws; size > 1.3*level || rule >= pooled {
			t.Errorf("%d differences at ρ %g: %.4f%% below %g (pooled rule %.4f%%)", c.n, c.rho, 100*size, level, 100*float64(pooled)/draws)
		}
	}
}
