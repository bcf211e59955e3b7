// Package stats provides the statistics that canary verdicts rest on: the
// two-sample Mann-Whitney (Wilcoxon rank-sum) test with the Hodges-Lehmann
// shift estimate and its confidence interval, descriptive statistics, effect
// sizes, outlier fences and multiple-comparison p-value adjustment.
//
// Conventions: the first sample is the canary and the second the baseline,
// so a location shift is canary − baseline. Inputs are never modified
// (except by Sort, which sorts a sample in place).
// Functions that rank or select work on sorted copies and never materialise
// the n·m pairwise differences.
package stats

import "errors"

// The errors returned by this package. Callers match them with errors.Is;
// the wrapping error names the sample and position.
var (
	// ErrNoData is returned when a sample has no values.
	ErrNoData = errors.New("no data")
	// ErrNotFinite is returned when a sample holds NaN or ±Inf.
	ErrNotFinite = errors.New("value is not finite")
	// ErrConfLevel is returned when a confidence level is outside (0, 1).
	ErrConfLevel = errors.New("confidence level must be in (0, 1)")
	// ErrAlternative is returned for an unknown alternative hypothesis.
	ErrAlternative = errors.New("unknown alternative")
	// ErrRange is returned when the samples are so far apart that their
	// pairwise differences overflow float64.
	ErrRange = errors.New("pairwise differences overflow float64")
	// ErrProbability is returned when a probability is outside [0, 1].
	ErrProbability = errors.New("probability must be in [0, 1]")
)
