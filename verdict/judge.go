package verdict

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"

	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/stat"
	"gonum.org/v1/gonum/stat/distuv"

	"github.com/canaryjudge/judge/stats"
)

// Metric classifications.
const (
	Pass       = "PASS"
	High       = "HIGH"
	Low        = "LOW"
	Nodata     = "NODATA"
	NodataFail = "NODATA_FAIL"
	Error      = "ERROR"
	// Inconclusive is the default judge's metric that looks like a
	// regression its test cannot confirm with the points it has: it
	// counts as not passing (inconclusive).
	Inconclusive = "INCONCLUSIVE"
)

// Analysis results.
const (
	ResultPass     = "PASS"
	ResultMarginal = "MARGINAL"
	ResultFail     = "FAIL"
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
	Judge      string
	Thresholds *Thresholds
	// Equivalence, for the default judge, adds to every rank-tested metric
	// the two-sided interval of its shift at 1 − 2α (MetricResult.
	// EquivalenceLow/High), which Result.Equivalent compares with the
	// metric's allowed bounds: a sequence's early PASS.
	Equivalence bool
}

// Result is the verdict of one analysis.
type Result struct {
	Judge      string         `json:"judge"`
	Result     string         `json:"result"`
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
	Name           string   `json:"name"`
	Test           string   `json:"test"`
	Groups         []string `json:"groups"`
	Classification string   `json:"classification"`
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
	Comparison string `json:"comparison,omitempty"`
	// TailPValue is the default judge's shape test (stats.Exceedance).
	TailPValue *float64 `json:"tail_p_value,omitempty"`
	// EquivalenceLow and EquivalenceHigh are the two-sided 1 − 2α interval
	// of the shift, with the dependence allowed for (Options.Equivalence).
	EquivalenceLow  *float64 `json:"equivalence_low,omitempty"`
	EquivalenceHigh *float64 `json:"equivalence_high,omitempty"`
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
	// infinite counts the infinite points the rank test ranked.
	infinite int
	// history is the baseline's prepared history before its window.
	history []float64
	// aligned reports whether the two raw series share their time grid.
	aligned bool
	// every, when above 1, is how many steps each point's window spans:
	// the default judge's test then ran on every every-th point (thinned).
	every int
	// season is the period of a cycle in the baseline and its history (0:
	// none), whose noise allowance is then model-free.
	season int
	// test is the default judge's evidence while it awaits its adjusted
	// p-value.
	test *evidence
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
func boundsOf(m *Metric, test string) *Bounds {
	if test == TestThreshold {
		if m.Threshold == nil {
			return nil
		}
		t := m.Threshold
		return &Bounds{Min: t.Min, Max: t.Max, MinRatio: t.MinRatio, MaxRatio: t.MaxRatio}
	}
	return &Bounds{AllowedIncrease: m.EffectSize.AllowedIncrease, AllowedDecrease: m.EffectSize.AllowedDecrease}
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
	if judge != JudgeDefault && judge != JudgeKayenta {
		return nil, fmt.Errorf("judge %q: want default or kayenta", judge)
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
	for _, p := range pairs {
		if !slices.ContainsFunc(cfg.Metrics, func(m Metric) bool { return m.Name == p.Name }) {
			return nil, fmt.Errorf("%w: metric %q in the data is not in canary config %q", ErrInvalidData, p.Name, cfg.Name)
		}
	}

	res := &Result{Judge: judge, Thresholds: thresholds}
	for i := range cfg.Metrics {
		m := &cfg.Metrics[i]
		pair := byName[m.Name]
		var canaryRaw, controlRaw []float64
		step := 60.0
		if pair != nil {
			canaryRaw, controlRaw = pair.Values.Experiment, pair.Values.Control
			if s, ok := pair.Scopes["experiment"]; ok && s.StepMillis > 0 {
				step = float64(s.StepMillis) / 1000
			}
		}
		cs, bs := prepare(canaryRaw, m), prepare(controlRaw, m)
		canary, control := cs.values, bs.values
		var history []float64
		aligned := false
		if pair != nil {
			history = prepare(pair.Values.ControlHistory, m).values
			aligned = timeAligned(pair)
		}
		canarySorted, controlSorted := sortedClone(canary), sortedClone(control)
		var sparse *thinned
		if pair != nil && judge == JudgeDefault {
			sparse = thinPair(pair, m)
		}
		for _, test := range m.Tests {
			r := MetricResult{
				Name: m.Name, Test: test, Groups: slices.Clone(m.Groups), Muted: m.Muted, ConfiguredCritical: m.Critical,
				Baseline: describe(controlSorted), Canary: describe(canarySorted),
				metric: m, canary: canary, control: control, canarySorted: canarySorted, controlSorted: controlSorted,
				canarySeries: &cs, controlSeries: &bs, canaryMeasured: cs.measured, controlMeasured: bs.measured,
				history: history, aligned: aligned, Bounds: boundsOf(m, test),
			}
			if sparse != nil && test != TestThreshold {
				sparse.apply(&r)
			}
			if pair != nil {
				r.ID, r.Tags = pair.ID, pair.Tags
			}
			switch {
			case pair != nil && pair.Error != "":
				fail(&r, "the series could not be fetched: "+pair.Error)
			case test == TestThreshold:
				thresholdTest(&r, step)
			case judge == JudgeKayenta:
				kayentaTest(&r)
			default:
				defaultTest(&r, cfg.FamilyWiseError)
				if opts.Equivalence {
					equivalenceInterval(&r, cfg.FamilyWiseError)
				}
			}
			res.Metrics = append(res.Metrics, r)
		}
	}
	if judge == JudgeDefault {
		classifyAdjusted(res, cfg)
	}
	score(res, cfg)
	for _, m := range res.Metrics {
		for _, w := range m.Warnings {
			res.Warnings = append(res.Warnings, m.Name+": "+w)
		}
	}
	return res, nil
}

// series is one side of a metric after the NaN strategy and outlier
// removal, in time order.
type series struct {
	// values are the points kept, in time order.
	values []float64
	// at is the position (step index) of each kept point in the raw series.
	at []int
	// replaced marks a NaN that nanStrategy replace turned into 0; it is
	// never read as a counter value.
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
	slices.Sort(finiteSorted)
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

func sortedClone(x []float64) []float64 {
	s := slices.Clone(x)
	slices.Sort(s)
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
		for _, v := range x {
			if math.IsInf(v, 0) {
				infinite++
			} else {
				biggest = max(biggest, math.Abs(v))
			}
		}
	}
	return 2*biggest + 1, infinite
}

// rankable returns x with ±Inf replaced by ±beyond (x itself when it has no
// infinite point).
func rankable(x []float64, beyond float64) []float64 {
	if !slices.ContainsFunc(x, func(v float64) bool { return math.IsInf(v, 0) }) {
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
func noData(r *MetricResult, reason string, kayenta bool) {
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

// fail classifies a metric whose test could not run as ERROR; it counts as
// not passing, and fails the analysis when the metric is critical.
func fail(r *MetricResult, reason string) {
	r.Classification, r.Reason = Error, reason
	r.Critical = r.metric.Critical
	if r.Critical {
		r.Reason += "; critical metric"
	}
}

func missingReason(r *MetricResult) string {
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

// kayentaTest classifies like NetflixACAJudge-v1.0's MannWhitneyClassifier:
// a 98% interval from the normal approximation must clear ±0.25·|estimate|
// and the effect size must reach the allowed bound. Constant series are not
// jittered (Kayenta adds random noise), so the verdict is deterministic.
func kayentaTest(r *MetricResult) {
	m := r.metric
	if len(r.canary) == 0 || len(r.control) == 0 || (m.Critical && !r.canaryMeasured && r.controlMeasured) {
		if m.NaNStrategy == NaNReplace && (!m.Critical || r.canaryMeasured || !r.controlMeasured) {
			r.Classification = Pass
			r.Reason = missingReason(r) + "; Kayenta passes missing data with nanStrategy replace"
			return
		}
		noData(r, missingReason(r), true)
		return
	}
	if slices.Equal(r.canarySorted, r.controlSorted) {
		r.Classification, r.Reason = Pass, "the canary and baseline data are identical"
		return
	}
	if singleValue(r.canary, r.control) {
		r.Classification, r.Reason = Pass, fmt.Sprintf("every canary and baseline value is %g", r.canary[0])
		return
	}
	beyond, infinite := infinityStandIn(r.canarySorted, r.controlSorted)
	c, b := rankable(r.canarySorted, beyond), rankable(r.controlSorted, beyond)
	mw, err := stats.MannWhitney(c, b, stats.MannWhitneyOptions{ConfLevel: kayentaConfLevel, Asymptotic: true})
	if err != nil {
		fail(r, "metric classification failed: "+err.Error())
		return
	}
	setTestFields(r, mw)
	effect, ratio := effectSize(m, r.canary, r.control, mw.W)
	r.EffectSize, r.MeanRatio = finite(effect), finite(ratio)
	// With infinite points the estimate's size comes from their finite
	// stand-ins, so a tolerance relative to it means nothing: the interval
	// must then only exclude zero.
	tol := kayentaTolerance * math.Abs(mw.Estimate)
	if infinite > 0 {
		tol = 0
	}
	es := m.EffectSize
	dir := m.Direction
	band := fmt.Sprintf("98%% interval [%.4g, %.4g] of the shift %.4g (canary median %.4g vs baseline %.4g, n=%d/%d%s)",
		mw.CILow, mw.CIHigh, mw.Estimate, r.Canary.Median, r.Baseline.Median, mw.NCanary, mw.NBaseline, infiniteNote(infinite))
	switch {
	case dir != DirectionDecrease && mw.CILow > tol && (math.IsNaN(effect) || effect >= *es.AllowedIncrease):
		r.Classification = High
		r.Critical = m.Critical && (math.IsNaN(effect) || effect >= *es.CriticalIncrease)
		r.Reason = fmt.Sprintf("%s lies above +%.4g (0.25·|shift|); effect size %s ≥ allowed %g", band, tol, fmtFloat(effect), *es.AllowedIncrease)
	case dir != DirectionIncrease && mw.CIHigh < -tol && (math.IsNaN(effect) || effect <= *es.AllowedDecrease):
		r.Classification = Low
		r.Critical = m.Critical && (math.IsNaN(effect) || effect <= *es.CriticalDecrease)
		r.Reason = fmt.Sprintf("%s lies below -%.4g (0.25·|shift|); effect size %s ≤ allowed %g", band, tol, fmtFloat(effect), *es.AllowedDecrease)
	default:
		r.Classification = Pass
		r.Reason = fmt.Sprintf("%s does not clear ±%.4g (0.25·|shift|) in a regressing direction within the effect-size bounds (effect size %s)", band, tol, fmtFloat(effect))
	}
	criticalNote(r, effect)
}

// criticalNote ends the reason of a HIGH or LOW metric configured critical
// with what its criticality decided: "critical metric" when it fails the
// analysis, or why it does not (its effect size within the critical
// increase or decrease, Kayenta's rule: it then counts in its groups'
// scores only).
func criticalNote(r *MetricResult, effect float64) {
	m := r.metric
	switch {
	case r.Critical:
		r.Reason += "; critical metric"
	case m.Critical && (r.Classification == High || r.Classification == Low):
		bound, word := *m.EffectSize.CriticalIncrease, "increase"
		if r.Classification == Low {
			bound, word = *m.EffectSize.CriticalDecrease, "decrease"
		}
		r.Reason += fmt.Sprintf("; configured critical, but its effect size %s is within the critical %s %g (effectSize.critical%s), so it does not fail the analysis by itself: it counts in its groups' scores",
			fmtFloat(effect), word, bound, strings.ToUpper(word[:1])+word[1:])
	}
}

// tailShare is the share of the family-wise level the default judge gives
// its shape test (stats.Exceedance); the location test gets the rest. A
// metric's p-value is the weighted Bonferroni combination
// min(1, p_location/(1 − tailShare), p_shape/tailShare), so the pair of
// tests keeps the metric's level.
const tailShare = 0.1

// minPairs is the fewest time-aligned pairs for the paired comparison, and
// minComovement the correlation of the two series above which they are
// taken to share their traffic.
const (
	minPairs      = 10
	minComovement = 0.5
)

// evidence is what the default judge's tests found for one metric.
type evidence struct {
	paired bool
	// comovement is the correlation of the paired series.
	comovement float64
	// n and nb are the sample sizes (pairs twice when paired).
	n, nb int
	// p is the location test's p-value; estimate and the interval its
	// shift (canary − baseline, a pseudo-median of paired differences).
	p, estimate, ciLow, ciHigh float64
	alternative                stats.Alternative
	// up reports whether the location statistic lies above its null
	// centre; cles is the common-language effect size (for paired data
	// the share of instants where the canary is above the baseline).
	up   bool
	cles float64
	// effect is the effect size compared with the configured bounds.
	effect float64
	dep    stats.Dependence
	// tail is the shape test (nil when it did not run), tailUp its side
	// and tailP its p-value over the sides tested.
	tail   *stats.ExceedanceResult
	tailUp bool
	tailP  float64
	// counts, when set, is the count test that replaced the rank test.
	counts *stats.CountTestResult
	// historyLeftOutP, when positive, is the p-value by which the
	// history's jumps were found smaller than the window's, which left it
	// out of the shape test's reference.
	historyLeftOutP float64
	// interval recomputes the location test's two-sided interval of the
	// shift at a confidence level (for Options.Equivalence).
	interval func(conf float64) (lo, hi float64, err error)
}

// smootherLevel is the level at which a history is found smoother than
// the baseline's window (smootherHistory). The two mistakes cost unlike
// amounts: a history of the window's own noise left out only shortens
// the shape test's reference, while a smoother history kept makes
// ordinary canary jumps read as exceedances. At 1%, a 10-point window's
// nine jumps too often failed to show the fleet's history smoother (A/A
// 16.5% on fleet-history at 10 points, 6–7.5% at 5%).
const smootherLevel = 0.05

// smootherHistory tests whether the history's jumps (absolute first
// differences) are smaller than the baseline window's: the one-sided
// Mann-Whitney test of the window's jumps against the history's, at level
// smootherLevel. Under exchangeable noise the two sets of jumps have one
// distribution, so a history is left out by mistake at most that often,
// and leaving it out only shortens the shape test's reference.
func smootherHistory(window, history []float64) (float64, bool) {
	jumps := func(x []float64) []float64 {
		d := make([]float64, 0, max(len(x)-1, 0))
		for i := 1; i < len(x); i++ {
			d = append(d, math.Abs(x[i]-x[i-1]))
		}
		slices.Sort(d)
		return d
	}
	w, h := jumps(window), jumps(history)
	if len(w) < 5 || len(h) < 5 {
		return 0, false
	}
	if p := stats.RankSumPValue(w, h, stats.Greater); p < smootherLevel {
		return p, true
	}
	return 0, false
}

// combined is the metric's p-value before the adjustment across metrics.
func (e *evidence) combined() float64 {
	p := e.p / (1 - tailShare)
	if e.tail != nil {
		p = math.Min(p, e.tailP/tailShare)
	}
	return math.Min(p, 1)
}

// defaultTest runs the default judge's tests on one metric; the decision
// waits for the p-values of all metrics (classifyAdjusted).
//
// Location: when the two series share their time grid (timeAligned) the
// canary is compared with the baseline point by point, by the signed-rank
// test of the paired differences, which cancels the traffic both see;
// otherwise by the Mann-Whitney test. Either test allows for the serial
// dependence of the series (stats.Dependence): of the paired differences,
// or of both series and the baseline's history. Shape: stats.Exceedance on
// the side(s) of the configured direction, against the jumps of the
// baseline's window and its history.
func defaultTest(r *MetricResult, alpha float64) {
	m := r.metric
	if !r.canaryMeasured || !r.controlMeasured || len(r.canary) < max(m.MinSamples, 1) || len(r.control) < max(m.MinSamples, 1) {
		noData(r, missingReason(r), false)
		return
	}
	if singleValue(r.canary, r.control) {
		r.Classification, r.Reason = Pass, fmt.Sprintf("every canary and baseline value is %g (n=%d/%d)", r.canary[0], len(r.canary), len(r.control))
		return
	}
	alt := stats.TwoSided
	switch m.Direction {
	case DirectionIncrease:
		alt = stats.Greater
	case DirectionDecrease:
		alt = stats.Less
	}
	beyond, infinite := infinityStandIn(r.canarySorted, r.controlSorted, r.history)
	c, b := rankable(r.canarySorted, beyond), rankable(r.controlSorted, beyond)
	canaryT, controlT := rankable(r.canary, beyond), rankable(r.control, beyond)
	history := rankable(r.history, beyond)
	e := &evidence{alternative: alt}
	if d, rel, comovement := pairedDifferences(r, infinite); d != nil {
		e.comovement = comovement
		if err := pairedTest(e, d, rel, alt, alpha); err != nil {
			fail(r, "metric classification failed: "+err.Error())
			return
		}
	} else {
		e.dep = baselineDependence(r, history, controlT, canaryT)
		mw, err := stats.MannWhitney(c, b, stats.MannWhitneyOptions{Alternative: alt, ConfLevel: 1 - alpha, Dependence: e.dep})
		if err != nil {
			fail(r, "metric classification failed: "+err.Error())
			return
		}
		e.n, e.nb, e.p, e.estimate, e.ciLow, e.ciHigh = mw.NCanary, mw.NBaseline, mw.PValue, mw.Estimate, mw.CILow, mw.CIHigh
		e.up = mw.W > float64(mw.NCanary*mw.NBaseline)/2
		e.cles = stats.CommonLanguage(mw.W, mw.NCanary, mw.NBaseline)
		e.interval = func(conf float64) (float64, float64, error) {
			two, err := stats.MannWhitney(c, b, stats.MannWhitneyOptions{ConfLevel: conf, Dependence: e.dep})
			return two.CILow, two.CIHigh, err
		}
		if sparseCounts(r) {
			countTest(e, r, alt, alpha)
		}
	}
	// A history with an infinite point is left out of the shape test: the
	// stand-in that ranks it (infinityStandIn) lies far beyond every point,
	// and as a reference jump it would hide every canary jump.
	shapeReference := history
	if slices.ContainsFunc(r.history, func(v float64) bool { return math.IsInf(v, 0) }) {
		shapeReference = nil
	}
	// A history whose jumps are smaller than the window's (the whole
	// fleet's smoother series against a small share's window) is not the
	// window's noise: against it, the canary's ordinary jumps would read as
	// exceedances. It is left out of the shape test, and the reason says so.
	if shapeReference != nil {
		if p, smoother := smootherHistory(controlT, shapeReference); smoother {
			shapeReference, e.historyLeftOutP = nil, p
		}
	}
	shapeTest(e, canaryT, controlT, shapeReference, m.Direction)
	r.infinite = infinite
	r.Autocorr = ptr(e.dep.Rho)
	r.PValue, r.Estimate = ptr(e.p), ptr(e.estimate)
	r.CILow, r.CIHigh = finite(e.ciLow), finite(e.ciHigh)
	if e.tail != nil {
		r.TailPValue = ptr(e.tailP)
	}
	r.Comparison = "unpaired"
	if e.paired {
		r.Comparison = "paired"
	}
	e.effect = relativeLevel(r.Canary.Mean, r.Baseline.Mean)
	if m.EffectSize.Measure == MeasureCLES {
		e.effect = e.cles
	}
	r.EffectSize, r.MeanRatio = finite(e.effect), finite(stats.MeanRatio(r.canary, r.control))
	r.test = e
}

// maxCountMean is the highest mean count per step of the baseline for
// which the default judge compares event counts by their totals
// (countTest): sparse counters, where most points tie (at zero) and a rank
// test sees little.
const maxCountMean = 10

// minBaselineEvents is the fewest events in the baseline's window for the
// totals test: with fewer, the baseline rate is all but unknown, and the
// rank test, which weighs every step that saw an event against a quiet
// baseline, is the safer one (kayenta#426: 4 errors against none).
const minBaselineEvents = 5

// sparseCounts reports whether a metric is a sparse counter: every canary,
// baseline and history point a non-negative integer, the baseline's mean
// at most maxCountMean, and at least minBaselineEvents events in its
// window.
func sparseCounts(r *MetricResult) bool {
	notCount := func(v float64) bool { return !(v >= 0) || v != math.Trunc(v) || math.IsInf(v, 0) }
	for _, s := range [][]float64{r.canary, r.control, r.history} {
		if slices.ContainsFunc(s, notCount) {
			return false
		}
	}
	m := mean(r.control)
	return len(r.control) > 0 && m <= maxCountMean && m*float64(len(r.control)) >= minBaselineEvents
}

// maxCountInflation is the largest variance inflation of a counter's
// total (stats.CountInflation) for which its counts are compared by their
// totals: near-Poisson counters. Burstier ones (rates that wander, errors
// in clusters) keep the rank test, whose dependence allowance holds for
// them; the inflation of their totals is underestimated from a few hundred
// tied counts.
const maxCountInflation = 1.5

// countTest replaces the location test of a sparse, near-Poisson counter
// by the conditional test of event totals (stats.CountTest), allowing for
// the variance inflation estimated from the baseline's window and history
// (stats.CountInflation); the shift and its interval become the change of
// the mean count per step.
func countTest(e *evidence, r *MetricResult, alt stats.Alternative, alpha float64) {
	f := stats.CountInflation(append(slices.Clone(r.history), r.control...))
	if f > maxCountInflation {
		return
	}
	ct, err := stats.CountTest(r.canary, r.control, alt, 1-alpha, f)
	if err != nil {
		return // sparseCounts checked the counts: the rank test stands
	}
	// The baseline has at least minBaselineEvents events: its mean is
	// positive, and the rate ratio's interval scales to a shift.
	base := mean(r.control)
	e.counts = &ct
	e.p, e.up = ct.PValue, ct.Canary/float64(ct.NCanary) > ct.Baseline/float64(ct.NBaseline)
	e.estimate = mean(r.canary) - base
	e.ciLow, e.ciHigh = base*(ct.RatioLow-1), base*(ct.RatioHigh-1)
}

// baselineDependence is the serial dependence the unpaired test allows
// for. It comes from the baseline: its history joined to its window. A
// baseline without history is a short series whose estimate is poor and
// must be hedged until the test is weak (75% of +35% shifts at ρ 0.5 over
// 60 points); the canary's two halves, each centred on its own level, then
// join it. Under the null hypothesis the canary has the same noise; a
// regression that steps up between the halves does not read as
// dependence, while a ramp or late burst can inflate the estimate, which
// only makes the test cautious. With history the baseline alone is used,
// so a regression can never mask itself. A baseline too short or too flat
// to estimate from leaves the test one of independent data. A baseline
// that repeats (a daily cycle, which an AR(1) fit reads as slow wandering
// and which would hide every change) gets a model-free allowance from its
// own autocorrelation over a window.
func baselineDependence(r *MetricResult, history, control, canary []float64) stats.Dependence {
	baseline := append(slices.Clone(history), control...)
	if len(history) == 0 {
		half := len(canary) / 2
		dep := stats.EstimateDependence(baseline, canary[:half], canary[half:])
		dep.Window = len(control)
		return dep
	}
	dep, season := stats.BaselineDependence(baseline, len(control))
	r.season = season
	return dep
}

// timeAligned reports whether the canary and baseline series of a pair
// share their time grid: both scopes name the same start and step and the
// series are equally long. Kayenta's concurrent baseline and canary do.
func timeAligned(p *MetricSetPair) bool {
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

// pairedDifferences returns canary − baseline at every instant both sides
// kept (after the NaN strategy and outlier removal), in time order, and the
// same differences relative to the instant's scale, (c − b)/(|c| + |b|), when
// the two series share their traffic: they are time-aligned, share at least
// minPairs instants, hold no infinite point, and move together (the
// correlation of their normal scores at those instants, stats.Comovement,
// is at least minComovement). Otherwise it returns nil and the comparison
// is unpaired: pairing independent series would only halve the data the
// noise is estimated from. Which comparison runs depends on how the series
// move, never on which of them is higher.
func pairedDifferences(r *MetricResult, infinite int) (d, rel []float64, comovement float64) {
	if !r.aligned || infinite > 0 {
		return nil, nil, 0
	}
	at := make(map[int]float64, len(r.controlSeries.at))
	for i, pos := range r.controlSeries.at {
		at[pos] = r.controlSeries.values[i]
	}
	var c, b []float64
	for i, pos := range r.canarySeries.at {
		if v, ok := at[pos]; ok {
			c, b = append(c, r.canarySeries.values[i]), append(b, v)
		}
	}
	if len(c) < max(minPairs, r.metric.MinSamples) {
		return nil, nil, 0
	}
	comovement = stats.Comovement(c, b)
	if !(comovement >= minComovement) {
		return nil, nil, comovement
	}
	d, rel = make([]float64, len(c)), make([]float64, len(c))
	for i := range c {
		d[i] = c[i] - b[i]
		if scale := math.Abs(c[i]) + math.Abs(b[i]); scale > 0 {
			rel[i] = d[i] / scale
		}
	}
	return d, rel, comovement
}

// pairedTest compares the canary with the baseline point by point: the
// signed-rank test of the differences d, allowing for their serial
// dependence. The dependence is estimated from the relative differences
// rel: the load both sides share scales the raw differences, so a
// multiplicative regression would make d follow the load, look correlated
// and mask itself, while rel stays level. Each half of the window is
// centred on its own level, so that a regression starting halfway (or a
// ramp) does not look like correlation either.
func pairedTest(e *evidence, d, rel []float64, alt stats.Alternative, alpha float64) error {
	half := len(rel) / 2
	dep := stats.EstimateDependence(rel[:half], rel[half:])
	sr, err := stats.SignedRank(d, stats.SignedRankOptions{Alternative: alt, ConfLevel: 1 - alpha, Dependence: dep})
	if err != nil {
		return err
	}
	e.paired, e.n, e.nb = true, len(d), len(d)
	e.p, e.estimate, e.ciLow, e.ciHigh = sr.PValue, sr.Estimate, sr.CILow, sr.CIHigh
	e.up = sr.V > float64(sr.N*(sr.N+1))/4
	var above float64
	for _, v := range d {
		switch {
		case v > 0:
			above++
		case v == 0:
			above += 0.5
		}
	}
	e.cles = above / float64(len(d))
	e.dep = dep
	e.interval = func(conf float64) (float64, float64, error) {
		two, err := stats.SignedRank(d, stats.SignedRankOptions{ConfLevel: conf, Dependence: dep})
		return two.CILow, two.CIHigh, err
	}
	return nil
}

// shapeTest runs stats.Exceedance on the side a regression would take (both
// sides, Bonferroni-combined, for direction either), prewhitening with the
// dependence of the two series. The reference is the baseline's window and
// its history: under the null hypothesis the history's jumps are the
// unchanged service's as much as the window's, and the longer reference
// makes a burst of canary jumps beyond all of them stand out (a latency
// spike in one window of a long-quiet metric).
func shapeTest(e *evidence, canary, control, history []float64, direction string) {
	rho := stats.EstimateDependence(canary, control).Rho
	up := stats.Exceedance(canary, rho, true, control, history)
	down := stats.Exceedance(canary, rho, false, control, history)
	switch direction {
	case DirectionIncrease:
		e.tail, e.tailUp, e.tailP = &up, true, up.PValue
	case DirectionDecrease:
		e.tail, e.tailUp, e.tailP = &down, false, down.PValue
	default:
		e.tail, e.tailUp = &up, true
		if down.PValue < up.PValue {
			e.tail, e.tailUp = &down, false
		}
		e.tailP = math.Min(1, 2*e.tail.PValue)
	}
}

func setTestFields(r *MetricResult, mw stats.MannWhitneyResult) {
	r.PValue = ptr(mw.PValue)
	r.Estimate = ptr(mw.Estimate)
	r.CILow, r.CIHigh = finite(mw.CILow), finite(mw.CIHigh)
}

// classifyAdjusted adjusts the default judge's metric p-values (each the
// combination of its location and shape tests, evidence.combined) across
// the scored metrics of the analysis (Holm by default, so the chance that
// an unchanged canary has any metric flagged stays at most
// familyWiseError) and classifies each metric.
func classifyAdjusted(res *Result, cfg *Config) {
	var idx []int
	var p []float64
	for i, r := range res.Metrics {
		if r.test != nil && !r.Muted {
			idx = append(idx, i)
			p = append(p, r.test.combined())
		}
	}
	var adj []float64
	switch cfg.Adjustment {
	case AdjustBH:
		adj = stats.AdjustBH(p)
	case AdjustNone:
		adj = p
	default:
		adj = stats.AdjustHolm(p)
	}
	adjusted := make(map[int]float64, len(idx))
	for k, i := range idx {
		adjusted[i] = adj[k]
	}
	for i := range res.Metrics {
		r := &res.Metrics[i]
		if r.test == nil {
			continue
		}
		a, ok := adjusted[i]
		if !ok { // muted: reported unadjusted
			a = r.test.combined()
		}
		r.AdjustedPValue = ptr(a)
		decideDefault(r, a, cfg.FamilyWiseError)
		r.test = nil
	}
}

// decideDefault classifies a default-judge metric from its adjusted p-value.
// A significant change is a regression only in the configured direction and
// only when it exceeds both the relative bound (effect size) and the
// absolute minimum effect. A zero baseline mean does not make the effect
// undefined: any rise from zero exceeds every ratio bound. When nothing is
// significant, the smallest shift the test could have detected is reported,
// and flagged when the data were too few to see a relevant change.
func decideDefault(r *MetricResult, adjP, alpha float64) {
	m, e := r.metric, r.test
	es := m.EffectSize
	// The side of the change: the location test's when it is significant on
	// its own at the metric's adjusted level, else the shape test's.
	byShape := e.tail != nil && !(adjP*(e.p/(1-tailShare))/e.combined() <= alpha)
	up := e.up
	if byShape {
		up = e.tailUp
	}
	shift := e.estimate
	if shift == 0 { // zero-inflated data: the median difference hides the change
		shift = r.Canary.Mean - r.Baseline.Mean
	}
	effect := e.effect
	desc := describeEvidence(r, e, adjP)
	if !(adjP <= alpha) && inconclusive(r, e) {
		r.Classification = Inconclusive
		r.Critical = m.Critical
		side := "above"
		if !e.up {
			side = "below"
		}
		r.Reason = fmt.Sprintf("inconclusive: the canary's median %.4g lies %s every point of the baseline and its history by more than twice their range (effect size %s), but with %d canary and %d baseline points "+
			"and the dependence allowed for no shift, however large, would be significant: the minimum detectable effect is unbounded; more points or a baseline history would decide: %s",
			r.Canary.Median, side, fmtFloat(effect), e.n, e.nb, desc)
		if r.Critical {
			r.Reason += "; critical metric"
		}
		return
	}
	if !(adjP <= alpha) {
		r.Classification = Pass
		r.Reason = "no significant change: " + desc
		if e.ciLow > 0 || e.ciHigh < 0 {
			r.Reason += "; the interval is at the unadjusted level, so it can exclude 0 while the adjusted p, which decides, is not significant"
		}
		if mde, ok := detectableShift(e, alpha); ok {
			rel := stats.RelativeShift(mde, r.Baseline.Median)
			if mde > m.MinEffect && (math.IsNaN(rel) || rel > 0.2) {
				w := fmt.Sprintf("too little data for a confident pass: only shifts of about %.4g or more", mde)
				if !math.IsNaN(rel) {
					w += fmt.Sprintf(" (%.0f%% of the baseline median)", 100*rel)
				}
				r.Warnings = append(r.Warnings, w+" would be detected")
			}
		}
		return
	}
	what := "shift"
	if byShape {
		what = "jumps"
	}
	switch {
	case up && m.Direction != DirectionDecrease:
		if effect < *es.AllowedIncrease || math.Abs(shift) < m.MinEffect && !byShape {
			r.Classification = Pass
			r.Reason = fmt.Sprintf("significant increase within the allowed bounds (effect size %s < %g or |shift| %.4g < minimum %g): %s",
				fmtFloat(effect), *es.AllowedIncrease, math.Abs(shift), m.MinEffect, desc)
			return
		}
		r.Classification = High
		r.Critical = m.Critical && effect >= *es.CriticalIncrease
		r.Reason = fmt.Sprintf("significant increase (%s), effect size %s ≥ allowed %g: %s", what, fmtFloat(effect), *es.AllowedIncrease, desc)
	case !up && m.Direction != DirectionIncrease:
		if effect > *es.AllowedDecrease || math.Abs(shift) < m.MinEffect && !byShape {
			r.Classification = Pass
			r.Reason = fmt.Sprintf("significant decrease within the allowed bounds (effect size %s > %g or |shift| %.4g < minimum %g): %s",
				fmtFloat(effect), *es.AllowedDecrease, math.Abs(shift), m.MinEffect, desc)
			return
		}
		r.Classification = Low
		r.Critical = m.Critical && effect <= *es.CriticalDecrease
		r.Reason = fmt.Sprintf("significant decrease (%s), effect size %s ≤ allowed %g: %s", what, fmtFloat(effect), *es.AllowedDecrease, desc)
	default:
		r.Classification = Pass
		r.Reason = "significant change in the harmless direction: " + desc
	}
	if (r.Classification == High || r.Classification == Low) && (e.estimate == 0 || e.ciLow == 0 && up || e.ciHigh == 0 && !up) {
		r.Reason += fmt.Sprintf("; the shift and its interval reach 0 because most points tie (canary mean %.4g vs baseline %.4g), while the rank test still finds the canary's values %s",
			r.Canary.Mean, r.Baseline.Mean, map[bool]string{true: "higher", false: "lower"}[up])
	}
	criticalNote(r, effect)
}

// inconclusive reports whether a metric the default judge did not find
// significant still cannot pass: its location test could not have been
// significant with the points it has (its interval at the judge's level
// is the whole line, so no shift however large is excluded), while the
// canary's median lies far beyond the baseline in a regressing direction:
// beyond every point of its window and history by twice their range, past
// the allowed effect and the minimum effect. A few strongly dependent
// points cannot tell such a canary from noise, and silence is then not a
// pass. The baseline's range says how far is far only when a history at
// least as long as the window shows it: a short window of strongly
// dependent noise is a single wander whose range says little (at ρ 0.9 a
// 10-point window is narrow, and one canary window in three would be
// "far" beyond it), so without such a history the rule does not apply.
func inconclusive(r *MetricResult, e *evidence) bool {
	m := r.metric
	if e.counts != nil || !math.IsInf(e.ciLow, -1) || !math.IsInf(e.ciHigh, 1) || math.Abs(r.Canary.Median-r.Baseline.Median) < m.MinEffect {
		return false
	}
	if len(r.history) < len(r.control) {
		return false
	}
	lo, hi := r.Baseline.Min, r.Baseline.Max
	for _, v := range r.history {
		lo, hi = math.Min(lo, v), math.Max(hi, v)
	}
	spread := hi - lo
	es := m.EffectSize
	switch {
	case e.up && m.Direction != DirectionDecrease:
		return r.Canary.Median > hi+2*spread && e.effect >= *es.AllowedIncrease && e.effect > es.neutral()
	case !e.up && m.Direction != DirectionIncrease:
		return r.Canary.Median < lo-2*spread && e.effect <= *es.AllowedDecrease && e.effect < es.neutral()
	}
	return false
}

// describeEvidence is the one-sentence account of a default-judge metric:
// medians, which comparison ran, the shift and its interval, the p-values,
// the serial dependence allowed for and, when it mattered, the shape test.
func describeEvidence(r *MetricResult, e *evidence, adjP float64) string {
	var desc string
	if e.paired {
		desc = fmt.Sprintf("canary median %.4g vs baseline %.4g, paired by timestamp at %d instants (the series move together, correlation %.2f): canary − baseline %.4g [%s, %s], p=%.3g",
			r.Canary.Median, r.Baseline.Median, e.n, e.comovement, e.estimate, fmtFloat(e.ciLow), fmtFloat(e.ciHigh), e.p)
	} else if c := e.counts; c != nil {
		desc = fmt.Sprintf("%g canary events in %d steps vs %g baseline events in %d (counts compared by their totals, variance allowance %.2g×): mean per step %+.4g [%s, %s], p=%.3g",
			c.Canary, c.NCanary, c.Baseline, c.NBaseline, c.Inflation, e.estimate, fmtFloat(e.ciLow), fmtFloat(e.ciHigh), e.p)
	} else {
		desc = fmt.Sprintf("canary median %.4g vs baseline %.4g (n=%d/%d, unpaired), shift %.4g [%s, %s], p=%.3g",
			r.Canary.Median, r.Baseline.Median, e.n, e.nb, e.estimate, fmtFloat(e.ciLow), fmtFloat(e.ciHigh), e.p)
	}
	if e.tail != nil && (e.tail.Count > 0 && e.tailP/tailShare < e.p/(1-tailShare) || e.tailP < 0.05) {
		side := "above the largest"
		if !e.tailUp {
			side = "below the smallest"
		}
		of := "baseline jumps"
		if e.tail.Baseline > len(r.control) {
			of = "jumps of the baseline and its history"
		}
		desc += fmt.Sprintf("; %d of %d canary jumps %s of %d %s (%.4g), p=%.3g", e.tail.Count, e.tail.Canary, side, e.tail.Baseline, of, e.tail.Bound, e.tailP)
	}
	if e.historyLeftOutP > 0 {
		desc += fmt.Sprintf("; the history was left out of the jump test: its jumps are smaller than the baseline window's (p=%.2g), so it is not the window's noise", e.historyLeftOutP)
	}
	if r.every > 1 {
		desc += fmt.Sprintf("; each point spans %d steps (the query's window), so the test took one point in %d: %d canary and %d baseline windows that do not overlap",
			r.every, r.every, len(r.canary), len(r.control))
	}
	desc += fmt.Sprintf(", adjusted p=%.3g", adjP)
	if adjP > 1.01*e.p && e.p > 0 {
		desc += fmt.Sprintf(" (the location test has %.0f%% of the level and the jump test %.0f%%, and the smaller share-weighted p is adjusted across the analysis' metrics)",
			100*(1-tailShare), 100*tailShare)
	}
	desc += infiniteNote(r.infinite)
	if dc, db := r.canarySeries.dropped, r.controlSeries.dropped; dc+db > 0 && r.metric.Outliers != nil {
		desc += fmt.Sprintf(", %d canary and %d baseline points removed as outliers (beyond %g×IQR, outliers.factor)", dc, db, r.metric.Outliers.Factor)
	}
	if r.season > 0 {
		desc += fmt.Sprintf(", the baseline and its history repeat every %d points: variance allowance %.2g× that of independent points, from their autocorrelation over a window",
			r.season, e.dep.Inflation)
	} else if e.dep.Estimated() && e.dep.Rho > 0 {
		desc += fmt.Sprintf(", autocorrelation %.2g allowed for (from %d points)", e.dep.Rho, e.dep.Points)
	}
	return desc
}

// detectableShift approximates the smallest shift the location test would
// detect with 80% power at level alpha: (z_{1−α} + z_{0.8}) times the
// standard error of the shift, read off the interval (computed at the
// judge's level 1 − alpha).
func detectableShift(e *evidence, alpha float64) (float64, bool) {
	zAlpha := distuv.UnitNormal.Quantile(1 - alpha)
	halfWidth := e.ciHigh - e.estimate
	if e.alternative == stats.TwoSided {
		zAlpha = distuv.UnitNormal.Quantile(1 - alpha/2)
		halfWidth = (e.ciHigh - e.ciLow) / 2
	} else if math.IsInf(halfWidth, 0) {
		halfWidth = e.estimate - e.ciLow
	}
	if math.IsInf(halfWidth, 0) || math.IsNaN(halfWidth) || halfWidth <= 0 {
		return 0, false
	}
	se := halfWidth / zAlpha
	return (zAlpha + distuv.UnitNormal.Quantile(0.8)) * se, true
}

// thresholdTest checks an aggregate of the canary against absolute bounds and
// against the same aggregate of the baseline. Ratio bounds compare the
// sign-safe relative level of the two aggregates (relativeLevel: the plain
// ratio canary/baseline when the baseline aggregate is positive).
func thresholdTest(r *MetricResult, step float64) {
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
		if s.replaced[i] {
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
	if first < 0 || s.at[last] == s.at[first] {
		return 0, "rate needs two measured points"
	}
	return increase / (float64(s.at[last]-s.at[first]) * step), ""
}

func finite(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}

func fmtFloat(v float64) string {
	switch {
	case math.IsNaN(v):
		return "undefined"
	case math.IsInf(v, 1):
		return "+∞"
	case math.IsInf(v, -1):
		return "-∞"
	}
	return fmt.Sprintf("%.4g", v)
}
