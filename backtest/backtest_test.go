package backtest

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/canaryjudge/judge/verdict"
)

func TestSummarize(t *testing.T) {
	t.Parallel()
	ind, sh := NoiseIndependent, NoiseShared
	outcomes := []Outcome{
		{Expected: "FAIL", Result: "FAIL", Kind: KindLevelShift, Size: 1.2, Noise: ind, Rho: 0.5, Points: 60, CV: 0.2},
		{Expected: "FAIL", Result: "PASS", Kind: KindLevelShift, Size: 1.2, Noise: ind, Rho: 0.5, Points: 60, CV: 0.2},
		{Expected: "FAIL", Result: "MARGINAL", Kind: KindLevelShift, Size: 1.5, Noise: sh, Rho: 0.5, Points: 60, CV: 0.2},
		{Expected: "FAIL", Result: "FAIL", Kind: KindTail, Size: 3, Noise: ind},
		{Expected: "PASS", Result: "PASS", Kind: KindAA, Noise: ind, Rho: 0.8},
		{Expected: "PASS", Result: "FAIL", Kind: KindAA, Noise: ind, Rho: 0.8},
		{Expected: "PASS", Result: "MARGINAL", Kind: KindAA, Noise: sh},
		{Expected: "PASS", Result: "PASS"},
		{Expected: "PASS", Result: "ERROR", Error: "boom", Noise: ind, Rho: 0.8},
	}
	s := Summarize(outcomes)
	want := Summary{Incidents: 4, Detected: 2, Recall: 0.5, Controls: 4, FalseFails: 1, FalseFailRate: 0.25, Marginal: 2, Errors: 1, IncidentsPassed: 1, ControlsPassed: 2,
		ByKind:  []KindSummary{{KindLevelShift, 1.2, ind, 2, 1, 0.5}, {KindLevelShift, 1.5, sh, 1, 0, 0}, {KindTail, 3, ind, 1, 1, 1}},
		ByNoise: []NoiseSummary{{ind, 0.8, 2, 1, 0.5}, {sh, 0, 1, 0, 0}},
		// Only level shifts in independent noise make the power curve.
		PowerCurve: []PowerPoint{{Size: 1.2, Rho: 0.5, Cases: 2, Detected: 1, Rate: 0.5, Parametric: ParametricPower(1.2, 0.5, 60, 0.2)}}}
	if fmt.Sprint(s) != fmt.Sprint(want) || !slices.Equal(s.ByKind, want.ByKind) || !slices.Equal(s.ByNoise, want.ByNoise) ||
		!slices.Equal(s.PowerCurve, want.PowerCurve) {
		t.Errorf("summary %+v, want %+v", s, want)
	}
	if empty := Summarize(nil); empty.Recall != 0 || empty.FalseFailRate != 0 {
		t.Errorf("empty summary %+v", empty)
	}
}

