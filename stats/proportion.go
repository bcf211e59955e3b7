package stats

import "gonum.org/v1/gonum/stat/distuv"

// ClopperPearson returns the exact two-sided confidence interval at level
// conf for a binomial proportion seen as k successes in n trials
// (Clopper & Pearson 1934, Biometrika 26:404–413):
//
//	lo = B(α/2; k, n−k+1),   hi = B(1−α/2; k+1, n−k)
//
// with B(q; a, b) the q-quantile of the beta distribution and α = 1 − conf;
// lo is 0 when k is 0 and hi is 1 when k is n. It is what R's binom.test
// reports, and it covers the proportion at least conf of the time for
// every proportion and n: the interval to put beside a recall or
// false-fail rate measured on a few dozen cases. With n 0 nothing is
// known: [0, 1].
func ClopperPearson(k, n int, conf float64) (lo, hi float64) {
	if n <= 0 || k < 0 || k > n {
		return 0, 1
	}
	tail := (1 - conf) / 2
	lo, hi = 0, 1
	if k > 0 {
		lo = distuv.Beta{Alpha: float64(k), Beta: float64(n - k + 1)}.Quantile(tail)
	}
	if k < n {
		hi = distuv.Beta{Alpha: float64(k + 1), Beta: float64(n - k)}.Quantile(1 - tail)
	}
	return lo, hi
}
