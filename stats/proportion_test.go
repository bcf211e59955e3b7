package stats

import (
	"math"
	"testing"
)

// TestClopperPearson pins the interval to R's binom.test(k, n)$conf.int
// (7 of 10) and to the closed forms at the ends: k = 0 gives
// [0, 1 − 0.025^(1/n)], k = n gives [0.025^(1/n), 1], and the lower end at
// k = 1 is 1 − 0.975^(1/n).
func TestClopperPearson(t *testing.T) {
	for _, tc := range []struct {
		k, n   int
		lo, hi float64
	}{
		{7, 10, 0.3475471499, 0.9332604888},
		{0, 10, 0, 1 - math.Pow(0.025, 0.1)},
		{10, 10, math.Pow(0.025, 0.1), 1},
		{0, 0, 0, 1},
	} {
		lo, hi := ClopperPearson(tc.k, tc.n, 0.95)
		if math.Abs(lo-tc.lo) > 1e-8 || math.Abs(hi-tc.hi) > 1e-8 {
			t.Errorf("%d of %d: [%.10f, %.10f], want [%.10f, %.10f]", tc.k, tc.n, lo, hi, tc.lo, tc.hi)
		}
	}
	if lo, hi := ClopperPearson(1, 34, 0.95); math.Abs(lo-(1-math.Pow(0.975, 1.0/34))) > 1e-10 || !(hi > 0.1 && hi < 0.2) {
		t.Errorf("1 of 34: [%v, %v]", lo, hi)
	}
}
