package analysis

import (
	"context"
	"strings"
	"testing"

	"github.com/canaryjudge/judge/verdict"
)

// TestQueryWindowInScopes checks that the runner reads each query's range
// window (a real Prometheus answers avg_over_time over 5 m at a 1 m step),
// passes it in the pair's scopes, and that the default judge then judges
// one point in five; a query without a range window says nothing.
func TestQueryWindowInScopes(t *testing.T) {
	s := newSetup(t)
	cfg := parseConfig(t, `
name: windows
metrics:
  - name: smoothed
    groups: [latency]
    direction: increase
    query: {prometheus: 'avg(avg_over_time(http_request_duration_seconds_p99{pod="${scope}"}[5m]))'}
  - name: errors
    groups: [errors]
    direction: increase
    query: {datadog: 'avg:app.errors{pod:${scope}}'}
`)
	out, err := s.runner.Run(context.Background(), cfg, request("canary-good", points), Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int64{"smoothed": 300_000, "errors": 0}
	for _, p := range out.Pairs {
		for side, sc := range p.Scopes {
			if sc.WindowMillis != want[p.Name] {
				t.Errorf("%s %s: windowMillis %d, want %d", p.Name, side, sc.WindowMillis, want[p.Name])
			}
		}
	}
	// The fixture holds no history to thin with (thinning needs 30
	// baseline points after it), so the judge here judged every point; with
	// the baseline's earlier windows added it takes one point in five for
	// the smoothed query only.
	for i := range out.Pairs {
		for range 3 {
			out.Pairs[i].Values.ControlHistory = append(out.Pairs[i].Values.ControlHistory, out.Pairs[i].Values.Control...)
		}
	}
	res, err := verdict.Analyze(cfg, out.Pairs, verdict.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range res.Metrics {
		spans := strings.Contains(m.Reason, "each point spans 5 steps")
		if (m.Name == "smoothed") != spans || m.Classification == verdict.Error {
			t.Errorf("%s: %s (%s)", m.Name, m.Classification, m.Reason)
		}
	}
}
