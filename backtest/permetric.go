package backtest

import (
	"github.com/canaryjudge/judge/stats"
	"github.com/canaryjudge/judge/verdict"
)

// intervalLevel is the confidence level of the intervals beside recall
// and false-fail rates.
const intervalLevel = 0.95

// Interval is a rate's exact 95% confidence interval (Clopper–Pearson).
type Interval [2]float64

// rateInterval is the interval of k of n.
func rateInterval(k, n int) Interval {
	lo, hi := stats.ClopperPearson(k, n, intervalLevel)
	return Interval{lo, hi}
}

// MetricSummary is how often one metric flagged the cases (HIGH, LOW or
// NODATA_FAIL: a significant change, or a canary that stopped reporting):
// among regressions (its recall) and among good deployments (its false
// flags). A metric that rarely flags a regression that others catch is
// one whose threshold or direction may be wrong; one that flags good
// deployments is noise.
type MetricSummary struct {
	Name              string   `json:"name"`
	Incidents         int      `json:"incidents"`
	Flagged           int      `json:"flagged"`
	Recall            float64  `json:"recall"`
	RecallInterval    Interval `json:"recall_interval"`
	Controls          int      `json:"controls"`
	FalseFlags        int      `json:"false_flags"`
	FalseFlagRate     float64  `json:"false_flag_rate"`
	FalseFlagInterval Interval `json:"false_flag_interval"`
}

// flags reports whether a classification counts against the canary.
func flags(c verdict.Classification) bool {
	return c == verdict.High || c == verdict.Low || c == verdict.NodataFail
}

// metricSummaries counts each metric's flags over the outcomes that carry
// metrics (cases judged with PerMetric), in the order metrics first
// appear; errored cases count in neither.
func metricSummaries(outcomes []Outcome) []MetricSummary {
	var out []MetricSummary
	index := map[string]int{}
	for _, o := range outcomes {
		if o.Error != "" {
			continue
		}
		for _, m := range o.Metrics {
			i, ok := index[m.Name]
			if !ok {
				i = len(out)
				index[m.Name] = i
				out = append(out, MetricSummary{Name: m.Name})
			}
			s := &out[i]
			if o.Expected == verdict.ResultFail {
				s.Incidents++
				if flags(m.Classification) {
					s.Flagged++
				}
			} else {
				s.Controls++
				if flags(m.Classification) {
					s.FalseFlags++
				}
			}
		}
	}
	for i := range out {
		s := &out[i]
		s.Recall, s.RecallInterval = ratio(s.Flagged, s.Incidents), rateInterval(s.Flagged, s.Incidents)
		s.FalseFlagRate, s.FalseFlagInterval = ratio(s.FalseFlags, s.Controls), rateInterval(s.FalseFlags, s.Controls)
	}
	return out
}
