package stats

import (
	"math/rand/v2"
	"testing"
)

// TestRankSum: the one-pass rank sum agrees with the merge of the two
// samples, with ties inside a sample, across them, and none.
func TestRankSum(t *testing.T) {
	r := rand.New(rand.NewPCG(4, 4))
	for _, levels := range []int{0, 3, 40} {
		for range 200 {
			draw := func(n int) []float64 {
				s := make([]float64, n)
				for i := range s {
					if levels == 0 {
						s[i] = r.NormFloat64()
					} else {
						s[i] = float64(r.IntN(levels))
					}
				}
				Sort(s)
				return s
			}
			x, y := draw(1+r.IntN(30)), draw(1+r.IntN(30))
			if got, want := rankSum(x, y), mergedRankSum(x, y); got != want {
				t.Fatalf("levels %d, x %v, y %v: rankSum %+v, merged %+v", levels, x, y, got, want)
			}
		}
	}
}
