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

// FuzzSerialTests checks the tests for serially dependent series on
// arbitrary small series: no panic, p-values in [0, 1], the dependent
// Mann-Whitney never sharper than the independent one and its interval
// around its estimate, the signed-rank interval around its pseudo-median,
// and the exceedance count within the canary's innovations.
func FuzzSerialTests(f *testing.F) {
	f.Add([]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24}, uint8(12), uint8(0))
	f.Add([]byte{0, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0, 0, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5}, uint8(10), uint8(1))
	f.Fuzz(func(t *testing.T, data []byte, split, alt uint8) {
		if len(data) < 4 || len(data) > 200 {
			return
		}
		k := 2 + int(split)%(len(data)-3)
		toFloats := func(b []byte) []float64 {
			out := make([]float64, len(b))
			for i, v := range b {
				out[i] = float64(int8(v)) * 0.25
			}
			return out
		}
		canary, baseline := toFloats(data[:k]), toFloats(data[k:])
		a := Alternative(alt % 3)
		dep := EstimateDependence(baseline)
		if dep.Estimated() && (math.IsNaN(dep.Rho) || dep.Rho < -0.9 || dep.Rho > 0.98 || !(dep.SE > 0)) {
			t.Fatalf("dependence %+v", dep)
		}
		plain, err1 := MannWhitney(canary, baseline, MannWhitneyOptions{Alternative: a, Asymptotic: true})
		serial, err2 := MannWhitney(canary, baseline, MannWhitneyOptions{Alternative: a, Dependence: dep})
		if err1 != nil || err2 != nil {
			t.Fatalf("errors %v, %v", err1, err2)
		}
		if !(serial.PValue >= 0 && serial.PValue <= 1) || (dep.Estimated() && serial.PValue < plain.PValue*0.8-1e-12) {
			t.Fatalf("serial p %v vs independent %v (dependence %+v)", serial.PValue, plain.PValue, dep)
		}
		if !(serial.CILow <= serial.Estimate && serial.Estimate <= serial.CIHigh) {
			t.Fatalf("serial interval [%v, %v] around %v", serial.CILow, serial.CIHigh, serial.Estimate)
		}
		n := min(len(canary), len(baseline))
		d := make([]float64, n)
		for i := range d {
			d[i] = canary[i] - baseline[i]
		}
		sr, err := SignedRank(d, SignedRankOptions{Alternative: a, Dependence: EstimateDependence(d)})
		if err != nil {
			t.Fatal(err)
		}
		if !(sr.PValue >= 0 && sr.PValue <= 1) || !(sr.CILow <= sr.Estimate && sr.Estimate <= sr.CIHigh) {
			t.Fatalf("signed rank %+v", sr)
		}
		up, down := Exceedances(canary, dep.Rho, 1, baseline)
		for _, ex := range []ExceedanceResult{up, down} {
			if !(ex.PValue > 0 && ex.PValue <= 1) || ex.Count < 0 || ex.Count > ex.Canary {
				t.Fatalf("exceedance %+v", ex)
			}
		}
	})
}
