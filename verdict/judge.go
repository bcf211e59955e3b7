package verdict

import (
	"encoding/json"
	"fmt"
	"math"

	"github.com/canaryjudge/judge/stats"
)

// Classification is a metric's outcome (MetricResult.Classification).
type Classification string

// Metric classifications.
const (
	Pass       Classification = "PASS"
	High       Classification = "HIGH"
	Low        Classification = "LOW"
	Nodata     Classification = "NODATA"
	NodataFail Classification = "NODATA_FAIL"
	Error      Classification = "ERROR"
	// Inconclusive is the default judge's metric that looks like a
	// regression its test cannot confirm with the points it has: it
	// counts as not passing (inconclusive).
	Inconclusive Classification = "INCONCLUSIVE"
)

// Comparison is how the default judge compared a metric's series
// (MetricResult.Comparison).
type Comparison string

// Comparisons.
const (
	// ComparisonPaired: point by point at shared timestamps, by the
	// signed-rank test of the paired differences (reported under the
	// test mann_whitney, the rank test it takes the place of).
	ComparisonPaired Comparison = "paired"
	// ComparisonUnpaired: the two samples by the Mann-Whitney test.
	ComparisonUnpaired Comparison = "unpaired"
)

// Outcome is an analysis' result (Result.Result): what a deployer acts on.
type Outcome string

// Analysis results.
const (
	ResultPass     Outcome = "PASS"
	ResultMarginal Outcome = "MARGINAL"
	ResultFail     Outcome = "FAIL"
)

// kayentaConfLevel and kayentaTolerance are NetflixACAJudge-v1.0's fixed
// interval level and the share of |estimate| the interval must clear.
const (
	kayentaConfLevel = 0.98
	kayentaTolerance = 0.25
)

// Options selects the judge and thresholds of one analysis; zero values
// keep the config's.
type Options struct {
	Judge      JudgeName
	Thresholds *Thresholds
	// Equivalence, for the default judge, adds to every rank-tested metric
	// the two-sided interval of its shift at 1 − 2α (MetricResult.
	// EquivalenceLow/High), which Result.Equivalent compares with the
	// metric's allowed bounds: a sequence's early PASS.
	Equivalence bool
}

// Result is the verdict of one analysis.
type Result struct {
	Judge JudgeName `json:"judge"`
	// Serves, for a Kayenta config, is the judge name it gave
	// (NetflixACAJudge-v1.0), which Judge served.
	Serves     string         `json:"serves,omitempty"`
	Result     Outcome        `json:"result"`
	Score      float64        `json:"score"`
	Reason     string         `json:"reason"`
	Thresholds Thresholds     `json:"thresholds"`
	Groups     []GroupScore   `json:"groups"`
	Metrics    []MetricResult `json:"metrics"`
	Warnings   []string       `json:"warnings,omitempty"`
}

// GroupScore is the score of one metric group: the share of its counted
// metrics that passed. NoData groups had no counted metric.
type GroupScore struct {
	Name   string  `json:"name"`
	Score  float64 `json:"score"`
	Weight float64 `json:"weight"`
	NoData bool    `json:"no_data,omitempty"`
}

// MetricResult is the classification of one metric by one test.
type MetricResult struct {
	Name           string         `json:"name"`
	Test           Test           `json:"test"`
	Groups         []string       `json:"groups"`
	Classification Classification `json:"classification"`
	// Critical is set when this result fails the whole analysis: the
	// metric is configured critical and, when HIGH or LOW, its effect size
	// reaches the critical increase or decrease (Kayenta's rule).
	Critical bool `json:"critical"`
	// ConfiguredCritical is the metric's configured critical flag.
	ConfiguredCritical bool          `json:"configured_critical"`
	Muted              bool          `json:"muted,omitempty"`
	Reason             string        `json:"reason"`
	Baseline           stats.Summary `json:"baseline"`
	Canary             stats.Summary `json:"canary"`
	PValue             *float64      `json:"p_value"`
	AdjustedPValue     *float64      `json:"adjusted_p_value"`
	Estimate           *float64      `json:"estimate"`
	CILow              *float64      `json:"ci_low"`
	CIHigh             *float64      `json:"ci_high"`
	EffectSize         *float64      `json:"effect_size"`
	// Comparison says how the default judge compared the series: "paired"
	// (point by point at shared timestamps) or "unpaired".
	Comparison Comparison `json:"comparison,omitempty"`
	// TailPValue is the default judge's shape test (stats.Exceedance).
	TailPValue *float64 `json:"tail_p_value,omitempty"`
	// EquivalenceLow and EquivalenceHigh are the two-sided 1 − 2α interval
	// of the shift, with the dependence allowed for (Options.Equivalence);
	// Equivalent says whether the metric showed equivalence, and
	// EquivalenceReason why (Result.Equivalent).
	EquivalenceLow    *float64 `json:"equivalence_low,omitempty"`
	EquivalenceHigh   *float64 `json:"equivalence_high,omitempty"`
	Equivalent        *bool    `json:"equivalent,omitempty"`
	EquivalenceReason string   `json:"equivalence_reason,omitempty"`
	// Bounds are the bounds the metric was judged against: the allowed
	// effect sizes of a rank test, the absolute and ratio bounds of a
	// threshold test.
	Bounds    *Bounds           `json:"bounds,omitempty"`
	MeanRatio *float64          `json:"mean_ratio,omitempty"`
	Aggregate *float64          `json:"aggregate,omitempty"`
	Autocorr  *float64          `json:"autocorrelation,omitempty"`
	Warnings  []string          `json:"warnings,omitempty"`
	ID        string            `json:"id,omitempty"`
	Tags      map[string]string `json:"tags,omitempty"`
	// detectable and allowed are, for a default-judge metric without a
	// significant change, the shift its test could have detected at the
	// level it is tested at and the smallest shift its config does not
	// allow (metricCase.underpowered); 0 when not known.
	detectable, allowed float64
}

