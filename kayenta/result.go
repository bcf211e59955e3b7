// Package kayenta is judge's compatibility with Spinnaker's Kayenta: its
// CanaryJudgeResult, remote judge request, execution status and canary
// config list types, and their conversion from judge's own verdicts.
package kayenta

import (
	"fmt"
	"math"
	"strings"

	"github.com/canaryjudge/judge/stats"
	"github.com/canaryjudge/judge/verdict"
)

// JudgeResult is Kayenta's CanaryJudgeResult (kayenta-core
// canary/results/*.java), the body a Kayenta remote judge returns.
type JudgeResult struct {
	JudgeName   string         `json:"judgeName"`
	Results     []MetricResult `json:"results"`
	GroupScores []GroupScore   `json:"groupScores"`
	Score       Score          `json:"score"`
}

// MetricResult is Kayenta's CanaryAnalysisResult.
type MetricResult struct {
	Name                 string            `json:"name"`
	ID                   string            `json:"id"`
	Tags                 map[string]string `json:"tags"`
	Classification       string            `json:"classification"`
	ClassificationReason string            `json:"classificationReason"`
	Groups               []string          `json:"groups"`
	ExperimentMetadata   map[string]any    `json:"experimentMetadata"`
	ControlMetadata      map[string]any    `json:"controlMetadata"`
	ResultMetadata       map[string]any    `json:"resultMetadata"`
	Critical             bool              `json:"critical"`
	Muted                bool              `json:"muted"`
}

// GroupScore is Kayenta's CanaryJudgeGroupScore.
type GroupScore struct {
	Name                 string  `json:"name"`
	Score                float64 `json:"score"`
	Classification       string  `json:"classification"`
	ClassificationReason string  `json:"classificationReason"`
}

// Score is Kayenta's CanaryJudgeScore.
type Score struct {
	Score                float64 `json:"score"`
	Classification       string  `json:"classification"`
	ClassificationReason string  `json:"classificationReason"`
}

var classes = map[verdict.Classification]string{
	verdict.Pass: "Pass", verdict.High: "High", verdict.Low: "Low", verdict.Nodata: "Nodata",
	verdict.NodataFail: "NodataFailMetric", verdict.Error: "Error",
	// Kayenta has no inconclusive class; like NodataFailMetric it fails
	// the metric for want of evidence.
	verdict.Inconclusive: "NodataFailMetric",
}

// reverse maps Kayenta's classes back to judge's (Inconclusive reads as
// NODATA_FAIL, as Kayenta has no class of its own for it).
var reverse = map[string]verdict.Classification{"Pass": verdict.Pass, "High": verdict.High, "Low": verdict.Low, "Nodata": verdict.Nodata,
	"NodataFailMetric": verdict.NodataFail, "Error": verdict.Error}

// rank orders classifications from the best (PASS) to the worst.
func rank(class verdict.Classification) int {
	return map[verdict.Classification]int{verdict.Pass: 0, verdict.Nodata: 1, verdict.Low: 2, verdict.High: 2, verdict.Inconclusive: 3, verdict.NodataFail: 3, verdict.Error: 4}[class]
}

// joinReasons is a metric's reason when several tests judged it.
func joinReasons(tests []map[string]any) string {
	parts := make([]string, len(tests))
	for i, t := range tests {
		parts[i] = fmt.Sprintf("%s %s: %s", t["test"], t["classification"], t["classificationReason"])
	}
	return strings.Join(parts, " | ")
}

// callerScore is the score Kayenta's callers are given. Spinnaker's canary
// stage and Argo Rollouts' kayenta provider ignore the classification and
// compare the score with their thresholds (Orca: pass when score ≥ pass,
// stop when score ≤ marginal; Argo: on int(score), Successful ≥ pass,
// Inconclusive ≥ marginal, else Failed). judge's verdict can be MARGINAL
// at a score that clears pass (a critical metric not judgeable is not
// counted in the score) or FAIL at one that clears marginal, so the score
// is lowered into the verdict's band, never raised: a MARGINAL to just
// under pass (⌈pass⌉ − 1), a FAIL to just under marginal (⌈marginal⌉ − 1,
// at least 0). With marginal 0 a FAIL reads as MARGINAL to Argo, and with
// ⌈pass⌉ − 1 under marginal a MARGINAL reads as FAIL: both still not pass.
func callerScore(res *verdict.Result) float64 {
	t := res.Thresholds
	switch {
	case res.Result == verdict.ResultMarginal && res.Score >= t.Pass:
		return math.Max(math.Ceil(t.Pass)-1, 0)
	case res.Result == verdict.ResultFail && (res.Score > t.Marginal || math.Trunc(res.Score) >= t.Marginal):
		return math.Max(math.Ceil(t.Marginal)-1, 0)
	}
	return res.Score
}

