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
			// The rendered query goes along, as Kayenta's attributes carry it.
			if q := p.Attributes[side]["query"]; !strings.Contains(q, `pod="canary-good"`) && !strings.Contains(q, "pod:canary-good") &&
				!strings.Contains(q, `pod="baseline"`) && !strings.Contains(q, "pod:baseline") {
				t.Errorf("%s %s: attributes.query %q", p.Name, side, q)
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

// TestFillWindows checks that series judge did not fetch (a remote judge
// request, a data file) get their window from the query in their
// attributes, in the language of the metric's source, and that a window
// already given, a missing step or a metric of unknown source is left.
func TestFillWindows(t *testing.T) {
	cfg := parseConfig(t, `
name: fill
metrics:
  - name: prom
    groups: [g]
    query: {prometheus: 'sum(rate(x{pod="${scope}"}[5m]))'}
  - name: dd
    groups: [g]
    query: {datadog: "moving_rollup(avg:x{pod:${scope}}, 600, 'avg')"}
  - name: both
    groups: [g]
    query: {prometheus: 'rate(x[5m])', datadog: 'avg:x{*}'}
`)
	step := verdict.PairScope{StepMillis: 60_000}
	attrs := func(q string) map[string]map[string]string {
		return map[string]map[string]string{"control": {"query": q}, "experiment": {"query": q}}
	}
	pairs := []verdict.MetricSetPair{
		{Name: "prom", Scopes: map[string]verdict.PairScope{"control": step, "experiment": {StepMillis: 60_000, WindowMillis: 120_000}}, Attributes: attrs(`sum(rate(x{pod="a"}[5m]))`)},
		{Name: "dd", Scopes: map[string]verdict.PairScope{"control": step, "experiment": {}}, Attributes: attrs(`moving_rollup(avg:x{pod:a}, 600, 'avg')`)},
		{Name: "both", Scopes: map[string]verdict.PairScope{"control": step}, Attributes: attrs(`rate(x[5m])`)},
	}
	FillWindows(cfg, pairs)
	for _, tc := range []struct {
		pair int
		side string
		want int64
	}{
		{0, "control", 300_000}, {0, "experiment", 120_000}, // given: kept
		{1, "control", 600_000}, {1, "experiment", 0}, // no step
		{2, "control", 0}, // prometheus or datadog: unknown without an account
	} {
		if got := pairs[tc.pair].Scopes[tc.side].WindowMillis; got != tc.want {
			t.Errorf("%s %s: windowMillis %d, want %d", pairs[tc.pair].Name, tc.side, got, tc.want)
		}
	}
}
