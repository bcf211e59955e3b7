// Package kayenta is judge's compatibility with Spinnaker's Kayenta: its
// CanaryJudgeResult, remote judge request, execution status and canary
// config list types, and their conversion from judge's own verdicts.
package kayenta

import (
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

var classes = map[string]string{
	verdict.Pass: "Pass", verdict.High: "High", verdict.Low: "Low", verdict.Nodata: "Nodata",
	verdict.NodataFail: "NodataFailMetric", verdict.Error: "Error",
	// Kayenta has no inconclusive class; like NodataFailMetric it fails
	// the metric for want of evidence.
	verdict.Inconclusive: "NodataFailMetric",
}

// FromResult converts a verdict to Kayenta's CanaryJudgeResult.
func FromResult(res *verdict.Result) JudgeResult {
	// The judge that ran: Kayenta's own judge, reproduced, is named as
	// Kayenta names it; judge's default judge by its name in configs.
	name := verdict.KayentaJudgeName
	if res.Judge != verdict.JudgeKayenta {
		name = verdict.JudgeDefault
	}
	out := JudgeResult{
		JudgeName: name,
		Score: Score{
			Score:                res.Score,
			Classification:       strings.ToUpper(res.Result[:1]) + strings.ToLower(res.Result[1:]),
			ClassificationReason: res.Reason,
		},
	}
	for _, r := range res.Metrics {
		tags := r.Tags
		if tags == nil {
			tags = map[string]string{}
		}
		ratio := any(nil)
		if r.MeanRatio != nil {
			ratio = *r.MeanRatio
		}
		out.Results = append(out.Results, MetricResult{
			Name:                 r.Name,
			ID:                   r.ID,
			Tags:                 tags,
			Classification:       classes[r.Classification],
			ClassificationReason: r.Reason,
			Groups:               r.Groups,
			ExperimentMetadata:   map[string]any{"stats": kayentaStats(r.Canary.Count, r.Canary.Min, r.Canary.Max, r.Canary.Mean, r.Canary.Std)},
			ControlMetadata:      map[string]any{"stats": kayentaStats(r.Baseline.Count, r.Baseline.Min, r.Baseline.Max, r.Baseline.Mean, r.Baseline.Std)},
			ResultMetadata:       map[string]any{"ratio": ratio},
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
