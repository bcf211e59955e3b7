package metrics_test

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/canaryjudge/judge/metrics"
	"github.com/canaryjudge/judge/metrics/datadog"
	"github.com/canaryjudge/judge/metrics/newrelic"
	"github.com/canaryjudge/judge/metrics/prometheus"
)

// TestRenderHostileScopes checks every language's escaping with values
// that try to break out of where they land.
func TestRenderHostileScopes(t *testing.T) {
	t.Parallel()
	type render func(string, map[string]string) (string, error)
	tests := []struct {
		lang   string
		render render
		tmpl   string
		scope  string
		want   string // "" when the value must be refused
	}{
		{"promql", prometheus.Render, `up{pod="${scope}"}`, `"}) or vector(1) or (`, `up{pod="\"}) or vector(1) or ("}`},
		{"promql", prometheus.Render, `up{pod="${scope}"}`, `a\"b`, `up{pod="a\\\"b"}`},
		{"promql", prometheus.Render, `up{pod="${scope}"}`, "a\nb", `up{pod="a\nb"}`},
		{"promql", prometheus.Render, `up{pod=~"${scope}.*"}`, `a.b|c`, `up{pod=~"a\\.b\\|c.*"}`},
		{"promql", prometheus.Render, `up{pod=~'${scope}'}`, `it's`, `up{pod=~'it\'s'}`},
		{"promql", prometheus.Render, "up{pod=`${scope}`}", "a`b", ""},
		{"promql", prometheus.Render, `sum(up) by (${scope})`, `pod) or vector(1`, ""},
		{"promql", prometheus.Render, `rate(x[${scope}])`, `5m`, `rate(x[5m])`},
		{"promql", prometheus.Render, `up{pod="${scope}"}`, "a\x1bb", ""},
		{"datadog", datadog.Render, `avg:lat{pod:${scope}}`, `canary-1.abc/x:y`, `avg:lat{pod:canary-1.abc/x:y}`},
		// Comma-separated tags (Kayenta scopes such as
		// kube_deployment:x,env:prod) are AND in a Datadog filter: they
		// only narrow it. An empty, spaced, negated or wildcard one is not
		// a plain tag.
		{"datadog", datadog.Render, `avg:lat{${scope}}`, `kube_deployment:x,env:prod`, `avg:lat{kube_deployment:x,env:prod}`},
		{"datadog", datadog.Render, `avg:lat{pod:${scope}}`, `a,pod:b`, `avg:lat{pod:a,pod:b}`},
		{"datadog", datadog.Render, `avg:lat{pod:${scope}}`, `a,,b`, ""},
		{"datadog", datadog.Render, `avg:lat{pod:${scope}}`, `a,`, ""},
		{"datadog", datadog.Render, `avg:lat{pod:${scope}}`, `a, env:b`, ""},
		{"datadog", datadog.Render, `avg:lat{pod:${scope}}`, `a,!env:b`, ""},
		{"datadog", datadog.Render, `avg:lat{pod:${scope}}`, `a,env:*`, ""},
		{"datadog", datadog.Render, `avg:lat{pod:${scope}}`, `a,env:b OR c`, ""},
		{"datadog", datadog.Render, `avg:${scope}{pod:a}`, `lat,x`, ""},
		{"datadog", datadog.Render, `avg:lat{pod:${scope}}`, `a} by {host`, ""},
		{"datadog", datadog.Render, `avg:lat{pod:${scope}}`, `*`, ""},
		{"datadog", datadog.Render, `avg:lat{pod:${scope}}`, `a b`, ""},
		{"datadog", datadog.Render, `avg:lat{pod:${scope}}`, `!a`, ""},
		// A quote in a comment does not flip the lexer (a scope once landed
		// unescaped behind "# it's").
		{"promql", prometheus.Render, "# it's\nup{pod=\"${scope}\"} # owner's", `x"} or vector(1) or up{a="`, "# it's\nup{pod=\"x\\\"} or vector(1) or up{a=\\\"\"} # owner's"},
		{"promql", prometheus.Render, "# ${scope}\nup", "x\nvector(1)", "# ${scope}\nup"},
		{"nrql", newrelic.Render, "SELECT count(*) FROM T -- it's\nWHERE pod = '${scope}' -- owner's", `' OR 1=1`, "SELECT count(*) FROM T -- it's\nWHERE pod = '\\' OR 1=1' -- owner's"},
		{"nrql", newrelic.Render, "/* don't */ SELECT count(*) FROM T WHERE pod = '${scope}' // won't", `' OR 1=1`, "/* don't */ SELECT count(*) FROM T WHERE pod = '\\' OR 1=1' // won't"},
		{"nrql", newrelic.Render, `SELECT count(*) FROM T WHERE pod = '${scope}'`, `' OR 1=1`, `SELECT count(*) FROM T WHERE pod = '\' OR 1=1'`},
		{"nrql", newrelic.Render, `SELECT count(*) FROM T WHERE pod = '${scope}'`, `a\' OR 1=1 --`, `SELECT count(*) FROM T WHERE pod = 'a\\\' OR 1=1 --'`},
		{"nrql", newrelic.Render, `SELECT count(*) FROM T WHERE pod RLIKE '${scope}.*'`, `a.b`, `SELECT count(*) FROM T WHERE pod RLIKE 'a\\.b.*'`},
		{"nrql", newrelic.Render, `SELECT count(*) FROM T WHERE pod LIKE '${scope}%'`, `a%`, ""},
		{"nrql", newrelic.Render, `SELECT count(*) FROM T WHERE pod = '${scope}'`, "a\nb", ""},
		{"nrql", newrelic.Render, `SELECT count(*) FROM T WHERE pod = ${scope}`, `1 OR 1=1`, ""},
		{"nrql", newrelic.Render, "SELECT count(*) FROM T WHERE `${scope}` = 1", "a` = 1 OR `b", ""},
	}
	for _, tc := range tests {
		got, err := tc.render(tc.tmpl, map[string]string{"scope": tc.scope})
		switch {
		case tc.want == "" && !errors.Is(err, metrics.ErrUnsafeValue):
			t.Errorf("%s %q in %s: %q, %v; want an unsafe-value error", tc.lang, tc.scope, tc.tmpl, got, err)
		case tc.want == "" && !strings.Contains(err.Error(), "${scope}"):
			t.Errorf("%s: error %q does not name the variable", tc.lang, err)
		case tc.want != "" && (err != nil || got != tc.want):
			t.Errorf("%s %q in %s: %q, %v; want %q", tc.lang, tc.scope, tc.tmpl, got, err, tc.want)
		}
	}
}