// TestNABPlacement pins how incidents and controls are cut from a series.
func TestNABPlacement(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	start := time.Date(2014, 1, 1, 0, 0, 0, 0, time.UTC)
	var csv strings.Builder
	csv.WriteString("timestamp,value\n")
	for i := range 100 {
		fmt.Fprintf(&csv, "%s,%d\n", start.Add(time.Duration(i)*5*time.Minute).Format(nabTime), i)
		if i == 3 { // a repeated timestamp: the later value wins
			fmt.Fprintf(&csv, "%s,%d\n", start.Add(time.Duration(i)*5*time.Minute).Format(nabTime), 1003)
		}
	}
	if err := os.MkdirAll(filepath.Join(dir, "real"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "real", "s.csv"), []byte(csv.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	at := func(i int) string { return start.Add(time.Duration(i)*5*time.Minute).Format(nabTime) + ".000000" }
	// Incident 1: points 50–59 (baseline 40–49). Incident 2: points 2–6,
	// too close to the start for a baseline of 5: skipped.
	labels := fmt.Sprintf(`{"real/s.csv": [[%q, %q], [%q, %q]]}`, at(50), at(59), at(2), at(6))
	if err := os.WriteFile(filepath.Join(dir, "labels.json"), []byte(labels), 0o600); err != nil {
		t.Fatal(err)
	}
	cases, err := LoadNAB(dir, filepath.Join(dir, "labels.json"))
	if err != nil {
		t.Fatal(err)
	}
	values := func(c Case) (control, canary []float64) {
		return c.Pairs[0].Values.Control, c.Pairs[0].Values.Experiment
	}
	seq := func(from, to int) []float64 {
		var out []float64
		for i := from; i < to; i++ {
			out = append(out, float64(i))
		}
		return out
	}
	// One incident, then max(2·1, 2) = 2 controls of 2·10 points that avoid
	// [40, 60) and the skipped incident's [0, 7). The scan starts at 0 in
	// steps of 10: 0–20 overlaps [0, 7); 10–30 is free; from 30 on, 30–50,
	// 40–60 and 50–70 overlap [40, 60); 60–80 is free.
	if len(cases) != 3 {
		t.Fatalf("%d cases: %+v", len(cases), cases)
	}
	inc := cases[0]
	if c, k := values(inc); inc.Expected != "FAIL" || !slices.Equal(c, seq(40, 50)) || !slices.Equal(k, seq(50, 60)) {
		t.Errorf("incident %s: %v / %v", inc.ID, c, k)
	}
	if c, k := values(cases[1]); cases[1].Expected != "PASS" || !slices.Equal(c, seq(10, 20)) || !slices.Equal(k, seq(20, 30)) {
		t.Errorf("control 1: %v / %v", c, k)
	}
	if c, k := values(cases[2]); !slices.Equal(c, seq(60, 70)) || !slices.Equal(k, seq(70, 80)) {
		t.Errorf("control 2: %v / %v", c, k)
	}
	// History: up to three windows before the baseline (fewer at the start;
	// point 3 is the repeated timestamp's later value).
	early := seq(0, 10)
	early[3] = 1003
	for i, want := range [][]float64{seq(10, 40), early, seq(30, 60)} {
		if h := cases[i].Pairs[0].Values.ControlHistory; !slices.Equal(h, want) {
			t.Errorf("case %d history %v, want %v", i, h, want)
		}
	}
	if step := inc.Pairs[0].Scopes["experiment"].StepMillis; step != 300_000 {
		t.Errorf("step %d ms, want 300000", step)
	}
	for _, bad := range []string{`[1]`, `{"real/missing.csv": []}`} {
		if err := os.WriteFile(filepath.Join(dir, "bad.json"), []byte(bad), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadNAB(dir, filepath.Join(dir, "bad.json")); err == nil {
			t.Errorf("labels %s accepted", bad)
		}
	}
}

// TestSyntheticCases pins the generator: deterministic, half A/A, the
// documented cycle of regressions, noise models and ρ, the regression only
// in m00, time-aligned scopes and a history of the baseline.
func TestSyntheticCases(t *testing.T) {
	t.Parallel()
	gen := func(seed uint64, n int, o SyntheticOptions) []Case {
		t.Helper()
		c, err := Synthetic(seed, n, o)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	a, b := gen(7, 40, SyntheticOptions{}), gen(7, 40, SyntheticOptions{})
	if fmt.Sprint(a[5].Pairs[3].Values) != fmt.Sprint(b[5].Pairs[3].Values) {
		t.Error("the same seed gave different cases")
	}
	if c := gen(8, 40, SyntheticOptions{}); fmt.Sprint(c[5].Pairs[3].Values) == fmt.Sprint(a[5].Pairs[3].Values) {
		t.Error("another seed gave the same cases")
	}
	R := len(syntheticRegressions)
	for i, c := range a {
		j := i / 2
		wantKind, wantNoise, wantRho := KindAA, []string{NoiseIndependent, NoiseShared, NoiseSkewed}[j%3], []float64{0, 0.3, 0.5, 0.8}[(j/3)%4]
		if i%2 == 1 {
			wantKind = syntheticRegressions[j%R].Kind
			wantNoise, wantRho = []string{NoiseIndependent, NoiseShared, NoiseSkewed}[(j/R)%3], []float64{0, 0.3, 0.5, 0.8}[(j/(3*R))%4]
		}
		if c.Kind != wantKind || c.Noise != wantNoise || c.Rho != wantRho || (c.Kind == KindAA) != (c.Expected == verdict.ResultPass) {
			t.Errorf("case %d: %s/%s/ρ=%v expected %s, want %s/%s/ρ=%v", i, c.Kind, c.Noise, c.Rho, c.Expected, wantKind, wantNoise, wantRho)
		}
		p := c.Pairs[0]
		if len(c.Pairs) != SyntheticMetrics || len(p.Values.Control) != SyntheticPoints || len(p.Values.Experiment) != SyntheticPoints ||
			len(p.Values.ControlHistory) != SyntheticHistory {
			t.Fatalf("case %d: %d metrics, %d/%d points, %d of history", i, len(c.Pairs), len(p.Values.Control), len(p.Values.Experiment), len(p.Values.ControlHistory))
		}
		if p.Scopes["control"] != p.Scopes["experiment"] || p.Scopes["control"].StepMillis != 60_000 {
			t.Errorf("case %d: scopes %+v are not one time grid", i, p.Scopes)
		}
	}
	mean := func(x []float64) float64 {
		s := 0.0
		for _, v := range x {
			s += v
		}
		return s / float64(len(x))
	}
	// Shared noise: baseline and canary move together; independent: not.
	corr := func(c Case) float64 {
		x, y := c.Pairs[5].Values.Control, c.Pairs[5].Values.Experiment
		mx, my := mean(x), mean(y)
		var sxy, sxx, syy float64
		for i := range x {
			sxy += (x[i] - mx) * (y[i] - my)
			sxx += (x[i] - mx) * (x[i] - mx)
			syy += (y[i] - my) * (y[i] - my)
		}
		return sxy / math.Sqrt(sxx*syy)
	}
	shared := gen(3, 2, SyntheticOptions{Noises: []string{NoiseShared}, Rhos: []float64{0.5}})
	independent := gen(3, 2, SyntheticOptions{Noises: []string{NoiseIndependent}, Rhos: []float64{0.5}})
	if r := corr(shared[0]); r < 0.9 {
		t.Errorf("shared noise: correlation %.2f, want ≥ 0.9", r)
	}
	if r := corr(independent[0]); math.Abs(r) > 0.5 {
		t.Errorf("independent noise: correlation %.2f", r)
	}
	// A +50% level shift: the canary's mean is about 1.5 times the control's.
	for _, c := range gen(5, 20, SyntheticOptions{Regressions: []Regression{{KindLevelShift, 1.5}}, Rhos: []float64{0}}) {
		if c.Kind != KindLevelShift {
			continue
		}
		if r := mean(c.Pairs[0].Values.Experiment) / mean(c.Pairs[0].Values.Control); math.Abs(r-1.5) > 0.45 {
			t.Errorf("level shift 1.5 gave a mean ratio of %.2f", r)
		}
		if r := mean(c.Pairs[1].Values.Experiment) / mean(c.Pairs[1].Values.Control); math.Abs(r-1) > 0.45 {
			t.Errorf("an unregressed metric has a mean ratio of %.2f", r)
		}
	}
	// Options shape the corpus and are checked.
	small := gen(1, 4, SyntheticOptions{Points: 30, NoHistory: true, CV: 0.5})
	if v := small[0].Pairs[0].Values; len(v.Control) != 30 || len(v.ControlHistory) != 0 || small[0].CV != 0.5 || small[0].Points != 30 {
		t.Errorf("options ignored: %d points, %d of history, cv %v", len(v.Control), len(v.ControlHistory), small[0].CV)
	}
	for _, bad := range []SyntheticOptions{
		{Noises: []string{"pink"}}, {Rhos: []float64{1}}, {Rhos: []float64{-0.1}}, {Regressions: []Regression{{"melt", 2}}},
		{Regressions: []Regression{{KindTail, 0}}}, {Points: 2}, {CV: -1}, {History: -5},
	} {
		if _, err := Synthetic(1, 2, bad); !errors.Is(err, ErrSynthetic) {
			t.Errorf("options %+v: error %v, want ErrSynthetic", bad, err)
		}
	}
	report := Run(a, SyntheticConfig(), []verdict.JudgeName{verdict.JudgeDefault}, nil, nil)
	if s := report.Judges[0].Summary; s.Incidents != 20 || s.Controls != 20 || s.Errors != 0 {
		t.Errorf("summary %+v", s)
	}
}

// TestParametricPower pins the parametric limit: the figure (about
// 97% for +35% at ρ = 0.5, CV 20%, 60 points, α = 0.05/20) and its
// monotony in the size and ρ.
func TestParametricPower(t *testing.T) {
	t.Parallel()
	if p := ParametricPower(1.35, 0.5, 60, 0.2); p < 0.95 || p > 0.99 {
		t.Errorf("ParametricPower(1.35, 0.5) = %.3f, want about 0.97", p)
	}
	if a, b := ParametricPower(1.2, 0.5, 60, 0.2), ParametricPower(1.35, 0.5, 60, 0.2); !(a < b) {
		t.Errorf("power falls with the size: %v ≥ %v", a, b)
	}
	if a, b := ParametricPower(1.2, 0.8, 60, 0.2), ParametricPower(1.2, 0.3, 60, 0.2); !(a < b) {
		t.Errorf("power rises with ρ: %v ≥ %v", a, b)
	}
	if p := ParametricPower(1, 0, 60, 0.2); math.Abs(p-0.0025) > 1e-4 {
		t.Errorf("no shift: power %v, want the level 0.0025", p)
	}
}

// TestAdvise checks the threshold sweep: every setting is tried, the
// recommendation meets the target and has the best recall of those that do.
func TestAdvise(t *testing.T) {
	t.Parallel()
	cases, err := Synthetic(11, 60, SyntheticOptions{})
	if err != nil {
		t.Fatal(err)
	}
	a := Advise(cases, SyntheticConfig(), 0.05)
	if len(a.Settings) != len(sweepLevels)*len(sweepMarginals) {
		t.Fatalf("%d settings", len(a.Settings))
	}
	if a.Recommended == nil {
		t.Fatal("no recommendation")
	}
	if a.Recommended.FalseFailRate > 0.05 {
		t.Errorf("recommended %+v exceeds the target", *a.Recommended)
	}
	for _, s := range a.Settings {
		if s.FalseFailRate <= 0.05 && s.Recall > a.Recommended.Recall {
			t.Errorf("setting %+v beats the recommendation %+v", s, *a.Recommended)
		}
	}
	if none := Advise(cases, SyntheticConfig(), -1); none.Recommended != nil {
		t.Errorf("a negative target got %+v", *none.Recommended)
	}
}

// TestNABQuality pins the default judge's quality goal on the shipped NAB
// corpus with the built-in config: at least the kayenta judge's recall at
// no more than its false-fail rate.
func TestNABQuality(t *testing.T) {
	t.Parallel()
	cases, err := LoadNAB("../fixtures/nab", "../fixtures/nab/combined_windows.json")
	if err != nil {
		t.Fatal(err)
	}
	report := Run(cases, DefaultConfig(), []verdict.JudgeName{verdict.JudgeDefault, verdict.JudgeKayenta}, nil, nil)
	def, kay := report.Judges[0].Summary, report.Judges[1].Summary
	if def.Errors != 0 || kay.Errors != 0 || def.Incidents != 32 || def.Controls != 66 {
		t.Fatalf("corpus: default %+v, kayenta %+v", def, kay)
	}
	if def.Detected < kay.Detected || def.FalseFails > kay.FalseFails {
		t.Errorf("default judge: %d of %d incidents, %d of %d false fails; kayenta judge: %d, %d",
			def.Detected, def.Incidents, def.FalseFails, def.Controls, kay.Detected, kay.FalseFails)
	}
	t.Logf("default %d/%d detected, %d/%d false fails; kayenta %d, %d", def.Detected, def.Incidents, def.FalseFails, def.Controls, kay.Detected, kay.FalseFails)
}

// TestSplitNAB checks that the two halves of the NAB corpus are disjoint
// by file, together hold every case, and alternate over the files in name
// order.
func TestSplitNAB(t *testing.T) {
	cases, err := LoadNAB("../fixtures/nab", "../fixtures/nab/combined_windows.json")
	if err != nil {
		t.Fatal(err)
	}
	tune, err := SplitNAB(cases, HalfTune)
	if err != nil {
		t.Fatal(err)
	}
	holdout, err := SplitNAB(cases, HalfHoldout)
	if err != nil {
		t.Fatal(err)
	}
	files := func(cs []Case) map[string]bool {
		m := map[string]bool{}
		for _, c := range cs {
			m[c.Source] = true
		}
		return m
	}
	ft, fh := files(tune), files(holdout)
	for f := range ft {
		if fh[f] {
			t.Errorf("%s is in both halves", f)
		}
	}
	if len(tune)+len(holdout) != len(cases) || len(ft)+len(fh) != len(files(cases)) || len(ft)-len(fh) > 1 || len(fh) > len(ft) {
		t.Errorf("halves of %d and %d cases (%d and %d files) from %d cases", len(tune), len(holdout), len(ft), len(fh), len(cases))
	}
	if _, err := SplitNAB(cases, "all"); err == nil {
		t.Error("an unknown half was accepted")
	}
}

// TestLooks pins the sequence judgement: its last look is the whole
// window, so every case a single analysis fails fails as a sequence too
// (at that look or earlier), a sequence stops at its first FAIL, and a
// sequence that passes has run every look.
func TestLooks(t *testing.T) {
	opts := SyntheticOptions{Noises: []string{NoiseIndependent}, Rhos: []float64{0.5}, Regressions: []Regression{{KindLevelShift, 1.2}}}
	single, err := Synthetic(9, 60, opts)
	if err != nil {
		t.Fatal(err)
	}
	opts.Looks = 6
	seq, err := Synthetic(9, 60, opts)
	if err != nil {
		t.Fatal(err)
	}
	one := Run(single, SyntheticConfig(), []verdict.JudgeName{verdict.JudgeDefault}, nil, nil).Judges[0].Cases
	many := Run(seq, SyntheticConfig(), []verdict.JudgeName{verdict.JudgeDefault}, nil, nil).Judges[0].Cases
	failsEarly := 0
	for i := range one {
		s, m := one[i], many[i]
		if m.Look < 1 || m.Look > 6 {
			t.Fatalf("%s: look %d", m.ID, m.Look)
		}
		if s.Result == "FAIL" && m.Result != "FAIL" {
			t.Errorf("%s: FAIL alone, %s as a sequence", s.ID, m.Result)
		}
		if m.Result != "FAIL" && m.Look != 6 {
			t.Errorf("%s: %s at look %d, want every look run", m.ID, m.Result, m.Look)
		}
		if m.Result != "FAIL" && m.Result != s.Result {
			t.Errorf("%s: the last look (the whole window) says %s, alone %s", m.ID, m.Result, s.Result)
		}
		if m.Result == "FAIL" && m.Look < 6 {
			failsEarly++
		}
	}
	if failsEarly == 0 {
		t.Error("no sequence stopped before its last look")
	}
	if _, err := Synthetic(9, 2, SyntheticOptions{Looks: 61}); !errors.Is(err, ErrSynthetic) {
		t.Errorf("61 looks of 60 points: %v", err)
	}
}

// TestSpendingHoldsTheLevel measures the level over looks: 200 unchanged
// canaries judged at 12 looks fail far more often when each look uses the
// whole level than when each spends its share (stats.SpentLevel), which
// stays near the 5% a single analysis has; an established regression is
// still caught, and early.
func TestSpendingHoldsTheLevel(t *testing.T) {
	opts := SyntheticOptions{Noises: []string{NoiseIndependent}, Rhos: []float64{0.5}, Regressions: []Regression{{KindLevelShift, 1.5}}, Looks: 12}
	rate := func(spending bool) (falseFails, detected float64, earlyLooks int) {
		opts.Spending = spending
		cases, err := Synthetic(11, 400, opts)
		if err != nil {
			t.Fatal(err)
		}
		out := Run(cases, SyntheticConfig(), []verdict.JudgeName{verdict.JudgeDefault}, nil, nil).Judges[0]
		for _, c := range out.Cases {
			if c.Expected == "FAIL" && c.Result == "FAIL" && c.Look <= 6 {
				earlyLooks++
			}
		}
		return out.Summary.FalseFailRate, out.Summary.Recall, earlyLooks
	}
	plain, _, _ := rate(false)
	spent, recall, early := rate(true)
	t.Logf("12 looks: false fails %.1f%% without spending, %.1f%% with; recall %.1f%%, %d caught by look 6", 100*plain, 100*spent, 100*recall, early)
	// 200 A/A sequences: the Monte Carlo error of a 5% rate is ±1.5%.
	if spent > 0.08 {
		t.Errorf("with spending, %.1f%% of unchanged canaries fail over 12 looks, want at most 8%%", 100*spent)
	}
	if plain < 2*spent || plain < 0.12 {
		t.Errorf("without spending %.1f%%, with %.1f%%: looks without spending should fail unchanged canaries far more often", 100*plain, 100*spent)
	}
	if recall < 0.9 || early < 100 {
		t.Errorf("with spending: recall %.1f%%, %d of 200 regressions caught by look 6", 100*recall, early)
	}
}

// TestOpenEndedHoldsTheLevel judges 24 looks spent as a sequence whose
// length is not known (open-ended, as Flagger's checks): unchanged
// canaries fail at most at the level (plus Monte Carlo error), and a +50%
// shift is still caught.
func TestOpenEndedHoldsTheLevel(t *testing.T) {
	opts := SyntheticOptions{Noises: []string{NoiseIndependent}, Rhos: []float64{0.5}, Regressions: []Regression{{KindLevelShift, 1.5}},
		Points: 240, Looks: 24, OpenEnded: true}
	cases, err := Synthetic(12, 400, opts)
	if err != nil {
		t.Fatal(err)
	}
	out := Run(cases, SyntheticConfig(), []verdict.JudgeName{verdict.JudgeDefault}, nil, nil).Judges[0]
	t.Logf("24 open-ended looks: false fails %.1f%%, recall %.1f%%", 100*out.Summary.FalseFailRate, 100*out.Summary.Recall)
	// 200 A/A sequences: the Monte Carlo error of a 5% rate is ±1.5%.
	if out.Summary.FalseFailRate > 0.08 {
		t.Errorf("%.1f%% of unchanged canaries fail over 24 open-ended looks, want at most 8%%", 100*out.Summary.FalseFailRate)
	}
	if out.Summary.Recall < 0.9 {
		t.Errorf("recall %.1f%% of +50%%, want at least 90%%", 100*out.Summary.Recall)
	}
}
