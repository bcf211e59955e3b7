package kayenta

import (
	"strings"
	"testing"

	"github.com/canaryjudge/judge/verdict"
)

// TestFromResultOneEntryPerMetric: a metric judged by two tests is one
// Kayenta result, classified by its worst test, critical if either is,
// with each test's classification and reason inside; the judge that ran
// is named.
func TestFromResultOneEntryPerMetric(t *testing.T) {
	res := &verdict.Result{Judge: verdict.JudgeDefault, Result: verdict.ResultFail, Metrics: []verdict.MetricResult{
		{Name: "latency", Test: verdict.TestMannWhitney, Classification: verdict.Pass, Reason: "no significant change"},
		{Name: "latency", Test: verdict.TestThreshold, Classification: verdict.High, Critical: true, Reason: "p99 above 60"},
		{Name: "cpu", Test: verdict.TestMannWhitney, Classification: verdict.Nodata, Reason: "no data"},
	}}
	out := FromResult(res)
	if out.JudgeName != string(verdict.JudgeDefault) || len(out.Results) != 2 {
		t.Fatalf("judge %q, %d results; want default and one per metric", out.JudgeName, len(out.Results))
	}
	l := out.Results[0]
	tests, _ := l.ResultMetadata["tests"].([]map[string]any)
	if l.Name != "latency" || l.Classification != "High" || !l.Critical || len(tests) != 2 ||
		!strings.Contains(l.ClassificationReason, "threshold High: p99 above 60") || !strings.Contains(l.ClassificationReason, "mann_whitney Pass") {
		t.Errorf("latency: %+v", l)
	}
	if out.Results[1].Classification != "Nodata" {
		t.Errorf("cpu: %+v", out.Results[1])
	}
	res.Judge = verdict.JudgeKayenta
	if got := FromResult(res).JudgeName; got != verdict.KayentaJudgeName {
		t.Errorf("Kayenta's judge is named %q", got)
	}
}
