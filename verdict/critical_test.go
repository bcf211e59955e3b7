package verdict

import (
	"strings"
	"testing"
)

// TestCriticalConfiguredAndApplied: a metric configured critical keeps that
// flag in its result (ConfiguredCritical); Critical says whether it failed
// the analysis, which a HIGH within effectSize.criticalIncrease does not
// (Kayenta's rule), and the reason says so, with both numbers. Both judges.
func TestCriticalConfiguredAndApplied(t *testing.T) {
	const config = `metrics:
  - {name: p95, groups: [latency], critical: true, direction: increase, effectSize: {allowedIncrease: 1.1, criticalIncrease: 1.5}}
  - {name: cpu, groups: [resources]}
`
	base := func(i int) float64 { return 100 + float64((i*37)%23) }
	for _, judge := range []JudgeName{JudgeDefault, JudgeKayenta} {
		for _, tc := range []struct {
			ratio    float64
			critical bool
			score    float64
			reason   string
		}{
			// Not critical as applied: the groups' scores decide (latency 0,
			// resources 100); critical: a forced FAIL scores 0.
			{1.21, false, 50, "configured critical, but its effect size 1.2"},
			{1.7, true, 0, "; critical metric"},
		} {
			res := analyzeYAML(t, config, []MetricSetPair{
				pair("p95", seq(60, base), seq(60, func(i int) float64 { return base(i) * tc.ratio })),
				pair("cpu", seq(60, base), seq(60, base)),
			}, Options{Judge: judge})
			m := res.Metrics[0]
			if m.Classification != High || !m.ConfiguredCritical || m.Critical != tc.critical || !strings.Contains(m.Reason, tc.reason) || res.Score != tc.score {
				t.Errorf("%s ×%g: %s critical=%v configured=%v, score %v: %s; want HIGH critical=%v, score %v, reason with %q",
					judge, tc.ratio, m.Classification, m.Critical, m.ConfiguredCritical, res.Score, m.Reason, tc.critical, tc.score, tc.reason)
			}
			if !tc.critical && !strings.Contains(m.Reason, "critical increase 1.5") {
				t.Errorf("%s ×%g: the reason does not name the critical increase: %s", judge, tc.ratio, m.Reason)
			}
			if res.Metrics[1].ConfiguredCritical || res.Metrics[1].Critical {
				t.Errorf("%s: a metric not configured critical reads critical", judge)
			}
		}
	}
}
