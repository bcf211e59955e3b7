package verdict

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// TestNumbersAgreeWithWords: a reason explains what would otherwise look
// contradictory. An interval that excludes 0 beside "no significant
// change" (unadjusted interval, adjusted p decides); an adjusted p above
// the raw one (the level shared with the jump test, the adjustment across
// metrics); points removed as outliers (the counts differ from the data's).
func TestNumbersAgreeWithWords(t *testing.T) {
	base := func(i int) float64 { return 100 + float64((i*37)%23) }
	var config strings.Builder
	config.WriteString("metrics:\n")
	for i := range 20 {
		fmt.Fprintf(&config, "  - {name: m%02d, groups: [g]}\n", i)
	}
	found := false
	for d := 0.5; d < 10 && !found; d += 0.25 {
		var pairs []MetricSetPair
		for i := range 20 {
			shift := 0.0
			if i == 0 {
				shift = d
			}
			pairs = append(pairs, pair(fmt.Sprintf("m%02d", i), seq(60, base), seq(60, func(j int) float64 { return base((j+i)%60) + shift })))
		}
		res := analyzeYAML(t, config.String(), pairs, Options{})
		m := res.Metrics[0]
		if m.Classification == Pass && m.CILow != nil && *m.CILow > 0 {
			found = true
			if !strings.Contains(m.Reason, "the interval is at the unadjusted level") || !strings.Contains(m.Reason, "adjusted across the analysis' metrics") {
				t.Errorf("shift %g: PASS with interval [%v, …] excluding 0, unexplained: %s", d, *m.CILow, m.Reason)
			}
		}
	}
	if !found {
		t.Fatal("no shift gave a PASS whose unadjusted interval excludes 0")
	}
	control, canary := seq(60, base), seq(60, base)
	control[5], canary[9] = 10000, 10000
	res := analyzeYAML(t, "metrics: [{name: a, groups: [g], outliers: {factor: 3}}]", []MetricSetPair{pair("a", control, canary)}, Options{})
	if r := res.Metrics[0].Reason; !strings.Contains(r, "1 canary and 1 baseline points removed as outliers (beyond 3×IQR") || !strings.Contains(r, "n=59/59") {
		t.Errorf("outliers: %s", r)
	}
}

// TestTiedShiftExplained: a significant increase of mostly tied data, whose
// median shift and interval end are 0, says why 0 stands beside it.
func TestTiedShiftExplained(t *testing.T) {
	control, canary := make([]float64, 80), make([]float64, 80)
	for i := range 80 {
		control[i], canary[i] = 200, 200
		if i%10 == 0 {
			control[i] = 201
		}
		if i%3 == 0 {
			canary[i] = 201
		}
	}
	res := analyzeYAML(t, "metrics: [{name: errors, groups: [g], direction: increase}]", []MetricSetPair{pair("errors", control, canary)}, Options{})
	m := res.Metrics[0]
	if m.Classification != High {
		t.Fatalf("%s: %s", m.Classification, m.Reason)
	}
	if m.Estimate == nil || *m.Estimate != 0 {
		t.Fatalf("the data should give a median shift of 0: %v", m.Reason)
	}
	if !strings.Contains(m.Reason, "reach 0 because most points tie") {
		t.Errorf("a HIGH with shift 0, unexplained: %s", m.Reason)
	}
}

// TestKayentaReasons: the kayenta judge's reason gives the interval, the
// shift and the medians, then the clause of its classification, each
// number in its place and formatted as fmt's %.4g (the allowed bound as
// %g): the whole reason is compared with fmt's formatting of the numbers
// the result reports.
func TestKayentaReasons(t *testing.T) {
	base := func(i int) float64 { return 100 + float64((i*37)%23) }
	for _, tc := range []struct {
		shift  float64
		class  Classification
		clause string // formatted with 0.25·|estimate| and the effect size
	}{
		{0.5, Pass, "does not clear ±%.4g (0.25·|shift|) in a regressing direction within the effect-size bounds (effect size %s)"},
		{0.000123456, Pass, "does not clear ±%.4g (0.25·|shift|) in a regressing direction within the effect-size bounds (effect size %s)"},
		{40, High, "lies above +%.4g (0.25·|shift|); effect size %s ≥ allowed 1"},
		{-40, Low, "lies below -%.4g (0.25·|shift|); effect size %s ≤ allowed 1"},
		{-4e7, Low, "lies below -%.4g (0.25·|shift|); effect size %s ≤ allowed 1"},
	} {
		res := analyzeYAML(t, "metrics: [{name: a, groups: [g]}]",
			[]MetricSetPair{pair("a", seq(60, base), seq(60, func(j int) float64 { return base((j+7)%60) + tc.shift }))}, Options{Judge: JudgeKayenta})
		m := res.Metrics[0]
		effect := "NaN"
		if m.EffectSize != nil {
			effect = fmtFloat(*m.EffectSize)
		}
		want := fmt.Sprintf("98%% interval [%.4g, %.4g] of the shift %.4g (canary median %.4g vs baseline %.4g, n=60/60) ",
			*m.CILow, *m.CIHigh, *m.Estimate, m.Canary.Median, m.Baseline.Median) +
			fmt.Sprintf(tc.clause, 0.25*math.Abs(*m.Estimate), effect)
		if m.Classification != tc.class || m.Reason != want {
			t.Errorf("shift %g: %s, %q; want %s, %q", tc.shift, m.Classification, m.Reason, tc.class, want)
		}
	}
}

// TestJumpsBesideUnjudgedLocation: a canary whose jumps fail it while its
// window is too short for the location test (random walks of 30 points,
// a spike every fourth point) says the location test was not judgeable,
// and does not explain the unbounded shift beside it by ties, as it did.
func TestJumpsBesideUnjudgedLocation(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	walk := func(n int) []float64 {
		out := make([]float64, n)
		w := 0.0
		for i := range out {
			w += 0.05 * r.NormFloat64()
			out[i] = 100 * math.Exp(w)
		}
		return out
	}
	byJumps := 0
	for range 40 {
		canary := walk(30)
		for i := 2; i < len(canary); i += 4 {
			canary[i] *= 1.6
		}
		m := judgeOne(t, Metric{Direction: DirectionIncrease, Critical: true}, MetricSetPair{Values: PairValues{Control: walk(30), Experiment: canary}})
		if m.Classification != High || !strings.Contains(m.Reason, "significant increase (jumps)") || m.CILow != nil {
			continue
		}
		byJumps++
		if !strings.Contains(m.Reason, "; the location test alone was not judgeable: ") || strings.Contains(m.Reason, "because most points tie") {
			t.Errorf("jumps decided beside an unjudged location: %s", m.Reason)
		}
	}
	if byJumps == 0 {
		t.Error("no canary was HIGH by its jumps beside an unjudged location; the case should make some")
	}
}
