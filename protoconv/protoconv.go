// Package protoconv converts between the engine's forms (verdict.Result,
// verdict.MetricSetPair) and the API's (judge.v1 Verdict, MetricPair), in
// one place for the server, the CLI's --server client and the Kayenta
// surface.
package protoconv

import (
	"time"

	judgev1 "github.com/canaryjudge/judge/proto/judge/v1"
	"github.com/canaryjudge/judge/stats"
	"github.com/canaryjudge/judge/verdict"
)

// VerdictToProto converts the verdict engine's result to the API message.
func VerdictToProto(r *verdict.Result) *judgev1.Verdict {
	v := &judgev1.Verdict{
		Judge:      string(r.Judge),
		Serves:     r.Serves,
		Result:     string(r.Result),
		Score:      r.Score,
		Reason:     r.Reason,
		Thresholds: &judgev1.Thresholds{Pass: r.Thresholds.Pass, Marginal: r.Thresholds.Marginal},
		Warnings:   r.Warnings,
	}
	for _, g := range r.Groups {
		v.Groups = append(v.Groups, &judgev1.GroupScore{Name: g.Name, Score: g.Score, Weight: g.Weight, NoData: g.NoData})
	}
	// The metrics' messages are allocated together: one slice of results
	// and one of their two summaries.
	results := make([]judgev1.MetricResult, len(r.Metrics))
	summaries := make([]judgev1.SampleSummary, 2*len(r.Metrics))
	v.Metrics = make([]*judgev1.MetricResult, len(r.Metrics))
	for i := range r.Metrics {
		m := &r.Metrics[i]
		summaryInto(&summaries[2*i], m.Baseline)
		summaryInto(&summaries[2*i+1], m.Canary)
		v.Metrics[i] = &results[i]
		fillMetricResult(&results[i], m, &summaries[2*i], &summaries[2*i+1])
	}
	return v
}

// fillMetricResult sets res from m, with its summaries already converted.
func fillMetricResult(res *judgev1.MetricResult, m *verdict.MetricResult, baseline, canary *judgev1.SampleSummary) {
	*res = judgev1.MetricResult{
		Name:               m.Name,
		Test:               string(m.Test),
		Groups:             m.Groups,
		Classification:     string(m.Classification),
		Critical:           m.Critical,
		ConfiguredCritical: m.ConfiguredCritical,
		Muted:              m.Muted,
		Reason:             m.Reason,
		Baseline:           baseline,
		Canary:             canary,
		PValue:             m.PValue,
		AdjustedPValue:     m.AdjustedPValue,
		Estimate:           m.Estimate,
		CiLow:              m.CILow,
		CiHigh:             m.CIHigh,
		EffectSize:         m.EffectSize,
		Warnings:           m.Warnings,
		MeanRatio:          m.MeanRatio,
		Autocorrelation:    m.Autocorr,
		Comparison:         string(m.Comparison),
		TailPValue:         m.TailPValue,
		Bounds:             boundsToProto(m.Bounds),
		Aggregate:          m.Aggregate,
		Id:                 m.ID,
		Tags:               m.Tags,
	}
}

func summaryInto(out *judgev1.SampleSummary, s stats.Summary) {
	out.Count = int32(s.Count) //nolint:gosec // at most Limits.MaxPoints
	out.Mean, out.Std, out.Min, out.Max, out.Median, out.Q1, out.Q3 = s.Mean, s.Std, s.Min, s.Max, s.Median, s.Q1, s.Q3
}

// PairsToProto converts fetched series to the API's metric pairs.
func PairsToProto(pairs []verdict.MetricSetPair) []*judgev1.MetricPair {
	out := make([]*judgev1.MetricPair, len(pairs))
	for i, p := range pairs {
		mp := &judgev1.MetricPair{Name: p.Name, Id: p.ID, Tags: p.Tags, Control: p.Values.Control, Experiment: p.Values.Experiment,
			ControlHistory: p.Values.ControlHistory, Error: p.Error, Hint: p.Hint}
		if sc, ok := p.Scopes["experiment"]; ok && sc.StepMillis > 0 {
			mp.StepSeconds = float64(sc.StepMillis) / 1000
			mp.ExperimentStartMillis = startMillis(sc)
			mp.WindowSeconds = float64(sc.WindowMillis) / 1000
		}
		if sc, ok := p.Scopes["control"]; ok {
			mp.ControlStartMillis = startMillis(sc)
		}
		mp.ControlQuery, mp.ExperimentQuery = p.Attributes["control"]["query"], p.Attributes["experiment"]["query"]
		out[i] = mp
	}
	return out
}

// PairsFromProto converts the API's metric pairs to a MetricSetPairList.
func PairsFromProto(pairs []*judgev1.MetricPair) []verdict.MetricSetPair {
	out := make([]verdict.MetricSetPair, len(pairs))
	for i, p := range pairs {
		out[i] = PairFromProto(p)
	}
	return out
}

