// Package prometheus fetches series from Prometheus with client_golang's
// api/prometheus/v1 range queries. Queries are PromQL templates; scope values
// are escaped for the string literal or regular expression they land in.
package prometheus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"github.com/canaryjudge/judge/metrics"
)

// Type is the account type and native query key of this backend.
const Type = "prometheus"

func init() {
	metrics.Register(metrics.Backend{
		Type:        Type,
		New:         func(a metrics.Account, in *metrics.Instruments) (metrics.Source, error) { return New(a, in) },
		Uses:        []string{"url", "bearer_token_env", "bearer_token_file", "basic_auth_username", "basic_auth_password_env", "basic_auth_password_file"},
		Language:    Language,
		Verbatim:    Verbatim,
		FromKayenta: FromKayentaWith,
		Window:      Window,
	})
}

// MaxPoints is Prometheus' limit on the points of one range query answer
// ("exceeded maximum resolution of 11,000 points per timeseries"); longer
// ranges are split.
const MaxPoints = 11_000

// Source queries one Prometheus server.
type Source struct {
	api     promv1.API
	account string
	timeout time.Duration
}

var _ metrics.Source = (*Source)(nil)

// New returns a source for the account (type prometheus, url required).
func New(a metrics.Account, in *metrics.Instruments) (*Source, error) {
	if err := a.Defaults(); err != nil {
		return nil, err
	}
	if a.URL == "" {
		return nil, fmt.Errorf("%w: account %q: url is required for prometheus", metrics.ErrConfig, a.Name)
	}
	token, err := a.Secret("bearer_token", a.BearerTokenEnv, a.BearerTokenFile)
	if err != nil {
		return nil, err
	}
	password, err := a.Secret("basic_auth_password", a.BasicAuthPasswordEnv, a.BasicAuthPasswordFile)
	if err != nil {
		return nil, err
	}
	if a.BasicAuthUsername == "" && password != "" {
		return nil, fmt.Errorf("%w: account %q: basic_auth_password_* without basic_auth_username", metrics.ErrConfig, a.Name)
	}
	client, err := metrics.RetryingClient(a, in)
	if err != nil {
		return nil, err
	}
	switch {
	case token != "":
		client.Transport = bearer{next: client.Transport, token: token}
	case a.BasicAuthUsername != "":
		client.Transport = basicAuth{next: client.Transport, user: a.BasicAuthUsername, password: password}
	}
	c, err := api.NewClient(api.Config{Address: a.URL, Client: client})
	if err != nil {
		return nil, fmt.Errorf("%w: account %q: url: %w", metrics.ErrConfig, a.Name, err)
	}
	return &Source{api: promv1.NewAPI(c), account: a.Name, timeout: a.Timeout}, nil
}

type bearer struct {
	next  http.RoundTripper
	token string
}

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return b.next.RoundTrip(r)
}

type basicAuth struct {
	next           http.RoundTripper
	user, password string
}

func (b basicAuth) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.SetBasicAuth(b.user, b.password)
	return b.next.RoundTrip(r)
}

// Fetch runs the query as range queries of at most MaxPoints points and
// returns the one series it yields on the query's grid.
func (s *Source) Fetch(ctx context.Context, q metrics.Query) (metrics.Series, error) {
	if err := q.Validate(); err != nil {
		return metrics.Series{}, err
	}
	return metrics.FetchSplit(ctx, q, MaxPoints, s.fetchRange)
}

func (s *Source) fetchRange(ctx context.Context, q metrics.Query) ([]metrics.Point, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	v, _, _, err := s.api.QueryRange(ctx, q.Text, promv1.Range{Start: q.Start, End: q.End, Step: q.Step})
	if err != nil {
		return nil, s.classify(err)
	}
	matrix, ok := v.(model.Matrix)
	if !ok {
		return nil, fmt.Errorf("prometheus account %q: %w: a range query answered %s, not a matrix", s.account, metrics.ErrRejected, v.Type())
	}
	switch len(matrix) {
	case 0:
		return nil, fmt.Errorf("prometheus account %q: %w: the query matched no series", s.account, metrics.ErrNoData)
	case 1:
	default:
		return nil, fmt.Errorf("prometheus account %q: %w (%d); aggregate it, for example with sum() or avg()", s.account, metrics.ErrMultipleSeries, len(matrix))
	}
	points := make([]metrics.Point, len(matrix[0].Values))
	for i, p := range matrix[0].Values {
		points[i] = metrics.Point{T: p.Timestamp.Time(), V: float64(p.Value)}
	}
	return points, nil
}

// MetricNames lists the names of the metrics the server holds (the values
// of its __name__ label), as Kayenta's metrics service metadata lists them
// for Deck's metric picker.
func (s *Source) MetricNames(ctx context.Context) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	values, _, _, err := s.api.LabelValues(ctx, model.MetricNameLabel, nil, time.Time{}, time.Time{})
	if err != nil {
		return nil, s.classify(err)
	}
	out := make([]string, len(values))
	for i, v := range values {
		out[i] = string(v)
	}
	return out, nil
}

