package stats

import (
	"math"
	"testing"
)

// TestSpentLevel checks the Hwang–Shih–DeCani (γ = −4) spending: its
// closed form at t = 1/2 (0.05·(1 − e²)/(1 − e⁴) = 0.005960, R:
// 0.05*(1-exp(2))/(1-exp(4))), a total of exactly α over any partition,
// and nothing spent backwards.
func TestSpentLevel(t *testing.T) {
	if got := SpentLevel(0.05, 0, 0.5); math.Abs(got-0.005960) > 1e-6 {
		t.Errorf("A(1/2) = %.6f, want 0.005960", got)
	}
	for _, looks := range []int{1, 2, 6, 24, 100} {
		var sum float64
		for k := 1; k <= looks; k++ {
			sum += SpentLevel(0.05, float64(k-1)/float64(looks), float64(k)/float64(looks))
		}
		if math.Abs(sum-0.05) > 1e-12 {
			t.Errorf("%d looks spend %.15f, want 0.05", looks, sum)
		}
	}
	if got := SpentLevel(0.05, 0.6, 0.4); got != 0 {
		t.Errorf("backwards: %v", got)
	}
	if got := SpentLevel(0.05, -1, 2); math.Abs(got-0.05) > 1e-12 {
		t.Errorf("clamped: %v", got)
	}
}

// TestLookLevel checks the per-look level: all of alpha for one look, the
// spent share otherwise, never 0 (which a config reads as the default).
func TestLookLevel(t *testing.T) {
	if got := LookLevel(0.05, 1, 1); got != 0.05 {
		t.Errorf("one look: %v", got)
	}
	if got, want := LookLevel(0.05, 3, 6), SpentLevel(0.05, 2.0/6, 3.0/6); got != want {
		t.Errorf("look 3 of 6: %v, want %v", got, want)
	}
	if got := LookLevel(0.05, 1, 1000); got <= 0 || got > 0.05/1000*2 {
		t.Errorf("look 1 of 1000: %v, want a small positive share", got)
	}
}

// TestOpenLookLevel checks the open-ended spending: α·10/((k+10)(k+9)),
// R: 0.05*10/((1+10)*(1+9)) = 0.004545 for look 1, a total that stays
// under α at any number of looks and tends to it, and shares that shrink.
func TestOpenLookLevel(t *testing.T) {
	if got := OpenLookLevel(0.05, 1); math.Abs(got-0.0045454545) > 1e-9 {
		t.Errorf("look 1: %.10f, want 0.0045454545", got)
	}
	var sum float64
	for k := 1; k <= 100000; k++ {
		l := OpenLookLevel(0.05, k)
		if k > 1 && l > OpenLookLevel(0.05, k-1) {
			t.Fatalf("look %d gets more than look %d", k, k-1)
		}
		sum += l
		if sum > 0.05+1e-12 {
			t.Fatalf("after %d looks %.15f spent, more than 0.05", k, sum)
		}
		if k == 10 && math.Abs(sum-0.025) > 1e-12 {
			t.Errorf("10 looks spend %.15f, want half of 0.05", sum)
		}
	}
	if sum < 0.0499 {
		t.Errorf("100000 looks spend %.6f, want nearly 0.05", sum)
	}
}
