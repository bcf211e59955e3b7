package backtest

import (
	"slices"

	"github.com/canaryjudge/judge/verdict"
)

// Setting is one point of a threshold sweep: a family-wise error level
// (the default judge's) and a marginal threshold, with the recall and
// false-fail rate they give on the cases (a case fails when its score is
// below the marginal threshold).
type Setting struct {
	FamilyWiseError float64 `json:"family_wise_error"`
	Marginal        float64 `json:"marginal"`
	Recall          float64 `json:"recall"`
	FalseFailRate   float64 `json:"false_fail_rate"`
}

// Advice is a threshold sweep and the setting it recommends: the best
// recall among the settings whose false-fail rate meets the target (ties
// go to the lower false-fail rate, then the stricter level); none when no
// setting meets it.
type Advice struct {
	Target      float64   `json:"target_false_fail_rate"`
	Settings    []Setting `json:"settings"`
	Recommended *Setting  `json:"recommended"`
}

// sweepLevels and sweepMarginals are the settings tried.
var (
	sweepLevels    = []float64{0.01, 0.025, 0.05, 0.1, 0.2}
	sweepMarginals = []float64{25, 50, 75, 90, 95, 100}
)

// Advise sweeps the family-wise level and the marginal threshold for the
// default judge on the cases and recommends the setting with the best
// recall whose false-fail rate is at most target.
func Advise(cases []Case, cfg *verdict.Config, target float64) Advice {
	advice := Advice{Target: target}
	for _, level := range sweepLevels {
		withLevel := func(c *verdict.Config) *verdict.Config {
			copied := *c
			copied.FamilyWiseError = level
			return &copied
		}
		leveled := make([]Case, len(cases))
		for i, c := range cases {
			leveled[i] = c
			if c.Config != nil {
				leveled[i].Config = withLevel(c.Config)
			}
		}
		// Scores with every threshold at zero: a case then fails only when
		// forced (critical metric, no data), and its score decides the rest.
		report := Run(leveled, withLevel(cfg), []verdict.JudgeName{verdict.JudgeDefault}, &verdict.Thresholds{}, nil)
		for _, marginal := range sweepMarginals {
			var incidents, detected, controls, falseFails int
			for _, o := range report.Judges[0].Cases {
				if o.Error != "" {
					continue
				}
				failed := o.Result == verdict.ResultFail || o.Score < marginal
				if o.Expected == verdict.ResultFail {
					incidents++
					if failed {
						detected++
					}
				} else {
					controls++
					if failed {
						falseFails++
					}
				}
			}
			advice.Settings = append(advice.Settings, Setting{FamilyWiseError: level, Marginal: marginal,
				Recall: ratio(detected, incidents), FalseFailRate: ratio(falseFails, controls)})
		}
	}
	for i := range advice.Settings {
		s := &advice.Settings[i]
		if s.FalseFailRate > target {
			continue
		}
		best := advice.Recommended
		if best == nil || s.Recall > best.Recall || (s.Recall == best.Recall && s.FalseFailRate < best.FalseFailRate) {
			advice.Recommended = s
		}
	}
	if advice.Recommended != nil {
		r := *advice.Recommended
		advice.Recommended = &r
	}
	slices.SortStableFunc(advice.Settings, func(a, b Setting) int {
		switch {
		case a.FamilyWiseError != b.FamilyWiseError:
			if a.FamilyWiseError < b.FamilyWiseError {
				return -1
			}
			return 1
		case a.Marginal < b.Marginal:
			return -1
		case a.Marginal > b.Marginal:
			return 1
		}
		return 0
	})
	return advice
}
