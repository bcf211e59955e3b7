package stats

import (
	"math/rand/v2"
	"runtime"
	"testing"
)

// TestNormalScoreCacheBounded is the regression test for an unbounded
// cache of normal-score tables (issue 30, row 5): requests of 30 distinct
// series lengths near 90,000 points grew the service by 3.4 GiB. Tables
// for long series are not kept, and the cache holds at most
// scoreCacheEntries tables of at most scoreCacheMaxN points.
func TestNormalScoreCacheBounded(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 30))
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	for i := range 30 {
		x := make([]float64, 90_000+i)
		for j := range x {
			x[j] = r.NormFloat64()
		}
		if q := normalScores(x); len(q) != len(x) {
			t.Fatalf("%d scores for %d points", len(q), len(x))
		}
	}
	for n := 100; n < 200; n++ {
		scoreTable(scoreCacheMaxN - n)
	}
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	// The 30 long tables alone would hold 43 MB; the short ones at most
	// scoreCacheEntries·(2·scoreCacheMaxN+1)·8 bytes.
	limit := scoreCacheEntries * (2*scoreCacheMaxN + 1) * 8
	if got := scoreCacheBytes(); got > limit {
		t.Errorf("the cache holds %d bytes, more than its bound %d", got, limit)
	}
	if grew := int64(after.HeapAlloc) - int64(before.HeapAlloc); grew > int64(limit)+4<<20 {
		t.Errorf("the heap grew by %d bytes after the requests ended, more than the cache's bound %d plus 4 MiB", grew, limit)
	}
	if _, ok := scoreTables.Peek(90_000); ok {
		t.Error("a 90,000-point table is cached")
	}
}

// scoreCacheBytes is the memory the cached tables hold.
func scoreCacheBytes() int {
	total := 0
	for _, n := range scoreTables.Keys() {
		if t, ok := scoreTables.Peek(n); ok {
			total += 8 * len(t)
		}
	}
	return total
}
