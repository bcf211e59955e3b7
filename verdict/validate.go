package verdict

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
)

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

	if c.Judge == "" {
		c.Judge = JudgeDefault
	} else if err := CheckJudge(c.Judge); err != nil {
		bad("judge: %v", err)
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
	if len(c.Shadow) > MaxShadows {
		bad("shadow: %d shadows, more than %d (each judges every analysis again)", len(c.Shadow), MaxShadows)
	}
	for i, sh := range c.Shadow {
		switch {
		case (sh.Judge == "") == (sh.Config == ""):
			bad("shadow[%d]: set one of judge (default or kayenta) and config (a stored config's name)", i)
		case sh.Judge != "":
			if err := CheckJudge(sh.Judge); err != nil {
				bad("shadow[%d].judge: %v", i, err)
			}
		case len(sh.Config) > 200:
			bad("shadow[%d].config: longer than 200 bytes", i)
		}
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
		sources := QuerySources()
		for _, source := range slices.Sorted(maps.Keys(m.Query)) {
			if sources != nil && !slices.Contains(sources, source) {
				msg := fmt.Sprintf("%s.query.%s: not a metrics source (%s)", at, source, strings.Join(sources, ", "))
				if near := nearest(source, sources); near != "" {
					msg += fmt.Sprintf("; did you mean %s?", near)
				}
				bad("%s", msg)
			}
		}
		if len(m.Tests) == 0 {
			m.Tests = []Test{TestMannWhitney}
			if m.Threshold != nil {
				m.Tests = []Test{TestThreshold}
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
		if !(m.InfiniteShare >= 0 && m.InfiniteShare <= 1) {
			bad("%s.infiniteShare: %v is not a share from 0 to 1", at, m.InfiniteShare)
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

// RequestThresholds are the thresholds a request's own override sets: nil,
// meaning the config's, when it is absent or empty (pass and marginal both
// 0, as an empty JSON object decodes), else the override once checked. Every
// entry point that takes thresholds reads them through it.
func RequestThresholds(t *Thresholds) (*Thresholds, error) {
	if t == nil || *t == (Thresholds{}) {
		return nil, nil
	}
	if err := t.Check(); err != nil {
		return nil, err
	}
	return t, nil
}
