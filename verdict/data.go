package verdict

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
)

// Limits bound the input of one analysis. They are defined once here and
// used by every entry point: the CLI's files, and the service's gRPC and
// HTTP requests (where a larger request is RESOURCE_EXHAUSTED / 413 and more
// metrics or points than allowed are INVALID_ARGUMENT / 400).
type Limits struct {
	// MaxRequestBytes bounds a request body, message or input file.
	MaxRequestBytes int
	// MaxMetrics bounds the metrics of one analysis.
	MaxMetrics int
	// MaxPoints bounds the points of one series.
	MaxPoints int
}

// DefaultLimits are the limits unless configured otherwise.
var DefaultLimits = Limits{MaxRequestBytes: 16 << 20, MaxMetrics: 500, MaxPoints: 100_000}

// MaxSeriesPoints is the most points any series may have, whatever the
// configured limit: what is read back (a stored analysis) is held to it,
// and a configured MaxPoints may not exceed it, so every series judge
// stores can be read back. Input (ParseMetricSetPairList: a data file, the
// remote judge) is held to DefaultLimits.MaxPoints.
const MaxSeriesPoints = 1_000_000

// PairValues holds the two series of a MetricSetPair.
type PairValues struct {
	Control    Series `json:"control"`
	Experiment Series `json:"experiment"`
	// ControlHistory, optional, is the baseline's series right before its
	// window on the same step (a judge extension; Kayenta sends none). The
	// default judge estimates the noise's serial dependence and any cycle
	// from it with the baseline's window, uses its jumps as well as the
	// window's as the reference of the jump test, and reads it when
	// deciding that a canary far beyond every baseline point is
	// INCONCLUSIVE rather than a pass; its level is never compared with the
	// canary's (the location test compares the windows).
	ControlHistory Series `json:"controlHistory,omitempty"`
}

// MetricSetPair is Kayenta's pair of baseline (control) and canary
// (experiment) series of one metric (kayenta-core MetricSetPair.java).
type MetricSetPair struct {
	Name   string               `json:"name"`
	ID     string               `json:"id,omitempty"`
	Tags   map[string]string    `json:"tags,omitempty"`
	Values PairValues           `json:"values"`
	Scopes map[string]PairScope `json:"scopes,omitempty"`
	// Attributes are Kayenta's per-side attributes ("control",
	// "experiment"): the rendered "query" among them.
	Attributes map[string]map[string]string `json:"attributes,omitempty"`
	// Error, when set, says why the series could not be fetched: every
	// test of the metric is then ERROR with this reason.
	Error string `json:"error,omitempty"`
	// Hint, when set, says why a side may have come back empty (a scope
	// escaped that looks like a pattern): a NODATA reason carries it.
	Hint string `json:"hint,omitempty"`
}

// PairScope is the time grid of one side of a MetricSetPair.
type PairScope struct {
	StartTimeMillis int64  `json:"startTimeMillis,omitempty"`
	StartTimeIso    string `json:"startTimeIso,omitempty"`
	StepMillis      int64  `json:"stepMillis"`
	// WindowMillis, when set, is the span each point summarises (a PromQL
	// range such as rate(x[5m]), a moving rollup): points closer than it
	// share data. A judge extension; the runner sets it from the query.
	WindowMillis int64 `json:"windowMillis,omitempty"`
}

// overlap returns how many steps each point of the pair's series spans:
// its window (the longer of the two sides) over its step, rounded up, or 1
// when the window is unknown or not longer than a step.
func (p *MetricSetPair) overlap() int {
	k := 1
	for _, s := range p.Scopes {
		if s.StepMillis > 0 && s.WindowMillis > s.StepMillis {
			steps := s.WindowMillis / s.StepMillis // no overflow, unlike rounding up by adding
			if s.WindowMillis%s.StepMillis != 0 {
				steps++
			}
			k = max(k, int(min(steps, maxOverlap)))
		}
	}
	return k
}

// maxOverlap bounds the steps a window may span for thinning: a window of
// a day at a minute's step leaves a series its day-long points.
const maxOverlap = 1440

// thin keeps every k-th point of x counted back from its last point
// (offset points before it), so that points k steps apart summarise
// windows that do not overlap.
func thin(x []float64, k, offset int) []float64 {
	if k <= 1 || len(x) == 0 {
		return x
	}
	out := make([]float64, 0, len(x)/k+1)
	for i := range x {
		if (len(x)-1-i+offset)%k == 0 {
			out = append(out, x[i])
		}
	}
	return out
}

// Series is a metric's values in time order; NaN marks a missing point.
type Series []float64

