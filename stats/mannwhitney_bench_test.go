package stats

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

var benchSizes = []int{1000, 10000, 100000}

// benchSamples returns continuous canary and baseline samples of n values
// each, the canary shifted up by a tenth of a standard deviation.
func benchSamples(n int) (canary, baseline []float64) {
	r := rand.New(rand.NewPCG(1, uint64(n)))
	canary = make([]float64, n)
	baseline = make([]float64, n)
	for i := range n {
		canary[i] = 100 + 10*r.NormFloat64() + 1
		baseline[i] = 100 + 10*r.NormFloat64()
	}
	return canary, baseline
}

// BenchmarkMannWhitney computes the p-value, the Hodges-Lehmann estimate and
// the two-sided 95% interval.
func BenchmarkMannWhitney(b *testing.B) {
	for _, n := range benchSizes {
		canary, baseline := benchSamples(n)
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := MannWhitney(canary, baseline, MannWhitneyOptions{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkSortFloor only sorts a copy of the combined sample: the floor that
// BenchmarkMannWhitney is measured against.
func BenchmarkSortFloor(b *testing.B) {
	for _, n := range benchSizes {
		canary, baseline := benchSamples(n)
		combined := slices.Concat(canary, baseline)
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				slices.Sort(slices.Clone(combined))
			}
		})
	}
}
