package stats

import (
	"math/bits"
	"slices"
)

// Sort sorts a sample ascending in place. It is slices.Sort for samples
// without NaN (where a NaN lands is unspecified): comparing with < alone,
// as a judge's samples need, it runs in about 0.55 of slices.Sort's time
// on the 60-point windows a canary analysis sorts by the thousand (fresh
// random data each time, 0.9 against 1.6 µs: a benchmark that sorts the
// same data over and over lets the branch predictor learn it).
//
// Quicksort with a median-of-three pivot and Hoare's partition, which
// splits runs of equal values evenly; slices of at most insertionMax
// values are finished by insertion sort, whose one mispredicted branch per
// value beats a partition's one in two comparisons at these sizes. Past
// 2·log₂(n) levels of recursion the rest goes to slices.Sort, so the worst
// case stays O(n log n).
//
// From radixMin values on it sorts by radix instead (radixSort), which
// makes no comparisons.
func Sort(x []float64) {
	if len(x) >= radixMin {
		radixSort(x)
		return
	}
	quickSort(x, 2*bits.Len(uint(len(x))))
}

// insertionMax is the longest slice insertion sort finishes: on fresh
// random data, cut-offs of 64–96 sort 60 to 1,000 points fastest (16, the
// usual choice, is 1.2–1.45× slower).
const insertionMax = 64

func quickSort(a []float64, depth int) {
	for len(a) > insertionMax {
		if depth == 0 {
			slices.Sort(a)
			return
		}
		depth--
		m, l := len(a)/2, len(a)-1
		if a[m] < a[0] {
			a[m], a[0] = a[0], a[m]
		}
		if a[l] < a[0] {
			a[l], a[0] = a[0], a[l]
		}
		if a[l] < a[m] {
			a[l], a[m] = a[m], a[l]
		}
		p := a[m]
		i, j := 0, l
		for i <= j {
			for a[i] < p {
				i++
			}
			for a[j] > p {
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
			quickSort(a[:j+1], depth)
			a = a[i:]
		} else {
			quickSort(a[i:], depth)
			a = a[:j+1]
		}
	}
	for i := 1; i < len(a); i++ {
		v, j := a[i], i
		for ; j > 0 && a[j-1] > v; j-- {
			a[j] = a[j-1]
		}
		a[j] = v
	}
}
