package stats

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestSort: Sort orders every kind of sample as slices.Sort does, value for
// value (−0 and +0 compare equal), whatever its size and shape; with the
// recursion budget spent it still sorts.
func TestSort(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 8))
	shapes := map[string]func(i, n int) float64{
		"normal":     func(int, int) float64 { return r.NormFloat64() },
		"few values": func(int, int) float64 { return float64(r.IntN(3)) },
		"all equal":  func(int, int) float64 { return 7 },
		"ascending":  func(i, _ int) float64 { return float64(i) },
		"descending": func(i, n int) float64 { return float64(n - i) },
		"organ pipe": func(i, n int) float64 { return float64(min(i, n-i)) },
		"infinities": func(int, int) float64 { return []float64{math.Inf(1), math.Inf(-1), r.NormFloat64()}[r.IntN(3)] },
		"zeros":      func(int, int) float64 { return []float64{math.Copysign(0, -1), 0, 1, -1}[r.IntN(4)] },
	}
	for name, gen := range shapes {
		for _, n := range []int{0, 1, 2, 3, 16, 17, 60, 64, 65, radixMin - 1, radixMin, 130, 300, 1000} {
			x := make([]float64, n)
			for i := range x {
				x[i] = gen(i, n)
			}
			want := slices.Clone(x)
			slices.Sort(want)
			for budget, sortFn := range map[string]func([]float64){"Sort": Sort, "no depth left": func(a []float64) { quickSort(a, 0) }} {
				got := slices.Clone(x)
				sortFn(got)
				if !slices.Equal(got, want) {
					t.Fatalf("%s, n=%d, %s: got %v, want %v", name, n, budget, got, want)
				}
			}
		}
	}
}

// TestSortNaN: a sample with NaN is outside Sort's contract, but it must
// neither panic nor lose or invent a value.
func TestSortNaN(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	for _, n := range []int{3, 17, 100, 500} {
		x := make([]float64, n)
		for i := range x {
			x[i] = r.NormFloat64()
			if r.IntN(4) == 0 {
				x[i] = math.NaN()
			}
		}
		got := slices.Clone(x)
		Sort(got)
		count := func(s []float64) (nan int, sum float64) {
			for _, v := range s {
				if math.IsNaN(v) {
					nan++
				} else {
					sum += v
				}
			}
			return nan, sum
		}
		wn, ws := count(x)
		gn, gs := count(got)
		if wn != gn || math.Abs(ws-gs) > 1e-9 {
			t.Errorf("n=%d: %d NaN summing %v after, %d summing %v before", n, gn, gs, wn, ws)
		}
	}
}
