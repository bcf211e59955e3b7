package verdict

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
)

// analyzeYAML parses a native config and judges inline series with it.
func analyzeYAML(t *testing.T, config string, pairs []MetricSetPair, opts Options) *Result {
	t.Helper()
	cfg, err := ParseConfig([]byte(config), "c.yaml")
	if err != nil {
		t.Fatal(err)
	}
	res, err := Analyze(cfg, pairs, opts)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func pair(name string, control, experiment []float64) MetricSetPair {
	return MetricSetPair{Name: name, Values: PairValues{Control: control, Experiment: experiment}}
}

func seq(n int, f func(i int) float64) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = f(i)
	}
	return out
}

// noisy is a deterministic wiggle around level.
func noisy(n int, level float64) []float64 {
	return seq(n, func(i int) float64 { return level * (1 + 0.05*math.Sin(float64(i)*1.7)) })
}

var nan = math.NaN()

// TestNeverPassByAccident pins the defects that turned failures into PASS:
// each case failed before its fix.
func TestNeverPassByAccident(t *testing.T) {
	t.Parallel()
	overflow := pair("a", []float64{1e308, 1.7e308, 1.6e308, 1.5e308, 1.4e308}, []float64{-1.7e308, -1e308, -1.2e308, -1.3e308, -1.1e308})
	inf := math.Inf(1)
	p99Canary := append(noisy(10, 200), seq(20, func(int) float64 { return inf })...)
	tests := []struct {
		name       string
		config     string
		pairs      []MetricSetPair
		opts       Options
		judges     []JudgeName
		wantResult Outcome
		wantClass  map[string]Classification
	}{
		{
			name:       "critical regression with zero thresholds",
			config:     "metrics: [{name: a, groups: [g], critical: true, direction: increase}, {name: b, groups: [g]}]",
			pairs:      []MetricSetPair{pair("a", noisy(30, 100), noisy(30, 300)), pair("b", noisy(30, 5), noisy(30, 5))},
			opts:       Options{Thresholds: &Thresholds{Pass: 0, Marginal: 0}},
			judges:     []JudgeName{JudgeDefault, JudgeKayenta},
			wantResult: ResultFail,
			wantClass:  map[string]Classification{"a": High},
		},
		{
			name:       "every metric ERROR",
			config:     "metrics: [{name: a, groups: [g]}]",
			pairs:      []MetricSetPair{overflow},
			judges:     []JudgeName{JudgeDefault, JudgeKayenta},
			wantResult: ResultFail,
			wantClass:  map[string]Classification{"a": Error},
		},
		{
			name:       "critical ERROR among passing metrics",
			config:     "metrics: [{name: a, groups: [g], critical: true}, {name: b, groups: [g]}, {name: c, groups: [h]}]",
			pairs:      []MetricSetPair{overflow, pair("b", noisy(30, 5), noisy(30, 5)), pair("c", noisy(30, 5), noisy(30, 5))},
			judges:     []JudgeName{JudgeDefault, JudgeKayenta},
			wantResult: ResultFail,
			wantClass:  map[string]Classification{"a": Error, "b": Pass},
		},
		{
			name:       "ERROR counts as not passing in its group",
			config:     "metrics: [{name: a, groups: [g]}, {name: b, groups: [g]}]",
			pairs:      []MetricSetPair{overflow, pair("b", noisy(30, 5), noisy(30, 5))},
			opts:       Options{Thresholds: &Thresholds{Pass: 60, Marginal: 40}},
			judges:     []JudgeName{JudgeDefault, JudgeKayenta},
			wantResult: ResultFail, // half ERROR: at maxNodataFraction
			wantClass:  map[string]Classification{"a": Error, "b": Pass},
		},
		{
			name:       "infinite p99 points on a critical metric are ERROR",
			config:     "metrics: [{name: p99, groups: [g], critical: true, direction: increase}]",
			pairs:      []MetricSetPair{pair("p99", noisy(30, 200), p99Canary)},
			judges:     []JudgeName{JudgeDefault, JudgeKayenta},
			wantResult: ResultFail,
			wantClass:  map[string]Classification{"p99": Error},
		},
		{
			name:       "infinite p99 points within the allowed share are data",
			config:     "metrics: [{name: p99, groups: [g], direction: increase, infiniteShare: 0.7}]",
			pairs:      []MetricSetPair{pair("p99", noisy(30, 200), p99Canary)},
			judges:     []JudgeName{JudgeDefault, JudgeKayenta},
			wantResult: ResultFail,
			wantClass:  map[string]Classification{"p99": High},
		},
		{
			name:       "infinite max on a critical threshold metric is ERROR",
			config:     "metrics: [{name: p99, groups: [g], critical: true, threshold: {aggregate: max, max: 500}}]",
			pairs:      []MetricSetPair{pair("p99", noisy(30, 200), p99Canary)},
			judges:     []JudgeName{JudgeDefault},
			wantResult: ResultFail,
			wantClass:  map[string]Classification{"p99": Error},
		},
		// Row 4 of issue 30: −Inf reads as an improvement to a test of an
		// increase, and mixed infinities cancel; both passed.
		{
			name:       "all −Inf canary points with direction increase never pass",
			config:     "metrics: [{name: p99, groups: [g], critical: true, direction: increase}]",
			pairs:      []MetricSetPair{pair("p99", noisy(30, 200), seq(30, func(int) float64 { return math.Inf(-1) }))},
			judges:     []JudgeName{JudgeDefault, JudgeKayenta},
			wantResult: ResultFail,
			wantClass:  map[string]Classification{"p99": Error},
		},
		{
			name:       "mixed ±Inf canary points on a critical metric never pass",
			config:     "metrics: [{name: p99, groups: [g], critical: true, direction: increase}]",
			pairs:      []MetricSetPair{pair("p99", noisy(30, 200), append(noisy(26, 200), math.Inf(1), math.Inf(-1), math.Inf(-1), math.Inf(1)))},
			judges:     []JudgeName{JudgeDefault, JudgeKayenta},
			wantResult: ResultFail,
			wantClass:  map[string]Classification{"p99": Error},
		},
		{
			name:       "−Inf beyond the share of a non-critical metric is ERROR",
			config:     "metrics: [{name: p99, groups: [g], direction: increase, infiniteShare: 0.1}, {name: b, groups: [g]}]",
			pairs:      []MetricSetPair{pair("p99", noisy(30, 200), append(noisy(20, 200), seq(10, func(int) float64 { return math.Inf(-1) })...)), pair("b", noisy(30, 5), noisy(30, 5))},
			judges:     []JudgeName{JudgeDefault, JudgeKayenta},
			wantResult: ResultFail,
			wantClass:  map[string]Classification{"p99": Error, "b": Pass},
		},
		{
			name:       "canary stops reporting a critical metric",
			config:     "metrics: [{name: a, groups: [g], critical: true}, {name: b, groups: [g]}, {name: c, groups: [g]}]",
			pairs:      []MetricSetPair{pair("a", noisy(30, 100), seq(30, func(int) float64 { return nan })), pair("b", noisy(30, 5), noisy(30, 5)), pair("c", noisy(30, 5), noisy(30, 5))},
			judges:     []JudgeName{JudgeDefault},
			wantResult: ResultFail,
			wantClass:  map[string]Classification{"a": NodataFail},
		},
		{
			name:       "canary stops reporting with nanStrategy replace",
			config:     "metrics: [{name: a, groups: [g], critical: true, nanStrategy: replace}, {name: b, groups: [g]}, {name: c, groups: [g]}]",
			pairs:      []MetricSetPair{pair("a", noisy(30, 100), seq(30, func(int) float64 { return nan })), pair("b", noisy(30, 5), noisy(30, 5)), pair("c", noisy(30, 5), noisy(30, 5))},
			judges:     []JudgeName{JudgeDefault, JudgeKayenta},
			wantResult: ResultFail,
		},
		{
			name:       "neither side reports: NODATA",
			config:     "metrics: [{name: a, groups: [g], critical: true}, {name: b, groups: [g]}, {name: c, groups: [g]}]",
			pairs:      []MetricSetPair{pair("a", nil, nil), pair("b", noisy(30, 5), noisy(30, 5)), pair("c", noisy(30, 5), noisy(30, 5))},
			judges:     []JudgeName{JudgeDefault},
			wantResult: ResultPass,
			wantClass:  map[string]Classification{"a": Nodata},
		},
		{
			name:       "rise of a negative metric",
			config:     "metrics: [{name: a, groups: [g], direction: increase, effectSize: {allowedIncrease: 1.1}}]",
			pairs:      []MetricSetPair{pair("a", noisy(30, -100), noisy(30, -10))},
			judges:     []JudgeName{JudgeDefault, JudgeKayenta},
			wantResult: ResultFail,
			wantClass:  map[string]Classification{"a": High},
		},
		{
			name:       "ratio bound on a negative aggregate",
			config:     "metrics: [{name: a, groups: [g], threshold: {aggregate: mean, maxRatio: 1.2}}]",
			pairs:      []MetricSetPair{pair("a", noisy(30, -100), noisy(30, -10))},
			judges:     []JudgeName{JudgeDefault},
			wantResult: ResultFail,
			wantClass:  map[string]Classification{"a": High},
		},
		{
			name:       "every metric muted",
			config:     "metrics: [{name: a, groups: [g], muted: true}]",
			pairs:      []MetricSetPair{pair("a", noisy(30, 5), noisy(30, 5))},
			opts:       Options{Thresholds: &Thresholds{}},
			judges:     []JudgeName{JudgeDefault, JudgeKayenta},
			wantResult: ResultFail,
		},
	}
	for _, tc := range tests {
		for _, judge := range tc.judges {
			t.Run(tc.name+"/"+string(judge), func(t *testing.T) {
				t.Parallel()
				opts := tc.opts
				opts.Judge = judge
				res := analyzeYAML(t, tc.config, tc.pairs, opts)
				got := classes(res)
				for name, want := range tc.wantClass {
					if got[name] != want {
						t.Errorf("metric %s: %s, want %s (%s)", name, got[name], want, reasonOf(res, name))
					}
				}
				if res.Result != tc.wantResult {
					t.Errorf("result %s (score %.2f: %s), want %s", res.Result, res.Score, res.Reason, tc.wantResult)
				}
				if res.Result == ResultFail && res.Score > res.Thresholds.Pass {
					t.Errorf("FAIL with score %v above pass", res.Score)
				}
				if _, err := json.Marshal(res); err != nil {
					t.Errorf("JSON: %v", err)
				}
			})
		}
	}
}

