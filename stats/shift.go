package stats

import (
	"math"
	"math/bits"
	"slices"
)

// pairwiseDiffs is the implicit multiset of the n·m differences x_i − y_j of
// two ascending samples. Its order statistics are selected without
// materialising the set: the count of differences at or below a threshold t
// takes one O(n+m) two-pointer sweep, because x_i − y_j is increasing in i
// and decreasing in j. A selection narrows a bracket of thresholds by
// safeguarded interpolation on those counts (regula falsi with the Illinois
// modification, falling back to bisection of the float64 bit pattern, which
// needs at most 64 steps), and once the bracket holds at most n+m
// differences it enumerates them and selects in place. Every threshold snaps
// to an actual difference, so the result is exact.
//
// This is the value-space search used by pragmastat (Akinshin, go/shift_impl.go)
// with interpolated pivots; see also Johnson & Mizoguchi (1978), "Selecting
// the Kth element in X+Y and X1+X2+...+Xm", SIAM J. Comput. 7(2):147–153.
type pairwiseDiffs struct {
	x, y []float64
	buf  []float64
	// last and prev are the two most recent counts on the probit scale,
	// kept from one selection to the next; until two counts exist they are
	// points of the normal model that newPairwiseDiffs fits.
	last, prev probitPoint
}

// probitPoint is a threshold and its count of differences at or below it on
// the probit scale.
type probitPoint struct{ t, z float64 }

// newPairwiseDiffs returns the differences of the ascending samples x and y
// with buf's storage for enumeration (allocated when shorter than
// max(n+m, 64), the most a selection collects). Its first threshold comes
// from a normal model of the differences: centred on median(x) − median(y),
// with the standard deviation √(IQR(x)² + IQR(y)²)/1.349. A poor model
// costs steps, never exactness; a degenerate one (zero spread) is not used.
func newPairwiseDiffs(x, y, buf []float64) pairwiseDiffs {
	if need := max(len(x)+len(y), 64); len(buf) < need {
		buf = make([]float64, need)
	}
	p := pairwiseDiffs{x: x, y: y, buf: buf}
	center := roughQuantile(x, 0.5) - roughQuantile(y, 0.5)
	ix := roughQuantile(x, 0.75) - roughQuantile(x, 0.25)
	iy := roughQuantile(y, 0.75) - roughQuantile(y, 0.25)
	if spread := math.Hypot(ix, iy) / 1.349; spread > 0 && !math.IsInf(spread, 0) && !math.IsInf(center, 0) {
		p.prev, p.last = probitPoint{t: center - spread, z: -1}, probitPoint{t: center, z: 0}
	}
	return p
}

// roughQuantile is the order statistic of the ascending sample s nearest
// the fraction q.
func roughQuantile(s []float64, q float64) float64 {
	return s[int(q*float64(len(s)-1)+0.5)]
}

// orderStat is a pairwise difference value together with the number of
// differences at or below it and the smallest difference above it (+Inf if
// none).
type orderStat struct {
	value   float64
	countLE int
	next    float64
}

func (p *pairwiseDiffs) size() int { return len(p.x) * len(p.y) }

// lowest is a virtual bound below every difference.
func (p *pairwiseDiffs) lowest() orderStat {
	return orderStat{value: math.Inf(-1), countLE: 0, next: p.x[0] - p.y[len(p.y)-1]}
}

// highest is the largest difference.
func (p *pairwiseDiffs) highest() orderStat {
	return orderStat{value: p.x[len(p.x)-1] - p.y[0], countLE: p.size(), next: math.Inf(1)}
}

// kth returns the k-th smallest difference, 1 ≤ k ≤ n·m.
func (p *pairwiseDiffs) kth(k int) orderStat {
	return p.kthFrom(k)
}

// kthFrom returns the k-th smallest difference, starting the search from the
// tightest bracket that the already known order statistics give.
func (p *pairwiseDiffs) kthFrom(k int, known ...orderStat) orderStat {
	lo, hi := p.lowest(), p.highest()
	for _, s := range known {
		if s.countLE < k && s.value > lo.value {
			lo = s
		}
		if s.countLE >= k && s.value < hi.value {
			hi = s
		}
	}
	return p.selectRank(k, lo, hi)
}

// median returns the median of the differences: the middle order statistic,
// or the mean of the two middle ones when n·m is even.
func (p *pairwiseDiffs) median() float64 { return p.medianBetween() }

// medianBetween is median, using known order statistics as a starting bracket.
func (p *pairwiseDiffs) medianBetween(known ...orderStat) float64 {
	nm := p.size()
	if nm%2 == 1 {
		return p.kthFrom((nm+1)/2, known...).value
	}
	r := nm / 2
	s := p.kthFrom(r, known...)
	upper := s.next
	if s.countLE >= r+1 {
		upper = s.value
	}
	mid := (s.value + upper) / 2
	if math.IsInf(mid, 0) {
		mid = s.value/2 + upper/2
	}
	return mid
}

