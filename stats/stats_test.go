package stats

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

func TestMannWhitneyEdgeCases(t *testing.T) {
	tests := map[string]struct {
		canary, baseline []float64
		opts             MannWhitneyOptions
		wantErr          error
		wantErrText      string
	}{
		"empty canary":    {canary: nil, baseline: []float64{1}, wantErr: ErrNoData, wantErrText: "canary"},
		"empty baseline":  {canary: []float64{1}, baseline: []float64{}, wantErr: ErrNoData, wantErrText: "baseline"},
		"NaN in canary":   {canary: []float64{1, math.NaN()}, baseline: []float64{1}, wantErr: ErrNotFinite, wantErrText: "canary[1]"},
		"Inf in baseline": {canary: []float64{1}, baseline: []float64{2, 3, math.Inf(-1)}, wantErr: ErrNotFinite, wantErrText: "baseline[2]"},
		// Ascending around a NaN, or with an infinite end: the one-pass
		// check of sorted samples must still refuse them.
		"lone NaN":             {canary: []float64{math.NaN()}, baseline: []float64{1}, wantErr: ErrNotFinite, wantErrText: "canary[0]"},
		"NaN inside ascending": {canary: []float64{1, 2, math.NaN(), 3}, baseline: []float64{1}, wantErr: ErrNotFinite, wantErrText: "canary[2]"},
		"NaN last":             {canary: []float64{1}, baseline: []float64{1, 2, math.NaN()}, wantErr: ErrNotFinite, wantErrText: "baseline[2]"},
		"+Inf last, ascending": {canary: []float64{1, 2, math.Inf(1)}, baseline: []float64{1}, wantErr: ErrNotFinite, wantErrText: "canary[2]"},
		"-Inf first":           {canary: []float64{1}, baseline: []float64{math.Inf(-1), 0, 1}, wantErr: ErrNotFinite, wantErrText: "baseline[0]"},
		"conf level 1":         {canary: []float64{1}, baseline: []float64{2}, opts: MannWhitneyOptions{ConfLevel: 1}, wantErr: ErrConfLevel},
		"conf level <0":        {canary: []float64{1}, baseline: []float64{2}, opts: MannWhitneyOptions{ConfLevel: -0.5}, wantErr: ErrConfLevel},
		"bad alternative":      {canary: []float64{1}, baseline: []float64{2}, opts: MannWhitneyOptions{Alternative: 7}, wantErr: ErrAlternative},
		"overflowing range":    {canary: []float64{1e308, 1.7e308}, baseline: []float64{-1.7e308, 0}, wantErr: ErrRange, wantErrText: "differences"},
		"inflation below 1":    {canary: []float64{1}, baseline: []float64{2}, opts: MannWhitneyOptions{VarianceInflation: 0.5}, wantErrText: "variance inflation"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := MannWhitney(tc.canary, tc.baseline, tc.opts)
			if err == nil {
				t.Fatal("want an error, got nil")
			}
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Errorf("error %v is not %v", err, tc.wantErr)
			}
			if !strings.Contains(err.Error(), tc.wantErrText) {
				t.Errorf("error %q does not name %q", err, tc.wantErrText)
			}
		})
	}
}

// TestCheckedSorted: an ascending finite sample is returned as it is (no
// copy), any other valid one as a sorted copy that leaves it unchanged.
func TestCheckedSorted(t *testing.T) {
	asc := []float64{-1, 0, 0, 2.5}
	if got, err := checkedSorted("x", asc); err != nil || &got[0] != &asc[0] {
		t.Errorf("ascending: %v, %v; want the sample itself", got, err)
	}
	desc := []float64{3, 1, 2}
	got, err := checkedSorted("x", desc)
	if err != nil || !slices.Equal(got, []float64{1, 2, 3}) || !slices.Equal(desc, []float64{3, 1, 2}) {
		t.Errorf("unsorted: %v, %v (sample now %v)", got, err, desc)
	}
	if _, err := checkedSorted("x", nil); !errors.Is(err, ErrNoData) {
		t.Errorf("empty: %v, want ErrNoData", err)
	}
}

