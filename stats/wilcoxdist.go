package stats

import (
	"math"
	"sync"
)

// wilcoxDist is the exact null distribution of the Mann-Whitney statistic W
// for sample sizes n and m without ties: counts[u] is the number of the
// C(n+m, n) equally likely rankings with W = u.
type wilcoxDist struct {
	counts []float64
	total  float64
	nm     int
}

var wilcoxCache = struct {
	sync.Mutex
	m map[[2]int]*wilcoxDist
}{m: make(map[[2]int]*wilcoxDist)}

// wilcoxDistribution returns the exact null distribution of W for sizes n and
// m, computed with the Mann-Whitney (1947) recurrence
//
//	f(a, b, u) = f(a−1, b, u−b) + f(a, b−1, u),  f(0, b, 0) = f(a, 0, 0) = 1,
//
// which conditions on whether the largest value comes from the first sample.
// It takes O(n²m²) additions of non-negative counts (no cancellation), and is
// cached per (n, m); it is used only below ExactLimit.
func wilcoxDistribution(n, m int) *wilcoxDist {
	key := [2]int{n, m}
	wilcoxCache.Lock()
	defer wilcoxCache.Unlock()
	if d, ok := wilcoxCache.m[key]; ok {
		return d
	}
	prev := make([][]float64, m+1)
	for b := range prev {
		prev[b] = []float64{1}
	}
	for a := 1; a <= n; a++ {
		cur := make([][]float64, m+1)
		cur[0] = []float64{1}
		for b := 1; b <= m; b++ {
			c := make([]float64, a*b+1)
			for u, v := range prev[b] {
				c[u+b] += v
			}
			for u, v := range cur[b-1] {
				c[u] += v
			}
			cur[b] = c
		}
		prev = cur
	}
	d := &wilcoxDist{counts: prev[m], nm: n * m}
	for _, c := range d.counts {
		d.total += c
	}
	wilcoxCache.m[key] = d
	return d
}

// cdf returns P(W ≤ q) when lower, else P(W > q), as R's pwilcox: the tail
// nearer to q is summed directly, so small upper tails keep their precision.
func (d *wilcoxDist) cdf(q float64, lower bool) float64 {
	q = math.Floor(q + 1e-7)
	if q < 0 {
		return boolProb(!lower)
	}
	if q >= float64(d.nm) {
		return boolProb(lower)
	}
	qi := int(q)
	var p float64
	if 2*qi <= d.nm {
		for i := 0; i <= qi; i++ {
			p += d.counts[i] / d.total
		}
	} else {
		for i := 0; i < d.nm-qi; i++ {
			p += d.counts[i] / d.total
		}
		lower = !lower
	}
	if lower {
		return p
	}
	return 0.5 - p + 0.5
}

// quantile returns the smallest q with P(W ≤ q) ≥ x, as R's qwilcox,
// including its 10·ε fuzz against rounding in the accumulated sum.
func (d *wilcoxDist) quantile(x float64) int {
	const eps = 2.220446049250313e-16
	var p float64
	if x <= 0.5 {
		x -= 10 * eps
		for q := 0; ; q++ {
			p += d.counts[q] / d.total
			if p >= x || q == d.nm {
				return q
			}
		}
	}
	x = 1 - x + 10*eps
	for q := 0; ; q++ {
		p += d.counts[q] / d.total
		if p > x || q == d.nm {
			return d.nm - q
		}
	}
}

func boolProb(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