// PairFromProto converts one metric pair: its scopes carry the step and,
// when sent, the start times that tell whether the series are time-aligned.
func PairFromProto(p *judgev1.MetricPair) verdict.MetricSetPair {
	out := verdict.MetricSetPair{Name: p.GetName(), ID: p.GetId(), Tags: p.GetTags(), Error: p.GetError(), Hint: p.GetHint(),
		Values: verdict.PairValues{Control: p.GetControl(), Experiment: p.GetExperiment(), ControlHistory: p.GetControlHistory()}}
	if st := p.GetStepSeconds(); st > 0 {
		step, window := int64(st*1000), int64(p.GetWindowSeconds()*1000)
		out.Scopes = map[string]verdict.PairScope{"experiment": {StepMillis: step, StartTimeMillis: p.GetExperimentStartMillis(), WindowMillis: window}}
		if p.GetControlStartMillis() != 0 {
			out.Scopes["control"] = verdict.PairScope{StepMillis: step, StartTimeMillis: p.GetControlStartMillis(), WindowMillis: window}
		}
	}
	for _, sq := range [...][2]string{{"control", p.GetControlQuery()}, {"experiment", p.GetExperimentQuery()}} {
		if side, q := sq[0], sq[1]; q != "" {
			if out.Attributes == nil {
				out.Attributes = map[string]map[string]string{}
			}
			out.Attributes[side] = map[string]string{"query": q}
		}
	}
	return out
}

// VerdictFromProto converts the API's verdict back to the engine's form.
func VerdictFromProto(v *judgev1.Verdict) *verdict.Result {
	r := &verdict.Result{
		Judge:      verdict.JudgeName(v.GetJudge()),
		Serves:     v.GetServes(),
		Result:     verdict.Outcome(v.GetResult()),
		Score:      v.GetScore(),
		Reason:     v.GetReason(),
		Thresholds: verdict.Thresholds{Pass: v.GetThresholds().GetPass(), Marginal: v.GetThresholds().GetMarginal()},
		Warnings:   v.GetWarnings(),
	}
	for _, g := range v.GetGroups() {
		r.Groups = append(r.Groups, verdict.GroupScore{Name: g.GetName(), Score: g.GetScore(), Weight: g.GetWeight(), NoData: g.GetNoData()})
	}
	for _, m := range v.GetMetrics() {
		r.Metrics = append(r.Metrics, verdict.MetricResult{
			Name:               m.GetName(),
			Test:               verdict.Test(m.GetTest()),
			Groups:             m.GetGroups(),
			Classification:     verdict.Classification(m.GetClassification()),
			Critical:           m.GetCritical(),
			ConfiguredCritical: m.GetConfiguredCritical(),
			Muted:              m.GetMuted(),
			Reason:             m.GetReason(),
			Baseline:           summaryFromProto(m.GetBaseline()),
			Canary:             summaryFromProto(m.GetCanary()),
			PValue:             m.PValue,
			AdjustedPValue:     m.AdjustedPValue,
			Estimate:           m.Estimate,
			CILow:              m.CiLow,
			CIHigh:             m.CiHigh,
			EffectSize:         m.EffectSize,
			Comparison:         verdict.Comparison(m.GetComparison()),
			TailPValue:         m.TailPValue,
			Bounds:             boundsFromProto(m.GetBounds()),
			Warnings:           m.GetWarnings(),
			MeanRatio:          m.MeanRatio,
			Autocorr:           m.Autocorrelation,
			Aggregate:          m.Aggregate,
			ID:                 m.GetId(),
			Tags:               m.GetTags(),
		})
	}
	return r
}

func summaryFromProto(s *judgev1.SampleSummary) stats.Summary {
	return stats.Summary{Count: int(s.GetCount()), Mean: s.GetMean(), Std: s.GetStd(), Min: s.GetMin(), Max: s.GetMax(), Median: s.GetMedian(), Q1: s.GetQ1(), Q3: s.GetQ3()}
}

func boundsToProto(b *verdict.Bounds) *judgev1.Bounds {
	if b == nil {
		return nil
	}
	return &judgev1.Bounds{AllowedIncrease: b.AllowedIncrease, AllowedDecrease: b.AllowedDecrease, Min: b.Min, Max: b.Max,
		MinRatio: b.MinRatio, MaxRatio: b.MaxRatio}
}

func boundsFromProto(b *judgev1.Bounds) *verdict.Bounds {
	if b == nil {
		return nil
	}
	return &verdict.Bounds{AllowedIncrease: b.AllowedIncrease, AllowedDecrease: b.AllowedDecrease, Min: b.Min, Max: b.Max,
		MinRatio: b.MinRatio, MaxRatio: b.MaxRatio}
}

// startMillis is a scope's start in Unix milliseconds, from its
// startTimeMillis or else its startTimeIso (0 when neither is set).
func startMillis(s verdict.PairScope) int64 {
	if s.StartTimeMillis != 0 {
		return s.StartTimeMillis
	}
	if t, err := time.Parse(time.RFC3339Nano, s.StartTimeIso); err == nil {
		return t.UnixMilli()
	}
	return 0
}
