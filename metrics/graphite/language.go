package graphite

import (
	"fmt"
	"regexp"
	"strings"
	"unicode"

	"github.com/canaryjudge/judge/metrics"
)

// Language is graphite's target syntax for metrics.Expand: quoted string
// arguments ('…' or "…"); outside them a value lands in a metric path,
// where only a plain segment keeps the path's depth and matches itself.
var Language = metrics.Language{Name: "Graphite", Quotes: `'"`, Escape: escape}

// Verbatim is Language substituting scope values as they are (an
// account's kayenta_raw_scopes: a value may then be a wildcard or a
// deeper path, as in Kayenta).
var Verbatim = metrics.Verbatim(Language)

// segment is a plain metric path segment: no dot (a deeper path), no
// wildcard or list (*, ?, [ ], { }), no call syntax.
var segment = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// escape places a value in a target: inside a quoted argument it escapes
// the backslash and the quote; outside, it must be a plain path segment.
func escape(v string, at metrics.Place) (string, error) {
	if strings.ContainsFunc(v, unicode.IsControl) {
		return "", fmt.Errorf("%w: it holds a control character", metrics.ErrUnsafeValue)
	}
	if at.Quote == 0 {
		if segment.MatchString(v) {
			return v, nil
		}
		return "", fmt.Errorf("%w: in a metric path only letters, digits, _ and - keep to one segment (a dot, wildcard or brace would match other series)", metrics.ErrUnsafeValue)
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
