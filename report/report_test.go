package report

import (
	"bytes"
	"errors"
	"fmt"
	"html"
	"math"
	"regexp"
	"strings"
	"testing"

	"github.com/canaryjudge/judge/backtest"
	"github.com/canaryjudge/judge/stats"
	"github.com/canaryjudge/judge/verdict"
)

// analysis judges a small config with a hostile metric name, a regressed
// metric and a metric with missing points.
func analysis(t *testing.T) (*verdict.Result, []verdict.MetricSetPair) {
	t.Helper()
	cfg, err := verdict.ParseConfig([]byte(`name: shop
metrics:
  - {name: "<script>alert(1)</script>", groups: [g], direction: increase}
  - {name: latency, groups: [g], direction: increase, critical: true}
`), "c.yaml")
	if err != nil {
		t.Fatal(err)
	}
	base := make([]float64, 30)
	canary := make([]float64, 30)
	lat := make([]float64, 30)
	for i := range base {
		base[i] = 100 + float64(i%5)
		canary[i] = 100 + float64((i+2)%5)
		lat[i] = 200 + float64(i%7)
	}
	canary[4] = math.NaN()
	pairs := []verdict.MetricSetPair{
		{Name: "<script>alert(1)</script>", Values: verdict.PairValues{Control: base, Experiment: canary}},
		{Name: "latency", Values: verdict.PairValues{Control: base, Experiment: lat}},
	}
	res, err := verdict.Analyze(cfg, pairs, verdict.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return res, pairs
}

func TestAnalysisPage(t *testing.T) {
	t.Parallel()
	res, pairs := analysis(t)
	var buf bytes.Buffer
	if err := Analysis(&buf, `Canary <b>"shop"</b>`, res, pairs); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	if strings.Contains(page, "<script>") || strings.Contains(page, "<b>") || !strings.Contains(page, "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Error("a hostile name or title reached the page unescaped")
	}
	// Self-contained: no attribute loads anything (SVG namespaces are names,
	// not requests), no script at all.
	if m := regexp.MustCompile(`(?i)(src|href|action)\s*=\s*"(https?:)?//`).FindString(page); m != "" {
		t.Errorf("external reference %q", m)
	}
	if strings.Contains(strings.ToLower(page), "<script") {
		t.Error("the page has a script")
	}
	// Three charts per metric with data (series, distributions, shift
	// against the allowed bounds), each with a text alternative.
	if n := strings.Count(page, "<svg"); n != 6 {
		t.Errorf("%d charts, want 6", n)
	}
	if n := strings.Count(page, "<figcaption>"); n != 6 {
		t.Errorf("%d captions, want 6", n)
	}
	if !strings.Contains(page, "allowed effect: no decrease, no increase.") {
		t.Error("the shift chart's text alternative does not name the bounds")
	}
	if !strings.Contains(page, "canary (30 points, 1 missing)") {
		t.Error("the missing canary point is not described")
	}
	// The result and every classification are written out, worst first.
	if !strings.Contains(page, `<span class="badge FAIL">FAIL</span>`) {
		t.Errorf("result badge missing (result %s)", res.Result)
	}
	high, pass := strings.Index(page, `id="metric-latency-`), strings.Index(page, `id="metric-&lt;script`)
	if high < 0 || pass < 0 || high > pass {
		t.Errorf("the failing metric is not first (%d, %d)", high, pass)
	}
	for _, m := range res.Metrics {
		if !strings.Contains(page, ">"+string(m.Classification)+"</span>") {
			t.Errorf("classification %s of %s not written out", m.Classification, m.Name)
		}
	}
}

// TestAnalysisWithoutData renders a verdict alone (no series): only the
// shift charts, every metric still listed.
func TestAnalysisWithoutData(t *testing.T) {
	t.Parallel()
	res, _ := analysis(t)
	var buf bytes.Buffer
	if err := Analysis(&buf, "x", res, nil); err != nil {
		t.Fatal(err)
	}
	if strings.Count(buf.String(), "<svg") != 2 || strings.Count(buf.String(), `class="metric"`) != 2 {
		t.Error("series charts without data, or a metric missing")
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestAnalysisWriteError(t *testing.T) {
	t.Parallel()
	res, pairs := analysis(t)
	if err := Analysis(failingWriter{}, "x", res, pairs); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("error %v, want the writer's", err)
	}
}

// TestBacktestPage renders a small synthetic backtest: the summary tables,
// the power curve chart beside its table, the cases judged against their
// expectation first, capped, each with its series and a text alternative,
// and a hostile case name escaped.
func TestBacktestPage(t *testing.T) {
	t.Parallel()
	cases, err := backtest.Synthetic(3, 2*MaxBacktestCases, backtest.SyntheticOptions{
		Noises: []string{backtest.NoiseIndependent}, Regressions: []backtest.Regression{{Kind: backtest.KindLevelShift, Size: 1.1}, {Kind: backtest.KindLevelShift, Size: 1.5}}})
	if err != nil {
		t.Fatal(err)
	}
	cases[0].ID = `<img src=x onerror=alert(1)>`
	rep := backtest.Run(cases, backtest.SyntheticConfig(), []verdict.JudgeName{verdict.JudgeDefault}, nil, nil)
	var buf bytes.Buffer
	if err := Backtest(&buf, "Backtest", rep, cases); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	if strings.Contains(page, "<img") || strings.Contains(strings.ToLower(page), "<script") {
		t.Error("a hostile case name reached the page")
	}
	if m := regexp.MustCompile(`(?i)(src|href)\s*=\s*"(https?:)?//`).FindString(page); m != "" {
		t.Errorf("external reference %q", m)
	}
	for _, want := range []string{"A/A false fails per noise model and ρ", "Detection per regression", "Power curve", "parametric limit",
		fmt.Sprintf("%d of %d cases", MaxBacktestCases, len(cases))} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	// One power chart plus one chart per case shown.
	if n := strings.Count(page, "<svg"); n != 1+MaxBacktestCases {
		t.Errorf("%d charts, want %d", n, 1+MaxBacktestCases)
	}
	// Cases judged against their expectation (the ×1.1 shifts mostly
	// missed) come before any case judged as expected.
	lastWrong, firstRight := strings.LastIndex(page, `<h3 class="wrong">`), strings.Index(page, "<h3>synthetic-")
	wrong := 0
	for _, o := range rep.Judges[0].Cases {
		if (o.Result == verdict.ResultFail) != (o.Expected == verdict.ResultFail) {
			wrong++
		}
	}
	if wrong == 0 || (firstRight >= 0 && lastWrong > firstRight) {
		t.Errorf("%d cases judged against their expectation; order wrong (%d, %d)", wrong, lastWrong, firstRight)
	}
	if !strings.Contains(page, "180 points of baseline history, 60 of baseline and 60 of canary; the canary over the same time as the baseline window.") {
		t.Error("a case chart's text alternative is missing")
	}
}

// TestOpenIntervalReadsAsText: an interval with an unbounded end (a
// one-sided test) reads in the report as text output prints it, with ±∞,
// and an allowed bound of 1 as no change allowed.
func TestOpenIntervalReadsAsText(t *testing.T) {
	est, low, one, eff := 4.0, 1.5, 1.0, 1.04
	res := &verdict.Result{Judge: "default", Result: "FAIL", Metrics: []verdict.MetricResult{{
		Name: "latency", Test: verdict.TestMannWhitney, Classification: verdict.High, Estimate: &est, CILow: &low, EffectSize: &eff,
		Baseline: stats.Summary{Count: 10, Median: 100}, Canary: stats.Summary{Count: 10, Median: 104},
		Bounds: &verdict.Bounds{AllowedIncrease: &one},
	}}}
	var buf bytes.Buffer
	if err := Analysis(&buf, "open", res, nil); err != nil {
		t.Fatal(err)
	}
	if page := html.UnescapeString(buf.String()); !strings.Contains(page, "4 [1.5, +∞]") || !strings.Contains(page, "allowed effect: no increase.") ||
		!strings.Contains(page, "(allowed: no increase)") || !strings.Contains(page, "interval [1.015, +∞]") {
		t.Errorf("the open interval or the bound does not read as text output does:\n%s", page)
	}
}

// TestThresholdChart: a threshold test's report draws its absolute bound
// on the series chart (with a legend entry) and shows no empty rank-test
// rows ("— [—, —]").
func TestThresholdChart(t *testing.T) {
	limit, agg := 60.0, 72.0
	res := &verdict.Result{Judge: "default", Result: "FAIL", Metrics: []verdict.MetricResult{{
		Name: "latency", Test: verdict.TestThreshold, Classification: verdict.High, Aggregate: &agg,
		Baseline: stats.Summary{Count: 3, Median: 50}, Canary: stats.Summary{Count: 3, Median: 70},
		Bounds: &verdict.Bounds{Max: &limit},
	}}}
	pairs := []verdict.MetricSetPair{{Name: "latency", Values: verdict.PairValues{Control: []float64{50, 51, 49}, Experiment: []float64{70, 72, 69}}}}
	var buf bytes.Buffer
	if err := Analysis(&buf, "threshold", res, pairs); err != nil {
		t.Fatal(err)
	}
	page := html.UnescapeString(buf.String())
	if !strings.Contains(page, "threshold max 60") || !strings.Contains(page, "threshold dashed grey") {
		t.Error("the threshold is not drawn on the series chart")
	}
	if strings.Contains(page, "— [") || strings.Contains(page, "p-value / adjusted") {
		t.Error("a threshold test shows empty rank-test rows")
	}
}

// TestWorstFirstOrder: the report lists metrics in the order text output
// does (verdict.Result.WorstFirst): critical failures, then HIGH/LOW, …,
// PASS last, ties by adjusted p.
func TestWorstFirstOrder(t *testing.T) {
	p := func(v float64) *float64 { return &v }
	res := &verdict.Result{Judge: "default", Result: "FAIL", Metrics: []verdict.MetricResult{
		{Name: "ok", Test: verdict.TestMannWhitney, Classification: verdict.Pass, AdjustedPValue: p(0.9)},
		{Name: "broken", Test: verdict.TestMannWhitney, Classification: verdict.Error},
		{Name: "slower", Test: verdict.TestMannWhitney, Classification: verdict.High, AdjustedPValue: p(0.01)},
		{Name: "critical", Test: verdict.TestMannWhitney, Classification: verdict.High, Critical: true, AdjustedPValue: p(0.04)},
		{Name: "faster", Test: verdict.TestMannWhitney, Classification: verdict.Low, AdjustedPValue: p(0.001)},
	}}
	var buf bytes.Buffer
	if err := Analysis(&buf, "order", res, nil); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	var want []string
	for _, m := range res.WorstFirst() {
		want = append(want, m.Name)
	}
	last := -1
	for _, name := range want {
		i := strings.Index(page, "<h3>"+name+" ")
		if i < last {
			t.Errorf("the report lists %s out of WorstFirst's order %v", name, want)
		}
		last = i
	}
	if strings.Join(want, ",") != "critical,faster,slower,broken,ok" {
		t.Errorf("WorstFirst: %v", want)
	}
}