// selectRank returns the k-th smallest difference given lo with
// lo.countLE < k and hi with hi.countLE ≥ k.
//
// Each step counts the differences at or below a threshold chosen by the
// secant through the last two counts (or the model's points before them),
// on the probit scale z(c) = Φ⁻¹((c + ½)/(nm + 1)), where the counts of
// differences of two roughly normal samples are nearly linear in the
// threshold, tails included; whenever the secant leaves the bracket, it
// interpolates between the bracket's ends instead (regula falsi,
// Illinois-weighted). Once one side is within half the enumeration
// limit of k, the step aims an eighth of that limit past k, so the next
// count closes the bracket instead of creeping up on k; that count collects
// the differences between the near side and its threshold as it goes, and
// selects among them when the bracket has closed. Three steps that do
// not halve the bracket bring a bisection of the float64 bit pattern, so
// the steps stay bounded whatever the data (at most 64 bisections).
func (p *pairwiseDiffs) selectRank(k int, lo, hi orderStat) orderStat {
	limit := max(len(p.x)+len(p.y), 64)
	total := float64(p.size() + 1)
	probit := func(c float64) float64 { return math.Sqrt2 * math.Erfinv(2*(c+0.5)/total-1) }
	// The probit values are computed when first needed: the bracket ends'
	// only for regula falsi, the target once per target.
	zLo, zHi := math.NaN(), math.NaN()
	target, zk := math.NaN(), 0.0
	wLo, wHi := 1.0, 1.0
	lastHi := 0 // +1 when the last step moved hi, -1 when it moved lo
	stalls := 0
	for {
		if lo.next >= hi.value {
			// Every difference in (lo, hi] equals hi.
			return hi
		}
		before := hi.countLE - lo.countLE
		if before <= limit {
			return p.enumerate(k, lo, hi)
		}
		aim := float64(k) - 0.5
		switch {
		case k-lo.countLE <= limit/2:
			aim = float64(k + limit/8)
		case hi.countLE-k < limit/2:
			aim = float64(k - limit/8)
		}
		if aim != target {
			target, zk = aim, probit(aim)
		}
		a, b := lo.next, hi.value
		t := math.NaN()
		switch {
		case stalls >= 3:
			t = bitMidpoint(a, b)
			stalls = 0
		case p.last.z != p.prev.z:
			t = p.last.t + (zk-p.last.z)*(p.last.t-p.prev.t)/(p.last.z-p.prev.z)
		}
		if !(t >= a && t < b) {
			if math.IsNaN(zLo) {
				zLo = probit(float64(lo.countLE))
			}
			if math.IsNaN(zHi) {
				zHi = probit(float64(hi.countLE))
			}
			fa, fb := (zLo-zk)*wLo, (zHi-zk)*wHi
			t = a + (b-a)*(-fa/(fb-fa))
		}
		if !(t >= a) {
			t = a
		}
		if t >= b {
			t = max(math.Nextafter(b, math.Inf(-1)), a)
		}
		var c int
		var maxLE, minGT float64
		switch {
		case aim > float64(k):
			// Closing from below: the differences in (lo, t] are
			// collected as they are counted, so a count that reaches k
			// selects among them without another pass.
			bc := p.band(lo.value, t, limit)
			c, maxLE, minGT = lo.countLE+bc.n, bc.b.maxLE, bc.b.minGT
			if c >= k && bc.n <= limit {
				return pick(bc.vals, k, lo.countLE, bc.b.minGT)
			}
		case aim < float64(k)-0.5:
			// Closing from above: likewise with (t, hi].
			bc := p.band(t, hi.value, limit)
			c, maxLE, minGT = hi.countLE-bc.n, bc.a.maxLE, bc.a.minGT
			if c < k && bc.n <= limit {
				return pick(bc.vals, k, c, hi.next)
			}
		default:
			c, maxLE, minGT = p.count(t)
		}
		z := probit(float64(c))
		p.prev, p.last = p.last, probitPoint{t: t, z: z}
		if c >= k {
			hi, zHi = orderStat{value: maxLE, countLE: c, next: minGT}, z
			if lastHi == 1 {
				wLo /= 2
			}
			wHi, lastHi = 1, 1
		} else {
			lo, zLo = orderStat{value: t, countLE: c, next: minGT}, z
			if lastHi == -1 {
				wHi /= 2
			}
			wLo, lastHi = 1, -1
		}
		if 2*(hi.countLE-lo.countLE) > before {
			stalls++
		} else {
			stalls = 0
		}
	}
}

// count returns the number of differences at or below t, the largest of
// them and the smallest difference above t.
func (p *pairwiseDiffs) count(t float64) (c int, maxLE, minGT float64) {
	x, y := p.x, p.y
	n, m := len(x), len(y)
	maxLE, minGT = math.Inf(-1), math.Inf(1)
	// Walk the staircase that separates differences ≤ t from those > t:
	// row i stops at the first column j with x_i − y_j ≤ t. Every difference
	// visited above t is at most the smallest one of its row beyond the
	// staircase, so the minimum of the visited ones is minGT.
	i, j := 0, 0
	for i < n && j < m {
		d := x[i] - y[j]
		if d <= t {
			c += m - j
			maxLE = max(maxLE, d)
			i++
		} else {
			minGT = min(minGT, d)
			j++
		}
	}
	return c, maxLE, minGT
}