// metricCase is one metric × test while it is judged: the prepared input
// (the config's metric, the series in time order and sorted, the history,
// alignment) and the result being built, which Analyze returns without
// the input.
type metricCase struct {
	MetricResult
	metric  *Metric
	canary  []float64 // in time order
	control []float64
	// canarySorted and controlSorted are the same samples ascending, sorted
	// once for every statistic that needs them.
	canarySorted, controlSorted []float64
	// canarySeries and controlSeries keep where each point came from.
	canarySeries, controlSeries *series
	// canaryMeasured and controlMeasured report whether a side had at least
	// one real (non-NaN) point before the NaN strategy replaced missing ones.
	canaryMeasured, controlMeasured bool
	// hint is the pair's note on why a side may be empty (MetricSetPair.Hint).
	hint string
	// infinite counts the infinite points the rank test ranked.
	infinite int
	// history is the baseline's prepared history before its window.
	history []float64
	// aligned reports whether the two raw series share their time grid.
	aligned bool
	// every, when above 1, is how many steps each point's window spans:
	// the default judge's test then ran on every every-th point (thinned).
	every int
	// window, when above 1, is how many steps each point's window spans
	// where the series were judged whole (thinning would have left too
	// few points): the query names the moving window pointWindow models.
	window int
	// season is the period of a cycle in the baseline and its history (0:
	// none), whose noise allowance is then model-free.
	season int
	// test is the default judge's evidence while it awaits its adjusted
	// p-value.
	test *evidence
	// metrics is how many metrics the analysis judges: the default
	// judge's batch length is planned for its share of the level.
	metrics int
	// need, when positive, is the points per window with which the
	// allowed effect would be detected; rate, when positive, is a sparse
	// counter's baseline events a step, and rateSide the side (true: a
	// rise) on which it fell shortest of its allowed effect (notePower).
	need     int
	rate     float64
	rateSide bool
}

// Bounds are the configured bounds of one metric's test (nil: none).
type Bounds struct {
	AllowedIncrease *float64 `json:"allowed_increase,omitempty"`
	AllowedDecrease *float64 `json:"allowed_decrease,omitempty"`
	Min             *float64 `json:"min,omitempty"`
	Max             *float64 `json:"max,omitempty"`
	MinRatio        *float64 `json:"min_ratio,omitempty"`
	MaxRatio        *float64 `json:"max_ratio,omitempty"`
}

// boundsOf returns the bounds a test of m is judged against.
func boundsOf(m *Metric, test Test) *Bounds {
	if test == TestThreshold {
		if m.Threshold == nil {
			return nil
		}
		t := m.Threshold
		return &Bounds{Min: clonePtr(t.Min), Max: clonePtr(t.Max), MinRatio: clonePtr(t.MinRatio), MaxRatio: clonePtr(t.MaxRatio)}
	}
	return &Bounds{AllowedIncrease: clonePtr(m.EffectSize.AllowedIncrease), AllowedDecrease: clonePtr(m.EffectSize.AllowedDecrease)}
}

// clonePtr copies a number, so that a result never aliases its config
// (configs are cached and shared by every analysis that uses them).
func clonePtr(p *float64) *float64 {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}