// FromResult converts a verdict to Kayenta's CanaryJudgeResult.
func FromResult(res *verdict.Result) JudgeResult {
	// The judge that ran: Kayenta's own judge, reproduced, is named as
	// Kayenta names it; judge's default judge by its name in configs.
	name := verdict.KayentaJudgeName
	if res.Judge != verdict.JudgeKayenta {
		name = string(verdict.JudgeDefault)
	}
	score, reason := res.Score, res.Reason
	if s := callerScore(res); s != score {
		reason += fmt.Sprintf(" (score %.2f reported as %.2f, so that a caller comparing the score with the thresholds reads the verdict, %s)", score, s, res.Result)
		score = s
	}
	out := JudgeResult{
		JudgeName: name,
		Score: Score{
			Score:                score,
			Classification:       strings.ToUpper(string(res.Result[:1])) + strings.ToLower(string(res.Result[1:])),
			ClassificationReason: reason,
		},
	}
	// One result per metric, as Kayenta has (its consumers look results up
	// by metric name): a metric judged by several tests is classified by
	// its worst, its reason names each test's, and resultMetadata.tests
	// holds each test's classification and reason.
	index := map[string]int{}
	for _, r := range res.Metrics {
		tags := r.Tags
		if tags == nil {
			tags = map[string]string{}
		}
		ratio := any(nil)
		if r.MeanRatio != nil {
			ratio = *r.MeanRatio
		}
		test := map[string]any{"test": r.Test, "classification": classes[r.Classification], "classificationReason": r.Reason}
		if i, seen := index[r.Name]; seen {
			m := &out.Results[i]
			tests := m.ResultMetadata["tests"].([]map[string]any)
			m.ResultMetadata["tests"] = append(tests, test)
			if rank(r.Classification) > rank(reverse[m.Classification]) {
				m.Classification = classes[r.Classification]
			}
			m.Critical = m.Critical || r.Critical
			m.ClassificationReason = joinReasons(m.ResultMetadata["tests"].([]map[string]any))
			continue
		}
		index[r.Name] = len(out.Results)
		out.Results = append(out.Results, MetricResult{
			Name:                 r.Name,
			ID:                   r.ID,
			Tags:                 tags,
			Classification:       classes[r.Classification],
			ClassificationReason: r.Reason,
			Groups:               r.Groups,
			ExperimentMetadata:   map[string]any{"stats": kayentaStats(r.Canary.Count, r.Canary.Min, r.Canary.Max, r.Canary.Mean, r.Canary.Std)},
			ControlMetadata:      map[string]any{"stats": kayentaStats(r.Baseline.Count, r.Baseline.Min, r.Baseline.Max, r.Baseline.Mean, r.Baseline.Std)},
			ResultMetadata:       map[string]any{"ratio": ratio, "tests": []map[string]any{test}},
			Critical:             r.Critical,
			Muted:                r.Muted,
		})
	}
	for _, g := range res.Groups {
		score := g.Score
		if g.NoData {
			score = 0 // Kayenta reports 0.0 for a group without counted metrics
		}
		out.GroupScores = append(out.GroupScores, GroupScore{Name: g.Name, Score: score})
	}
	return out
}

func kayentaStats(count int, minV, maxV, mean, std float64) map[string]any {
	return map[string]any{"count": count, "min": stats.JSONNumber(minV), "max": stats.JSONNumber(maxV),
		"mean": stats.JSONNumber(mean), "std": stats.JSONNumber(std)}
}
