package verdict

import (
	"fmt"
	"math"
	"strings"

	"gonum.org/v1/gonum/floats"

	"github.com/canaryjudge/judge/stats"
)

// thresholdTest checks an aggregate of the canary against absolute bounds and
// against the same aggregate of the baseline. Ratio bounds compare the
// sign-safe relative level of the two aggregates (relativeLevel: the plain
// ratio canary/baseline when the baseline aggregate is positive).
func thresholdTest(r *metricCase, step float64) {
	m, t := r.metric, r.metric.Threshold
	needsBaseline := t.MinRatio != nil || t.MaxRatio != nil
	if !r.canaryMeasured || len(r.canary) == 0 || (needsBaseline && (!r.controlMeasured || len(r.control) == 0)) {
		noData(r, missingReason(r), false)
		return
	}
	v, why := aggregate(t.Aggregate, r.canarySeries, r.canarySorted, step)
	if why != "" {
		noData(r, "canary: "+why, false)
		return
	}
	if math.IsNaN(v) {
		fail(r, fmt.Sprintf("canary %s is undefined (the canary holds both +Inf and -Inf)", t.Aggregate))
		return
	}
	r.Aggregate = ptr(v)
	var fails []string
	high, low := false, false
	if t.Max != nil && v > *t.Max {
		high = true
		fails = append(fails, fmt.Sprintf("canary %s %s is above the maximum %g", t.Aggregate, fmtFloat(v), *t.Max))
	}
	if t.Min != nil && v < *t.Min {
		low = true
		fails = append(fails, fmt.Sprintf("canary %s %s is below the minimum %g", t.Aggregate, fmtFloat(v), *t.Min))
	}
	if needsBaseline {
		b, why := aggregate(t.Aggregate, r.controlSeries, r.controlSorted, step)
		if why != "" {
			noData(r, "baseline: "+why, false)
			return
		}
		ratio := relativeLevel(v, b)
		if math.IsNaN(ratio) {
			fail(r, fmt.Sprintf("canary/baseline %s ratio is undefined (%s / %s)", t.Aggregate, fmtFloat(v), fmtFloat(b)))
			return
		}
		r.EffectSize = finite(ratio)
		kind := "ratio"
		if b < 0 {
			kind = "relative level 1 + (canary − baseline)/|baseline|"
		}
		if t.MaxRatio != nil && ratio > *t.MaxRatio {
			high = true
			fails = append(fails, fmt.Sprintf("canary/baseline %s %s %s (%s / %s) is above %g", t.Aggregate, kind, fmtFloat(ratio), fmtFloat(v), fmtFloat(b), *t.MaxRatio))
		}
		if t.MinRatio != nil && ratio < *t.MinRatio {
			low = true
			fails = append(fails, fmt.Sprintf("canary/baseline %s %s %s (%s / %s) is below %g", t.Aggregate, kind, fmtFloat(ratio), fmtFloat(v), fmtFloat(b), *t.MinRatio))
		}
	}
	switch {
	case high:
		r.Classification = High
	case low:
		r.Classification = Low
	default:
		r.Classification = Pass
		r.Reason = fmt.Sprintf("canary %s %s is within the threshold bounds (n=%d)", t.Aggregate, fmtFloat(v), len(r.canary))
		return
	}
	r.Critical = m.Critical
	r.Reason = strings.Join(fails, "; ")
	if r.Critical {
		r.Reason += "; critical metric"
	}
}

// aggregate computes a threshold test's aggregate of a non-empty series s
// (sorted is its values ascending). It returns a reason instead when the
// series is too short for the aggregate. See rate for the counter rate.
func aggregate(name string, s *series, sorted []float64, step float64) (float64, string) {
	x := s.values
	switch name {
	case "median":
		return stats.QuantileSorted(0.5, sorted), ""
	case "p90":
		return stats.QuantileSorted(0.9, sorted), ""
	case "p95":
		return stats.QuantileSorted(0.95, sorted), ""
	case "p99":
		return stats.QuantileSorted(0.99, sorted), ""
	case "min":
		return sorted[0], ""
	case "max":
		return sorted[len(sorted)-1], ""
	case "last":
		return x[len(x)-1], ""
	case "sum":
		return floats.Sum(x), ""
	case "rate":
		return rate(s, step)
	}
	return mean(x), ""
}

// rate is the per-second increase of a counter, as Prometheus' rate():
//
//	rate = increase / ((i_last − i_first) · step)
//
// over the measured points (NaNs replaced by 0 are skipped, they are not
// counter values), where i is a point's step position in the raw series, so
// gaps and removed points do not shorten the time span. A drop between two
// measured points is a counter reset: the increase counts the new value from
// zero, as Prometheus does. Unlike Prometheus it does not extrapolate to the
// window's edges. It needs two measured points at different positions.
func rate(s *series, step float64) (float64, string) {
	first, last := -1, -1
	var increase, prev float64
	for i, v := range s.values {
		if s.isReplaced(i) {
			continue
		}
		switch {
		case first < 0:
			first = i
		case v < prev:
			increase += v
		default:
			increase += v - prev
		}
		prev, last = v, i
	}
	if first < 0 || s.position(last) == s.position(first) {
		return 0, "rate needs two measured points"
	}
	return increase / (float64(s.position(last)-s.position(first)) * step), ""
}
