package prometheus

import (
	"time"

	"github.com/prometheus/prometheus/promql/parser"
)

// Window returns the longest range a PromQL query reads per point: the
// range of a range-vector selector (rate(x[5m])) or subquery
// (max_over_time(y[1h:1m])). Points closer than it share samples, so the
// series they make is a moving window. irate and idelta read only the last
// two samples of their range and do not count. It returns 0 for a query
// without a range or one that does not parse (the source will say why).
func Window(query string) time.Duration {
	expr, err := parser.NewParser(parser.Options{}).ParseExpr(query)
	if err != nil {
		return 0
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
