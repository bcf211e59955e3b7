package stats

import (
	"math"

	"gonum.org/v1/gonum/stat"
)

// MeanRatio returns mean(canary) / mean(baseline), Kayenta's default effect
// size. It is NaN when either sample is empty or the baseline mean is 0, where
// the ratio is undefined; callers must treat NaN as "no relative effect size",
// not as a pass or a fail.
func MeanRatio(canary, baseline []float64) float64 {
	if len(canary) == 0 || len(baseline) == 0 {
		return math.NaN()
	}
	mb := stat.Mean(baseline, nil)
	if mb == 0 {
		return math.NaN()
	}
	return stat.Mean(canary, nil) / mb
}

// CommonLanguage returns the common-language effect size
//
//	A = W / (n·m) = P(C > B) + ½·P(C = B)
//
// for a Mann-Whitney statistic W of n canary and m baseline values: the
// probability that a random canary value exceeds a random baseline value
// (0.5 means no effect). Kayenta's "cles" measure computes the same number
// from the rank sum. Reference: Vargha & Delaney (2000), "A critique and
// improvement of the CL common language effect size statistics of McGraw and
// Wong", J. Educ. Behav. Stat. 25(2):101–132.
func CommonLanguage(w float64, n, m int) float64 {
	if n == 0 || m == 0 {
		return math.NaN()
	}
	return w / (float64(n) * float64(m))
}

// CommonLanguageSorted is CommonLanguage of two samples already sorted
// ascending, their Mann-Whitney statistic counted by one merge (rankSum),
// for callers that need the effect size without the test.
func CommonLanguageSorted(c, b []float64) float64 {
	return CommonLanguage(rankSum(c, b).u, len(c), len(b))
}

// RelativeShift returns the shift estimate relative to the magnitude of the
// baseline's typical level (for example its median): estimate / |level|. It
// is NaN when level is 0.
func RelativeShift(estimate, level float64) float64 {
	if level == 0 {
		return math.NaN()
	}
	return estimate / math.Abs(level)
}
