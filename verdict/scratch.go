package verdict

import (
	"slices"
	"sync"

	"github.com/canaryjudge/judge/stats"
)

// scratch is an analysis' working memory that its result does not keep:
// the sorted copies of the series and the metric cases. Analyze takes one
// from scratchPool and gives it back, so a busy server does not turn them
// into garbage on every request (at 10 metrics × 60 points they were half
// of what the kayenta judge allocated).
type scratch struct {
	floats []float64
	cases  []metricCase
}

// Scratches above these sizes are not kept: one huge analysis must not
// hold its memory for the small ones after it.
const (
	maxPooledFloats = 1 << 18
	maxPooledCases  = 1 << 10
)

var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

// getScratch returns a scratch with room for the given numbers of points
// and cases, so the cases' addresses stay fixed while they are judged.
func getScratch(points, cases int) *scratch {
	s := scratchPool.Get().(*scratch) //nolint:forcetypeassert // the pool holds only scratches
	s.floats = slices.Grow(s.floats[:0], points)
	s.cases = slices.Grow(s.cases[:0], cases)
	return s
}

// release clears the cases (they point at the request's data) and gives
// the scratch back.
func (s *scratch) release() {
	clear(s.cases)
	if cap(s.floats) > maxPooledFloats || cap(s.cases) > maxPooledCases {
		return
	}
	scratchPool.Put(s)
}

// sortedClone is x ascending, in the scratch's memory while it has room.
func (s *scratch) sortedClone(x []float64) []float64 {
	n := len(s.floats)
	if cap(s.floats)-n < len(x) {
		return sortedClone(x)
	}
	s.floats = append(s.floats, x...)
	c := s.floats[n : n+len(x) : n+len(x)]
	stats.Sort(c)
	return c
}

// newCase returns a zeroed case in the scratch, whose address stays fixed
// while the cases fit the room getScratch made (a new one beyond).
func (s *scratch) newCase() *metricCase {
	if len(s.cases) == cap(s.cases) {
		return new(metricCase)
	}
	s.cases = s.cases[:len(s.cases)+1]
	return &s.cases[len(s.cases)-1]
}
