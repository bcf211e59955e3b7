package verdict

import (
	"fmt"
	"math"
	"slices"

	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/stat"

	"github.com/canaryjudge/judge/stats"
)

// series is one side of a metric after the NaN strategy and outlier
// removal, in time order.
type series struct {
	// values are the points kept, in time order. They may be the raw
	// series itself (nothing dropped or replaced) and are never written.
	values []float64
	// at is the position (step index) of each kept point in the raw series;
	// nil when every raw point was kept (see position).
	at []int
	// replaced marks a NaN that nanStrategy replace turned into 0; it is
	// never read as a counter value. nil when none was (see isReplaced).
	replaced []bool
	// measured reports whether the raw series had at least one real
	// (non-NaN) point.
	measured bool
	// dropped counts points removed as outliers.
	dropped int
}

// prepare applies the NaN strategy and outlier removal of m. Only NaN marks a
// missing point: ±Inf (histogram_quantile above the largest bucket) is data.
// Outlier fences are computed from the finite points, and infinite points
// are never removed as outliers: they are the regression, not noise.
func prepare(raw []float64, m *Metric) series {
	if len(raw) == 0 {
		return series{}
	}
	if m.Outliers == nil && !slices.ContainsFunc(raw, math.IsNaN) {
		return series{values: raw[:len(raw):len(raw)], measured: true}
	}
	s := series{values: make([]float64, 0, len(raw)), at: make([]int, 0, len(raw)), replaced: make([]bool, 0, len(raw))}
	for i, v := range raw {
		if math.IsNaN(v) {
			if m.NaNStrategy == NaNReplace {
				s.values, s.at, s.replaced = append(s.values, 0), append(s.at, i), append(s.replaced, true)
			}
			continue
		}
		s.measured = true
		s.values, s.at, s.replaced = append(s.values, v), append(s.at, i), append(s.replaced, false)
	}
	if m.Outliers == nil || len(s.values) == 0 {
		return s
	}
	finiteSorted := make([]float64, 0, len(s.values))
	for _, v := range s.values {
		if !math.IsInf(v, 0) {
			finiteSorted = append(finiteSorted, v)
		}
	}
	if len(finiteSorted) == 0 {
		return s
	}
	stats.Sort(finiteSorted)
	lower, upper := stats.Fences(finiteSorted, m.Outliers.Factor, true)
	kept := 0
	for i, v := range s.values {
		if math.IsInf(v, 0) || (v >= lower && v <= upper) {
			s.values[kept], s.at[kept], s.replaced[kept] = v, s.at[i], s.replaced[i]
			kept++
		}
	}
	s.dropped = len(s.values) - kept
	s.values, s.at, s.replaced = s.values[:kept], s.at[:kept], s.replaced[:kept]
	return s
}

// position is the step index in the raw series of the i-th kept point.
func (s *series) position(i int) int {
	if s.at == nil {
		return i
	}
	return s.at[i]
}

// isReplaced reports whether the i-th kept point is a NaN replaced by 0.
func (s *series) isReplaced(i int) bool { return s.replaced != nil && s.replaced[i] }

func sortedClone(x []float64) []float64 {
	s := slices.Clone(x)
	stats.Sort(s)
	return s
}

// describe summarises an ascending sample that may hold ±Inf: the extremes
// and quantiles are then infinite, the mean is infinite (NaN when both
// infinities occur) and the standard deviation is NaN.
func describe(sorted []float64) stats.Summary {
	n := len(sorted)
	if n == 0 {
		return stats.Summary{}
	}
	s := stats.Summary{
		Count: n, Min: sorted[0], Max: sorted[n-1], Mean: sorted[0],
		Median: stats.QuantileSorted(0.5, sorted),
		Q1:     stats.QuantileSorted(0.25, sorted),
		Q3:     stats.QuantileSorted(0.75, sorted),
	}
	switch {
	case math.IsInf(s.Min, 0) || math.IsInf(s.Max, 0):
		s.Mean, s.Std = floats.Sum(sorted)/float64(n), math.NaN()
	case n > 1:
		s.Mean, s.Std = stat.MeanStdDev(sorted, nil)
	}
	return s
}