// classify maps a client error to the package's sentinels with
// Prometheus' own message.
func (s *Source) classify(err error) error {
	var perr *promv1.Error
	var nerr net.Error
	switch {
	case errors.Is(err, metrics.ErrTooLarge):
		return fmt.Errorf("prometheus account %q: %w", s.account, err)
	case errors.As(err, &perr):
		msg := perr.Msg
		if perr.Detail != "" {
			msg += ": " + metrics.Excerpt(perr.Detail)
		}
		switch perr.Type {
		case promv1.ErrBadData, promv1.ErrExec, promv1.ErrClient, promv1.ErrBadResponse:
			return fmt.Errorf("prometheus account %q: %w: %s: %s", s.account, metrics.ErrRejected, perr.Type, msg)
		}
		// Compatible stores name the HTTP status instead (VictoriaMetrics
		// answers a bad query with errorType "422"): a client error other
		// than 429 is the query's fault.
		if code, err := strconv.Atoi(string(perr.Type)); err == nil && code >= 400 && code < 500 && code != http.StatusTooManyRequests {
			return fmt.Errorf("prometheus account %q: %w: HTTP %d: %s", s.account, metrics.ErrRejected, code, msg)
		}
		return fmt.Errorf("prometheus account %q: %w: %s: %s", s.account, metrics.ErrUnavailable, perr.Type, msg)
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return fmt.Errorf("prometheus account %q: %w: %w", s.account, metrics.ErrUnavailable, err)
	case errors.As(err, &nerr):
		return fmt.Errorf("prometheus account %q: %w: %s", s.account, metrics.ErrUnavailable, nerr.Error())
	}
	return fmt.Errorf("prometheus account %q: %w: %w", s.account, metrics.ErrUnavailable, err)
}

// Language is PromQL for metrics.Expand.
var Language = metrics.Language{Name: "PromQL", Quotes: "\"'`", Escape: escape, LineComments: []string{"#"}}

// Render expands a PromQL template with the scope's variables.
func Render(tmpl string, vars map[string]string) (string, error) {
	return metrics.Expand(tmpl, vars, Language)
}

// Verbatim is Language substituting scope values as they are (Kayenta's
// raw substitution, for an account's trusted callers only).
var Verbatim = metrics.Verbatim(Language)

var (
	plainName   = regexp.MustCompile(`^[A-Za-z_:][A-Za-z0-9_:]*$`)
	plainNumber = regexp.MustCompile(`^[0-9]+(\.[0-9]+)?(ms|[smhdwy])?$`)
)

// escape places a value in PromQL: inside a string it escapes the quote and
// backslash (a regular expression's metacharacters are quoted first, so a
// scope matches itself only); outside a string it must be a plain name or
// number. Control characters other than newline and tab are refused.
func escape(v string, at metrics.Place) (string, error) {
	if strings.ContainsFunc(v, func(r rune) bool { return unicode.IsControl(r) && r != '\n' && r != '\t' }) {
		return "", fmt.Errorf("%w: it holds a control character", metrics.ErrUnsafeValue)
	}
	if at.Quote == 0 {
		if plainName.MatchString(v) || plainNumber.MatchString(v) {
			return v, nil
		}
		return "", fmt.Errorf("%w: outside a string literal only a plain name or number can go (put the variable in quotes)", metrics.ErrUnsafeValue)
	}
	if at.Regex {
		v = regexp.QuoteMeta(v)
	}
	if at.Quote == '`' {
		if strings.ContainsAny(v, "`") {
			return "", fmt.Errorf("%w: a backtick cannot appear in a raw string", metrics.ErrUnsafeValue)
		}
		return v, nil
	}
	var b strings.Builder
	for _, r := range v {
		switch r {
		case '\\':
			b.WriteString(`\\`)
		case at.Quote:
			b.WriteRune('\\')
			b.WriteRune(r)
		case '\n':
			b.WriteString(`\n`)
		case '\t':
			b.WriteString(`\t`)
		default:
			b.WriteRune(r)
		}
	}
	return b.String(), nil
}

// kayentaQuery is Kayenta's PrometheusCanaryMetricSetQueryConfig.
type kayentaQuery struct {
	Type                 string   `json:"type"`
	MetricName           string   `json:"metricName"`
	ResourceType         string   `json:"resourceType"`
	LabelBindings        []string `json:"labelBindings"`
	GroupByFields        []string `json:"groupByFields"`
	CustomInlineTemplate string   `json:"customInlineTemplate"`
	CustomFilterTemplate string   `json:"customFilterTemplate"`
	CustomFilter         string   `json:"customFilter"`
}

// FromKayenta builds the PromQL query of a Kayenta Prometheus query config
// as Kayenta does: a custom inline template (or the named custom filter
// template, or the deprecated custom filter) starting with "PromQL:" is the
// whole query; otherwise avg(metricName{filters}) by (groupByFields), where
// the filters are the custom filter's comma-separated matchers (or, without
// one, the resource type's scope matchers) followed by the label bindings.
// Every scope value is escaped where it lands.
func FromKayenta(raw []byte, templates, vars map[string]string) (string, error) {
	return FromKayentaWith(Language, raw, templates, vars)
}

