package influxdb

import (
	"fmt"
	"regexp"
	"strings"
	"unicode"

	"github.com/canaryjudge/judge/metrics"
)

// Language is InfluxQL for metrics.Expand: string literals in single
// quotes, identifiers in double quotes, "--" line comments and /* */
// block comments.
var Language = metrics.Language{Name: "InfluxQL", Quotes: `'"`, Escape: escape,
	LineComments: []string{"--"}, BlockComments: [][2]string{{"/*", "*/"}}}

// Verbatim is Language substituting scope values as they are (an
// account's kayenta_raw_scopes, for trusted callers only).
var Verbatim = metrics.Verbatim(Language)

// plain is what may stand outside quotes: a bare identifier or number.
var plain = regexp.MustCompile(`^([A-Za-z_][A-Za-z0-9_]*|[0-9]+(\.[0-9]+)?)$`)

// escape places a value in InfluxQL: inside a string literal or a quoted
// identifier it escapes the backslash and the quote; outside, it must be
// a bare identifier or number. Control characters are refused.
func escape(v string, at metrics.Place) (string, error) {
	if strings.ContainsFunc(v, unicode.IsControl) {
		return "", fmt.Errorf("%w: it holds a control character", metrics.ErrUnsafeValue)
	}
	if at.Quote == 0 {
		if plain.MatchString(v) {
			return v, nil
		}
		return "", fmt.Errorf("%w: outside quotes only a bare identifier or number can go (put the variable in '…' or \"…\")", metrics.ErrUnsafeValue)
	}
	var b strings.Builder
	for _, r := range v {
		if r == '\\' || r == at.Quote {
			b.WriteRune('\\')
		}
		b.WriteRune(r)
	}
	return b.String(), nil
}