// infinityStandIn returns what ±Inf stands for in the rank test, and how
// many points of the samples are infinite. Infinite points rank beyond
// every finite one: +Inf becomes 2·M+1 and −Inf −(2·M+1), where M is the
// largest finite magnitude of the samples, which keeps every rank (and so
// the p-value) and keeps the shift and interval finite.
func infinityStandIn(samples ...[]float64) (beyond float64, infinite int) {
	var biggest float64
	for _, x := range samples {
		if !hasInf(x) {
			continue // its magnitudes matter only beside an infinite point
		}
		for _, v := range x {
			if math.IsInf(v, 0) {
				infinite++
			}
		}
	}
	if infinite == 0 {
		return 1, 0 // no point is replaced
	}
	for _, x := range samples {
		for _, v := range x {
			if !math.IsInf(v, 0) {
				biggest = max(biggest, math.Abs(v))
			}
		}
	}
	return 2*biggest + 1, infinite
}

// hasInf reports whether x has an infinite point.
func hasInf(x []float64) bool {
	for _, v := range x {
		if math.IsInf(v, 0) {
			return true
		}
	}
	return false
}

// rankable returns x with ±Inf replaced by ±beyond (x itself when it has no
// infinite point). infinite is infinityStandIn's count over all the
// samples: when it is 0, x is returned without being scanned.
func rankable(x []float64, beyond float64, infinite int) []float64 {
	if infinite == 0 || !hasInf(x) {
		return x
	}
	out := slices.Clone(x)
	for i, v := range out {
		if math.IsInf(v, 0) {
			out[i] = math.Copysign(beyond, v)
		}
	}
	return out
}

// infiniteNote explains a rank test that ranked infinite points.
func infiniteNote(n int) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprintf("; %d infinite points ranked beyond every finite value", n)
}

// noData classifies a metric without enough data. A canary that stopped
// reporting while its baseline did not (no usable canary point, baseline
// points present) fails a critical metric in both judges, whatever
// mustHaveData says: a crashed canary must not pass. Otherwise mustHaveData
// turns missing data into a failure; a critical metric without data fails
// the canary only then (default judge) or always (Kayenta, which keeps the
// critical flag).
func noData(r *metricCase, reason string, kayenta bool) {
	m := r.metric
	canaryGone := (!r.canaryMeasured || len(r.canary) == 0) && r.controlMeasured && len(r.control) > 0
	switch {
	case m.Critical && canaryGone:
		r.Classification = NodataFail
		r.Critical = true
		r.Reason = reason + "; the canary stopped reporting a critical metric"
	case m.MustHaveData && (!kayenta || !m.Critical):
		r.Classification = NodataFail
		r.Critical = m.Critical && !kayenta
		r.Reason = reason + "; the metric must have data"
	default:
		r.Classification = Nodata
		r.Critical = kayenta && m.Critical
		r.Reason = reason + "; not scored"
		if kayenta && m.Critical {
			r.Reason = reason + "; the metric is critical"
		}
	}
}

// infiniteCanary classifies a metric as ERROR, and reports true, when its
// canary carries infinite points a test may not rank: any on a critical
// metric, more than the metric's InfiniteShare on another. An infinite
// canary point is broken data (a division by zero, a quantile beyond every
// bucket), and ranked it can read as an improvement (−Inf with direction
// increase): it must never end as a pass.
func infiniteCanary(r *metricCase) bool {
	n := 0
	for _, v := range r.canary {
		if math.IsInf(v, 0) {
			n++
		}
	}
	if n == 0 {
		return false
	}
	share := float64(n) / float64(len(r.canary))
	if !r.metric.Critical && share <= r.metric.InfiniteShare {
		return false
	}
	allowed := "a critical metric allows none"
	if !r.metric.Critical {
		allowed = fmt.Sprintf("more than its infiniteShare %g", r.metric.InfiniteShare)
	}
	fail(r, fmt.Sprintf("%d of %d canary points are infinite (+Inf or −Inf: a division by zero or a quantile beyond every bucket); %s: fix the query or the histogram's buckets", n, len(r.canary), allowed))
	return true
}

