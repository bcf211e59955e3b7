package backtest

import (
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
	outcomes := []Outcome{
		{Expected: "FAIL", Result: "FAIL", Kind: KindLevelShift, Size: 1.2},
		{Expected: "FAIL", Result: "PASS", Kind: KindLevelShift, Size: 1.2},
		{Expected: "FAIL", Result: "MARGINAL", Kind: KindLevelShift, Size: 1.5},
		{Expected: "FAIL", Result: "FAIL", Kind: KindTail, Size: 3},
		{Expected: "PASS", Result: "PASS"},
		{Expected: "PASS", Result: "FAIL"},
		{Expected: "PASS", Result: "MARGINAL"},
		{Expected: "PASS", Result: "PASS"},
		{Expected: "PASS", Result: "ERROR", Error: "boom"},
	}
	s := Summarize(outcomes)
	want := Summary{Incidents: 4, Detected: 2, Recall: 0.5, Controls: 4, FalseFails: 1, FalseFailRate: 0.25, Marginal: 2, Errors: 1,
		ByKind: []KindSummary{{KindLevelShift, 1.2, 2, 1, 0.5}, {KindLevelShift, 1.5, 1, 0, 0}, {KindTail, 3, 1, 1, 1}}}
	if fmt.Sprint(s) != fmt.Sprint(want) || !slices.Equal(s.ByKind, want.ByKind) {
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

// TestSyntheticCases pins the generator: deterministic, half A/A, every
// regression kind present, the regression only in m00.
func TestSyntheticCases(t *testing.T) {
	t.Parallel()
	a, b := Synthetic(7, 40), Synthetic(7, 40)
	if fmt.Sprint(a[5].Pairs[3].Values) != fmt.Sprint(b[5].Pairs[3].Values) {
		t.Error("the same seed gave different cases")
	}
	if c := Synthetic(8, 40); fmt.Sprint(c[5].Pairs[3].Values) == fmt.Sprint(a[5].Pairs[3].Values) {
		t.Error("another seed gave the same cases")
	}
	kinds := map[string]int{}
	for i, c := range a {
		kinds[c.Kind]++
		if (c.Kind == KindAA) != (c.Expected == verdict.ResultPass) || (c.Kind == KindAA) != (i%2 == 0) {
			t.Errorf("case %d: kind %s expected %s", i, c.Kind, c.Expected)
		}
		if len(c.Pairs) != SyntheticMetrics || len(c.Pairs[0].Values.Control) != SyntheticPoints {
			t.Fatalf("case %d: %d metrics", i, len(c.Pairs))
		}
	}
	for _, k := range []string{KindAA, KindLevelShift, KindVariance, KindTail, KindErrors, KindRamp, KindStep} {
		if kinds[k] == 0 {
			t.Errorf("no %s case in 40", k)
		}
	}
	// A +50% level shift: the canary's mean is about 1.5 times the control's.
	for _, c := range a {
		if c.Kind == KindLevelShift && c.Size == 1.5 {
			m := func(x []float64) float64 {
				s := 0.0
				for _, v := range x {
					s += v
				}
				return s / float64(len(x))
			}
			if r := m(c.Pairs[0].Values.Experiment) / m(c.Pairs[0].Values.Control); math.Abs(r-1.5) > 0.3 {
				t.Errorf("level shift 1.5 gave a mean ratio of %.2f", r)
			}
		}
	}
	report := Run(a, SyntheticConfig(), []string{verdict.JudgeDefault}, nil, nil)
	if s := report.Judges[0].Summary; s.Incidents != 20 || s.Controls != 20 || s.Errors != 0 {
		t.Errorf("summary %+v", s)
	}
}

// TestAdvise checks the threshold sweep: every setting is tried, the
// recommendation meets the target and has the best recall of those that do.
func TestAdvise(t *testing.T) {
	t.Parallel()
	cases := Synthetic(11, 60)
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
