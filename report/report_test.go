package report

import (
	"bytes"
	"errors"
	"math"
	"regexp"
	"strings"
	"testing"

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
	// Two charts per metric with data, each with a text alternative.
	if n := strings.Count(page, "<svg"); n != 4 {
		t.Errorf("%d charts, want 4", n)
	}
	if n := strings.Count(page, "<figcaption>"); n != 4 {
		t.Errorf("%d captions, want 4", n)
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
		if !strings.Contains(page, ">"+m.Classification+"</span>") {
			t.Errorf("classification %s of %s not written out", m.Classification, m.Name)
		}
	}
}

// TestAnalysisWithoutData renders a verdict alone (no series): no charts,
// every metric still listed.
func TestAnalysisWithoutData(t *testing.T) {
	t.Parallel()
	res, _ := analysis(t)
	var buf bytes.Buffer
	if err := Analysis(&buf, "x", res, nil); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), "<svg") || strings.Count(buf.String(), `class="metric"`) != 2 {
		t.Error("charts without data, or a metric missing")
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
