package verdict

import (
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
	Name           string            `json:"name"`
	Test           string            `json:"test"`
	Groups         []string          `json:"groups"`
	Classification string            `json:"classification"`
	Critical       bool              `json:"critical"`
	Muted          bool              `json:"muted,omitempty"`
	Reason         string            `json:"reason"`
	Baseline       stats.Summary     `json:"baseline"`
	Canary         stats.Summary     `json:"canary"`
	PValue         *float64          `json:"p_value"`
	AdjustedPValue *float64          `json:"adjusted_p_value"`
	Estimate       *float64          `json:"estimate"`
	CILow          *float64          `json:"ci_low"`
	CIHigh         *float64          `json:"ci_high"`
	EffectSize     *float64          `json:"effect_size"`
	MeanRatio      *float64          `json:"mean_ratio,omitempty"`
	Aggregate      *float64          `json:"aggregate,omitempty"`
	Autocorr       *float64          `json:"autocorrelation,omitempty"`
	Warnings       []string          `json:"warnings,omitempty"`
	ID             string            `json:"id,omitempty"`
	Tags           map[string]string `json:"tags,omitempty"`

	mw      *stats.MannWhitneyResult // set while a Mann-Whitney result awaits its adjusted p-value
	metric  *Metric
	canary  []float64 // in time order
	control []float64
	// canarySorted and controlSorted are the same samples ascending, sorted
	// once for every statistic that needs them.
	canarySorted, controlSorted []float64
	// canaryMeasured and controlMeasured report whether a side had at least
	// one real (non-NaN) point before the NaN strategy replaced missing ones.
	canaryMeasured, controlMeasured bool
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
	if err := thresholds.check(); err != nil {
		return nil, fmt.Errorf("thresholds: %w", err)
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
		canary, control := prepare(canaryRaw, m), prepare(controlRaw, m)
		canarySorted, controlSorted := sortedClone(canary), sortedClone(control)
		for _, test := range m.Tests {
			r := MetricResult{
				Name: m.Name, Test: test, Groups: m.Groups, Muted: m.Muted,
				Baseline: describe(controlSorted), Canary: describe(canarySorted),
				metric: m, canary: canary, control: control, canarySorted: canarySorted, controlSorted: controlSorted,
				canaryMeasured: hasValue(canaryRaw), controlMeasured: hasValue(controlRaw),
			}
			if pair != nil {
				r.ID, r.Tags = pair.ID, pair.Tags
			}
			switch {
			case test == TestThreshold:
				thresholdTest(&r, step)
			case judge == JudgeKayenta:
				kayentaTest(&r)
			default:
				defaultTest(&r, cfg.FamilyWiseError)
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

// prepare applies the NaN strategy and outlier removal of m.
func prepare(values []float64, m *Metric) []float64 {
	out := make([]float64, 0, len(values))
	for _, v := range values {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			if m.NaNStrategy == NaNReplace {
				out = append(out, 0)
			}
			continue
		}
		out = append(out, v)
	}
	if m.Outliers != nil {
		out = stats.RemoveOutliers(out, m.Outliers.Factor, true)
	}
	return out
}

func hasValue(values []float64) bool {
	return slices.ContainsFunc(values, func(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) })
}

func sortedClone(x []float64) []float64 {
	s := slices.Clone(x)
	slices.Sort(s)
	return s
}

func describe(x []float64) stats.Summary {
	s, err := stats.Describe(x)
	if err != nil {
		return stats.Summary{}
	}
	return s
}

// noData classifies a metric without enough data. mustHaveData turns it into
// a failure; a critical metric without data fails the canary only then
// (default judge) or always (Kayenta, which keeps the critical flag).
func noData(r *MetricResult, reason string, kayenta bool) {
	m := r.metric
	switch {
	case m.MustHaveData && !(kayenta && m.Critical):
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

func missingReason(r *MetricResult) string {
	switch {
	case (!r.canaryMeasured || !r.controlMeasured) && len(r.canary) > 0 && len(r.control) > 0:
		return "every canary or baseline point is NaN (replaced by 0, but nothing was measured)"
	case len(r.canary) == 0 && len(r.control) == 0:
		return "no data for canary or baseline"
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

// effectSize returns the configured effect size and the mean ratio.
func effectSize(m *Metric, canary, control []float64, w float64) (effect, ratio float64) {
	ratio = stats.MeanRatio(canary, control)
	if m.EffectSize.Measure == MeasureCLES {
		return stats.CommonLanguage(w, len(canary), len(control)), ratio
	}
	return ratio, ratio
}

// kayentaTest classifies like NetflixACAJudge-v1.0's MannWhitneyClassifier:
// a 98% interval from the normal approximation must clear ±0.25·|estimate|
// and the effect size must reach the allowed bound. Constant series are not
// jittered (Kayenta adds random noise), so the verdict is deterministic.
func kayentaTest(r *MetricResult) {
	m := r.metric
	if len(r.canary) == 0 || len(r.control) == 0 {
		if m.NaNStrategy == NaNReplace {
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
	mw, err := stats.MannWhitney(r.canarySorted, r.controlSorted, stats.MannWhitneyOptions{ConfLevel: kayentaConfLevel, Asymptotic: true})
	if err != nil {
		r.Classification, r.Reason = Error, "metric classification failed: "+err.Error()
		return
	}
	setTestFields(r, mw)
	effect, ratio := effectSize(m, r.canary, r.control, mw.W)
	r.EffectSize, r.MeanRatio = finite(effect), finite(ratio)
	tol := kayentaTolerance * math.Abs(mw.Estimate)
	es := m.EffectSize
	dir := m.Direction
	band := fmt.Sprintf("98%% interval [%.4g, %.4g] of the shift %.4g (canary median %.4g vs baseline %.4g, n=%d/%d)",
		mw.CILow, mw.CIHigh, mw.Estimate, r.Canary.Median, r.Baseline.Median, mw.NCanary, mw.NBaseline)
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
	if r.Critical {
		r.Reason += "; critical metric"
	}
}

// defaultTest runs the rank test of the default judge. The decision waits
// for the p-values of all metrics (classifyAdjusted).
func defaultTest(r *MetricResult, alpha float64) {
	m := r.metric
	if !r.canaryMeasured || !r.controlMeasured || len(r.canary) < m.MinSamples || len(r.control) < m.MinSamples {
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
	// The noise's autocorrelation is estimated from the baseline alone: under
	// the null hypothesis the canary has the same noise, and a regression that
	// starts partway through the canary window would otherwise look like
	// autocorrelation and mask itself.
	rho := stats.Lag1Autocorrelation(stats.Series{Values: r.control, Sorted: r.controlSorted})
	inflation := stats.AR1VarianceInflation(rho)
	mw, err := stats.MannWhitney(r.canarySorted, r.controlSorted, stats.MannWhitneyOptions{
		Alternative: alt, ConfLevel: 1 - alpha, VarianceInflation: inflation,
	})
	if err != nil {
		r.Classification, r.Reason = Error, "metric classification failed: "+err.Error()
		return
	}
	r.Autocorr = ptr(rho)
	setTestFields(r, mw)
	effect, ratio := effectSize(m, r.canary, r.control, mw.W)
	r.EffectSize, r.MeanRatio = finite(effect), finite(ratio)
	r.mw = &mw
}

func setTestFields(r *MetricResult, mw stats.MannWhitneyResult) {
	r.PValue = ptr(mw.PValue)
	r.Estimate = ptr(mw.Estimate)
	r.CILow, r.CIHigh = finite(mw.CILow), finite(mw.CIHigh)
}

// classifyAdjusted adjusts the default judge's p-values across the scored
// metrics of the analysis (Holm by default, so the chance that an unchanged
// canary has any metric flagged stays at most familyWiseError) and
// classifies each metric.
func classifyAdjusted(res *Result, cfg *Config) {
	var idx []int
	var p []float64
	for i, r := range res.Metrics {
		if r.mw != nil && !r.Muted {
			idx = append(idx, i)
			p = append(p, r.mw.PValue)
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
		if r.mw == nil {
			continue
		}
		a, ok := adjusted[i]
		if !ok { // muted: reported unadjusted
			a = r.mw.PValue
		}
		r.AdjustedPValue = ptr(a)
		decideDefault(r, a, cfg.FamilyWiseError)
		r.mw = nil
	}
}

// decideDefault classifies a default-judge metric from its adjusted p-value.
// A significant shift is a regression only in the configured direction and
// only when it exceeds both the relative bound (effect size) and the
// absolute minimum effect. A zero baseline mean does not make the effect
// undefined: any rise from zero exceeds every ratio bound. When nothing is
// significant, the smallest shift the test could have detected is reported,
// and flagged when the data were too few to see a relevant change.
func decideDefault(r *MetricResult, adjP, alpha float64) {
	m, mw := r.metric, *r.mw
	es := m.EffectSize
	up := mw.W > float64(mw.NCanary*mw.NBaseline)/2
	shift := mw.Estimate
	if shift == 0 { // zero-inflated data: the median difference hides the change
		shift = r.Canary.Mean - r.Baseline.Mean
	}
	effect := effectForDecision(m, r.Canary.Mean, r.Baseline.Mean, mw.W, mw.NCanary, mw.NBaseline)
	desc := fmt.Sprintf("canary median %.4g vs baseline %.4g (n=%d/%d), shift %.4g [%s, %s], p=%.3g, adjusted p=%.3g",
		r.Canary.Median, r.Baseline.Median, mw.NCanary, mw.NBaseline, mw.Estimate,
		fmtFloat(mw.CILow), fmtFloat(mw.CIHigh), mw.PValue, adjP)
	if r.Autocorr != nil && *r.Autocorr > 0 {
		desc += fmt.Sprintf(", autocorrelation %.2g", *r.Autocorr)
	}
	if !(adjP <= alpha) {
		r.Classification = Pass
		r.Reason = "no significant shift: " + desc
		if mde, ok := detectableShift(mw, alpha); ok {
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
	switch {
	case up && m.Direction != DirectionDecrease:
		if effect < *es.AllowedIncrease || math.Abs(shift) < m.MinEffect {
			r.Classification = Pass
			r.Reason = fmt.Sprintf("significant increase within the allowed bounds (effect size %s < %g or |shift| %.4g < minimum %g): %s",
				fmtFloat(effect), *es.AllowedIncrease, math.Abs(shift), m.MinEffect, desc)
			return
		}
		r.Classification = High
		r.Critical = m.Critical && effect >= *es.CriticalIncrease
		r.Reason = fmt.Sprintf("significant increase, effect size %s ≥ allowed %g: %s", fmtFloat(effect), *es.AllowedIncrease, desc)
	case !up && m.Direction != DirectionIncrease:
		if effect > *es.AllowedDecrease || math.Abs(shift) < m.MinEffect {
			r.Classification = Pass
			r.Reason = fmt.Sprintf("significant decrease within the allowed bounds (effect size %s > %g or |shift| %.4g < minimum %g): %s",
				fmtFloat(effect), *es.AllowedDecrease, math.Abs(shift), m.MinEffect, desc)
			return
		}
		r.Classification = Low
		r.Critical = m.Critical && effect <= *es.CriticalDecrease
		r.Reason = fmt.Sprintf("significant decrease, effect size %s ≤ allowed %g: %s", fmtFloat(effect), *es.AllowedDecrease, desc)
	default:
		r.Classification = Pass
		r.Reason = "significant shift in the harmless direction: " + desc
	}
	if r.Critical {
		r.Reason += "; critical metric"
	}
}

// effectForDecision is the effect size with a defined value when the
// baseline mean is zero: +Inf for a rise from zero, -Inf for a fall.
func effectForDecision(m *Metric, canaryMean, baselineMean, w float64, n, nb int) float64 {
	if m.EffectSize.Measure == MeasureCLES {
		return stats.CommonLanguage(w, n, nb)
	}
	if baselineMean == 0 {
		switch {
		case canaryMean > 0:
			return math.Inf(1)
		case canaryMean < 0:
			return math.Inf(-1)
		}
		return 1
	}
	return canaryMean / baselineMean
}

// detectableShift approximates the smallest shift the test would detect with
// 80% power at level alpha: (z_{1−α} + z_{0.8}) times the standard error of
// the shift, read off the interval.
func detectableShift(mw stats.MannWhitneyResult, alpha float64) (float64, bool) {
	zAlpha := distuv.UnitNormal.Quantile(1 - alpha)
	halfWidth := mw.CIHigh - mw.Estimate
	if mw.Alternative == stats.TwoSided {
		zAlpha = distuv.UnitNormal.Quantile(1 - alpha/2)
		halfWidth = (mw.CIHigh - mw.CILow) / 2
	} else if math.IsInf(halfWidth, 0) {
		halfWidth = mw.Estimate - mw.CILow
	}
	if math.IsInf(halfWidth, 0) || halfWidth <= 0 {
		return 0, false
	}
	se := halfWidth / zAlpha
	return (zAlpha + distuv.UnitNormal.Quantile(0.8)) * se, true
}

// thresholdTest checks an aggregate of the canary against absolute bounds and
// against the same aggregate of the baseline.
func thresholdTest(r *MetricResult, step float64) {
	m, t := r.metric, r.metric.Threshold
	needsBaseline := t.MinRatio != nil || t.MaxRatio != nil
	if !r.canaryMeasured || (needsBaseline && !r.controlMeasured) {
		noData(r, missingReason(r), false)
		return
	}
	v := aggregate(t.Aggregate, r.canary, r.canarySorted, step)
	r.Aggregate = ptr(v)
	var fails []string
	high, low := false, false
	if t.Max != nil && v > *t.Max {
		high = true
		fails = append(fails, fmt.Sprintf("canary %s %.4g is above the maximum %g", t.Aggregate, v, *t.Max))
	}
	if t.Min != nil && v < *t.Min {
		low = true
		fails = append(fails, fmt.Sprintf("canary %s %.4g is below the minimum %g", t.Aggregate, v, *t.Min))
	}
	if t.MinRatio != nil || t.MaxRatio != nil {
		b := aggregate(t.Aggregate, r.control, r.controlSorted, step)
		ratio := v / b
		switch {
		case b == 0 && v == 0:
			ratio = 1
		case b == 0:
			ratio = math.Copysign(math.Inf(1), v)
		}
		r.EffectSize = finite(ratio)
		if t.MaxRatio != nil && ratio > *t.MaxRatio {
			high = true
			fails = append(fails, fmt.Sprintf("canary/baseline %s ratio %.4g (%.4g / %.4g) is above %g", t.Aggregate, ratio, v, b, *t.MaxRatio))
		}
		if t.MinRatio != nil && ratio < *t.MinRatio {
			low = true
			fails = append(fails, fmt.Sprintf("canary/baseline %s ratio %.4g (%.4g / %.4g) is below %g", t.Aggregate, ratio, v, b, *t.MinRatio))
		}
	}
	switch {
	case high:
		r.Classification = High
	case low:
		r.Classification = Low
	default:
		r.Classification = Pass
		r.Reason = fmt.Sprintf("canary %s %.4g is within the threshold bounds (n=%d)", t.Aggregate, v, len(r.canary))
		return
	}
	r.Critical = m.Critical
	r.Reason = strings.Join(fails, "; ")
	if r.Critical {
		r.Reason += "; critical metric"
	}
}

// aggregate computes a threshold test's aggregate of a non-empty series x
// (time order; sorted is the same values ascending); rate is the per-second
// increase of a counter over the series.
func aggregate(name string, x, sorted []float64, step float64) float64 {
	quantiles := map[string]float64{"median": 0.5, "p90": 0.9, "p95": 0.95, "p99": 0.99}
	switch name {
	case "median", "p90", "p95", "p99":
		return stats.QuantileSorted(quantiles[name], sorted)
	case "min":
		return sorted[0]
	case "max":
		return sorted[len(sorted)-1]
	case "last":
		return x[len(x)-1]
	case "sum":
		return floats.Sum(x)
	case "rate":
		if len(x) < 2 {
			return 0
		}
		return (x[len(x)-1] - x[0]) / (float64(len(x)-1) * step)
	}
	return stat.Mean(x, nil)
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
