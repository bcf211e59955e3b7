package stats

import (
	"math"

	"gonum.org/v1/gonum/stat/distuv"
)

// BatchPlan describes the series a batch-means test will compare, for
// choosing its batch length (BatchSize): the points of the canary's
// window X, the baseline's window Y and the baseline's history (pairs in
// X = Y when Paired, and History earlier differences); Rho the AR(1)
// coefficient the test corrects with (BatchShiftOptions.Rho) and Expected
// the one the series most likely have; Alpha the test's one-sided level;
// MinSize the shortest batch length to consider.
type BatchPlan struct {
	X, Y, History int
	Paired        bool
	Rho, Expected float64
	Alpha         float64
	MinSize       int
}

// BatchSize returns the batch length that minimises the batch-means
// test's expected minimum detectable shift,
//
//	MDS(L) = t_{ν(L)}(1 − α) · √(E[SE²(L)]),
//
// over the lengths from MinSize that leave the test a degree of freedom
// (paired: two batches; unpaired: one canary batch). ν(L) is BatchShift's Satterthwaite
// degrees of freedom under Rho, and E[SE²(L)] the expected square of its
// standard error when the points follow AR(1) with coefficient Expected
// while the test corrects for Rho. Short batches keep many degrees of
// freedom but lean on the AR(1) correction, which costs spread when Rho
// exceeds Expected; long batches need little correction but leave few
// degrees of freedom, and a t quantile on few is large. The choice depends
// on the lengths and the dependence only, never on the values. It returns 0
// when no length leaves a degree of freedom.
func BatchSize(p BatchPlan) int {
	limit := min(p.X, p.Y)
	if p.Paired {
		limit = p.X / 2
	}
	best, bestMDS := 0, math.Inf(1)
	var last [3]int
	for l := max(p.MinSize, 1); l <= limit; l++ {
		// The batches depend on l only through how many each series
		// holds: a length that cuts every series into as many batches as
		// the one before cannot do better.
		batches := [3]int{p.X / l, p.Y / l, p.History / l}
		if batches[2] < 2 {
			batches[2] = 0
		}
		if batches == last {
			continue
		}
		last = batches
		if mds := p.Detectable(l); mds < bestMDS {
			best, bestMDS = l, mds
		}
	}
	return best
}

// Detectable is BatchSize's MDS(l), the planned half-width of the
// test's one-sided interval at level Alpha, in units of the points'
// standard deviation; +Inf when l leaves no degree of freedom.
func (p BatchPlan) Detectable(l int) float64 {
	_, mds := p.evaluate(l)
	return mds
}

// DF is the Satterthwaite degrees of freedom BatchShift's spread has
// with batches of l points (BatchShiftResult.DF) when every series joins
// it; 0 when l leaves the canary's window no batch (paired: fewer than
// two).
func (p BatchPlan) DF(l int) float64 {
	df, _ := p.evaluate(l)
	return df
}

// evaluate is DF(l) and Detectable(l).
func (p BatchPlan) evaluate(l int) (df, mds float64) {
	if l < 1 || p.X/l < 1 || !p.Paired && p.Y/l < 1 || p.Paired && p.X/l < 2 {
		return 0, math.Inf(1)
	}
	rho, truth := math.Max(p.Rho, 0), math.Max(p.Expected, 0)
	var meanVar, expectedSS, tr, frob float64
	add := func(n int, compared bool) {
		k := n / l
		if k < 1 {
			return
		}
		size := n / k
		v, vt := batchVariance(rho, size), batchVariance(truth, size)
		sum, gtr, gfr := spread(rho, size, k)
		_, ttr, _ := spread(truth, size, k)
		if compared {
			meanVar += v * sum / float64(k*k)
		}
		tr, frob, expectedSS = tr+gtr, frob+gfr, expectedSS+vt*ttr/v
	}
	add(p.X, true)
	if !p.Paired {
		add(p.Y, true)
	}
	if p.History/l >= 2 {
		add(p.History, false)
	}
	df = tr * tr / frob
	if !(df >= 1) || !(tr > 0) {
		return 0, math.Inf(1)
	}
	q := distuv.StudentsT{Mu: 0, Sigma: 1, Nu: df}.Quantile(1 - p.Alpha)
	return df, q * math.Sqrt(expectedSS/tr*meanVar)
}
