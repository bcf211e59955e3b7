package stats

import (
	"math/rand/v2"
	"testing"
)

// TestIntervalAgreesWithPValue is a property test over random inputs: the
// interval at level 1 − α excludes zero exactly when the p-value is at
// most α, for both rank tests, independent or serially dependent data,
// every alternative, and windows from 3 to 80 points (where, with strong
// dependence, no shift may be significant at all and the interval is then
// the whole line).
func TestIntervalAgreesWithPValue(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(21, 22))
	ar := func(n int, rho, shift float64) []float64 {
		out := ar1Series(r, n, rho)
		for i := range out {
			out[i] += shift
		}
		return out
	}
	excludesZero := func(lo, hi float64) bool { return lo > 0 || hi < 0 }
	checked := 0
	for i := range 3000 {
		n, m := 3+r.IntN(78), 3+r.IntN(78)
		rho := []float64{0, 0.3, 0.6, 0.9}[i%4]
		shift := r.NormFloat64() * 1.5
		x, y := ar(n, rho, shift), ar(m, rho, 0)
		var dep Dependence
		if i%3 != 0 {
			dep = EstimateDependence(x, y)
		}
		alt := []Alternative{TwoSided, Greater, Less}[i%3]
		alpha := []float64{0.05, 0.01, 0.1}[i%3]
		mw, err := MannWhitney(sorted(x), sorted(y), MannWhitneyOptions{Alternative: alt, ConfLevel: 1 - alpha, Dependence: dep})
		if err != nil {
			t.Fatal(err)
		}
		if excludesZero(mw.CILow, mw.CIHigh) != (mw.PValue <= alpha) {
			t.Errorf("Mann-Whitney n=%d/%d ρ=%v %v α=%v (%v): p=%.4g, interval [%.4g, %.4g]", n, m, rho, alt, alpha, mw.Method, mw.PValue, mw.CILow, mw.CIHigh)
		}
		d := ar(n, rho, shift)
		if i%3 != 0 {
			dep = EstimateDependence(d)
		}
		sr, err := SignedRank(d, SignedRankOptions{Alternative: alt, ConfLevel: 1 - alpha, Dependence: dep})
		if err != nil {
			t.Fatal(err)
		}
		if sr.Method == Serial && excludesZero(sr.CILow, sr.CIHigh) != (sr.PValue <= alpha) {
			t.Errorf("signed rank n=%d ρ=%v %v α=%v: p=%.4g, interval [%.4g, %.4g]", n, rho, alt, alpha, sr.PValue, sr.CILow, sr.CIHigh)
		}
		checked++
	}
	if checked != 3000 {
		t.Fatalf("checked %d cases", checked)
	}
}