// fail classifies a metric whose test could not run as ERROR; it counts as
// not passing, and fails the analysis when the metric is critical.
func fail(r *metricCase, reason string) {
	r.Classification, r.Reason = Error, reason
	r.Critical = r.metric.Critical
	if r.Critical {
		r.Reason += "; critical metric"
	}
}

func missingReason(r *metricCase) string {
	reason := sideMissing(r)
	if r.hint != "" && (len(r.canary) == 0 || len(r.control) == 0) {
		reason += "; " + r.hint
	}
	return reason
}

// sideMissing is missingReason without the pair's hint.
func sideMissing(r *metricCase) string {
	switch {
	case (!r.canaryMeasured || !r.controlMeasured) && len(r.canary) > 0 && len(r.control) > 0:
		return "every canary or baseline point is NaN (replaced by 0, but nothing was measured)"
	case len(r.canary) == 0 && len(r.control) == 0:
		return "no data for canary or baseline"
	case len(r.canary) == 0 && r.canaryMeasured:
		return fmt.Sprintf("outlier removal left no canary points (baseline has %d)", len(r.control))
	case len(r.control) == 0 && r.controlMeasured:
		return fmt.Sprintf("outlier removal left no baseline points (canary has %d)", len(r.canary))
	case len(r.canary) == 0:
		return fmt.Sprintf("no canary data (baseline has %d points)", len(r.control))
	case len(r.control) == 0:
		return fmt.Sprintf("no baseline data (canary has %d points)", len(r.canary))
	}
	return fmt.Sprintf("only %d canary and %d baseline points, fewer than the %d per side needed",
		len(r.canary), len(r.control), r.metric.MinSamples)
}

// singleValue reports whether every value of a and b is the same.
func singleValue(a, b []float64) bool {
	v := a[0]
	for _, s := range [][]float64{a, b} {
		for _, x := range s {
			if x != v {
				return false
			}
		}
	}
	return true
}

// effectSize returns the configured effect size (meanRatio: the sign-safe
// relative mean, see relativeLevel) and the plain mean ratio for reports.
func effectSize(m *Metric, canary, control []float64, w float64) (effect, ratio float64) {
	ratio = stats.MeanRatio(canary, control)
	if m.EffectSize.Measure == MeasureCLES {
		return stats.CommonLanguage(w, len(canary), len(control)), ratio
	}
	return relativeLevel(mean(canary), mean(control)), ratio
}

func mean(x []float64) float64 {
	if len(x) == 0 {
		return math.NaN()
	}
	return floats.Sum(x) / float64(len(x))
}

// relativeLevel compares a canary level c with a baseline level b on the
// scale of the mean ratio but safe for levels at or below zero:
//
//	1 + (c − b) / |b|
//
// It equals c / b for b > 0, so ratio bounds such as allowedIncrease 1.1
// keep their meaning; for b < 0 a rise (−100 → −10) reads as an increase
// (1.9) instead of a ratio below 1 (0.1). A zero baseline gives +Inf for a
// rise, −Inf for a fall and 1 when both are zero; NaN when a level is
// undefined (both infinities).
func relativeLevel(c, b float64) float64 {
	switch {
	case b == 0 && c == 0:
		return 1
	case b == 0:
		return math.Copysign(math.Inf(1), c)
	case math.IsInf(b, 0) && c == b:
		return 1
	}
	return 1 + (c-b)/math.Abs(b)
}

// TimeAligned reports whether the canary and baseline series of a pair
// share their time grid: both scopes name the same start and step and the
// series are equally long. Kayenta's concurrent baseline and canary do.
func (p *MetricSetPair) TimeAligned() bool {
	c, okC := p.Scopes["control"]
	x, okX := p.Scopes["experiment"]
	if !okC || !okX || c.StepMillis <= 0 || c.StepMillis != x.StepMillis || len(p.Values.Control) != len(p.Values.Experiment) {
		return false
	}
	switch {
	case c.StartTimeMillis != 0 || x.StartTimeMillis != 0:
		return c.StartTimeMillis == x.StartTimeMillis
	case c.StartTimeIso != "" || x.StartTimeIso != "":
		return c.StartTimeIso == x.StartTimeIso
	}
	return false
}
