package metrics

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// The errors of this package and its backends. A backend wraps them with
// the source's own message (never a secret).
var (
	// ErrNoData is returned when a query succeeded but matched no series or
	// no point in the range: the metric is NODATA, not a failure.
	ErrNoData = errors.New("no data")
	// ErrUnavailable is returned when the source could not be reached or
	// kept failing (network errors, 5xx and 429 after retries, timeouts).
	ErrUnavailable = errors.New("metrics source unavailable")
	// ErrRejected is returned when the source refused the query (4xx other
	// than 429: a bad query, bad credentials, no permission).
	ErrRejected = errors.New("query rejected by the metrics source")
	// ErrUnsafeValue is returned when a scope value cannot be placed in a
	// query without changing the query's syntax.
	ErrUnsafeValue = errors.New("scope value cannot be used safely in the query")
	// ErrTemplate is returned for a malformed query template.
	ErrTemplate = errors.New("bad query template")
	// ErrMultipleSeries is returned when a query returns more than one
	// series: a metric must aggregate to one series per scope.
	ErrMultipleSeries = errors.New("the query returned more than one series")
	// ErrConfig is returned for a bad account configuration.
	ErrConfig = errors.New("bad metrics account configuration")
	// ErrTooLarge is returned when an answer is larger than the account's
	// max_response_bytes or holds more points than the query asked for:
	// it is read no further and the metric is ERROR.
	ErrTooLarge = errors.New("the metrics source's answer is too large")
)

// Query is one rendered query over a time range.
type Query struct {
	// Text is the query in the source's language, scope values already
	// substituted.
	Text string
	// Start and End bound the range (both included); Step is the spacing
	// of the points wanted.
	Start, End time.Time
	Step       time.Duration
}

// Points returns the number of grid points from Start to End at Step.
func (q Query) Points() int {
	if q.Step <= 0 || q.End.Before(q.Start) {
		return 0
	}
	return int(q.End.Sub(q.Start)/q.Step) + 1
}

// Validate checks the range and step.
func (q Query) Validate() error {
	switch {
	case q.Step <= 0:
		return fmt.Errorf("step %v: %w: want a positive step", q.Step, ErrTemplate)
	case !q.End.After(q.Start):
		return fmt.Errorf("range %s – %s: %w: the end must be after the start", q.Start.Format(time.RFC3339), q.End.Format(time.RFC3339), ErrTemplate)
	case q.Points() > 1_000_000:
		return fmt.Errorf("range / step = %d points: %w: more than 1,000,000", q.Points(), ErrTemplate)
	}
	return nil
}

// Series is one metric's values on the query's grid: Values[i] is the value
// at Start + i·Step, NaN where the source had no point.
type Series struct {
	Start  time.Time
	Step   time.Duration
	Values []float64
}

// Source fetches one series for a rendered query. It returns ErrNoData
// (wrapped) for an empty result, and ErrUnavailable or ErrRejected for a
// failure, with the source's message.
type Source interface {
	Fetch(ctx context.Context, q Query) (Series, error)
}

// Point is one timestamped value as a source returns it.
type Point struct {
	T time.Time
	V float64
}

// Align places points on the query's grid: each point goes to the nearest
// grid position (within half a step; others are dropped), later points win,
// and positions without a point are NaN. It returns ErrNoData when no point
// lands on the grid or every value is NaN.
func Align(q Query, points []Point) (Series, error) {
	n := q.Points()
	s := Series{Start: q.Start, Step: q.Step, Values: make([]float64, n)}
	for i := range s.Values {
		s.Values[i] = math.NaN()
	}
	found := false
	for _, p := range points {
		off := p.T.Sub(q.Start)
		i := int((off + q.Step/2) / q.Step)
		if off < -q.Step/2 || i < 0 || i >= n {
			continue
		}
		s.Values[i] = p.V
		if !math.IsNaN(p.V) {
			found = true
		}
	}
	if !found {
		return s, fmt.Errorf("%w in %s – %s", ErrNoData, q.Start.UTC().Format(time.RFC3339), q.End.UTC().Format(time.RFC3339))
	}
	return s, nil
}

