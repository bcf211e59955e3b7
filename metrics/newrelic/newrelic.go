// Package newrelic fetches series from New Relic with NRQL TIMESERIES
// queries over NerdGraph (POST /graphql). It is a hand-written client of that
// one GraphQL query rather than newrelic-client-go: the official module pulls
// hundreds of generated packages for every New Relic entity, and its NRQL
// results are untyped maps either way, so the few lines here are the smaller
// and more auditable dependency. Requests go through go-retryablehttp (429
// and 5xx retried with backoff honouring Retry-After) and the account's
// rate limit; GraphQL errors that New Relic marks as transient are
// unavailability, the others rejections.
//
// A query template is NRQL without TIMESERIES, SINCE and UNTIL, which judge
// appends from the scope's window and step.
package newrelic

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/canaryjudge/judge/metrics"
)

// Type is the account type and native query key of this backend.
const Type = "newrelic"

func init() {
	metrics.Register(metrics.Backend{
		Type:        Type,
		New:         func(a metrics.Account, in *metrics.Instruments) (metrics.Source, error) { return New(a, in) },
		Uses:        []string{"url", "account_id", "api_key_env", "api_key_file"},
		Language:    Language,
		Verbatim:    Verbatim,
		FromKayenta: FromKayentaWith,
		Window:      Window,
	})
}

// MaxPoints is New Relic's limit of 366 TIMESERIES buckets per query; longer
// ranges are split.
const MaxPoints = 366

// DefaultURL is the US NerdGraph endpoint.
const DefaultURL = "https://api.newrelic.com/graphql"

// Source queries one New Relic account.
type Source struct {
	client    *http.Client
	url       string
	key       string
	accountID int64
	account   string
	timeout   time.Duration
}

var _ metrics.Source = (*Source)(nil)

// New returns a source for the account: account_id, the user API key from
// the environment variable or file the account names, and url (default the
// US endpoint; https://api.eu.newrelic.com/graphql for the EU).
func New(a metrics.Account, in *metrics.Instruments) (*Source, error) {
	if err := a.Defaults(); err != nil {
		return nil, err
	}
	key, err := a.Secret("api_key", a.APIKeyEnv, a.APIKeyFile)
	if err != nil {
		return nil, err
	}
	if key == "" {
		return nil, fmt.Errorf("%w: account %q: newrelic needs api_key_env (or api_key_file)", metrics.ErrConfig, a.Name)
	}
	if a.AccountID <= 0 {
		return nil, fmt.Errorf("%w: account %q: newrelic needs account_id", metrics.ErrConfig, a.Name)
	}
	u := a.URL
	if u == "" {
		u = DefaultURL
	}
	client, err := metrics.RetryingClient(a, in)
	if err != nil {
		return nil, err
	}
	return &Source{client: client, url: u, key: key, accountID: a.AccountID, account: a.Name, timeout: a.Timeout}, nil
}

const nrqlQuery = `query($query: Nrql!, $accountId: Int!) { actor { account(id: $accountId) { nrql(query: $query) { results } } } }`

// Fetch runs the NRQL with TIMESERIES <step> SINCE … UNTIL … appended, in
// parts of at most MaxPoints buckets.
func (s *Source) Fetch(ctx context.Context, q metrics.Query) (metrics.Series, error) {
	if err := q.Validate(); err != nil {
		return metrics.Series{}, err
	}
	if q.Step%time.Second != 0 {
		return metrics.Series{}, fmt.Errorf("newrelic account %q: %w: step %v is not whole seconds", s.account, metrics.ErrTemplate, q.Step)
	}
	return metrics.FetchSplit(ctx, q, MaxPoints, s.fetchRange)
}

// NRQL returns the query sent for q: the template's NRQL with the time
// series clause appended.
func NRQL(q metrics.Query) string {
	return fmt.Sprintf("%s TIMESERIES %d seconds SINCE %d UNTIL %d", strings.TrimSpace(q.Text),
		int64(q.Step/time.Second), q.Start.Unix(), q.End.Add(q.Step).Unix())
}