func reasonOf(res *Result, name string) string {
	for _, m := range res.Metrics {
		if m.Name == name {
			return m.Reason
		}
	}
	return "missing"
}

// TestThresholdAggregates checks rate, outlier removal that leaves too few
// points, and aggregates over infinite points.
func TestThresholdAggregates(t *testing.T) {
	t.Parallel()
	inf := math.Inf(1)
	tests := []struct {
		name      string
		metric    string
		control   []float64
		canary    []float64
		step      int64
		wantClass Classification
		wantAgg   float64 // checked when wantClass is not NODATA/ERROR
		wantText  string
	}{
		{name: "rate over gaps", metric: "threshold: {aggregate: rate, max: 1.01, min: 0.99}", canary: []float64{0, nan, nan, nan, 40}, step: 10_000, wantClass: Pass, wantAgg: 1.0},
		{name: "rate with replaced NaNs", metric: "nanStrategy: replace, threshold: {aggregate: rate, max: 1.01, min: 0.99}", canary: []float64{0, nan, nan, nan, 40}, step: 10_000, wantClass: Pass, wantAgg: 1.0},
		{name: "rate across a counter reset", metric: "threshold: {aggregate: rate, max: 100}", canary: []float64{10, 20, 5, 15}, step: 1000, wantClass: Pass, wantAgg: 25.0 / 3},
		{name: "rate of one point", metric: "threshold: {aggregate: rate, max: 100}", canary: []float64{nan, 3, nan}, step: 1000, wantClass: Nodata, wantText: "two measured points"},
		{name: "rate is critical when the canary is gone", metric: "critical: true, threshold: {aggregate: rate, max: 100}", control: []float64{1, 2, 3}, canary: []float64{nan, nan}, step: 1000, wantClass: NodataFail},
		{name: "p99 with infinite points", metric: "infiniteShare: 1, threshold: {aggregate: p99, max: 500}", canary: append(noisy(10, 200), inf, inf), step: 1000, wantClass: High, wantAgg: inf},
		{name: "mean with infinite points", metric: "infiniteShare: 1, threshold: {aggregate: mean, max: 500}", canary: []float64{1, inf}, step: 1000, wantClass: High, wantAgg: inf},
		{name: "infinite points beyond the share", metric: "threshold: {aggregate: mean, max: 500}", canary: []float64{1, inf}, step: 1000, wantClass: Error, wantText: "1 of 2 canary points are infinite"},
		{name: "both infinities", metric: "infiniteShare: 1, threshold: {aggregate: mean, max: 500}", canary: []float64{math.Inf(-1), inf}, step: 1000, wantClass: Error, wantText: "undefined"},
	}
	for _, agg := range []string{"mean", "median", "p90", "p95", "p99", "min", "max", "last", "sum", "rate"} {
		tests = append(tests, struct {
			name      string
			metric    string
			control   []float64
			canary    []float64
			step      int64
			wantClass Classification
			wantAgg   float64
			wantText  string
		}{name: "outliers leave nothing/" + agg, metric: "outliers: {factor: 0.1}, threshold: {aggregate: " + agg + ", max: 1000}",
			control: []float64{1, 2}, canary: []float64{1, 1000}, step: 1000, wantClass: Pass})
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			config := "metrics: [{name: a, groups: [g], " + tc.metric + "}]"
			p := pair("a", tc.control, tc.canary)
			p.Scopes = map[string]PairScope{"experiment": {StepMillis: tc.step}}
			res := analyzeYAML(t, config, []MetricSetPair{p}, Options{})
			m := res.Metrics[0]
			if strings.HasPrefix(tc.name, "outliers leave nothing") {
				// Two points with factor 0.1: whatever is left, no panic and
				// never a statistic of nothing.
				if m.Classification == Pass && (m.Aggregate == nil || math.IsNaN(*m.Aggregate)) {
					t.Errorf("PASS without an aggregate: %s", m.Reason)
				}
				return
			}
			if m.Classification != tc.wantClass {
				t.Fatalf("class %s (%s), want %s", m.Classification, m.Reason, tc.wantClass)
			}
			if tc.wantText != "" && !strings.Contains(m.Reason, tc.wantText) {
				t.Errorf("reason %q lacks %q", m.Reason, tc.wantText)
			}
			if tc.wantClass == Pass || tc.wantClass == High || tc.wantClass == Low {
				if m.Aggregate == nil || !(math.Abs(*m.Aggregate-tc.wantAgg) <= 1e-12*math.Abs(tc.wantAgg) || *m.Aggregate == tc.wantAgg) {
					t.Errorf("aggregate %v, want %v", m.Aggregate, tc.wantAgg)
				}
			}
			if _, err := json.Marshal(res); err != nil {
				t.Errorf("JSON: %v", err)
			}
		})
	}
}

