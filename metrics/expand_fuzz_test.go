package metrics_test

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/canaryjudge/judge/metrics/newrelic"
	"github.com/canaryjudge/judge/metrics/prometheus"
)

// sentinel is a scope value that is syntax nowhere.
const sentinel = "SENTINELxyz"

// promShape parses q with Prometheus' own parser and prints it with every
// string literal and label-matcher value blanked: what is left is the
// query's syntax. ok is false when q does not parse.
func promShape(q string) (string, bool) {
	expr, err := parser.NewParser(parser.Options{}).ParseExpr(q)
	if err != nil {
		return "", false
	}
	parser.Inspect(expr, func(n parser.Node, _ []parser.Node) error {
		switch n := n.(type) {
		case *parser.StringLiteral:
			n.Val = ""
		case *parser.VectorSelector:
			n.Name = ""
			for i, m := range n.LabelMatchers {
				n.LabelMatchers[i] = &labels.Matcher{Type: m.Type, Name: m.Name}
			}
		}
		return nil
	})
	return expr.String(), true
}

var promTemplates = []string{
	`up{pod="${scope}"}`,
	`sum(rate(http_requests_total{pod=~"${scope}.*",code=~"5.."}[5m])) / sum(rate(http_requests_total{pod=~"${scope}.*"}[5m]))`,
	"# it's the canary\navg(up{pod=\"${scope}\"}) # the owner's",
	"avg(up{pod=\"${scope}\"}) # the pod's \"up\"",
	"# \"quoted\" and 'single'\nhistogram_quantile(0.99, sum by (le) (rate(lat_bucket{pod='${scope}'}[5m])))",
	"label_replace(up{pod=`${scope}`}, \"x\", \"${scope}\", \"pod\", \"(.*)\")",
	"# `backtick\nup{pod!~\"${scope}\"} # and '",
}

var hostileValues = []string{
	`x"}[5m]))) or vector(1) or absent(q{a=~"`,
	`x'}) or vector(1) or up{a='`,
	"x`}) or vector(1) or up{a=`",
	"a\nb # c",
	`a\"b\\`,
	"}) or vector(1) #",
	"canary-7d9f",
	`.*|x`,
}

// FuzzPromQLScopeIsNeverSyntax renders PromQL templates with any scope
// value and parses the result with Prometheus' parser: whenever both the
// value and a plain sentinel render, and the template puts the variable
// only inside strings and label values, the two queries have the same
// syntax once strings and label values are blanked, so the value added
// no syntax (comments included, where a quote must not flip the lexer).
func FuzzPromQLScopeIsNeverSyntax(f *testing.F) {
	for _, tmpl := range promTemplates {
		for _, v := range hostileValues {
			f.Add(tmpl, v)
		}
	}
	f.Fuzz(func(t *testing.T, tmpl, value string) {
		plain, err := prometheus.Render(tmpl, map[string]string{"scope": sentinel})
		if err != nil {
			return
		}
		want, ok := promShape(plain)
		if !ok || strings.Contains(want, sentinel) {
			return // not PromQL, or the variable is placed as syntax (a duration, a label name)
		}
		got, err := prometheus.Render(tmpl, map[string]string{"scope": value})
		if err != nil {
			return // refused: safe
		}
		shape, ok := promShape(got)
		switch {
		case !ok && value != "" && utf8.ValidString(value):
			// Escaped inside a string, any non-empty text parses as the
			// sentinel did (an empty one can leave a selector with no
			// non-empty matcher): a query that no longer parses had the
			// value break out.
			t.Errorf("scope %q made the query unparseable: %q", value, got)
		case ok && shape != want:
			t.Errorf("scope %q changed the syntax of\n%s\nto\n%s\n(rendered %q)", value, want, shape, got)
		}
	})
}

// nrqlTokens splits NRQL into tokens, dropping comments (// and -- to the
// end of the line, /* */) and blanking the contents of '…' strings and
// `…` identifiers.
func nrqlTokens(q string) []string {
	var out []string
	r := []rune(q)
	for i := 0; i < len(r); i++ {
		c := r[i]
		rest := string(r[i:])
		switch {
		case unicode.IsSpace(c):
		case strings.HasPrefix(rest, "//"), strings.HasPrefix(rest, "--"):
			for i < len(r) && r[i] != '\n' {
				i++
			}
		case strings.HasPrefix(rest, "/*"):
			end := strings.Index(rest[2:], "*/")
			if end < 0 {
				return append(out, "UNTERMINATED")
			}
			i += len([]rune(rest[:2+end+2])) - 1
		case c == '\'' || c == '`':
			j := i + 1
			for ; j < len(r) && r[j] != c; j++ {
				if r[j] == '\\' && c == '\'' {
					j++
				}
			}
			if j >= len(r) {
				return append(out, "UNTERMINATED")
			}
			out = append(out, string(c)+"…"+string(c))
			i = j
		case unicode.IsLetter(c) || unicode.IsDigit(c) || c == '_':
			j := i
			for j < len(r) && (unicode.IsLetter(r[j]) || unicode.IsDigit(r[j]) || r[j] == '_' || r[j] == '.') {
				j++
			}
			out = append(out, strings.ToUpper(string(r[i:j])))
			i = j - 1
		default:
			out = append(out, string(c))
		}
	}
	return out
}

var nrqlTemplates = []string{
	`SELECT average(duration) FROM Transaction WHERE pod = '${scope}'`,
	"SELECT count(*) FROM Transaction -- it's the canary\nWHERE pod = '${scope}' AND error IS true -- the owner's",
	"SELECT count(*) FROM Transaction // don't\nWHERE pod LIKE '${scope}%' // won't",
	"/* the pod's errors */ SELECT count(*) FROM TransactionError WHERE pod RLIKE '${scope}.*' /* it's */",
	"SELECT percentile(duration, 99) FROM Transaction WHERE `pod.name` = '${scope}' -- '",
}

// FuzzNRQLScopeIsNeverSyntax is the NRQL equivalent, with a tokenizer:
// the value never adds, removes or changes a token outside strings.
func FuzzNRQLScopeIsNeverSyntax(f *testing.F) {
	for _, tmpl := range nrqlTemplates {
		for _, v := range append(hostileValues, `' OR 1=1 --`, `a' /* `, `x'; DROP`, `\' OR true OR '`) {
			f.Add(tmpl, v)
		}
	}
	f.Fuzz(func(t *testing.T, tmpl, value string) {
		plain, err := newrelic.Render(tmpl, map[string]string{"scope": sentinel})
		if err != nil {
			return
		}
		want := strings.Join(nrqlTokens(plain), " ")
		if strings.Contains(want, strings.ToUpper(sentinel)) || strings.Contains(want, "UNTERMINATED") {
			return // the variable is placed as syntax, or the template is broken
		}
		got, err := newrelic.Render(tmpl, map[string]string{"scope": value})
		if err != nil {
			return
		}
		if tokens := strings.Join(nrqlTokens(got), " "); tokens != want {
			t.Errorf("scope %q changed the tokens of\n%s\nto\n%s\n(rendered %q)", value, want, tokens, got)
		}
	})
}
