package stats

import (
	"cmp"
	"math/bits"
	"slices"
	"sync"

	lru "github.com/hashicorp/golang-lru/v2"
	"gonum.org/v1/gonum/stat/distuv"
)

// sorted returns s itself when it is already ascending (callers never
// modify it), else a sorted copy. Callers that sort once and call several
// functions of this package pay for one sort.
func sorted(s []float64) []float64 {
	if slices.IsSorted(s) {
		return s
	}
	c := slices.Clone(s)
	Sort(c)
	return c
}

// rankSums holds what the combined ranking of two samples yields.
type rankSums struct {
	u      float64 // rank sum of x minus n(n+1)/2
	tieSum float64 // Σ(t³ − t) over tie groups of the combined sample
	within float64 // Σ(t³ − t) over the tie groups inside x and inside y
	ties   bool
}

// rankSum ranks the combined ascending samples x and y with mid-ranks, in
// O(n+m). U is the count of pairs with x_i above y_j plus half the pairs
// tied: one pass finds, for each x_i, how many y lie below it. When no x
// equals a y the combined tie groups are the samples' own, so Σ(t³ − t) is
// withinTieSum; a tie across the samples takes the full merge.
func rankSum(x, y []float64) rankSums {
	var below int
	j := 0
	for _, v := range x {
		for j < len(y) && y[j] < v {
			j++
		}
		if j < len(y) && y[j] == v {
			return mergedRankSum(x, y)
		}
		below += j
	}
	tieSum := withinTieSum(x, y)
	return rankSums{u: float64(below), tieSum: tieSum, within: tieSum, ties: tieSum > 0}
}

// mergedRankSum is rankSum by merging the samples and giving each tie group
// its mid-rank.
func mergedRankSum(x, y []float64) rankSums {
	var r rankSums
	var rx float64
	i, j := 0, 0
	pos := 0 // values ranked so far
	for i < len(x) || j < len(y) {
		var v float64
		switch {
		case j == len(y) || (i < len(x) && x[i] <= y[j]):
			v = x[i]
		default:
			v = y[j]
		}
		a, b := 0, 0
		for i < len(x) && x[i] == v {
			i++
			a++
		}
		for j < len(y) && y[j] == v {
			j++
			b++
		}
		t := float64(a + b)
		mid := float64(pos) + (t+1)/2
		rx += float64(a) * mid
		if a+b > 1 {
			r.ties = true
			r.tieSum += t*t*t - t
		}
		pos += a + b
	}
	n := float64(len(x))
	r.u = rx - n*(n+1)/2
	r.within = withinTieSum(x, y)
	return r
}

// withinTieSum returns Σ(t³−t) over the tie groups inside x and inside y,
// both ascending.
func withinTieSum(x, y []float64) float64 {
	var s float64
	for _, v := range [][]float64{x, y} {
		for i := 0; i < len(v); {
			j := i + 1
			for j < len(v) && v[j] == v[i] {
				j++
			}
			t := float64(j - i)
			s += t*t*t - t
			i = j
		}
	}
	return s
}

// ranks returns the mid-ranks (1-based) of x in its original order, given
// s, the same values ascending: the mid-rank of a value is the mean of the
// positions its ties take in s.
func ranks(x, s []float64) []float64 {
	r := make([]float64, len(x))
	for i, v := range x {
		lo, hi := 0, len(s)
		for lo < hi { // first index with s[lo] >= v
			mid := int(uint(lo+hi) >> 1)
			if s[mid] < v {
				lo = mid + 1
			} else {
				hi = mid
			}
		}
		end := lo + 1
		if end < len(s) && s[end] == v { // ties: first index with s[end] > v
			for hi = len(s); end < hi; {
				mid := int(uint(end+hi) >> 1)
				if s[mid] <= v {
					end = mid + 1
				} else {
					hi = mid
				}
			}
		}
		r[i] = float64(lo+1+end) / 2
	}
	return r
}

// normalScores returns Φ⁻¹(r/(n+1)) of the mid-ranks r of x, centred on
// their mean, or nil when x is constant. One sort of the positions ranks
// the series (ties share their mid-rank), and the quantiles come from a
// table per length (scoreTable): the same numbers as ranking by binary
// search and evaluating Φ⁻¹ for every point, at a fraction of the cost.
func normalScores(x []float64) []float64 { return normalScoresInto(nil, x) }

