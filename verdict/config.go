package verdict

import (
	"errors"
	"sync/atomic"
)

// The errors of this package.
var (
	// ErrInvalidConfig is returned, wrapped with every problem found, when a
	// canary config does not validate.
	ErrInvalidConfig = errors.New("invalid canary config")
	// ErrInvalidData is returned when metric data cannot be used.
	ErrInvalidData = errors.New("invalid metric data")
	// ErrInvalidThresholds is returned when score thresholds given for one
	// analysis are not 0 ≤ marginal ≤ pass ≤ 100.
	ErrInvalidThresholds = errors.New("invalid score thresholds")
)

// JudgeName names a registered judge (Register, LookupJudge).
type JudgeName string

// Judge names.
const (
	// JudgeDefault is judge's own judge: Kayenta's config model with its
	// known blind spots fixed.
	JudgeDefault JudgeName = "default"
	// JudgeKayenta reproduces Kayenta's NetflixACAJudge-v1.0, deterministically.
	JudgeKayenta JudgeName = "kayenta"
)

// Judge names in Kayenta canary configs.
const (
	// KayentaJudgeName is the judge name in Kayenta canary configs.
	KayentaJudgeName = "NetflixACAJudge-v1.0"
	// RemoteJudgeName is the judge name of a Kayenta config judged by a
	// remote judge (judge's POST /judge); the default judge runs.
	RemoteJudgeName = "RemoteJudge-v1.0"
)

// Test names a metric's test (MetricResult.Test).
type Test string

// Tests.
const (
	TestMannWhitney Test = "mann_whitney"
	TestThreshold   Test = "threshold"
)

// Direction is the direction in which a change is a regression.
type Direction string

// Directions.
const (
	DirectionIncrease Direction = "increase"
	DirectionDecrease Direction = "decrease"
	DirectionEither   Direction = "either"
)

// NaN strategies.
const (
	NaNRemove  = "remove"
	NaNReplace = "replace"
)

// Measure is an effect-size measure.
type Measure string

// Effect-size measures.
const (
	MeasureMeanRatio Measure = "meanRatio"
	MeasureCLES      Measure = "cles"
)

// DefaultHistoryWindows and MaxHistoryWindows bound Config.HistoryWindows:
// three windows of history let the default judge estimate the noise's
// serial dependence from four times the data (see the README's figures).
const (
	DefaultHistoryWindows = 3
	MaxHistoryWindows     = 10
)

// Multiple-comparison adjustments across the metrics of one analysis.
const (
	AdjustHolm = "holm"
	AdjustBH   = "bh"
	AdjustNone = "none"
)

// KayentaQuery is the query key of a converted Kayenta config's raw query.
const KayentaQuery = "kayenta"

// querySources lists the keys a metric's query may have: the registered
// metrics sources and KayentaQuery. The program wires it (metrics/all,
// SetQuerySources); unwired, any key is taken.
var querySources atomic.Pointer[func() []string]

// SetQuerySources tells validation which query keys name a source.
func SetQuerySources(list func() []string) { querySources.Store(&list) }

// QuerySources are the query keys validation accepts, nil when unwired.
func QuerySources() []string {
	if f := querySources.Load(); f != nil {
		return (*f)()
	}
	return nil
}

// Aggregates for threshold tests.
var aggregates = []string{"mean", "median", "p90", "p95", "p99", "min", "max", "last", "sum", "rate"}

// Config is a canary config: metric groups with weights, the metrics and how
// each one is judged. It is the native format; the kayenta package converts
// Kayenta CanaryConfig JSON into it.
type Config struct {
	// Name identifies the config.
	Name string `json:"name"`
	// Judge is "default" or "kayenta"; empty means default, also for Kayenta
	// configs naming NetflixACAJudge-v1.0.
	Judge JudgeName `json:"judge,omitempty"`
	// Thresholds are the pass and marginal score thresholds (0–100).
	Thresholds Thresholds `json:"thresholds"`
	// FamilyWiseError is the chance, across all metrics of one analysis,
	// that an unchanged canary has a metric flagged (default 0.05).
	FamilyWiseError float64 `json:"familyWiseError,omitempty"`
	// Adjustment is the multiple-comparison method: holm (default), bh or none.
	Adjustment string `json:"adjustment,omitempty"`
	// HistoryWindows is how many windows of the baseline's history, right
	// before its window, the analysis runner fetches for the default judge
	// to estimate the noise from (default DefaultHistoryWindows, 0 for none,
	// at most MaxHistoryWindows). Analyses of given data use whatever
	// history the data carry.
	HistoryWindows *int `json:"historyWindows,omitempty"`
	// MaxNodataFraction fails the analysis when at least this share of the
	// scored metrics has no data (default 0.5, as Kayenta).
	MaxNodataFraction *float64 `json:"maxNodataFraction,omitempty"`
	// Groups lists the metric groups and their weights; groups without a
	// weight share what the weighted ones leave of 100.
	Groups []Group `json:"groups,omitempty"`
	// Metrics are judged one by one.
	Metrics []Metric `json:"metrics"`
	// Templates are named query templates (Kayenta's customFilterTemplate).
	Templates map[string]string `json:"templates,omitempty"`
	// Applications are the applications the config is for, as Kayenta's:
	// Spinnaker's canary stage finds a config by its name and one of them.
	Applications []string `json:"applications,omitempty"`
	// Shadow lists judges or stored configs that judge every analysis of
	// this config beside it, on the same series, for comparison only: their
	// verdicts are stored and shown with the analysis and counted in
	// judge_shadow_verdicts_total, never enforced (judge serve).
	Shadow []Shadow `json:"shadow,omitempty"`
	// KayentaJudge, for a config converted from Kayenta's, is the judge
	// name it gave (NetflixACAJudge-v1.0), which Judge serves: results name
	// both.
	KayentaJudge string `json:"-"`
}