func TestMannWhitneyAllIdentical(t *testing.T) {
	for _, alt := range []Alternative{TwoSided, Greater, Less} {
		t.Run(alt.String(), func(t *testing.T) {
			r, err := MannWhitney([]float64{3, 3, 3}, []float64{3, 3}, MannWhitneyOptions{Alternative: alt})
			if err != nil {
				t.Fatal(err)
			}
			if r.PValue != 1 || r.Estimate != 0 || r.W != 3 {
				t.Errorf("got p=%v estimate=%v W=%v, want 1, 0, 3", r.PValue, r.Estimate, r.W)
			}
			wantLo, wantHi := 0.0, 0.0
			switch alt {
			case Greater:
				wantHi = math.Inf(1)
			case Less:
				wantLo = math.Inf(-1)
			}
			if r.CILow != wantLo || r.CIHigh != wantHi {
				t.Errorf("interval [%v, %v], want [%v, %v]", r.CILow, r.CIHigh, wantLo, wantHi)
			}
		})
	}
}

// TestMannWhitneySingleValues checks n = 1 against R:
// wilcox.test(c(1.5, 2.5), 3.1, conf.int=TRUE) gives W = 0, p = 2/3,
// interval [-1.6, -0.6] with achieved conf.level 1/3 and estimate -1.1.
func TestMannWhitneySingleValues(t *testing.T) {
	r, err := MannWhitney([]float64{1.5, 2.5}, []float64{3.1}, MannWhitneyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if r.Method != Exact || r.W != 0 {
		t.Errorf("method %v W %v, want exact 0", r.Method, r.W)
	}
	checks := []struct {
		name      string
		got, want float64
	}{
		{"p", r.PValue, 2.0 / 3},
		{"ci_low", r.CILow, 1.5 - 3.1},
		{"ci_high", r.CIHigh, 2.5 - 3.1},
		{"estimate", r.Estimate, ((1.5 - 3.1) + (2.5 - 3.1)) / 2},
		{"conf_level", r.ConfLevel, 1.0 / 3},
	}
	for _, c := range checks {
		if !relClose(c.got, c.want, 1e-12, 1e-15) {
			t.Errorf("%s = %.17g, want %.17g", c.name, c.got, c.want)
		}
	}
}

// TestPairwiseSelection compares every order statistic selected from the
// implicit difference set with the materialised, sorted differences, on
// samples with heavy ties, outliers and sizes around the enumeration limit.
func TestPairwiseSelection(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 11))
	gens := map[string]func() float64{
		"continuous": func() float64 { return r.NormFloat64() },
		"ties":       func() float64 { return float64(r.IntN(4)) },
		"heavy":      func() float64 { return math.Tan(math.Pi * (r.Float64() - 0.5)) },
		"huge range": func() float64 { return math.Ldexp(r.Float64()-0.5, r.IntN(2000)-1000) },
	}
	for name, gen := range gens {
		t.Run(name, func(t *testing.T) {
			for _, size := range [][2]int{{1, 1}, {3, 7}, {40, 60}, {200, 300}} {
				x := make([]float64, size[0])
				y := make([]float64, size[1])
				for i := range x {
					x[i] = gen()
				}
				for i := range y {
					y[i] = gen()
				}
				slices.Sort(x)
				slices.Sort(y)
				var all []float64
				for _, a := range x {
					for _, b := range y {
						all = append(all, a-b)
					}
				}
				slices.Sort(all)
				pd := newPairwiseDiffs(x, y, nil)
				p := &pd
				step := max(1, len(all)/97)
				for k := 1; k <= len(all); k += step {
					s := p.kth(k)
					if s.value != all[k-1] {
						t.Fatalf("%v: kth(%d) = %v, want %v", size, k, s.value, all[k-1])
					}
					wantCount, _ := slices.BinarySearch(all, math.Nextafter(s.value, math.Inf(1)))
					if s.countLE != wantCount {
						t.Fatalf("%v: countLE(kth(%d)) = %d, want %d", size, k, s.countLE, wantCount)
					}
				}
				mid := len(all) / 2
				want := all[mid]
				if len(all)%2 == 0 {
					want = (all[mid-1] + all[mid]) / 2
				}
				if got := p.median(); got != want {
					t.Fatalf("%v: median = %v, want %v", size, got, want)
				}
			}
		})
	}
}