// TestOutliersLeaveTooFew checks that outlier removal which empties a side
// gives NODATA, never a panic or a statistic of nothing (factor 0.1 on two
// points used to panic with index −1).
func TestOutliersLeaveTooFew(t *testing.T) {
	t.Parallel()
	// The fences of {1, 1, 1, 50} at factor 0.1 keep 1 and (P99 widening)
	// almost nothing else; a side of {5, 500} keeps at most one point.
	for _, agg := range []string{"mean", "median", "p90", "p95", "p99", "min", "max", "last", "sum", "rate"} {
		t.Run(agg, func(t *testing.T) {
			t.Parallel()
			m := Metric{Name: "a", Outliers: &Outliers{Factor: 0.1}}
			s := prepare([]float64{5, 500}, &m)
			// Simulate outlier removal that removed everything.
			s.values, s.at, s.replaced = nil, nil, nil
			r := metricCase{metric: &Metric{Name: "a", Threshold: &Threshold{Aggregate: agg, Max: ptr(1.0)}}, canarySeries: &s, controlSeries: &s, canaryMeasured: true}
			thresholdTest(&r, 1)
			if r.Classification != Nodata {
				t.Errorf("class %s (%s), want NODATA", r.Classification, r.Reason)
			}
		})
	}
}

// TestWeightsMustSumTo100 checks that fully weighted groups summing to less
// than 100 are rejected (identical data used to score 50 and FAIL), and
// that a group left with no weight is named.
func TestWeightsMustSumTo100(t *testing.T) {
	t.Parallel()
	tests := map[string]struct{ config, want string }{
		"sum 90":        {"groups: [{name: a, weight: 50}, {name: b, weight: 40}]\nmetrics: [{name: x, groups: [a]}, {name: y, groups: [b]}]", "sum to 90, not 100"},
		"no share left": {"groups: [{name: a, weight: 100}, {name: b}]\nmetrics: [{name: x, groups: [a]}, {name: y, groups: [b]}]", "groups[1] (b).weight"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := ParseConfig([]byte(tc.config), "c")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one naming %q", err, tc.want)
			}
		})
	}
}

