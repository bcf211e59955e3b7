package stats

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/stat"
	"gonum.org/v1/gonum/stat/distuv"
)

// BatchMeansResult is a batch-means t-test.
type BatchMeansResult struct {
	// PValue is the p-value for the alternative; T the statistic and DF its
	// degrees of freedom; Estimate the difference of the means (x − y, or
	// the mean of the paired differences).
	PValue, T, DF, Estimate float64
	// Batches is the number of batches per side.
	Batches int
}

// BatchMeans returns the means of k contiguous, non-overlapping batches of
// x of equal length ⌊n/k⌋; the first n mod k points are left out, so the
// batches end with the series.
func BatchMeans(x []float64, k int) []float64 {
	size := len(x) / k
	if k < 1 || size < 1 {
		return nil
	}
	skip := len(x) - k*size
	out := make([]float64, k)
	for b := range k {
		var sum float64
		for _, v := range x[skip+b*size : skip+(b+1)*size] {
			sum += v
		}
		out[b] = sum / float64(size)
	}
	return out
}

// BatchMeansT tests a difference of levels between two serially dependent
// series by the t statistics of their batch means (Schmeiser 1982,
// Operations Research 30:556–568). Each side is cut into k contiguous
// batches (BatchMeans); under short-range dependence, batch means of long
// enough batches are nearly independent and normal, so
//
//	Welch:   t = (x̄_B − ȳ_B) / √(s²_x/k + s²_y/k)
//	         ν = (s²_x/k + s²_y/k)² / ((s²_x/k)²/(k−1) + (s²_y/k)²/(k−1))
//	paired:  t = d̄_B / (s_d/√k), ν = k − 1, with d the pointwise differences
//
// where s² are the sample variances of the batch means. The reference
// distribution is Student's t with ν degrees of freedom, the exact
// fixed-k limit, which keeps the test's level at small k whatever the
// dependence within a batch; evidence grows with the shift relative to the
// batch means' spread, not with the number of points. paired requires x
// and y of equal length, aligned in time. Assumptions: stationarity within
// each window and dependence shorter than a batch. k must be at least 2,
// with at least one point per batch.
func BatchMeansT(x, y []float64, k int, paired bool, alt Alternative) (BatchMeansResult, error) {
	switch {
	case k < 2:
		return BatchMeansResult{}, fmt.Errorf("batch means: %d batches: want at least 2", k)
	case len(x) < k || len(y) < k:
		return BatchMeansResult{}, fmt.Errorf("batch means: %d and %d points for %d batches: %w", len(x), len(y), k, ErrNoData)
	case paired && len(x) != len(y):
		return BatchMeansResult{}, fmt.Errorf("batch means: paired series of %d and %d points", len(x), len(y))
	case alt != TwoSided && alt != Greater && alt != Less:
		return BatchMeansResult{}, ErrAlternative
	}
	for _, s := range [][]float64{x, y} {
		for _, v := range s {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return BatchMeansResult{}, ErrNotFinite
			}
		}
	}
	res := BatchMeansResult{Batches: k}
	var se2 float64
	if paired {
		d := make([]float64, len(x))
		for i := range x {
			d[i] = x[i] - y[i]
		}
		m, v := stat.MeanVariance(BatchMeans(d, k), nil)
		res.Estimate, se2, res.DF = m, v/float64(k), float64(k-1)
	} else {
		mx, vx := stat.MeanVariance(BatchMeans(x, k), nil)
		my, vy := stat.MeanVariance(BatchMeans(y, k), nil)
		kf := float64(k)
		a, b := vx/kf, vy/kf
		res.Estimate, se2 = mx-my, a+b
		res.DF = se2 * se2 / (a*a/(kf-1) + b*b/(kf-1))
	}
	if se2 == 0 || math.IsNaN(res.DF) {
		// No spread among the batch means: only an exact tie is no evidence.
		res.DF = float64(k - 1)
		if res.Estimate == 0 {
			res.PValue = 1
			return res, nil
		}
		res.T = math.Copysign(math.Inf(1), res.Estimate)
	} else {
		res.T = res.Estimate / math.Sqrt(se2)
	}
	res.PValue = tPValue(res.T, res.DF, alt)
	return res, nil
}

// tPValue is the p-value of a t statistic on df degrees of freedom for the
// alternative (two-sided: twice the smaller tail).
func tPValue(t, df float64, alt Alternative) float64 {
	d := distuv.StudentsT{Mu: 0, Sigma: 1, Nu: df}
	switch alt {
	case Greater:
		return d.Survival(t)
	case Less:
		return d.CDF(t)
	}
	return math.Min(1, 2*d.Survival(math.Abs(t)))
}