// enumerate collects the differences in (lo.value, hi.value] and selects the
// k-th smallest overall among them.
func (p *pairwiseDiffs) enumerate(k int, lo, hi orderStat) orderStat {
	bc := p.band(lo.value, hi.value, hi.countLE-lo.countLE)
	return pick(bc.vals, k, lo.countLE, hi.next)
}

// bandCounts describes the differences in (a, b] that band collected: how
// many there are, and the neighbours of both ends.
type bandCounts struct {
	n    int
	vals []float64 // the n differences when n ≤ limit (in p.buf)
	a, b neighbours
}

// neighbours are the differences next to a threshold: the largest at or
// below it and the smallest above it.
type neighbours struct{ maxLE, minGT float64 }

func noNeighbours() neighbours { return neighbours{maxLE: math.Inf(-1), minGT: math.Inf(1)} }

// see takes in row xi's differences on either side of its staircase
// column j, the first with xi − y_j at or below the threshold. Plain
// comparisons: the differences are finite, and min/max's NaN and
// signed-zero handling costs a fifth of the walk.
func (nb *neighbours) see(xi float64, y []float64, j int) {
	if j > 0 {
		if d := xi - y[j-1]; d < nb.minGT {
			nb.minGT = d
		}
	}
	if j < len(y) {
		if d := xi - y[j]; d > nb.maxLE {
			nb.maxLE = d
		}
	}
}

// band collects the differences in (a, b], a < b, into p.buf while there
// are at most limit of them (limit ≤ len(p.buf)), and counts them all, in
// one walk of the two staircases: row i's differences in the band are the
// columns from the first with x_i − y_j ≤ b up to the first with
// x_i − y_j ≤ a. The differences next to each staircase give the
// neighbours of a and b.
func (p *pairwiseDiffs) band(a, b float64, limit int) bandCounts {
	x, y := p.x, p.y
	m := len(y)
	buf := p.buf
	bc := bandCounts{a: noNeighbours(), b: noNeighbours()}
	jB, jA := 0, 0
	for _, xi := range x {
		for jB < m && xi-y[jB] > b {
			jB++
		}
		for jA < m && xi-y[jA] > a {
			jA++
		}
		bc.b.see(xi, y, jB)
		bc.a.see(xi, y, jA)
		// Written in place, not appended: the buffer may be the caller's
		// stack array, which an append could move to the heap.
		if bc.n+jA-jB <= limit {
			for j := jB; j < jA; j++ {
				buf[bc.n+j-jB] = xi - y[j]
			}
		}
		bc.n += jA - jB
	}
	if bc.n <= limit {
		bc.vals = buf[:bc.n]
	}
	return bc
}

// pick selects the k-th smallest difference overall from a band that band
// collected whole (buf), given that below differences lie under the band
// and that next is the smallest difference above it.
func pick(buf []float64, k, below int, next float64) orderStat {
	v := selectNth(buf, k-below-1)
	s := orderStat{value: v, countLE: below, next: next}
	for _, d := range buf {
		if d <= v {
			s.countLE++
		} else if d < s.next {
			s.next = d
		}
	}
	return s
}

// selectNth partially orders a in place and returns its k-th smallest value
// (0-based): quickselect with a median-of-three pivot and three-way
// partitioning, falling back to sorting when it stops making progress.
func selectNth(a []float64, k int) float64 {
	lo, hi := 0, len(a)-1
	for budget := 2*bits.Len(uint(len(a))) + 8; hi > lo; budget-- {
		if budget == 0 {
			slices.Sort(a[lo : hi+1])
			return a[k]
		}
		pivot := medianOfThree(a[lo], a[lo+(hi-lo)/2], a[hi])
		lt, i, gt := lo, lo, hi
		for i <= gt {
			switch v := a[i]; {
			case v < pivot:
				a[lt], a[i] = a[i], a[lt]
				lt++
				i++
			case v > pivot:
				a[gt], a[i] = a[i], a[gt]
				gt--
			default:
				i++
			}
		}
		switch {
		case k < lt:
			hi = lt - 1
		case k > gt:
			lo = gt + 1
		default:
			return pivot
		}
	}
	return a[k]
}

func medianOfThree(a, b, c float64) float64 {
	if a > b {
		a, b = b, a
	}
	if b > c {
		b = c
	}
	return max(a, b)
}

// bitMidpoint returns a float64 halfway between a and b in the order of their
// bit patterns, so that repeated bisection ends within 64 steps whatever the
// scale of the values.
func bitMidpoint(a, b float64) float64 {
	oa, ob := orderedBits(a), orderedBits(b)
	return fromOrderedBits(oa>>1 + ob>>1 + (oa & ob & 1))
}

func orderedBits(f float64) int64 {
	b := int64(math.Float64bits(f)) //nolint:gosec // reinterpreting the bits is the point
	if b < 0 {
		return math.MinInt64 - b
	}
	return b
}

func fromOrderedBits(o int64) float64 {
	if o < 0 {
		o = math.MinInt64 - o
	}
	return math.Float64frombits(uint64(o)) //nolint:gosec // reinterpreting the bits is the point
}
