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

// TestCallerScoreReadsTheVerdict: Spinnaker's canary stage and Argo
// Rollouts' kayenta provider read only the score, against their own
// thresholds. Over verdicts at scores on either side of the thresholds,
// the score reported makes both read PASS exactly when the verdict is
// PASS, FAIL as failed wherever marginal > 0, and is never raised.
func TestCallerScoreReadsTheVerdict(t *testing.T) {
	// orca is Orca's aggregation of the last run: pass only when score ≥
	// pass; argo is the kayenta provider's phase on int(score).
	orca := func(score float64, th verdict.Thresholds) string {
		switch {
		case score <= th.Marginal:
			return "FAIL"
		case score < th.Pass:
			return "FAIL" // the last run: below pass fails; earlier runs continue
		}
		return "PASS"
	}
	argo := func(score float64, th verdict.Thresholds) string {
		v := float64(int(score))
		switch {
		case v >= th.Pass:
			return "PASS"
		case v >= th.Marginal:
			return "MARGINAL"
		}
		return "FAIL"
	}
	for _, th := range []verdict.Thresholds{{Pass: 95, Marginal: 75}, {Pass: 95.5, Marginal: 40.5}, {Pass: 100, Marginal: 100}, {Pass: 50, Marginal: 0}} {
		for _, result := range []verdict.Outcome{verdict.ResultPass, verdict.ResultMarginal, verdict.ResultFail} {
			for _, score := range []float64{0, 39.9, 40.5, 74.99, 75, 80, 94.99, 95, 95.5, 96, 100} {
				res := &verdict.Result{Result: result, Score: score, Thresholds: th, Reason: "r"}
				out := FromResult(res)
				got := out.Score.Score
				if got > score {
					t.Errorf("%s %g %+v: score raised to %g", result, score, th, got)
				}
				if result == verdict.ResultPass && got != score {
					t.Errorf("PASS %g: score changed to %g", score, got)
				}
				if got != score && !strings.Contains(out.Score.ClassificationReason, "reported as") {
					t.Errorf("%s %g: the reason does not say the score moved: %s", result, score, out.Score.ClassificationReason)
				}
				if result != verdict.ResultPass && (orca(got, th) == "PASS" || argo(got, th) == "PASS") {
					t.Errorf("%s at %g %+v: reported %g reads as PASS (orca %s, argo %s)", result, score, th, got, orca(got, th), argo(got, th))
				}
				if result == verdict.ResultFail && th.Marginal > 0 && argo(got, th) != "FAIL" {
					t.Errorf("FAIL at %g %+v: reported %g reads as %s to Argo", score, th, got, argo(got, th))
				}
				if result == verdict.ResultMarginal && score < th.Pass && got != score {
					t.Errorf("MARGINAL at %g %+v: moved to %g though under pass", score, th, got)
				}
			}
		}
	}
}
