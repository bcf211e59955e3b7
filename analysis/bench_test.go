package analysis

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/canaryjudge/judge/metrics"
)

// BenchmarkFetchConcurrency judges 20 metrics against the real Prometheus
// and compares the analysis' wall time with the slowest of its 40 queries
// run alone in the same iteration: fetching is concurrent when the ratio
// stays near 1 (the goal: wall ≤ 1.3 × slowest + 20 ms). It reports
// wall/slowest and wall/budget (≤ 1 meets the goal).
func BenchmarkFetchConcurrency(b *testing.B) {
	// A canary hour at 60 s (60 points per side), and four hours at 15 s
	// (961 points), where each query costs Prometheus more CPU.
	for _, tc := range []struct {
		name string
		step int64
		span time.Duration
	}{{"60-points", 60, time.Hour}, {"961-points", 15, 4 * time.Hour}} {
		b.Run(tc.name, func(b *testing.B) { benchmarkFetch(b, tc.step, tc.span) })
	}
}

func benchmarkFetch(b *testing.B, step int64, span time.Duration) {
	src, err := NewSources([]metrics.Account{{Name: "prom", Type: "prometheus", URL: prometheus(b), RateLimit: 10_000, RateBurst: 100}}, nil)
	if err != nil {
		b.Fatal(err)
	}
	runner := &Runner{Sources: src, Concurrency: 40}
	var cfgText strings.Builder
	cfgText.WriteString("metrics:\n")
	for i := range 20 {
		// Each metric its own query (a different factor).
		fmt.Fprintf(&cfgText, "  - {name: m%02d, groups: [g], query: {prometheus: 'avg(http_request_duration_seconds_p99{pod=\"${scope}\"}) * %d'}}\n", i, i+1)
	}
	cfg := parseConfig(&testing.T{}, cfgText.String())
	req := request("canary-good", points)
	for _, sc := range []*Scope{req.Scopes["default"].Control, req.Scopes["default"].Experiment} {
		sc.Step, sc.End = step, fixtureStart.Add(span-time.Minute)
	}
	jobs, err := runner.plan(cfg, req, Options{})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	var walls, slowests, sums time.Duration
	b.ResetTimer()
	for range b.N {
		slowest := time.Duration(0)
		for _, j := range jobs {
			t0 := time.Now()
			if _, err := src.sources["prom"].Fetch(ctx, j.query); err != nil {
				b.Fatal(err)
			}
			slowest = max(slowest, time.Since(t0))
			sums += time.Since(t0)
		}
		t0 := time.Now()
		out, err := runner.Run(ctx, cfg, req, Options{})
		if err != nil {
			b.Fatal(err)
		}
		walls += time.Since(t0)
		slowests += slowest
		if out.Result.Result == "" {
			b.Fatal("no verdict")
		}
	}
	wall, slowest := walls/time.Duration(b.N), slowests/time.Duration(b.N)
	b.ReportMetric(float64(wall.Microseconds())/1000, "wall-ms")
	b.ReportMetric(float64(slowest.Microseconds())/1000, "slowest-query-ms")
	b.ReportMetric(float64(wall)/float64(slowest), "wall/slowest")
	b.ReportMetric(float64(sums.Microseconds())/1000/float64(b.N), "serial-ms")
	b.ReportMetric(float64(wall)/float64(13*slowest/10+20*time.Millisecond), "wall/budget")
}
