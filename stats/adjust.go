package stats

import (
	"cmp"
	"math"
	"slices"
)

// AdjustHolm returns Holm's step-down adjusted p-values, as R's
// p.adjust(p, "holm"): with p_(1) ≤ … ≤ p_(k) the k non-NaN p-values,
//
//	p̃_(i) = min(1, max_{j ≤ i} (k − j + 1)·p_(j)).
//
// Rejecting where p̃ ≤ α controls the family-wise error rate at α under any
// dependence. NaN entries (missing p-values) stay NaN and are not counted.
//
// Reference: Holm (1979), "A simple sequentially rejective multiple test
// procedure", Scand. J. Statist. 6:65–70.
func AdjustHolm(p []float64) []float64 {
	idx, out := presentOrder(p, false)
	k := float64(len(idx))
	running := 0.0
	for r, i := range idx {
		running = max(running, (k-float64(r))*p[i])
		out[i] = min(1, running)
	}
	return out
}

// AdjustBH returns Benjamini-Hochberg adjusted p-values, as R's
// p.adjust(p, "BH"): with p_(1) ≤ … ≤ p_(k) the k non-NaN p-values,
//
//	p̃_(i) = min(1, min_{j ≥ i} k·p_(j)/j).
//
// Rejecting where p̃ ≤ q controls the false discovery rate at q for
// independent or positively dependent tests. NaN entries stay NaN.
//
// Reference: Benjamini & Hochberg (1995), "Controlling the false discovery
// rate", JRSS B 57(1):289–300.
func AdjustBH(p []float64) []float64 {
	idx, out := presentOrder(p, true)
	k := float64(len(idx))
	running := math.Inf(1)
	for r, i := range idx {
		rank := k - float64(r) // idx is descending
		running = min(running, k/rank*p[i])
		out[i] = min(1, running)
	}
	return out
}

// presentOrder returns the indices of the non-NaN p-values sorted ascending
// (or descending) by value, stable in index, and an output slice with NaN
// in the missing positions.
func presentOrder(p []float64, descending bool) ([]int, []float64) {
	out := make([]float64, len(p))
	idx := make([]int, 0, len(p))
	for i, v := range p {
		if math.IsNaN(v) {
			out[i] = math.NaN()
			continue
		}
		idx = append(idx, i)
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		if descending {
			return cmp.Compare(p[b], p[a])
		}
		return cmp.Compare(p[a], p[b])
	})
	return idx, out
}