// Split cuts a query into consecutive queries of at most maxPoints grid
// points each, for sources that limit the points of one answer.
func Split(q Query, maxPoints int) []Query {
	n := q.Points()
	if n <= maxPoints || maxPoints < 1 {
		return []Query{q}
	}
	var out []Query
	for first := 0; first < n; first += maxPoints {
		last := min(first+maxPoints, n) - 1
		part := q
		part.Start = q.Start.Add(time.Duration(first) * q.Step)
		part.End = q.Start.Add(time.Duration(last) * q.Step)
		out = append(out, part)
	}
	return out
}

// FetchSplit fetches a query in parts of at most maxPoints points with
// fetch and joins the parts on the whole query's grid. Parts without data
// are gaps; it returns ErrNoData only when every part is empty, and the
// first other error at once. A part answered with more points than its
// grid holds (a source that does not honour the step) is ErrTooLarge.
func FetchSplit(ctx context.Context, q Query, maxPoints int, fetch func(context.Context, Query) ([]Point, error)) (Series, error) {
	var all []Point
	for _, part := range Split(q, maxPoints) {
		points, err := fetch(ctx, part)
		if err != nil && !errors.Is(err, ErrNoData) {
			return Series{}, err
		}
		if n := part.Points(); len(points) > n+1 {
			return Series{}, fmt.Errorf("%w: %d points for a query of %d", ErrTooLarge, len(points), n)
		}
		all = append(all, points...)
	}
	return Align(q, all)
}

// Memory is an in-memory source for tests: it answers a query by its text
// with the points stored under that text, or with the error stored for it.
type Memory struct {
	Points map[string][]Point
	Errors map[string]error
	// Queries records the queries received, in order.
	Queries []Query
	mu      sync.Mutex
}

var _ Source = (*Memory)(nil)