// TestThresholdsCheck checks the one validation of score thresholds.
func TestThresholdsCheck(t *testing.T) {
	t.Parallel()
	tests := []struct {
		t    Thresholds
		want string // "" for valid
	}{
		{Thresholds{95, 75}, ""},
		{Thresholds{0, 0}, ""},
		{Thresholds{100, 100}, ""},
		{Thresholds{50, 80}, "marginal"},
		{Thresholds{101, 75}, "pass"},
		{Thresholds{95, -1}, "marginal"},
		{Thresholds{math.NaN(), 75}, "pass"},
		{Thresholds{95, math.Inf(-1)}, "marginal"},
	}
	for _, tc := range tests {
		err := tc.t.Check()
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%+v: %v", tc.t, err)
		case tc.want != "" && (err == nil || !strings.HasPrefix(err.Error(), tc.want)):
			t.Errorf("%+v: error %v, want one naming %s", tc.t, err, tc.want)
		}
	}
	cfg, _ := ParseConfig([]byte("metrics: [{name: a, groups: [g]}]"), "c")
	if _, err := Analyze(cfg, nil, Options{Thresholds: &Thresholds{math.NaN(), 0}}); err == nil {
		t.Error("NaN pass threshold accepted")
	}
}

// TestJSONNonFinite checks that results with infinite statistics encode.
func TestJSONNonFinite(t *testing.T) {
	t.Parallel()
	inf := math.Inf(1)
	res := analyzeYAML(t, "metrics: [{name: a, groups: [g], infiniteShare: 1, tests: [mann_whitney, threshold], threshold: {aggregate: max, max: 1}}]",
		[]MetricSetPair{pair("a", []float64{1, 2, 3, 4, 5, math.Inf(-1)}, []float64{1, 2, 3, 4, inf, inf})}, Options{})
	b, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"max":"+Inf"`, `"min":"-Inf"`, `"aggregate":"+Inf"`, `"std":"NaN"`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("JSON lacks %s: %s", want, b)
		}
	}
}

// TestResultsDoNotAliasConfig checks that changing a result leaves the
// (cached, shared) config untouched.
func TestResultsDoNotAliasConfig(t *testing.T) {
	t.Parallel()
	cfg, err := ParseConfig([]byte("metrics: [{name: a, groups: [g]}]"), "c")
	if err != nil {
		t.Fatal(err)
	}
	res, err := Analyze(cfg, []MetricSetPair{pair("a", noisy(10, 5), noisy(10, 5))}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	res.Metrics[0].Groups[0] = "changed"
	if cfg.Metrics[0].Groups[0] != "g" {
		t.Errorf("a result aliases the config's groups: %v", cfg.Metrics[0].Groups)
	}
}
