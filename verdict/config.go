package verdict

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"reflect"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
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

// Judge names.
const (
	// JudgeDefault is judge's own judge: Kayenta's config model with its
	// known blind spots fixed.
	JudgeDefault = "default"
	// JudgeKayenta reproduces Kayenta's NetflixACAJudge-v1.0, deterministically.
	JudgeKayenta = "kayenta"
	// KayentaJudgeName is the judge name in Kayenta canary configs.
	KayentaJudgeName = "NetflixACAJudge-v1.0"
	// RemoteJudgeName is the judge name of a Kayenta config judged by a
	// remote judge (judge's POST /judge); the default judge runs.
	RemoteJudgeName = "RemoteJudge-v1.0"
)

// Test names.
const (
	TestMannWhitney = "mann_whitney"
	TestThreshold   = "threshold"
)

// Directions in which a change is a regression.
const (
	DirectionIncrease = "increase"
	DirectionDecrease = "decrease"
	DirectionEither   = "either"
)

// NaN strategies.
const (
	NaNRemove  = "remove"
	NaNReplace = "replace"
)

// Effect-size measures.
const (
	MeasureMeanRatio = "meanRatio"
	MeasureCLES      = "cles"
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

// QuerySources are the keys of a metric's query: judge's metrics sources,
// and "kayenta" for the raw query of a converted Kayenta config.
var QuerySources = []string{"prometheus", "datadog", "newrelic", "kayenta"}

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
	Judge string `json:"judge,omitempty"`
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
}

// Thresholds are score thresholds.
type Thresholds struct {
	Pass     float64 `json:"pass"`
	Marginal float64 `json:"marginal"`
}

// Group is a weighted metric group.
type Group struct {
	Name   string   `json:"name"`
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
	Tests []string `json:"tests,omitempty"`
	// Direction is the direction of a regression: increase, decrease or
	// either (default).
	Direction string `json:"direction,omitempty"`
	// Critical metrics fail the whole canary when they regress.
	Critical bool `json:"critical,omitempty"`
	// MustHaveData makes missing data a failure (NODATA_FAIL).
	MustHaveData bool `json:"mustHaveData,omitempty"`
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
	Measure          string   `json:"measure,omitempty"`
	AllowedIncrease  *float64 `json:"allowedIncrease,omitempty"`
	AllowedDecrease  *float64 `json:"allowedDecrease,omitempty"`
	CriticalIncrease *float64 `json:"criticalIncrease,omitempty"`
	CriticalDecrease *float64 `json:"criticalDecrease,omitempty"`
}

// Threshold is a threshold test on an aggregate of the canary: absolute
// bounds (Min, Max) and bounds on the ratio canary/baseline (MinRatio,
// MaxRatio) of the same aggregate.
type Threshold struct {
	Aggregate string   `json:"aggregate"`
	Min       *float64 `json:"min,omitempty"`
	Max       *float64 `json:"max,omitempty"`
	MinRatio  *float64 `json:"minRatio,omitempty"`
	MaxRatio  *float64 `json:"maxRatio,omitempty"`
}