func TestExpandErrors(t *testing.T) {
	t.Parallel()
	for tmpl, want := range map[string]string{
		`up{pod="${scope}}`:   "unterminated \" string",
		`up{pod="${scope`:     "unterminated ${",
		`up{pod="${region}"}`: "${region} has no value",
	} {
		_, err := prometheus.Render(tmpl, map[string]string{"scope": "a"})
		if !errors.Is(err, metrics.ErrTemplate) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want a template error naming %q", tmpl, err, want)
		}
	}
}

func TestAlignAndSplit(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	q := metrics.Query{Start: start, End: start.Add(4 * time.Minute), Step: time.Minute}
	s, err := metrics.Align(q, []metrics.Point{
		{T: start.Add(-time.Minute), V: 99},    // before the range
		{T: start.Add(10 * time.Second), V: 1}, // snaps to 0
		{T: start.Add(2*time.Minute + 29*time.Second), V: 2},
		{T: start.Add(4 * time.Minute), V: math.Inf(1)},
		{T: start.Add(5 * time.Minute), V: 5}, // after the range
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []float64{1, math.NaN(), 2, math.NaN(), math.Inf(1)}
	for i, v := range want {
		if !(s.Values[i] == v || (math.IsNaN(v) && math.IsNaN(s.Values[i]))) {
			t.Errorf("values %v, want %v", s.Values, want)
			break
		}
	}
	if _, err := metrics.Align(q, []metrics.Point{{T: start, V: math.NaN()}}); !errors.Is(err, metrics.ErrNoData) {
		t.Errorf("all-NaN: %v, want ErrNoData", err)
	}
	parts := metrics.Split(metrics.Query{Start: start, End: start.Add(999 * time.Second), Step: time.Second}, 300)
	if len(parts) != 4 || !parts[0].Start.Equal(start) || !parts[3].End.Equal(start.Add(999*time.Second)) || parts[1].Start != parts[0].End.Add(time.Second) {
		t.Errorf("split into %+v", parts)
	}
	total := 0
	for _, p := range parts {
		total += p.Points()
	}
	if total != 1000 {
		t.Errorf("parts hold %d points, want 1000", total)
	}
}