func (s *Source) fetchRange(ctx context.Context, q metrics.Query) ([]metrics.Point, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	body, err := json.Marshal(map[string]any{
		"query":     nrqlQuery,
		"variables": map[string]any{"query": NRQL(q), "accountId": s.accountID},
	})
	if err != nil {
		return nil, fmt.Errorf("newrelic account %q: %w", s.account, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("newrelic account %q: %w: %w", s.account, metrics.ErrConfig, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("API-Key", s.key)
	resp, err := s.client.Do(req)
	if errors.Is(err, metrics.ErrTooLarge) {
		return nil, fmt.Errorf("newrelic account %q: %w", s.account, err)
	}
	if err != nil {
		var nerr net.Error
		if errors.As(err, &nerr) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
			return nil, fmt.Errorf("newrelic account %q: %w: %s", s.account, metrics.ErrUnavailable, redact(err.Error(), s.key))
		}
		return nil, fmt.Errorf("newrelic account %q: %w: %s", s.account, metrics.ErrUnavailable, redact(err.Error(), s.key))
	}
	defer func() { _ = resp.Body.Close() }()
	raw, err := io.ReadAll(resp.Body) // bounded by the account's max_response_bytes
	if errors.Is(err, metrics.ErrTooLarge) {
		return nil, fmt.Errorf("newrelic account %q: %w", s.account, err)
	}
	if err != nil {
		return nil, fmt.Errorf("newrelic account %q: %w: reading the answer: %w", s.account, metrics.ErrUnavailable, err)
	}
	if resp.StatusCode != http.StatusOK {
		sentinel := metrics.ErrRejected
		if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500 {
			sentinel = metrics.ErrUnavailable
		}
		return nil, fmt.Errorf("newrelic account %q: %w: HTTP %d: %s", s.account, sentinel, resp.StatusCode, graphQLMessage(raw))
	}
	var out struct {
		Data *struct {
			Actor struct {
				Account struct {
					NRQL *struct {
						Results []map[string]any `json:"results"`
					} `json:"nrql"`
				} `json:"account"`
			} `json:"actor"`
		} `json:"data"`
		Errors []gqlError `json:"errors"`
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, fmt.Errorf("newrelic account %q: %w: the answer is not JSON: %s", s.account, metrics.ErrUnavailable, metrics.Excerpt(string(raw)))
	}
	if len(out.Errors) > 0 {
		sentinel := metrics.ErrRejected
		for _, e := range out.Errors {
			switch e.Extensions.ErrorClass {
			case "TIMEOUT", "INTERNAL_SERVER_ERROR", "SERVER_ERROR":
				sentinel = metrics.ErrUnavailable
			}
		}
		return nil, fmt.Errorf("newrelic account %q: %w: %s", s.account, sentinel, joinErrors(out.Errors))
	}
	if out.Data == nil || out.Data.Actor.Account.NRQL == nil {
		return nil, fmt.Errorf("newrelic account %q: %w: the answer has no NRQL results", s.account, metrics.ErrUnavailable)
	}
	var points []metrics.Point
	for i, row := range out.Data.Actor.Account.NRQL.Results {
		if _, faceted := row["facet"]; faceted {
			return nil, fmt.Errorf("newrelic account %q: %w: remove FACET from the query", s.account, metrics.ErrMultipleSeries)
		}
		begin, ok := row["beginTimeSeconds"].(float64)
		if !ok {
			return nil, fmt.Errorf("newrelic account %q: %w: result %d has no beginTimeSeconds (is the query a TIMESERIES?)", s.account, metrics.ErrRejected, i)
		}
		v, err := value(row)
		if err != nil {
			return nil, fmt.Errorf("newrelic account %q: %w: result %d: %w", s.account, metrics.ErrRejected, i, err)
		}
		points = append(points, metrics.Point{T: time.Unix(int64(begin), 0), V: v})
	}
	if len(points) == 0 {
		return nil, fmt.Errorf("newrelic account %q: %w: no buckets", s.account, metrics.ErrNoData)
	}
	return points, nil
}

// value reads a bucket's one selected value: a number, null (no data: NaN)
// or a one-entry object such as percentile(duration, 95) → {"95": 0.12}.
func value(row map[string]any) (float64, error) {
	var keys []string
	for k := range row {
		if k != "beginTimeSeconds" && k != "endTimeSeconds" && k != "inspectedCount" {
			keys = append(keys, k)
		}
	}
	if len(keys) != 1 {
		slices.Sort(keys)
		return 0, fmt.Errorf("want one selected value per bucket, got %q", keys)
	}
	switch v := row[keys[0]].(type) {
	case nil:
		return math.NaN(), nil
	case float64:
		return v, nil
	case map[string]any:
		if len(v) == 1 {
			for _, inner := range v {
				if f, ok := inner.(float64); ok {
					return f, nil
				}
				if inner == nil {
					return math.NaN(), nil
				}
			}
		}
	}
	return 0, fmt.Errorf("%s: not a number", keys[0])
}

type gqlError struct {
	Message    string `json:"message"`
	Extensions struct {
		ErrorClass string `json:"errorClass"`
		ErrorCode  string `json:"error_code"`
	} `json:"extensions"`
}

func joinErrors(errs []gqlError) string {
	msgs := make([]string, 0, len(errs))
	for _, e := range errs {
		m := e.Message
		if e.Extensions.ErrorClass != "" {
			m += " (" + e.Extensions.ErrorClass + ")"
		}
		msgs = append(msgs, m)
	}
	return strings.Join(msgs, "; ")
}

func graphQLMessage(raw []byte) string {
	var out struct {
		Errors []gqlError `json:"errors"`
	}
	if json.Unmarshal(raw, &out) == nil && len(out.Errors) > 0 {
		return joinErrors(out.Errors)
	}
	return metrics.Excerpt(string(raw))
}

func redact(s, secret string) string { return strings.ReplaceAll(s, secret, "[redacted]") }

// Language is NRQL for metrics.Expand: single-quoted strings (backslash
// escapes), backquoted identifiers.
var Language = metrics.Language{Name: "NRQL", Quotes: "'`", Patterns: map[string]string{"RLIKE": "regex", "LIKE": "like"}, Escape: escape,
	LineComments: []string{"//", "--"}, BlockComments: [][2]string{{"/*", "*/"}}}

// Render expands an NRQL template with the scope's variables.
func Render(tmpl string, vars map[string]string) (string, error) {
	return metrics.Expand(tmpl, vars, Language)
}

// Verbatim is Language substituting scope values as they are (Kayenta's
// raw substitution, for an account's trusted callers only).
var Verbatim = metrics.Verbatim(Language)

var bareWord = regexp.MustCompile(`^[A-Za-z0-9_.]+$`)

// escape places a value in NRQL: in a '…' string the backslash and quote
// are escaped (a regular expression's metacharacters quoted first; a LIKE
// pattern may not hold the % wildcard); in a `…` identifier or outside
// strings only a plain word can go. Control characters are refused.
func escape(v string, at metrics.Place) (string, error) {
	if strings.ContainsFunc(v, unicode.IsControl) {
		return "", fmt.Errorf("%w: it holds a control character", metrics.ErrUnsafeValue)
	}
	switch at.Quote {
	case '\'':
		switch at.Pattern {
		case "regex":
			v = regexp.QuoteMeta(v)
		case "like":
			if strings.Contains(v, "%") {
				return "", fmt.Errorf("%w: %% is a wildcard in a LIKE pattern", metrics.ErrUnsafeValue)
			}
		}
		return strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(v), nil
	case '`':
		if !bareWord.MatchString(v) {
			return "", fmt.Errorf("%w: an identifier may only hold letters, digits, underscores and dots", metrics.ErrUnsafeValue)
		}
		return v, nil
	}
	if !bareWord.MatchString(v) {
		return "", fmt.Errorf("%w: outside a string literal only letters, digits, _ and . can go (put the variable in quotes)", metrics.ErrUnsafeValue)
	}
	return v, nil
}

// kayentaQuery is Kayenta's NewRelicCanaryMetricSetQueryConfig.
type kayentaQuery struct {
	Select               string `json:"select"`
	Q                    string `json:"q"`
	CustomInlineTemplate string `json:"customInlineTemplate"`
	CustomFilterTemplate string `json:"customFilterTemplate"`
}

// FromKayenta builds the NRQL of a Kayenta New Relic query config: the
// custom inline template, or "<select> WHERE <q or custom filter
// template>" with the scope's values escaped.
func FromKayenta(raw []byte, templates, vars map[string]string) (string, error) {
	return FromKayentaWith(Language, raw, templates, vars)
}

// FromKayentaWith is FromKayenta placing scope values with lang (Language,
// or Verbatim for Kayenta's raw substitution).
func FromKayentaWith(lang metrics.Language, raw []byte, templates, vars map[string]string) (string, error) {
	var k kayentaQuery
	if err := json.Unmarshal(raw, &k); err != nil {
		return "", fmt.Errorf("%w: newrelic query config: %w", metrics.ErrTemplate, err)
	}
	if k.CustomInlineTemplate != "" {
		return metrics.Expand(k.CustomInlineTemplate, vars, lang)
	}
	where := k.Q
	if k.CustomFilterTemplate != "" {
		t, ok := templates[k.CustomFilterTemplate]
		if !ok {
			return "", fmt.Errorf("%w: customFilterTemplate %q is not among the config's templates", metrics.ErrTemplate, k.CustomFilterTemplate)
		}
		where = t
	}
	if !strings.HasPrefix(strings.ToUpper(strings.TrimSpace(k.Select)), "SELECT ") {
		return "", fmt.Errorf("%w: newrelic query config: select must be a SELECT … FROM … clause", metrics.ErrTemplate)
	}
	if strings.TrimSpace(where) == "" {
		return "", fmt.Errorf("%w: newrelic query config: q (or a custom filter template) must filter by the scope, or baseline and canary would be the same", metrics.ErrTemplate)
	}
	return metrics.Expand(k.Select+" WHERE "+where, vars, lang)
}
