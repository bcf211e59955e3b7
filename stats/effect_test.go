package stats

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestCommonLanguageSorted checks the merged count against every pair
// counted by hand, with ties (values rounded to halves).
func TestCommonLanguageSorted(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 31))
	for range 50 {
		c, b := make([]float64, 1+rng.IntN(30)), make([]float64, 1+rng.IntN(30))
		for i := range c {
			c[i] = math.Round(2*rng.NormFloat64()) / 2
		}
		for i := range b {
			b[i] = math.Round(2*rng.NormFloat64()) / 2
		}
		var want float64
		for _, x := range c {
			for _, y := range b {
				switch {
				case x > y:
					want++
				case x == y:
					want += 0.5
				}
			}
		}
		want /= float64(len(c) * len(b))
		slices.Sort(c)
		slices.Sort(b)
		if got := CommonLanguageSorted(c, b); math.Abs(got-want) > 1e-12 {
			t.Fatalf("CommonLanguageSorted(%v, %v) = %g, want %g", c, b, got, want)
		}
	}
}

// TestPositive: only finite positive values allow the log scale.
func TestPositive(t *testing.T) {
	for _, tc := range []struct {
		series [][]float64
		want   bool
	}{
		{[][]float64{{1, 2}, {0.5}}, true},
		{[][]float64{{1, 2}, {0}}, false},
		{[][]float64{{1, -2}}, false},
		{[][]float64{{1, math.NaN()}}, false},
		{[][]float64{{1, math.Inf(1)}}, false},
		{[][]float64{{}, nil}, true},
	} {
		if got := Positive(tc.series...); got != tc.want {
			t.Errorf("Positive(%v) = %v, want %v", tc.series, got, tc.want)
		}
	}
	if got := Logs([]float64{1, math.E}); got[0] != 0 || math.Abs(got[1]-1) > 1e-15 {
		t.Errorf("Logs(1, e) = %v", got)
	}
}
