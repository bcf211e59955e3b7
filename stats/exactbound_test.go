package stats

import (
	"math"
	"math/rand/v2"
	"sync"
	"testing"
)

// TestExactUpperBoundCovers: below exactBelow points the upper bound of
// the dependence (Bound with positive z) holds its level where the
// standard error's bound does not. Fresh AR(1) series (a seed the tables
// never use, and dependences off their grid) are estimated as the
// default judge estimates them: one window, its two halves, and pieces
// of a baseline's history, centred or detrended. The 2-SE bound's miss
// rate is reported beside the exact one's, which must stay near the
// nominal 2.3% (under 4% on 2,000 series: 3.5 standard errors) while the
// standard error's misses 8% or more in the short rows.
func TestExactUpperBoundCovers(t *testing.T) {
	t.Parallel()
	const draws = 2000
	tests := []struct {
		name      string
		k, m      int
		rho       float64
		detrended bool
		hole      bool
	}{
		{name: "30-point window, ρ 0.79", k: 1, m: 30, rho: 0.79, hole: true},
		{name: "two 15-point halves, ρ 0.71", k: 2, m: 15, rho: 0.71, hole: true},
		{name: "two 15-point halves detrended, ρ 0.71", k: 2, m: 15, rho: 0.71, detrended: true, hole: true},
		{name: "59-point window detrended, ρ 0.85", k: 1, m: 59, rho: 0.85, detrended: true, hole: true},
		{name: "20-point window, ρ 0.33", k: 1, m: 20, rho: 0.33},
		{name: "12-point window, independent", k: 1, m: 12},
	}
	r := rand.New(rand.NewPCG(2026, 12))
	for _, tt := range tests {
		series := make([][]float64, tt.k)
		for i := range series {
			series[i] = make([]float64, tt.m)
		}
		exact, normal := 0, 0
		for range draws {
			for _, x := range series {
				ar1(r, x, tt.rho)
			}
			d := EstimateDependence(series...)
			if tt.detrended {
				d = EstimateTrendDependence(series...)
			}
			if d.ExactBound(2) < tt.rho {
				exact++
			}
			if math.Tanh(math.Atanh(math.Min(d.Rho, 0.98))+2*d.SE) < tt.rho {
				normal++
			}
		}
		t.Logf("%s: exact bound misses %.1f%%, 2-SE bound %.1f%%", tt.name, 100*float64(exact)/draws, 100*float64(normal)/draws)
		if exact > draws*4/100 {
			t.Errorf("%s: the exact upper bound missed ρ in %d of %d series, want under 4%%", tt.name, exact, draws)
		}
		if tt.hole && normal < draws*6/100 {
			t.Errorf("%s: the 2-SE bound missed ρ in only %d of %d series; the row no longer shows the hole the exact bound mends", tt.name, normal, draws)
		}
	}
}

// TestExactUpperBoundOnlyWidens: the exact bound never lies below the
// standard error's, is the same on every call, and is not used from
// exactBelow points on, for more than two pieces, for a kernel inflation,
// or for a lower bound.
func TestExactUpperBoundOnlyWidens(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(5, 6))
	short, long := make([]float64, 30), make([]float64, exactBelow)
	pieces := [][]float64{make([]float64, 12), make([]float64, 12), make([]float64, 12)}
	for range 200 {
		ar1(r, short, 0.6)
		ar1(r, long, 0.6)
		for _, p := range pieces {
			ar1(r, p, 0.6)
		}
		d := EstimateDependence(short)
		se := d.Bound(2)
		if se != math.Tanh(math.Atanh(math.Min(d.Rho, 0.98))+2*d.SE) {
			t.Fatalf("Bound(2) %.4f is not the 2-SE bound", se)
		}
		if b := d.ExactBound(2); b < se || b != d.ExactBound(2) {
			t.Fatalf("ρ̂ %.3f: bound %.4f below the 2-SE bound %.4f or not repeatable", d.Rho, b, se)
		}
		if lo, want := d.ExactBound(-2), d.Bound(-2); lo != want {
			t.Fatalf("lower bound %.4f, want the 2-SE bound %.4f", lo, want)
		}
		d.Inflation = 3
		if b := d.ExactBound(2); b != se {
			t.Fatalf("with a kernel inflation the bound is %.4f, want the 2-SE bound %.4f", b, se)
		}
		if dl := EstimateDependence(long); dl.ExactBound(2) != dl.Bound(2) {
			t.Fatalf("%d points: bound %.4f, want the 2-SE bound %.4f", exactBelow, dl.ExactBound(2), dl.Bound(2))
		}
		if dp := EstimateDependence(pieces...); dp.ExactBound(2) != dp.Bound(2) {
			t.Fatalf("three pieces: bound %.4f, want the 2-SE bound %.4f", dp.ExactBound(2), dp.Bound(2))
		}
	}
}

// TestExactBoundConcurrent: analyses that meet a window shape at once
// share one simulation of its table and read the same bound.
func TestExactBoundConcurrent(t *testing.T) {
	t.Parallel()
	d := EstimateDependence([]float64{3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7})
	got := make([]float64, 8)
	var wg sync.WaitGroup
	for i := range got {
		wg.Go(func() { got[i] = d.ExactBound(2) })
	}
	wg.Wait()
	want := d.ExactBound(2)
	for i, b := range got {
		if b != want {
			t.Errorf("goroutine %d read %v, want %v", i, b, want)
		}
	}
}
