package stats

import (
	"math"
	"sync"
)

// radixMin is the shortest sample Sort and sortPoints order by radix: on
// fresh random samples the radix sort takes 0.75 of the quicksort's time
// at 120 values, half at 240 and a third at 1,000, but more at 60, where
// its eight byte histograms outweigh a handful of comparisons.
const radixMin = 128

// keyBufs recycles radixSort's key buffers.
var keyBufs = sync.Pool{New: func() any { return new([]uint64) }}

// sortableBits maps a float64 to a uint64 whose unsigned order is the
// float's: the sign bit set on non-negative values, every bit flipped on
// negative ones. −0 lands just below +0 and NaN beyond the infinities.
func sortableBits(v float64) uint64 {
	u := math.Float64bits(v)
	if u>>63 == 1 {
		return ^u
	}
	return u | 1<<63
}

// fromSortableBits inverts sortableBits.
func fromSortableBits(u uint64) float64 {
	if u>>63 == 1 {
		return math.Float64frombits(u &^ (1 << 63))
	}
	return math.Float64frombits(^u)
}

// byteCounts holds, for each of a key's eight bytes, how many keys have
// each value of it; then, by prefix sums, where each value's keys go.
type byteCounts [8][256]uint32

// offsets turns the counts of byte d into the first position of each of
// its values, and reports whether byte d sorts anything: a byte every key
// shares leaves the order as it is, and its pass is skipped.
func (c *byteCounts) offsets(d int, n uint32) bool {
	var sum uint32
	for b, k := range c[d] {
		if k == n {
			return false
		}
		c[d][b], sum = sum, sum+k
	}
	return true
}

// radixSort sorts x ascending by a least-significant-digit radix sort of
// sortableBits, a byte a pass (Knuth, TAOCP vol. 3, §5.2.5): one pass
// counts every byte's values, then each byte that the keys do not all
// share distributes them stably by it. It sorts n values in O(8n + 8·256),
// without comparisons, whose mispredicted branches are most of a
// quicksort's time on random data.
func radixSort(x []float64) {
	n := len(x)
	buf := keyBufs.Get().(*[]uint64)
	defer keyBufs.Put(buf)
	b := sized(buf, 2*n)
	keys, tmp := b[:n], b[n:]
	var c byteCounts
	for i, v := range x {
		k := sortableBits(v)
		keys[i] = k
		for d := range 8 {
			c[d][k>>(8*d)&0xff]++
		}
	}
	for d := range 8 {
		if !c.offsets(d, uint32(n)) { //nolint:gosec // samples are far shorter than 2³²
			continue
		}
		for _, k := range keys {
			b := k >> (8 * d) & 0xff
			tmp[c[d][b]] = k
			c[d][b]++
		}
		keys, tmp = tmp, keys
	}
	for i, k := range keys {
		x[i] = fromSortableBits(k)
	}
}

// radixSortPoints is radixSort of points by value, stable; tmp holds
// len(p) points.
func radixSortPoints(p, tmp []point) {
	n := len(p)
	var c byteCounts
	for _, q := range p {
		k := sortableBits(q.v)
		for d := range 8 {
			c[d][k>>(8*d)&0xff]++
		}
	}
	src, dst := p, tmp
	for d := range 8 {
		if !c.offsets(d, uint32(n)) { //nolint:gosec // series are far shorter than 2³²
			continue
		}
		for _, q := range src {
			b := sortableBits(q.v) >> (8 * d) & 0xff
			dst[c[d][b]] = q
			c[d][b]++
		}
		src, dst = dst, src
	}
	if n > 0 && &src[0] != &p[0] {
		copy(p, src)
	}
}