// Shadow is one shadow of a config: another judge on the same config, or
// another stored config (by name) with its own judge.
type Shadow struct {
	// Judge is "default" or "kayenta".
	Judge JudgeName `json:"judge,omitempty"`
	// Config is the name of a stored canary config.
	Config string `json:"config,omitempty"`
}

// Name is how a shadow is shown and counted: "judge:kayenta" or
// "config:checkout-v2".
func (s Shadow) Name() string {
	if s.Judge != "" {
		return "judge:" + string(s.Judge)
	}
	return "config:" + s.Config
}

// MaxShadows bounds a config's shadows: each judges every analysis again.
const MaxShadows = 4

// Thresholds are score thresholds.
type Thresholds struct {
	// Pass is the lowest score that passes (default 95).
	Pass float64 `json:"pass"`
	// Marginal is the lowest score that is MARGINAL rather than FAIL
	// (default 75); 0 ≤ marginal ≤ pass ≤ 100.
	Marginal float64 `json:"marginal"`
}

// Group is a weighted metric group.
type Group struct {
	// Name is the group the metrics' groups name.
	Name string `json:"name"`
	// Weight is the group's share of the score, in percent; groups without
	// one share what the weighted groups leave.
	Weight *float64 `json:"weight,omitempty"`
}

// Metric configures one metric.
type Metric struct {
	// Name matches the metric's name in the data.
	Name string `json:"name"`
	// Groups the metric counts in.
	Groups []string `json:"groups"`
	// Query holds the query per metrics source ("prometheus", "datadog",
	// "newrelic"); for Kayenta configs, "kayenta" holds the raw query JSON.
	Query map[string]string `json:"query,omitempty"`
	// Scope names the scope pair of a request the metric is fetched with
	// (Kayenta's scopeName, default "default").
	Scope string `json:"scope,omitempty"`
	// Tests are mann_whitney (default) and/or threshold.
	Tests []Test `json:"tests,omitempty"`
	// Direction is the direction of a regression: increase, decrease or
	// either (default).
	Direction Direction `json:"direction,omitempty"`
	// Critical metrics fail the whole canary when they regress.
	Critical bool `json:"critical,omitempty"`
	// MustHaveData makes missing data a failure (NODATA_FAIL).
	MustHaveData bool `json:"mustHaveData,omitempty"`
	// InfiniteShare is the largest share (0 to 1) of canary points that may
	// be +Inf or −Inf on a non-critical metric (histogram_quantile above the
	// largest bucket, a division by zero); beyond it the metric is ERROR.
	// Any infinite canary point on a critical metric is ERROR, whatever the
	// direction. Default 0: none.
	InfiniteShare float64 `json:"infiniteShare,omitempty"`
	// Muted metrics are reported but not scored.
	Muted bool `json:"muted,omitempty"`
	// NaNStrategy is remove (default) or replace (NaN becomes 0).
	NaNStrategy string `json:"nanStrategy,omitempty"`
	// Outliers, when set, removes values outside the IQR fences.
	Outliers *Outliers `json:"outliers,omitempty"`
	// EffectSize bounds the relative change that is tolerated.
	EffectSize EffectSize `json:"effectSize,omitempty"`
	// MinEffect is the smallest absolute shift, in the metric's unit, that
	// counts as a regression (so 5 ms → 10 ms on a 2 s budget can pass).
	MinEffect float64 `json:"minEffect,omitempty"`
	// MinSamples is the fewest points per side for a test (default 5).
	MinSamples int `json:"minSamples,omitempty"`
	// Threshold configures the threshold test.
	Threshold *Threshold `json:"threshold,omitempty"`
}

// Outliers configures IQR outlier removal.
type Outliers struct {
	// Factor multiplies the IQR (default 3).
	Factor float64 `json:"factor,omitempty"`
}

// EffectSize bounds the tolerated effect, as ratios canary/baseline for
// meanRatio or as probabilities for cles.
type EffectSize struct {
	// Measure is meanRatio (default: canary mean / baseline mean) or cles
	// (the common-language effect size, the probability that a canary
	// point exceeds a baseline point).
	Measure Measure `json:"measure,omitempty"`
	// AllowedIncrease and AllowedDecrease are the effect sizes up to which
	// a significant change still passes (default 1: no change allowed;
	// 1.1 tolerates a 10% higher mean).
	AllowedIncrease *float64 `json:"allowedIncrease,omitempty"`
	AllowedDecrease *float64 `json:"allowedDecrease,omitempty"`
	// CriticalIncrease and CriticalDecrease are the effect sizes from which
	// a critical metric's regression fails the whole analysis (default 1:
	// every regression of a critical metric does).
	CriticalIncrease *float64 `json:"criticalIncrease,omitempty"`
	CriticalDecrease *float64 `json:"criticalDecrease,omitempty"`
}

// Threshold is a threshold test on an aggregate of the canary: absolute
// bounds (Min, Max) and bounds on the ratio canary/baseline (MinRatio,
// MaxRatio) of the same aggregate.
type Threshold struct {
	// Aggregate is what is compared: mean, median, p90, p95, p99, min,
	// max, last, sum or rate (per second, from the series' step).
	Aggregate string `json:"aggregate"`
	// Min and Max bound the canary's aggregate, in the metric's unit.
	Min *float64 `json:"min,omitempty"`
	Max *float64 `json:"max,omitempty"`
	// MinRatio and MaxRatio bound the ratio of the canary's aggregate to
	// the baseline's.
	MinRatio *float64 `json:"minRatio,omitempty"`
	MaxRatio *float64 `json:"maxRatio,omitempty"`
}