// FromKayentaWith is FromKayenta placing scope values with lang (Language,
// or Verbatim for Kayenta's raw substitution).
func FromKayentaWith(lang metrics.Language, raw []byte, templates, vars map[string]string) (string, error) {
	var k kayentaQuery
	if err := json.Unmarshal(raw, &k); err != nil {
		return "", fmt.Errorf("%w: prometheus query config: %w", metrics.ErrTemplate, err)
	}
	tmpl := k.CustomInlineTemplate
	if tmpl == "" && k.CustomFilterTemplate != "" {
		t, ok := templates[k.CustomFilterTemplate]
		if !ok {
			return "", fmt.Errorf("%w: customFilterTemplate %q is not among the config's templates", metrics.ErrTemplate, k.CustomFilterTemplate)
		}
		tmpl = t
	}
	if tmpl == "" {
		tmpl = k.CustomFilter
	}
	var filters []string
	if tmpl != "" {
		if strings.HasPrefix(strings.TrimSpace(tmpl), "PromQL:") {
			q, err := metrics.Expand(strings.TrimPrefix(strings.TrimSpace(tmpl), "PromQL:"), vars, lang)
			if err != nil {
				return "", err
			}
			return q, nil
		}
		// The filter's matchers are split before the scope values go in, so
		// a comma in a value cannot make a matcher of its own.
		for _, token := range splitMatchers(tmpl) {
			m, err := metrics.Expand(token, vars, lang)
			if err != nil {
				return "", err
			}
			filters = append(filters, m)
		}
	}
	if k.MetricName == "" {
		return "", fmt.Errorf("%w: prometheus query config: metricName is required without a PromQL: template", metrics.ErrTemplate)
	}
	if !plainName.MatchString(k.MetricName) {
		return "", fmt.Errorf("%w: prometheus query config: metricName %q is not a metric name", metrics.ErrTemplate, k.MetricName)
	}
	if len(filters) == 0 {
		scoped, err := scopeMatchers(k.ResourceType, vars, lang.Escape)
		if err != nil {
			return "", err
		}
		filters = scoped
	}
	filters = append(filters, k.LabelBindings...)
	q := "avg(" + k.MetricName
	if len(filters) > 0 {
		q += "{" + strings.Join(filters, ",") + "}"
	}
	q += ")"
	if len(k.GroupByFields) > 0 {
		for _, f := range k.GroupByFields {
			if !plainName.MatchString(f) {
				return "", fmt.Errorf("%w: prometheus query config: groupByFields %q is not a label name", metrics.ErrTemplate, f)
			}
		}
		q += " by (" + strings.Join(k.GroupByFields, ",") + ")"
	}
	return q, nil
}

// splitMatchers splits a filter template at the commas outside quotes.
func splitMatchers(tmpl string) []string {
	var (
		out   []string
		quote rune
		esc   bool
		start int
	)
	for i, r := range tmpl {
		switch {
		case esc:
			esc = false
		case quote != 0 && r == '\\':
			esc = true
		case quote != 0 && r == quote:
			quote = 0
		case quote == 0 && (r == '"' || r == '\'' || r == '`'):
			quote = r
		case quote == 0 && r == ',':
			out = append(out, strings.TrimSpace(tmpl[start:i]))
			start = i + 1
		}
	}
	return append(out, strings.TrimSpace(tmpl[start:]))
}

// scopeMatchers are Kayenta's matchers for a resource type: the scope as
// the auto-scaling group (EC2) or an instance name prefix (GCE), the
// location as the zone's region.
func scopeMatchers(resourceType string, vars map[string]string, escape func(string, metrics.Place) (string, error)) ([]string, error) {
	switch resourceType {
	case "aws_ec2_instance", "gce_instance":
	case "":
		return nil, fmt.Errorf("%w: prometheus query config: either a resourceType or a custom filter template is required (without one the baseline and canary queries would be the same)", metrics.ErrTemplate)
	default:
		return nil, fmt.Errorf("%w: prometheus query config: resourceType %q is not supported; build the query with a custom filter template", metrics.ErrTemplate, resourceType)
	}
	if vars["location"] == "" {
		return nil, fmt.Errorf("%w: resourceType %s needs the scope's location", metrics.ErrTemplate, resourceType)
	}
	str := metrics.Place{Quote: '"'}
	re := metrics.Place{Quote: '"', Regex: true}
	zone, err := escape(vars["location"], re)
	if err != nil {
		return nil, fmt.Errorf("${location}: %w", err)
	}
	if resourceType == "aws_ec2_instance" {
		scope, err := escape(vars["scope"], str)
		if err != nil {
			return nil, fmt.Errorf("${scope}: %w", err)
		}
		return []string{`asg_groupName="` + scope + `"`, `zone=~"` + zone + `.{1}"`}, nil
	}
	scope, err := escape(vars["scope"], re)
	if err != nil {
		return nil, fmt.Errorf("${scope}: %w", err)
	}
	return []string{`instance=~"` + scope + `-.{4}"`, `zone=~".+/zones/` + zone + `-.{1}"`}, nil
}
