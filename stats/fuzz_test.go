package stats

import (
	"math"
	"slices"
	"testing"
)

// FuzzMannWhitney checks invariants on arbitrary small samples: no panic, a
// p-value in [0, 1], low ≤ estimate ≤ high, and the estimate equal to the
// median of the materialised pairwise differences.
func FuzzMannWhitney(f *testing.F) {
	f.Add([]byte{1, 2, 3, 4, 5, 6}, uint8(3), uint8(0))
	f.Add([]byte{0, 0, 0, 0, 9, 0, 0}, uint8(4), uint8(1))
	f.Add([]byte{200, 100, 3, 3, 3, 250, 7, 1, 1}, uint8(2), uint8(2))
	f.Fuzz(func(t *testing.T, data []byte, split, alt uint8) {
		if len(data) < 2 || len(data) > 120 {
			return
		}
		k := 1 + int(split)%(len(data)-1)
		toFloats := func(b []byte) []float64 {
			out := make([]float64, len(b))
			for i, v := range b {
				out[i] = float64(int8(v)) * 0.5
			}
			return out
		}
		canary, baseline := toFloats(data[:k]), toFloats(data[k:])
		res, err := MannWhitney(canary, baseline, MannWhitneyOptions{Alternative: Alternative(alt % 3), ConfLevel: 0.9})
		if err != nil {
			t.Fatal(err)
		}
		if !(res.PValue >= 0 && res.PValue <= 1) {
			t.Fatalf("p = %v", res.PValue)
		}
		if !(res.CILow <= res.Estimate && res.Estimate <= res.CIHigh) {
			t.Fatalf("interval [%v, %v] does not hold estimate %v", res.CILow, res.CIHigh, res.Estimate)
		}
		var d []float64
		for _, a := range canary {
			for _, b := range baseline {
				d = append(d, a-b)
			}
		}
		slices.Sort(d)
		want := d[len(d)/2]
		if len(d)%2 == 0 {
			want = (d[len(d)/2-1] + d[len(d)/2]) / 2
		}
		if allSame := slices.Min(d) == slices.Max(d) && d[0] == 0; !allSame && math.Abs(res.Estimate-want) > 1e-12 {
			t.Fatalf("estimate %v, median of differences %v", res.Estimate, want)
		}
	})
}
