package graphite_test

import (
	"testing"

	"github.com/canaryjudge/judge/metrics"
	"github.com/canaryjudge/judge/metrics/graphite"
	"github.com/canaryjudge/judge/metrics/graphite/graphitetest"
	"github.com/canaryjudge/judge/metrics/sourcetest"
)

// TestConformance runs the source suite against a real graphite-web.
func TestConformance(t *testing.T) {
	sourcetest.Run(t, sourcetest.Harness{
		Type: graphite.Type,
		Start: func(t *testing.T, series []sourcetest.Series) string {
			var fixtures []graphitetest.Series
			for _, s := range series {
				fixtures = append(fixtures, graphitetest.Series{Path: "judge.conformance." + s.Scope, Start: s.Start, Step: s.Step, Values: s.Values})
			}
			return graphitetest.Start(t, fixtures)
		},
		Account: func(url string) metrics.Account {
			return metrics.Account{Name: "graphite", Type: graphite.Type, URL: url}
		},
		Template:     `averageSeries(judge.conformance.${scope})`,
		Rejected:     `noSuchFunction(judge.conformance.a)`,
		Kayenta:      `{"type":"graphite","metricName":"averageSeries(judge.conformance.$scope)"}`,
		KayentaScope: "a",
		Rendered:     `averageSeries(judge.conformance.a)`,
	})
}