// normalScoresInto is normalScores written into dst when it holds len(x)
// values (allocated otherwise).
func normalScoresInto(dst, x []float64) []float64 {
	n := len(x)
	buf := pointBufs.Get().(*[]point)
	defer pointBufs.Put(buf)
	order := sized(buf, n)
	for i, v := range x {
		order[i] = point{v, int32(i)} //nolint:gosec // series are far shorter than 2³¹
	}
	sortPoints(order)
	if order[0].v == order[n-1].v {
		return nil
	}
	table := scoreTable(n)
	q := dst
	if len(q) != n {
		q = make([]float64, n)
	}
	for i := 0; i < n; {
		j := i + 1
		for j < n && order[j].v == order[i].v {
			j++
		}
		// Positions i+1 … j share the mid-rank (i+1+j)/2, at half-rank
		// index i+1+j of the table.
		v := table[i+1+j]
		for k := i; k < j; k++ {
			q[order[k].i] = v
		}
		i = j
	}
	var mean float64
	for _, v := range q {
		mean += v
	}
	mean /= float64(n)
	for t := range q {
		q[t] -= mean
	}
	return q
}

// pointBufs recycles normalScores' sort buffers: ranking is done for
// every series of every analysis.
var pointBufs = sync.Pool{New: func() any { return new([]point) }}

// floatBufs recycles working memory that a function keeps only until it
// returns: the normal scores of the dependence estimates (which keep only
// sums of them), the innovations of the jump test.
var floatBufs = sync.Pool{New: func() any { return new([]float64) }}

// sized returns *buf with n values, grown if need be (and kept grown in
// *buf for the pool it came from).
func sized[T any](buf *[]T, n int) []T {
	*buf = slices.Grow((*buf)[:0], n)[:n]
	return *buf
}

// point is a value and its position in its series.
type point struct {
	v float64
	i int32
}

// sortPoints sorts points by value, as Sort sorts a sample (quicksort
// with a median-of-three pivot and Hoare's partition, which splits runs of
// equal values evenly, finishing slices of at most insertionMax points by
// insertion sort), comparing values directly rather than through a
// function, which ranking every series spends most of its time on: on
// fresh random series of 60 and 240 points it takes 0.6 of the time of a
// three-way quicksort with insertion sort below 12, the sort it replaced.
// The order within ties is unspecified: ties share their mid-rank. Past
// 2·log₂(n) levels of partitioning the rest goes to slices.SortFunc, so a
// series crafted against the median-of-three pivot costs O(n log n), not
// O(n²). From radixMin points on it sorts by radix (radixSortPoints).
func sortPoints(p []point) {
	if len(p) >= radixMin {
		tmp := pointBufs.Get().(*[]point)
		radixSortPoints(p, sized(tmp, len(p)))
		pointBufs.Put(tmp)
		return
	}
	sortPointsWithin(p, 2*bits.Len(uint(len(p))))
}

func sortPointsWithin(a []point, depth int) {
	for len(a) > insertionMax {
		if depth == 0 {
			slices.SortFunc(a, func(x, y point) int { return cmp.Compare(x.v, y.v) })
			return
		}
		depth--
		m, l := len(a)/2, len(a)-1
		if a[m].v < a[0].v {
			a[m], a[0] = a[0], a[m]
		}
		if a[l].v < a[0].v {
			a[l], a[0] = a[0], a[l]
		}
		if a[l].v < a[m].v {
			a[l], a[m] = a[m], a[l]
		}
		pivot := a[m].v
		i, j := 0, l
		for i <= j {
			for a[i].v < pivot {
				i++
			}
			for a[j].v > pivot {
				j--
			}
			if i <= j {
				a[i], a[j] = a[j], a[i]
				i++
				j--
			}
		}
		// Recurse into the smaller part, loop on the larger.
		if j+1 < len(a)-i {
			sortPointsWithin(a[:j+1], depth)
			a = a[i:]
		} else {
			sortPointsWithin(a[i:], depth)
			a = a[:j+1]
		}
	}
	for i := 1; i < len(a); i++ {
		v, j := a[i], i
		for ; j > 0 && a[j-1].v > v.v; j-- {
			a[j] = a[j-1]
		}
		a[j] = v
	}
}

// Bounds of the normal-score cache: tables for series up to
// scoreCacheMaxN points are kept, the scoreCacheEntries most recently used
// (at most about 64 × 256 KiB = 16 MiB); a longer series computes its table
// for its own request, so memory follows the points a request carries.
const (
	scoreCacheMaxN    = 1 << 14
	scoreCacheEntries = 64
)

// scoreTables caches, per series length n, Φ⁻¹(h/2/(n+1)) for every
// half-rank h = 0 … 2n: the normal score of every possible mid-rank.
// lru.New fails only for a size below 1.
var scoreTables, _ = lru.New[int, []float64](scoreCacheEntries)

func scoreTable(n int) []float64 {
	if t, ok := scoreTables.Get(n); ok {
		return t
	}
	t := make([]float64, 2*n+1)
	for h := 2; h <= 2*n; h++ {
		t[h] = distuv.UnitNormal.Quantile(float64(h) / 2 / float64(n+1))
	}
	if n <= scoreCacheMaxN {
		scoreTables.Add(n, t)
	}
	return t
}
