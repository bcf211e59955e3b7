// Package kayenta is judge's compatibility with Spinnaker's Kayenta: its
// CanaryJudgeResult, remote judge request, execution status and canary
// config list types, and their conversion from judge's own verdicts.
package kayenta

import (
	"fmt"
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

// FromResult converts a verdict to Kayenta's CanaryJudgeResult.
func FromResult(res *verdict.Result) JudgeResult {
	// The judge that ran: Kayenta's own judge, reproduced, is named as
	// Kayenta names it; judge's default judge by its name in configs.
	name := verdict.KayentaJudgeName
	if res.Judge != verdict.JudgeKayenta {
		name = string(verdict.JudgeDefault)
	}
	out := JudgeResult{
		JudgeName: name,
		Score: Score{
			Score:                res.Score,
			Classification:       strings.ToUpper(string(res.Result[:1])) + strings.ToLower(string(res.Result[1:])),
			ClassificationReason: res.Reason,
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
