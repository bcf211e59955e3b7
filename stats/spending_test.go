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