// UnmarshalJSON reads a series as ParseMetricSetPairList does, up to
// MaxSeriesPoints points (what judge itself stored).
func (s *Series) UnmarshalJSON(b []byte) error {
	v, err := parseSeries(b, MaxSeriesPoints)
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// MarshalJSON writes the series as ParseMetricSetPairList reads it: numbers,
// "NaN" for a missing point, "Infinity" and "-Infinity".
func (s Series) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, 2+len(s)*8)
	b = append(b, '[')
	for i, v := range s {
		if i > 0 {
			b = append(b, ',')
		}
		switch {
		case math.IsNaN(v):
			b = append(b, `"NaN"`...)
		case math.IsInf(v, 1):
			b = append(b, `"Infinity"`...)
		case math.IsInf(v, -1):
			b = append(b, `"-Infinity"`...)
		default:
			b = strconv.AppendFloat(b, v, 'g', -1, 64)
		}
	}
	return append(b, ']'), nil
}

// parseSeries decodes a JSON array of numbers, where "NaN" and null mark
// missing points and "Infinity", "+Inf", "-Infinity", "-Inf" are infinite
// points (data, such as histogram_quantile above the largest bucket); other
// values are an error naming their index, and so is more than limit points.
func parseSeries(b json.RawMessage, limit int) (Series, error) {
	if len(b) == 0 || string(b) == "null" {
		return nil, nil
	}
	var raw []json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("want an array of numbers")
	}
	if len(raw) > limit {
		return nil, fmt.Errorf("%d points, more than the limit of %d", len(raw), limit)
	}
	out := make(Series, len(raw))
	for i, r := range raw {
		switch string(r) {
		case "null", `"NaN"`, `"nan"`:
			out[i] = math.NaN()
			continue
		case `"Infinity"`, `"+Infinity"`, `"Inf"`, `"+Inf"`, `"inf"`, `"+inf"`:
			out[i] = math.Inf(1)
			continue
		case `"-Infinity"`, `"-Inf"`, `"-inf"`:
			out[i] = math.Inf(-1)
			continue
		}
		v, err := strconv.ParseFloat(string(r), 64)
		if err != nil {
			return nil, fmt.Errorf("[%d]: %s is not a number, \"NaN\", \"Infinity\", \"-Infinity\" or null", i, r)
		}
		out[i] = v
	}
	return out, nil
}

// ParseMetricSetPairList parses a Kayenta MetricSetPairList JSON array.
// Errors name the source, the pair index and name, and the field.
func ParseMetricSetPairList(data []byte, source string) ([]MetricSetPair, error) {
	var raw []json.RawMessage
	if err := json.Unmarshal(bytes.TrimSpace(data), &raw); err != nil {
		return nil, fmt.Errorf("%s: %w: want a JSON array of metric set pairs: %s", source, ErrInvalidData, JSONErrorText(err))
	}
	if len(raw) > DefaultLimits.MaxMetrics {
		return nil, fmt.Errorf("%s: %w: %d metric set pairs, more than the limit of %d", source, ErrInvalidData, len(raw), DefaultLimits.MaxMetrics)
	}
	pairs := make([]MetricSetPair, len(raw))
	seen := map[string]int{}
	for i, r := range raw {
		var probe struct {
			Name string `json:"name"`
		}
		_ = json.Unmarshal(r, &probe)
		at := fmt.Sprintf("[%d]", i)
		if probe.Name != "" {
			at = fmt.Sprintf("[%d] (%s)", i, probe.Name)
		}
		var wire struct {
			MetricSetPair
			Values struct {
				Control        json.RawMessage `json:"control"`
				Experiment     json.RawMessage `json:"experiment"`
				ControlHistory json.RawMessage `json:"controlHistory"`
			} `json:"values"`
		}
		if err := json.Unmarshal(r, &wire); err != nil {
			return nil, fmt.Errorf("%s%s: %w: %s", source, at, ErrInvalidData, JSONErrorText(err))
		}
		pairs[i] = wire.MetricSetPair
		var err error
		if pairs[i].Values.Control, err = parseSeries(wire.Values.Control, DefaultLimits.MaxPoints); err != nil {
			return nil, fmt.Errorf("%s%s.values.control%s: %w", source, at, seriesErrorText(err), ErrInvalidData)
		}
		if pairs[i].Values.Experiment, err = parseSeries(wire.Values.Experiment, DefaultLimits.MaxPoints); err != nil {
			return nil, fmt.Errorf("%s%s.values.experiment%s: %w", source, at, seriesErrorText(err), ErrInvalidData)
		}
		if pairs[i].Values.ControlHistory, err = parseSeries(wire.Values.ControlHistory, DefaultLimits.MaxPoints); err != nil {
			return nil, fmt.Errorf("%s%s.values.controlHistory%s: %w", source, at, seriesErrorText(err), ErrInvalidData)
		}
		if pairs[i].Name == "" {
			return nil, fmt.Errorf("%s%s.name: %w: missing", source, at, ErrInvalidData)
		}
		if j, dup := seen[pairs[i].Name]; dup {
			return nil, fmt.Errorf("%s%s.name: %w: %q also names pair [%d]", source, at, ErrInvalidData, pairs[i].Name, j)
		}
		seen[pairs[i].Name] = i
	}
	return pairs, nil
}

func seriesErrorText(err error) string {
	text := err.Error()
	if len(text) > 0 && text[0] == '[' {
		return text
	}
	return ": " + text
}