// TestVarianceInflation checks that inflating the null variance widens the
// interval and raises the p-value, and that it switches to the normal
// approximation.
func TestVarianceInflation(t *testing.T) {
	canary, baseline := benchSamples(40)
	plain, err := MannWhitney(canary, baseline, MannWhitneyOptions{VarianceInflation: 1})
	if err != nil {
		t.Fatal(err)
	}
	inflated, err := MannWhitney(canary, baseline, MannWhitneyOptions{VarianceInflation: 3})
	if err != nil {
		t.Fatal(err)
	}
	if plain.Method != Exact || inflated.Method != Asymptotic {
		t.Errorf("methods %v, %v; want exact, asymptotic", plain.Method, inflated.Method)
	}
	if !(inflated.PValue > plain.PValue) {
		t.Errorf("inflated p %v not above plain p %v", inflated.PValue, plain.PValue)
	}
	if !(inflated.CILow < plain.CILow && inflated.CIHigh > plain.CIHigh) {
		t.Errorf("inflated interval [%v, %v] does not contain plain [%v, %v]", inflated.CILow, inflated.CIHigh, plain.CILow, plain.CIHigh)
	}
	if inflated.Estimate != plain.Estimate {
		t.Errorf("estimate changed from %v to %v", plain.Estimate, inflated.Estimate)
	}
}

