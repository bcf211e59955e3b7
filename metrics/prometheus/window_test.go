package prometheus

import (
	"testing"
	"time"

	"github.com/prometheus/prometheus/promql/parser"
)

var windowCases = []struct {
	query string
	want  time.Duration
}{
	{`sum(rate(http_requests_total{job="api"}[5m]))`, 5 * time.Minute},
	{`histogram_quantile(0.99, sum by (le) (rate(latency_bucket[2m])))`, 2 * time.Minute},
	{`max_over_time(rate(x[1m])[1h:1m])`, time.Hour},
	{`rate(a[30s]) / rate(b[10m])`, 10 * time.Minute},
	{`irate(x[5m])`, 0},
	{`max_over_time(irate(x[5m])[30m:1m])`, 30 * time.Minute},
	{`up`, 0},
	{`avg(node_memory_Active_bytes) # [1h] in a comment`, 0},
	{`sum(rate(x{path=~"/a[0-9]+"}[90s]))`, 90 * time.Second},
	{`increase(x{name='it\'s [7d]'}[1h30m] offset 5m)`, 90 * time.Minute},
	{"avg_over_time(x{a=`[2h]`}[3m])", 3 * time.Minute},
	{`sum  (  rate ( x [ 4m ] ) )`, 4 * time.Minute},
}

func TestWindow(t *testing.T) {
	for _, tc := range windowCases {
		if got := Window(tc.query); got != tc.want {
			t.Errorf("Window(%q) = %v, want %v", tc.query, got, tc.want)
		}
	}
	for _, odd := range []string{`rate(x[5m]`, `x[`, `"unclosed [5m]`, `)))[1h]`, "[\x00]", `[99999999999999999999y]`} {
		_ = Window(odd) // must not panic
	}
}

// parserWindow is Window by Prometheus' own parser: the longest range of a
// matrix selector or subquery, irate and idelta excepted.
func parserWindow(t *testing.T, query string) time.Duration {
	expr, err := parser.NewParser(parser.Options{}).ParseExpr(query)
	if err != nil {
		t.Fatalf("%q: %v", query, err)
	}
	var longest time.Duration
	var walk func(n parser.Node)
	walk = func(n parser.Node) {
		switch e := n.(type) {
		case *parser.Call:
			if e.Func != nil && (e.Func.Name == "irate" || e.Func.Name == "idelta") {
				return
			}
		case *parser.MatrixSelector:
			longest = max(longest, e.Range)
		case *parser.SubqueryExpr:
			longest = max(longest, e.Range)
		}
		for _, c := range parser.Children(n) {
			walk(c)
		}
	}
	walk(expr)
	return longest
}

// TestWindowMatchesParser checks the scan against Prometheus' parser on
// every valid query above.
func TestWindowMatchesParser(t *testing.T) {
	for _, tc := range windowCases {
		if got, want := Window(tc.query), parserWindow(t, tc.query); got != want {
			t.Errorf("Window(%q) = %v, Prometheus' parser says %v", tc.query, got, want)
		}
	}
}

// FuzzWindow checks the scan against Prometheus' parser on any text the
// parser accepts.
func FuzzWindow(f *testing.F) {
	for _, tc := range windowCases {
		f.Add(tc.query)
	}
	f.Fuzz(func(t *testing.T, query string) {
		if _, err := parser.NewParser(parser.Options{}).ParseExpr(query); err != nil {
			_ = Window(query) // must not panic
			return
		}
		if got, want := Window(query), parserWindow(t, query); got != want {
			t.Errorf("Window(%q) = %v, Prometheus' parser says %v", query, got, want)
		}
	})
}
