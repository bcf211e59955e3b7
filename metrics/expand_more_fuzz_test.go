package metrics_test

import (
	"strings"
	"testing"
	"unicode"

	"github.com/canaryjudge/judge/metrics"
	"github.com/canaryjudge/judge/metrics/graphite"
	"github.com/canaryjudge/judge/metrics/influxdb"
)

// quotedTokens splits a query into tokens, dropping -- and /* */
// comments, blanking the contents of strings delimited by any of quotes
// (a backslash escapes inside them), and, with segments, reading a dotted
// name as its segments (each "SEG") and dots: a value that adds a dot, a
// wildcard or a call shows as another token.
func quotedTokens(q, quotes string, segments bool) []string {
	var out []string
	r := []rune(q)
	for i := 0; i < len(r); i++ {
		c := r[i]
		rest := string(r[i:])
		switch {
		case unicode.IsSpace(c):
		case strings.HasPrefix(rest, "--"):
			for i < len(r) && r[i] != '\n' {
				i++
			}
		case strings.HasPrefix(rest, "/*"):
			end := strings.Index(rest[2:], "*/")
			if end < 0 {
				return append(out, "UNTERMINATED")
			}
			i += len([]rune(rest[:2+end+2])) - 1
		case strings.ContainsRune(quotes, c):
			j := i + 1
			for ; j < len(r) && r[j] != c; j++ {
				if r[j] == '\\' {
					j++
				}
			}
			if j >= len(r) {
				return append(out, "UNTERMINATED")
			}
			out = append(out, string(c)+"…"+string(c))
			i = j
		case unicode.IsLetter(c) || unicode.IsDigit(c) || c == '_' || segments && c == '-':
			j := i
			for j < len(r) && (unicode.IsLetter(r[j]) || unicode.IsDigit(r[j]) || r[j] == '_' || segments && r[j] == '-' || !segments && r[j] == '.') {
				j++
			}
			tok := strings.ToUpper(string(r[i:j]))
			if segments {
				tok = "SEG"
			}
			out = append(out, tok)
			i = j - 1
		default:
			out = append(out, string(c))
		}
	}
	return out
}

// fuzzNeverSyntax is the property of the scope fuzzers: rendering tmpl
// with any value the language accepts gives the same tokens as rendering
// it with a plain sentinel.
func fuzzNeverSyntax(t *testing.T, lang metrics.Language, tmpl, value, quotes string, segments bool) {
	plain, err := metrics.Expand(tmpl, map[string]string{"scope": sentinel}, lang)
	if err != nil {
		return
	}
	want := strings.Join(quotedTokens(plain, quotes, segments), " ")
	if strings.Contains(want, strings.ToUpper(sentinel)) || strings.Contains(want, "UNTERMINATED") {
		return // the variable is placed as syntax, or the template is broken
	}
	got, err := metrics.Expand(tmpl, map[string]string{"scope": value}, lang)
	if err != nil {
		return // refused: safe
	}
	if tokens := strings.Join(quotedTokens(got, quotes, segments), " "); tokens != want {
		t.Errorf("scope %q changed the tokens of\n%s\nto\n%s\n(rendered %q)", value, want, tokens, got)
	}
}

var influxTemplates = []string{
	`SELECT mean("value") FROM "latency" WHERE "pod" = '${scope}' AND $timeFilter`,
	"SELECT mean(\"value\") FROM \"latency\" -- it's the canary\nWHERE \"pod\" = '${scope}' AND $timeFilter -- the owner's",
	`/* the pod's */ SELECT max("v") FROM "m" WHERE "${scope}" = 'x' AND $timeFilter`,
}

// FuzzInfluxQLScopeIsNeverSyntax: an escaped scope value never adds,
// removes or changes an InfluxQL token outside strings and identifiers.
func FuzzInfluxQLScopeIsNeverSyntax(f *testing.F) {
	for _, tmpl := range influxTemplates {
		for _, v := range append(hostileValues, `' OR 1=1 --`, `a' /* `, `x'; DROP DATABASE judge`, `\' OR true OR '`, `x" OR "a"="a`) {
			f.Add(tmpl, v)
		}
	}
	f.Fuzz(func(t *testing.T, tmpl, value string) {
		fuzzNeverSyntax(t, influxdb.Language, tmpl, value, `'"`, false)
	})
}

var graphiteTemplates = []string{
	`averageSeries(checkout.${scope}.latency)`,
	`alias(sumSeries(checkout.*.${scope}.errors), '${scope} errors')`,
	`summarize(checkout.${scope}.latency, "$__interval", "avg")`,
}

// FuzzGraphiteScopeIsNeverSyntax: a scope value placed in a metric path
// stays one segment (no dot, wildcard, list or call), and one in a quoted
// argument stays inside it.
func FuzzGraphiteScopeIsNeverSyntax(f *testing.F) {
	for _, tmpl := range graphiteTemplates {
		for _, v := range append(hostileValues, `a.b`, `*`, `{a,b}`, `a[0-9]`, `x),sumSeries(secret.*`, `x', 'y`) {
			f.Add(tmpl, v)
		}
	}
	f.Fuzz(func(t *testing.T, tmpl, value string) {
		fuzzNeverSyntax(t, graphite.Language, tmpl, value, `'"`, true)
	})
}
