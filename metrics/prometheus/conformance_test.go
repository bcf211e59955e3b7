package prometheus_test

import (
	"context"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/canaryjudge/judge/analysis"
	"github.com/canaryjudge/judge/metrics"
	"github.com/canaryjudge/judge/metrics/prometheus"
	"github.com/canaryjudge/judge/metrics/prometheus/promtest"
	"github.com/canaryjudge/judge/metrics/sourcetest"
	"github.com/canaryjudge/judge/verdict"
)

// conformanceHarness is the source suite's harness for the Prometheus
// backend against a server started by start.
func conformanceHarness(start func(testing.TB, []promtest.Series) string) sourcetest.Harness {
	return sourcetest.Harness{
		Type: prometheus.Type,
		Start: func(t *testing.T, series []sourcetest.Series) string {
			var fixtures []promtest.Series
			for _, s := range series {
				f := promtest.Series{Name: "judge_conformance", Labels: map[string]string{"scope": s.Scope}}
				for i, v := range s.Values {
					f.Samples = append(f.Samples, promtest.Sample{T: s.Start.Add(time.Duration(i) * s.Step), V: v})
				}
				fixtures = append(fixtures, f)
			}
			return start(t, fixtures)
		},
		Account: func(url string) metrics.Account {
			return metrics.Account{Name: "prom", Type: prometheus.Type, URL: url}
		},
		Template:     `avg(judge_conformance{scope="${scope}"})`,
		Rejected:     `avg(judge_conformance{`,
		Kayenta:      `{"type":"prometheus","customInlineTemplate":"PromQL:avg(judge_conformance{scope=\"${scope}\"})"}`,
		KayentaScope: "a",
		Rendered:     `avg(judge_conformance{scope="a"})`,
	}
}

// TestConformance runs the source suite against a real Prometheus.
func TestConformance(t *testing.T) {
	sourcetest.Run(t, conformanceHarness(promtest.Start))
}

// TestConformanceVictoriaMetrics runs the same suite with the Prometheus
// backend against VictoriaMetrics' Prometheus query API: a compatible
// store needs no backend of its own.
func TestConformanceVictoriaMetrics(t *testing.T) {
	sourcetest.Run(t, conformanceHarness(promtest.StartVictoriaMetrics))
}

// TestVictoriaMetricsSameVerdicts judges one canary analysis against a
// real Prometheus and against VictoriaMetrics holding the same fixture:
// the series fetched and the verdicts are the same.
func TestVictoriaMetricsSameVerdicts(t *testing.T) {
	start := time.Now().Add(-30 * time.Hour).Truncate(time.Hour).UTC()
	series := func(pod string, level float64) promtest.Series {
		s := promtest.Series{Name: "api_latency_seconds", Labels: map[string]string{"pod": pod}}
		for i := range 240 {
			s.Samples = append(s.Samples, promtest.Sample{T: start.Add(time.Duration(i) * time.Minute), V: level * (1 + 0.05*math.Sin(float64(i)*2.1))})
		}
		return s
	}
	fixture := []promtest.Series{series("base", 0.1), series("slow", 0.13)}
	cfg, err := verdict.ParseConfig([]byte(`metrics:
  - {name: latency, groups: [perf], critical: true, direction: increase, query: {prometheus: 'avg(api_latency_seconds{pod="${scope}"})'}}
`), "c.yaml")
	if err != nil {
		t.Fatal(err)
	}
	scope := func(pod string) *analysis.Scope {
		return &analysis.Scope{Scope: pod, Start: start.Add(180 * time.Minute), End: start.Add(239 * time.Minute), Step: 60}
	}
	req := &analysis.Request{Scopes: map[string]analysis.ScopePair{"default": {Control: scope("base"), Experiment: scope("slow")}}}
	var results []*verdict.Result
	var fetched [][]verdict.MetricSetPair
	for _, url := range []string{promtest.Start(t, fixture), promtest.StartVictoriaMetrics(t, fixture)} {
		sources, err := analysis.NewSources([]metrics.Account{{Name: "store", Type: prometheus.Type, URL: url}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		out, err := (&analysis.Runner{Sources: sources}).Run(context.Background(), cfg, req, analysis.Options{})
		if err != nil {
			t.Fatal(err)
		}
		results, fetched = append(results, out.Result), append(fetched, out.Pairs)
	}
	p, v := results[0], results[1]
	if p.Result != v.Result || p.Score != v.Score || p.Metrics[0].Classification != v.Metrics[0].Classification || p.Result != verdict.ResultFail {
		t.Errorf("Prometheus %s %v (%s), VictoriaMetrics %s %v (%s)", p.Result, p.Score, p.Metrics[0].Reason, v.Result, v.Score, v.Metrics[0].Reason)
	}
	// VictoriaMetrics keeps about 12 significant digits of a float.
	near := func(x, y verdict.Series) bool {
		return slices.EqualFunc(x, y, func(p, q float64) bool { return math.Abs(p-q) <= 1e-9*math.Abs(p) })
	}
	a, b := fetched[0][0].Values, fetched[1][0].Values
	if !near(a.Control, b.Control) || !near(a.Experiment, b.Experiment) || !near(a.ControlHistory, b.ControlHistory) || len(a.Control) != 60 || len(a.ControlHistory) < 170 {
		t.Errorf("fetched series differ: %d/%d/%d points against %d/%d/%d", len(a.Control), len(a.Experiment), len(a.ControlHistory), len(b.Control), len(b.Experiment), len(b.ControlHistory))
	}
}