func TestParseAlternative(t *testing.T) {
	for in, want := range map[string]Alternative{"two-sided": TwoSided, "two.sided": TwoSided, "greater": Greater, "less": Less} {
		got, err := ParseAlternative(in)
		if err != nil || got != want {
			t.Errorf("ParseAlternative(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if _, err := ParseAlternative("bigger"); !errors.Is(err, ErrAlternative) {
		t.Errorf("ParseAlternative(bigger) error = %v, want ErrAlternative", err)
	}
}

// TestQuantile checks R's type 7: quantile(c(1:10, 100), c(.01, .25, .5, .9, .99))
// is 1.1, 3.5, 6, 10, 91.
func TestQuantile(t *testing.T) {
	x := []float64{100, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	for _, c := range []struct{ p, want float64 }{{0.01, 1.1}, {0.25, 3.5}, {0.5, 6}, {0.9, 10}, {0.99, 91}, {0, 1}, {1, 100}} {
		got, err := Quantile(c.p, x)
		if err != nil {
			t.Fatal(err)
		}
		if !relClose(got, c.want, 1e-12, 1e-12) {
			t.Errorf("Quantile(%v) = %.17g, want %v", c.p, got, c.want)
		}
	}
	if _, err := Quantile(1.5, x); !errors.Is(err, ErrProbability) {
		t.Errorf("Quantile(1.5) error = %v, want ErrProbability", err)
	}
	if _, err := Quantile(0.5, nil); !errors.Is(err, ErrNoData) {
		t.Errorf("Quantile of empty error = %v, want ErrNoData", err)
	}
}

func TestDescribe(t *testing.T) {
	s, err := Describe([]float64{4, 1, 3, 2})
	if err != nil {
		t.Fatal(err)
	}
	want := Summary{Count: 4, Mean: 2.5, Std: math.Sqrt(5.0 / 3), Min: 1, Max: 4, Median: 2.5, Q1: 1.75, Q3: 3.25}
	if s.Count != want.Count || s.Min != want.Min || s.Max != want.Max ||
		!relClose(s.Mean, want.Mean, 1e-12, 0) || !relClose(s.Std, want.Std, 1e-12, 0) ||
		!relClose(s.Median, want.Median, 1e-12, 0) || !relClose(s.Q1, want.Q1, 1e-12, 0) || !relClose(s.Q3, want.Q3, 1e-12, 0) {
		t.Errorf("Describe = %+v, want %+v", s, want)
	}
	one, err := Describe([]float64{7})
	if err != nil || one.Std != 0 || one.Mean != 7 {
		t.Errorf("Describe single = %+v, %v; want mean 7, std 0", one, err)
	}
	if _, err := Describe([]float64{1, math.NaN()}); !errors.Is(err, ErrNotFinite) {
		t.Errorf("Describe NaN error = %v, want ErrNotFinite", err)
	}
}

// TestAdjust checks against R: p <- c(.01, .04, .03, .005, NA, .2, .04);
// p.adjust(p, "holm") and p.adjust(p, "BH").
func TestAdjust(t *testing.T) {
	p := []float64{0.01, 0.04, 0.03, 0.005, math.NaN(), 0.2, 0.04}
	nan := math.NaN()
	tests := map[string]struct {
		fn   func([]float64) []float64
		want []float64
	}{
		"holm": {AdjustHolm, []float64{0.05, 0.12, 0.12, 0.03, nan, 0.2, 0.12}},
		"BH":   {AdjustBH, []float64{0.03, 0.048, 0.048, 0.03, nan, 0.2, 0.048}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got := tc.fn(p)
			for i := range got {
				if math.IsNaN(tc.want[i]) != math.IsNaN(got[i]) || (!math.IsNaN(got[i]) && !relClose(got[i], tc.want[i], 1e-12, 0)) {
					t.Errorf("[%d] = %v, want %v", i, got[i], tc.want[i])
				}
			}
		})
	}
}

func TestEffectSizes(t *testing.T) {
	if got := MeanRatio([]float64{2, 4}, []float64{1, 2}); !relClose(got, 2, 1e-15, 0) {
		t.Errorf("MeanRatio = %v, want 2", got)
	}
	if got := MeanRatio([]float64{2}, []float64{0, 0}); !math.IsNaN(got) {
		t.Errorf("MeanRatio with zero baseline mean = %v, want NaN", got)
	}
	r, err := MannWhitney([]float64{3, 4, 5}, []float64{1, 2, 4}, MannWhitneyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// Pairs with canary > baseline: 3>1,3>2,4>1,4>2,5>1,5>2,5>4 = 7, one tie (4,4).
	if got := CommonLanguage(r.W, 3, 3); !relClose(got, 7.5/9, 1e-15, 0) {
		t.Errorf("CommonLanguage = %v, want %v", got, 7.5/9)
	}
	if got := RelativeShift(5, -10); got != 0.5 {
		t.Errorf("RelativeShift = %v, want 0.5", got)
	}
}

func TestFences(t *testing.T) {
	x := []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 100}
	kept := RemoveOutliers(x, 1.5, false)
	if len(kept) != 10 || slices.Contains(kept, 100) {
		t.Errorf("RemoveOutliers = %v, want 1..10", kept)
	}
	// Q1 = 0, Q3 = 2.5, IQR = 2.5; P99 = 9.7 widens the upper fence.
	for _, c := range []struct {
		reduce         bool
		wantLo, wantHi float64
	}{{false, -1.25, 3.75}, {true, -1.25, 9.7}} {
		lo, hi := Fences([]float64{0, 0, 0, 10}, 0.5, c.reduce)
		if !relClose(lo, c.wantLo, 1e-12, 0) || !relClose(hi, c.wantHi, 1e-12, 0) {
			t.Errorf("Fences(reduce=%v) = [%v, %v], want [%v, %v]", c.reduce, lo, hi, c.wantLo, c.wantHi)
		}
	}
}

func TestRanks(t *testing.T) {
	t.Parallel()
	if got := ranks([]float64{3, 1, 3, 2, 3}, []float64{1, 2, 3, 3, 3}); !slices.Equal(got, []float64{4, 1, 4, 2, 4}) {
		t.Errorf("ranks = %v, want [4 1 4 2 4]", got)
	}
}

// TestFormatNumber pins how numbers read in every text judge writes.
func TestFormatNumber(t *testing.T) {
	for v, want := range map[float64]string{1.0: "1", 0.00012345: "0.0001234", 123456: "1.235e+05", math.Inf(1): "+∞", math.Inf(-1): "−∞", math.NaN(): "NaN", -2.5: "-2.5"} {
		if got := FormatNumber(v); got != want {
			t.Errorf("FormatNumber(%v) = %q, want %q", v, got, want)
		}
	}
}

// TestSortPoints: the ranking sort orders any values, negative ones,
// signed zeros, infinities, ties and runs included, as a reference sort
// does (ties in any order), keeping each value with its position, by
// comparisons below radixMin points and by radix from there, and so does
// the comparison sort's fallback once the partitioning depth is spent.
func TestSortPoints(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	special := []float64{math.Copysign(0, -1), 0, math.Inf(1), math.Inf(-1), -1e-300, 1e300}
	for _, n := range []int{0, 1, 2, 13, 60, radixMin - 1, radixMin, 240, 1000} {
		for _, distinct := range []int{0, 1, 3, 1 << 30} {
			for _, sortFn := range []func([]point){sortPoints, func(p []point) { sortPointsWithin(p, 0) }} {
				p := make([]point, n)
				x := make([]float64, n)
				for i := range p {
					x[i] = special[r.IntN(len(special))]
					if distinct > 0 {
						x[i] = float64(r.IntN(distinct) - distinct/2)
					}
					p[i] = point{x[i], int32(i)}
				}
				want := slices.Clone(x)
				slices.Sort(want)
				sortFn(p)
				seen := make([]bool, n)
				for i := range p {
					if p[i].v != want[i] || math.Signbit(p[i].v) != math.Signbit(x[p[i].i]) || p[i].v != x[p[i].i] || seen[p[i].i] {
						t.Fatalf("n %d, %d distinct: position %d holds %v from %d, want %v", n, distinct, i, p[i].v, p[i].i, want[i])
					}
					seen[p[i].i] = true
				}
			}
		}
	}
}

// TestCriticalCountAnyGuess: the count criticalCount finds is the one a
// plain bisection finds, from any guess (a good one only saves work),
// including no count at all and the first count.
func TestCriticalCountAnyGuess(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	bisect := func(total int, alpha float64, tail func(int) float64) int {
		lo, hi := total/2, total+1
		for hi-lo > 1 {
			mid := (lo + hi) / 2
			if tail(mid) <= alpha {
				hi = mid
			} else {
				lo = mid
			}
		}
		return hi
	}
	for range 300 {
		total := 2 + r.IntN(5000)
		sd := math.Sqrt(float64(total)) * (0.05 + 3*r.Float64())
		alpha := math.Pow(10, -1-5*r.Float64())
		tail := func(c int) float64 { return normalSurvival((float64(c) - float64(total)/2) / sd) }
		want := bisect(total, alpha, tail)
		for _, guess := range []int{-5, 0, total / 2, want - 1, want, want + 3, r.IntN(2 * total), total + 10} {
			if got := criticalCount(total, alpha, tail, guess); got != want {
				t.Fatalf("total %d, sd %.3g, alpha %.3g, guess %d: %d, want %d", total, sd, alpha, guess, got, want)
			}
		}
	}
}

// TestMannWhitneyPValueOnly: with PValueOnly the p-value is the full
// test's, for every method, and the estimate and interval are NaN.
func TestMannWhitneyPValueOnly(t *testing.T) {
	x := []float64{3.1, 4.2, 5.0, 6.3, 7.7, 8.1, 9.4, 10.2, 11.8, 12.5}
	y := []float64{1.2, 2.5, 3.3, 4.1, 5.6, 6.2, 7.9, 8.4, 9.0, 10.6}
	for name, opts := range map[string]MannWhitneyOptions{
		"exact":      {Alternative: Greater},
		"asymptotic": {Alternative: TwoSided, Asymptotic: true},
		"serial":     {Alternative: Less, Dependence: Dependence{Rho: 0.5, SE: 0.2, Points: 40, Series: 2}},
	} {
		full, err := MannWhitney(x, y, opts)
		if err != nil {
			t.Fatal(err)
		}
		opts.PValueOnly = true
		only, err := MannWhitney(x, y, opts)
		if err != nil || only.PValue != full.PValue || only.Method != full.Method || !math.IsNaN(only.Estimate) || !math.IsNaN(only.CILow) || !math.IsNaN(only.CIHigh) {
			t.Errorf("%s: p-value only %+v (%v), full p %v", name, only, err, full.PValue)
		}
	}
}
