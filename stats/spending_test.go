package stats

import (
	"math"
	"testing"
)

// TestSpentLevel checks the O'Brien–Fleming-type spending: its closed form
// at t = 0.5 (2 − 2Φ(1.959964/√0.5) = 2 − 2Φ(2.771808) = 0.005575, R:
// 2*pnorm(qnorm(0.975)/sqrt(0.5), lower.tail=FALSE)) and near nothing at
// t = 0.2, a total of exactly α over any partition, and nothing spent
// backwards.
func TestSpentLevel(t *testing.T) {
	if got := SpentLevel(0.05, 0, 0.5); math.Abs(got-0.005575) > 1e-5 {
		t.Errorf("A(0.5) = %.6f, want 0.005575", got)
	}
	if got := SpentLevel(0.05, 0, 0.2); got > 1e-4 {
		t.Errorf("A(0.2) = %.6f, want under 0.0001", got)
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
