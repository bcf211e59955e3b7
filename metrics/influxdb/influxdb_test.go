package influxdb_test

import (
	"testing"
	"time"

	"github.com/canaryjudge/judge/metrics"
	"github.com/canaryjudge/judge/metrics/influxdb"
	"github.com/canaryjudge/judge/metrics/influxdb/influxtest"
	"github.com/canaryjudge/judge/metrics/sourcetest"
)

// TestConformance runs the source suite against a real InfluxDB.
func TestConformance(t *testing.T) {
	sourcetest.Run(t, sourcetest.Harness{
		Type: influxdb.Type,
		Start: func(t *testing.T, series []sourcetest.Series) string {
			var points []influxtest.Point
			for _, s := range series {
				for i, v := range s.Values {
					points = append(points, influxtest.Point{Measurement: "judge_conformance", Tags: map[string]string{"scope": s.Scope}, Value: v, T: s.Start.Add(time.Duration(i) * s.Step)})
				}
			}
			return influxtest.Start(t, points)
		},
		Account: func(url string) metrics.Account {
			return metrics.Account{Name: "influx", Type: influxdb.Type, URL: url, Settings: map[string]any{"database": influxtest.Database}}
		},
		Template:     `SELECT mean("value") FROM "judge_conformance" WHERE "scope" = '${scope}' AND $timeFilter`,
		Rejected:     `SELEC value FROM x WHERE $timeFilter`,
		Kayenta:      `{"type":"influxdb","metricName":"judge_conformance","fields":["value"]}`,
		KayentaScope: "scope:a",
		Rendered:     `SELECT mean("value") FROM "judge_conformance" WHERE $timeFilter AND "scope" = 'a'`,
	})
}