// ParseConfig parses a canary config in judge's native format, YAML or
// JSON (kayenta.ParseConfig also reads Spinnaker Kayenta CanaryConfigs).
// source names the input in errors. All problems are reported together,
// wrapped in ErrInvalidConfig.
func ParseConfig(data []byte, source string) (*Config, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		raw := bytes.TrimSpace(data)
		if len(raw) > 0 && raw[0] == '{' {
			// JSON that YAML cannot read: decoded as JSON, which says where.
			return parseJSONConfig(raw, source)
		}
		return nil, fmt.Errorf("%s: %w: %s", source, ErrInvalidConfig, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	if len(root.Content) == 0 {
		return nil, fmt.Errorf("%s: %w: the file is empty; a config is a mapping with a metrics list", source, ErrInvalidConfig)
	}
	shape := &shapeChecker{source: source, at: map[string]string{}}
	if !shape.check(&root, reflect.TypeFor[Config](), "") {
		return nil, fmt.Errorf("%s: %w:\n  %s", source, ErrInvalidConfig, strings.Join(shape.problems, "\n  "))
	}
	var doc any
	if err := root.Decode(&doc); err != nil {
		return nil, fmt.Errorf("%s: %w: %s", source, ErrInvalidConfig, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	raw, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %w", source, ErrInvalidConfig, err)
	}
	cfg, err := decodeConfig(raw, source)
	if err != nil {
		return nil, err
	}
	problems := shape.problems
	for _, p := range append(cfg.problems(), cfg.emptyGroups()...) {
		if located := shape.locate(p); located != "" {
			problems = append(problems, located)
		}
	}
	if len(problems) > 0 {
		return cfg, fmt.Errorf("%s: %w:\n  %s", source, ErrInvalidConfig, strings.Join(problems, "\n  "))
	}
	return cfg, nil
}

// emptyGroups lists the weighted groups of a native config that no metric
// is in (Kayenta configs may list such groups, and are taken as they are).
func (c *Config) emptyGroups() []string {
	used := map[string]bool{}
	for _, m := range c.Metrics {
		for _, g := range m.Groups {
			used[g] = true
		}
	}
	var out []string
	for i, g := range c.Groups {
		if g.Name != "" && !used[g.Name] && len(c.Metrics) > 0 && g.Weight != nil && *g.Weight > 0 {
			out = append(out, fmt.Sprintf("groups[%d] (%s): weight %v but no metric is in the group, so it scores nothing and the other groups count for less", i, g.Name, *g.Weight))
		}
	}
	return out
}

// parseJSONConfig decodes and validates a JSON config strictly.
func parseJSONConfig(raw []byte, source string) (*Config, error) {
	cfg, err := decodeConfig(raw, source)
	if err != nil {
		return nil, err
	}
	return cfg, cfg.Validate(source)
}

// decodeConfig decodes a JSON config, refusing unknown fields.
func decodeConfig(raw []byte, source string) (*Config, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var cfg Config
	if err := dec.Decode(&cfg); err != nil {
		return nil, fmt.Errorf("%s: %w: %s", source, ErrInvalidConfig, JSONErrorText(err))
	}
	if dec.More() {
		return nil, fmt.Errorf("%s: %w: unexpected data after the config object", source, ErrInvalidConfig)
	}
	return &cfg, nil
}

// JSONErrorText rewrites encoding/json's messages to name the field path
// and JSON kinds, never Go types. Every entry point that decodes JSON
// describes its errors with it.
func JSONErrorText(err error) string {
	var (
		te *json.UnmarshalTypeError
		se *json.SyntaxError
		pe *time.ParseError
	)
	switch {
	case errors.As(err, &te):
		field := te.Field
		if field == "" {
			field = "the document"
		}
		return fmt.Sprintf("%s: a JSON %s where %s is expected", field, te.Value, jsonKind(te.Type))
	case errors.As(err, &se):
		return fmt.Sprintf("syntax error at byte %d: %s", se.Offset, strings.TrimPrefix(se.Error(), "json: "))
	case errors.As(err, &pe):
		return fmt.Sprintf("%q is not an RFC 3339 time", pe.Value)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "the JSON ends too early"
	}
	return strings.TrimPrefix(err.Error(), "json: ")
}

// jsonKind names a Go type as the JSON value it decodes from, so errors
// never show Go type names to users.
func jsonKind(t reflect.Type) string {
	if t == nil {
		return "a value"
	}
	switch t.Kind() {
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 && t.Name() == "" {
			return "a string"
		}
		return "an array"
	case reflect.Map, reflect.Struct:
		return "an object"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Pointer:
		return jsonKind(t.Elem())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	}
	return "a value"
}

// Validate fills defaults and checks the config, returning every problem,
// each naming its field; source names the config.
func (c *Config) Validate(source string) error {
	if problems := c.problems(); len(problems) > 0 {
		return fmt.Errorf("%s: %w:\n  %s", source, ErrInvalidConfig, strings.Join(problems, "\n  "))
	}
	return nil
}

// problems fills defaults and lists every problem of the config, each
// naming its field.
func (c *Config) problems() []string {
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }

	switch c.Judge {
	case "":
		c.Judge = JudgeDefault
	case JudgeDefault, JudgeKayenta:
	default:
		bad("judge: %q is not one of default, kayenta", c.Judge)
	}
	if c.Thresholds == (Thresholds{}) {
		c.Thresholds = Thresholds{Pass: 95, Marginal: 75}
	}
	if err := c.Thresholds.Check(); err != nil {
		bad("thresholds.%v", err)
	}
	if c.FamilyWiseError == 0 {
		c.FamilyWiseError = 0.05
	}
	if !(c.FamilyWiseError > 0 && c.FamilyWiseError < 1) {
		bad("familyWiseError: %v is not in (0, 1)", c.FamilyWiseError)
	}
	if c.HistoryWindows == nil {
		c.HistoryWindows = new(DefaultHistoryWindows)
	}
	if w := *c.HistoryWindows; w < 0 || w > MaxHistoryWindows {
		bad("historyWindows: %d is not in 0–%d", w, MaxHistoryWindows)
	}
	switch c.Adjustment {
	case "":
		c.Adjustment = AdjustHolm
	case AdjustHolm, AdjustBH, AdjustNone:
	default:
		bad("adjustment: %q is not one of holm, bh, none", c.Adjustment)
	}
	if c.MaxNodataFraction == nil {
		c.MaxNodataFraction = ptr(0.5)
	} else if f := *c.MaxNodataFraction; !(f > 0 && f <= 1) {
		bad("maxNodataFraction: %v is not in (0, 1]", f)
	}
	var weightSum float64
	groupSeen := map[string]bool{}
	for i, g := range c.Groups {
		if g.Name == "" {
			bad("groups[%d].name: missing", i)
		}
		if groupSeen[g.Name] {
			bad("groups[%d].name: %q is listed twice", i, g.Name)
		}
		groupSeen[g.Name] = true
		if g.Weight != nil {
			if w := *g.Weight; !(w >= 0) || math.IsInf(w, 0) {
				bad("groups[%d].weight: %v is not a non-negative number", i, w)
			} else {
				weightSum += w
			}
		}
	}
	if weightSum > 100+1e-9 {
		bad("groups: weights sum to %v, more than 100", weightSum)
	}
	weighted := 0
	for _, g := range c.Groups {
		if g.Weight != nil {
			weighted++
		}
	}
	switch {
	case weighted > 0 && weighted == len(c.Groups) && math.Abs(weightSum-100) > 1e-9 && weightSum <= 100+1e-9:
		bad("groups: every group has a weight and the weights sum to %v, not 100 (identical data would score %v)", weightSum, weightSum)
	case weighted > 0 && weighted < len(c.Groups) && weightSum >= 100-1e-9 && weightSum <= 100+1e-9:
		for i, g := range c.Groups {
			if g.Weight == nil {
				bad("groups[%d] (%s).weight: the other groups' weights already sum to 100, so this group would count for nothing", i, g.Name)
			}
		}
	}
	if len(c.Metrics) == 0 {
		bad("metrics: the config has no metrics")
	}

	names := map[string]bool{}
	for i := range c.Metrics {
		m := &c.Metrics[i]
		at := fmt.Sprintf("metrics[%d]", i)
		if m.Name == "" {
			bad("%s.name: missing", at)
		} else {
			at = fmt.Sprintf("metrics[%d] (%s)", i, m.Name)
		}
		if names[m.Name] && m.Name != "" {
			bad("%s.name: %q is used by another metric", at, m.Name)
		}
		names[m.Name] = true
		if len(m.Groups) == 0 {
			bad("%s.groups: a metric needs at least one group", at)
		}
		for _, g := range m.Groups {
			if len(c.Groups) > 0 && !groupSeen[g] {
				bad("%s.groups: %q is not among the config's groups", at, g)
			}
		}
		for _, source := range slices.Sorted(maps.Keys(m.Query)) {
			if !slices.Contains(QuerySources, source) {
				msg := fmt.Sprintf("%s.query.%s: not a metrics source (%s)", at, source, strings.Join(QuerySources, ", "))
				if near := nearest(source, QuerySources); near != "" {
					msg += fmt.Sprintf("; did you mean %s?", near)
				}
				bad("%s", msg)
			}
		}
		if len(m.Tests) == 0 {
			m.Tests = []string{TestMannWhitney}
			if m.Threshold != nil {
				m.Tests = []string{TestThreshold}
			}
		}
		for _, t := range m.Tests {
			if t != TestMannWhitney && t != TestThreshold {
				bad("%s.tests: %q is not one of mann_whitney, threshold", at, t)
			}
		}
		if slices.Contains(m.Tests, TestThreshold) {
			if m.Threshold == nil {
				bad("%s.threshold: the threshold test needs a threshold block", at)
			} else {
				m.Threshold.check(at, bad)
			}
		}
		switch m.Direction {
		case "":
			m.Direction = DirectionEither
		case DirectionIncrease, DirectionDecrease, DirectionEither:
		default:
			bad("%s.direction: %q is not one of increase, decrease, either", at, m.Direction)
		}
		switch m.NaNStrategy {
		case "", "none":
			m.NaNStrategy = NaNRemove
		case NaNRemove, NaNReplace:
		default:
			bad("%s.nanStrategy: %q is not one of remove, replace", at, m.NaNStrategy)
		}
		if m.Outliers != nil {
			if m.Outliers.Factor == 0 {
				m.Outliers.Factor = 3
			}
			if !(m.Outliers.Factor > 0) {
				bad("%s.outliers.factor: %v is not positive", at, m.Outliers.Factor)
			}
		}
		m.EffectSize.fill(at, bad)
		if !(m.MinEffect >= 0) || math.IsInf(m.MinEffect, 0) {
			bad("%s.minEffect: %v is not a non-negative number", at, m.MinEffect)
		}
		if m.MinSamples == 0 {
			m.MinSamples = 5
		}
		if m.MinSamples < 1 {
			bad("%s.minSamples: %d is below 1", at, m.MinSamples)
		}
	}
	return problems
}

// Check validates score thresholds: 0 ≤ marginal ≤ pass ≤ 100, both numbers.
// The error names the field (pass or marginal); callers prefix where the
// thresholds came from. It is the one check for the CLI, gRPC and HTTP.
func (t Thresholds) Check() error {
	for _, f := range []struct {
		name string
		v    float64
	}{{"pass", t.Pass}, {"marginal", t.Marginal}} {
		if !(f.v >= 0 && f.v <= 100) {
			return fmt.Errorf("%s: %v is not a number in 0–100", f.name, f.v)
		}
	}
	if t.Marginal > t.Pass {
		return fmt.Errorf("marginal: %v is above pass %v (want 0 ≤ marginal ≤ pass ≤ 100)", t.Marginal, t.Pass)
	}
	return nil
}

// neutral is the effect size of no change: 0.5 for CLES, 1 for the mean
// ratio.
func (e *EffectSize) neutral() float64 {
	if e.Measure == MeasureCLES {
		return 0.5
	}
	return 1
}

func (e *EffectSize) fill(at string, bad func(string, ...any)) {
	switch e.Measure {
	case "":
		e.Measure = MeasureMeanRatio
	case MeasureMeanRatio, MeasureCLES:
	default:
		bad("%s.effectSize.measure: %q is not one of meanRatio, cles", at, e.Measure)
	}
	neutral := e.neutral()
	for _, f := range []struct {
		name string
		v    **float64
	}{
		{"allowedIncrease", &e.AllowedIncrease}, {"allowedDecrease", &e.AllowedDecrease},
		{"criticalIncrease", &e.CriticalIncrease}, {"criticalDecrease", &e.CriticalDecrease},
	} {
		if *f.v == nil {
			*f.v = ptr(neutral)
		} else if v := **f.v; !(v >= 0) || math.IsInf(v, 0) {
			bad("%s.effectSize.%s: %v is not a non-negative number", at, f.name, v)
		}
	}
	if *e.AllowedIncrease < neutral {
		bad("%s.effectSize.allowedIncrease: %v is below %v, so no change would pass", at, *e.AllowedIncrease, neutral)
	}
	if *e.AllowedDecrease > neutral {
		bad("%s.effectSize.allowedDecrease: %v is above %v, so no change would pass", at, *e.AllowedDecrease, neutral)
	}
}

func (t *Threshold) check(at string, bad func(string, ...any)) {
	if t.Aggregate == "" {
		t.Aggregate = "mean"
	}
	if !slices.Contains(aggregates, t.Aggregate) {
		bad("%s.threshold.aggregate: %q is not one of %s", at, t.Aggregate, strings.Join(aggregates, ", "))
	}
	if t.Min == nil && t.Max == nil && t.MinRatio == nil && t.MaxRatio == nil {
		bad("%s.threshold: set at least one of min, max, minRatio, maxRatio", at)
	}
	if t.Min != nil && t.Max != nil && *t.Min > *t.Max {
		bad("%s.threshold: min %v is above max %v", at, *t.Min, *t.Max)
	}
	if t.MinRatio != nil && t.MaxRatio != nil && *t.MinRatio > *t.MaxRatio {
		bad("%s.threshold: minRatio %v is above maxRatio %v", at, *t.MinRatio, *t.MaxRatio)
	}
}

func ptr[T any](v T) *T { return &v }
