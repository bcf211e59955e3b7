package stats

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestSeason checks the cycle detection and the kernel inflation: a daily
// pattern of 48 points under noise is found and averages out (a small
// inflation, where an AR(1) fit would read ρ near 1), while AR(1) noise,
// strongly autocorrelated noise included, and white noise show no cycle
// and keep their long-run variance.
func TestSeason(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(9, 10))
	daily := make([]float64, 48*12)
	for i := range daily {
		daily[i] = 100 + 30*math.Sin(2*math.Pi*float64(i)/48) + 3*rng.NormFloat64()
	}
	if p := DetectSeason(daily); p != 48 {
		t.Errorf("daily cycle: period %d, want 48", p)
	}
	if f := KernelInflation(daily, 48*3); f > 3 {
		t.Errorf("daily cycle: kernel inflation %.2f, want small", f)
	}
	if d := EstimateDependence(daily); d.Rho < 0.9 {
		t.Errorf("daily cycle: AR(1) ρ %.2f, expected near 1 (the reason for the kernel)", d.Rho)
	}
	for _, rho := range []float64{0, 0.5, 0.8} {
		for seed := range uint64(20) {
			x := ar1Series(rand.New(rand.NewPCG(seed, uint64(rho*10))), 240, rho)
			if p := DetectSeason(x); p != 0 {
				t.Errorf("AR(1) ρ=%v seed %d: period %d, want none", rho, seed, p)
			}
		}
	}
	// Strongly autocorrelated noise wanders: a dip and a bump in its
	// autocorrelation are common (one series of 60 at ρ = 0.9 over 240
	// points), a bump that repeats at twice its lag is not.
	spurious := 0
	for _, rho := range []float64{0.9, 0.95} {
		for seed := range uint64(500) {
			if DetectSeason(ar1Series(rand.New(rand.NewPCG(seed, 77)), 240, rho)) != 0 {
				spurious++
			}
		}
	}
	if spurious > 3 {
		t.Errorf("AR(1) ρ 0.9 and 0.95: %d of 1000 series read as cycles", spurious)
	}
	// A cycle seen fewer than four times is not taken for one.
	if p := DetectSeason(daily[:48*3]); p != 0 {
		t.Errorf("three days: period %d, want none", p)
	}
	white := ar1Series(rng, 2000, 0)
	if f := KernelInflation(white, 60); math.Abs(f-1) > 0.4 {
		t.Errorf("white noise: kernel inflation %.2f, want about 1", f)
	}
	ar := ar1Series(rng, 4000, 0.5)
	if f := KernelInflation(ar, 200); f < 2 || f > 4 {
		t.Errorf("AR(1) ρ=0.5: kernel inflation %.2f, want about 2.8", f)
	}
	if DetectSeason([]float64{1, 2, 3}) != 0 || KernelInflation(make([]float64, 50), 10) != 1 {
		t.Error("short or constant series")
	}
}