// Fetch answers from the stored points.
func (m *Memory) Fetch(ctx context.Context, q Query) (Series, error) {
	if err := ctx.Err(); err != nil {
		return Series{}, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	m.mu.Lock()
	m.Queries = append(m.Queries, q)
	err, points := m.Errors[q.Text], m.Points[q.Text]
	m.mu.Unlock()
	if err != nil {
		return Series{}, err
	}
	return Align(q, points)
}

// Place says where a template variable lands in a query.
type Place struct {
	// Quote is the string delimiter the variable is inside ('"', '\'' or
	// '`'), or 0 outside any string.
	Quote rune
	// Regex reports a string that is a regular expression (PromQL =~, !~).
	Regex bool
	// Pattern is the language's name for a string's special meaning, from
	// Language.Patterns ("regex", "like"), or "".
	Pattern string
	// Braces reports a position inside {…} (a PromQL or Datadog selector).
	Braces bool
}

// Language describes how a query language quotes strings, for Expand.
type Language struct {
	// Name names the language in errors.
	Name string
	// Quotes are the string delimiters.
	Quotes string
	// Patterns maps an operator (upper case) to what the string after it
	// is ("regex", "like").
	Patterns map[string]string
	// Escape returns value escaped for place, or an error wrapping
	// ErrUnsafeValue.
	Escape func(value string, at Place) (string, error)
	// LineComments start a comment that runs to the end of the line
	// (PromQL "#"; NRQL "//" and "--"); BlockComments are start and end
	// pairs (NRQL "/*" "*/"). Outside strings, Expand copies a comment as
	// it is, variables unexpanded: a quote in a comment never changes what
	// Expand thinks is a string, and no value lands where a newline or
	// "*/" in it would end the comment.
	LineComments  []string
	BlockComments [][2]string
}

// Verbatim returns lang with scope values substituted as they are, as
// Kayenta substitutes them (an account's kayenta_raw_scopes): a value may
// then add query syntax, so only trusted callers' accounts use it. A NUL,
// which no query language means, is still refused.
func Verbatim(lang Language) Language {
	lang.Name += " (verbatim)"
	lang.Escape = func(v string, _ Place) (string, error) {
		if strings.ContainsRune(v, 0) {
			return "", fmt.Errorf("%w: a NUL character", ErrUnsafeValue)
		}
		return v, nil
	}
	return lang
}

// comment returns the end (exclusive) of the comment starting at runes[i],
// if one does: a line comment ends before its newline, a block comment
// after its end marker (or at the end of an unterminated one).
func (l Language) comment(runes []rune, i int) (int, bool) {
	at := func(j int, marker string) bool {
		m := []rune(marker)
		return j+len(m) <= len(runes) && slices.Equal(runes[j:j+len(m)], m)
	}
	for _, c := range l.LineComments {
		if at(i, c) {
			if nl := slices.Index(runes[i:], '\n'); nl >= 0 {
				return i + nl, true
			}
			return len(runes), true
		}
	}
	for _, c := range l.BlockComments {
		if at(i, c[0]) {
			for j := i + len([]rune(c[0])); j < len(runes); j++ {
				if at(j, c[1]) {
					return j + len([]rune(c[1])), true
				}
			}
			return len(runes), true
		}
	}
	return 0, false
}

// Expand substitutes ${name} in tmpl with vars[name], each escaped by the
// language for where it lands. A variable with no value, an unterminated
// ${ or string, and a value that cannot be placed safely are errors naming
// the variable.
func Expand(tmpl string, vars map[string]string, lang Language) (string, error) {
	var (
		b       strings.Builder
		quote   rune
		escape  bool
		regex   bool
		pattern string
		braces  int
	)
	runes := []rune(tmpl)
	for i := 0; i < len(runes); i++ {
		r := runes[i]
		if quote == 0 {
			if end, ok := lang.comment(runes, i); ok {
				b.WriteString(string(runes[i:end]))
				i = end - 1
				continue
			}
		}
		if r == '$' && i+1 < len(runes) && runes[i+1] == '{' {
			end := slices.Index(runes[i+2:], '}')
			if end < 0 {
				return "", fmt.Errorf("%w: unterminated ${ at character %d of the %s template", ErrTemplate, i+1, lang.Name)
			}
			name := string(runes[i+2 : i+2+end])
			value, ok := vars[name]
			if !ok {
				return "", fmt.Errorf("%w: ${%s} has no value (known: %s)", ErrTemplate, name, strings.Join(sortedKeys(vars), ", "))
			}
			at := Place{Quote: quote, Braces: braces > 0}
			if quote != 0 {
				at.Regex, at.Pattern = regex, pattern
			}
			escaped, err := lang.Escape(value, at)
			if err != nil {
				return "", fmt.Errorf("${%s} = %q in the %s query: %w", name, value, lang.Name, err)
			}
			b.WriteString(escaped)
			i += 2 + end
			continue
		}
		b.WriteRune(r)
		switch {
		case quote != 0 && escape:
			escape = false
		case quote != 0 && r == '\\' && quote != '`':
			escape = true
		case quote != 0 && r == quote:
			quote = 0
		case quote == 0 && strings.ContainsRune(lang.Quotes, r):
			quote = r
			prev := strings.TrimRight(b.String()[:b.Len()-len(string(r))], " \t\n")
			regex = strings.HasSuffix(prev, "=~") || strings.HasSuffix(prev, "!~")
			pattern = patternBefore(strings.ToUpper(prev), lang.Patterns)
		case quote == 0 && r == '{':
			braces++
		case quote == 0 && r == '}' && braces > 0:
			braces--
		}
	}
	if quote != 0 {
		return "", fmt.Errorf("%w: unterminated %c string in the %s template", ErrTemplate, quote, lang.Name)
	}
	return b.String(), nil
}

// Excerpt is the first line of a source's message, at most 300 bytes (cut
// at a character boundary), for error messages.
func Excerpt(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	if len(s) <= 300 {
		return s
	}
	cut := 300
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// patternBefore returns the kind of the longest operator that text ends
// with ("RLIKE" before "LIKE"), or "".
func patternBefore(text string, patterns map[string]string) string {
	best := ""
	for op := range patterns {
		if strings.HasSuffix(text, op) && len(op) > len(best) {
			best = op
		}
	}
	return patterns[best]
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