// MarshalJSON writes the result's optional statistics with non-finite
// values (an infinite aggregate, say) as the strings "NaN", "+Inf" and
// "-Inf", which encoding/json cannot write as numbers.
func (r MetricResult) MarshalJSON() ([]byte, error) {
	type plain MetricResult
	num := func(p *float64) any {
		if p == nil {
			return nil
		}
		return stats.JSONNumber(*p)
	}
	return json.Marshal(struct {
		plain
		PValue         any `json:"p_value"`
		AdjustedPValue any `json:"adjusted_p_value"`
		Estimate       any `json:"estimate"`
		CILow          any `json:"ci_low"`
		CIHigh         any `json:"ci_high"`
		EffectSize     any `json:"effect_size"`
		TailPValue     any `json:"tail_p_value,omitempty"`
		EquivLow       any `json:"equivalence_low,omitempty"`
		EquivHigh      any `json:"equivalence_high,omitempty"`
		MeanRatio      any `json:"mean_ratio,omitempty"`
		Aggregate      any `json:"aggregate,omitempty"`
		Autocorr       any `json:"autocorrelation,omitempty"`
	}{plain(r), num(r.PValue), num(r.AdjustedPValue), num(r.Estimate), intervalEnd(r.Estimate, r.CILow, -1), intervalEnd(r.Estimate, r.CIHigh, 1),
		num(r.EffectSize), num(r.TailPValue), num(r.EquivalenceLow), num(r.EquivalenceHigh), num(r.MeanRatio), num(r.Aggregate), num(r.Autocorr)})
}

// intervalEnd writes an end of the shift's interval: a missing end of an
// interval that exists (an estimate was made) is unbounded, written as
// text output prints it ("+Inf" or "-Inf"); without an estimate, null.
func intervalEnd(estimate, end *float64, side float64) any {
	if end == nil && estimate != nil {
		return stats.JSONNumber(math.Inf(int(side)))
	}
	if end == nil {
		return nil
	}
	return stats.JSONNumber(*end)
}

// Analyze judges the metric pairs against cfg. Every metric of the config is
// classified (a metric missing from the data is NODATA); a pair whose metric
// is not in the config is an error, as in Kayenta. The result is
// deterministic: the same input gives the same verdict.
func Analyze(cfg *Config, pairs []MetricSetPair, opts Options) (*Result, error) {
	judge := cfg.Judge
	if opts.Judge != "" {
		judge = opts.Judge
	}
	judgeImpl, ok := LookupJudge(judge)
	if !ok {
		return nil, fmt.Errorf("judge: %w", CheckJudge(judge))
	}
	thresholds := cfg.Thresholds
	if opts.Thresholds != nil {
		thresholds = *opts.Thresholds
	}
	if err := thresholds.Check(); err != nil {
		return nil, fmt.Errorf("%w: thresholds.%w", ErrInvalidThresholds, err)
	}
	byName := make(map[string]*MetricSetPair, len(pairs))
	for i := range pairs {
		byName[pairs[i].Name] = &pairs[i]
	}
	for i := range pairs {
		if !inConfig(cfg, pairs[i].Name) {
			return nil, fmt.Errorf("%w: metric %q in the data is not in canary config %q", ErrInvalidData, pairs[i].Name, cfg.Name)
		}
	}

	points, tests := 0, 0
	for i := range cfg.Metrics {
		tests += len(cfg.Metrics[i].Tests)
		if p := byName[cfg.Metrics[i].Name]; p != nil {
			points += len(p.Values.Control) + len(p.Values.Experiment)
		}
	}
	work := getScratch(points, tests)
	defer work.release()
	res := &Result{Judge: judge, Serves: cfg.KayentaJudge, Thresholds: thresholds}
	cases := make([]*metricCase, 0, tests)
	for i := range cfg.Metrics {
		cases = judgeMetric(cases, work, cfg, &cfg.Metrics[i], byName[cfg.Metrics[i].Name], judgeImpl, opts)
	}
	judgeImpl.Decide(cases, cfg)
	if opts.Equivalence {
		decideEquivalence(cases)
	}
	if len(cases) > 0 {
		res.Metrics = make([]MetricResult, 0, len(cases))
	}
	for _, c := range cases {
		res.Metrics = append(res.Metrics, c.MetricResult)
	}
	score(res, cfg)
	for i := range res.Metrics {
		for _, w := range res.Metrics[i].Warnings {
			res.Warnings = append(res.Warnings, res.Metrics[i].Name+": "+w)
		}
	}
	return res, nil
}

// inConfig reports whether cfg has a metric of that name.
func inConfig(cfg *Config, name string) bool {
	for i := range cfg.Metrics {
		if cfg.Metrics[i].Name == name {
			return true
		}
	}
	return false
}
