// Package datadog fetches series from Datadog's timeseries API (POST
// /api/v2/query/timeseries) through the official
// github.com/DataDog/datadog-api-client-go/v2 client, with its own retry of
// 429 (honouring X-RateLimit-Reset) and 5xx. A proxy or test server is
// reached through the client's own server configuration ("{protocol}://{name}").
// Queries are Datadog metric query templates (avg:http.latency{pod:${scope}});
// judge supplies the time range and the rollup interval.
package datadog

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/DataDog/datadog-api-client-go/v2/api/datadog"
	"github.com/DataDog/datadog-api-client-go/v2/api/datadogV2"

	"github.com/canaryjudge/judge/metrics"
)

// Type is the account type and native query key of this backend.
const Type = "datadog"

func init() {
	metrics.Register(metrics.Backend{
		Type:        Type,
		New:         func(a metrics.Account, in *metrics.Instruments) (metrics.Source, error) { return New(a, in) },
		Uses:        []string{"url", "site", "api_key_env", "api_key_file", "app_key_env", "app_key_file"},
		Language:    Language,
		Verbatim:    Verbatim,
		FromKayenta: FromKayentaWith,
		Window:      Window,
	})
}

// MaxPoints bounds the points of one request; Datadog widens the interval
// of longer ranges, so they are split.
const MaxPoints = 1_500

// Source queries one Datadog organisation.
type Source struct {
	api     *datadogV2.MetricsApi
	account string
	keys    map[string]datadog.APIKey
	server  context.Context
	timeout time.Duration
}

var _ metrics.Source = (*Source)(nil)

// New returns a source for the account: site (default datadoghq.com) or
// url (a proxy or test server), and the API and application keys from the
// environment variables or files the account names.
func New(a metrics.Account, in *metrics.Instruments) (*Source, error) {
	if err := a.Defaults(); err != nil {
		return nil, err
	}
	apiKey, err := a.Secret("api_key", a.APIKeyEnv, a.APIKeyFile)
	if err != nil {
		return nil, err
	}
	appKey, err := a.Secret("app_key", a.AppKeyEnv, a.AppKeyFile)
	if err != nil {
		return nil, err
	}
	if apiKey == "" || appKey == "" {
		return nil, fmt.Errorf("%w: account %q: datadog needs api_key_env (or _file) and app_key_env (or _file)", metrics.ErrConfig, a.Name)
	}
	cfg := datadog.NewConfiguration()
	if cfg.HTTPClient, err = metrics.RateLimited(a, in); err != nil {
		return nil, err
	}
	cfg.RetryConfiguration.EnableRetry = true
	cfg.RetryConfiguration.MaxRetries = a.Retries
	cfg.RetryConfiguration.HTTPRetryTimeout = a.Timeout
	cfg.UserAgent = "judge"
	server := context.Background()
	switch {
	case a.URL != "":
		u, err := url.Parse(a.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("%w: account %q: url must be http(s)://host[:port]", metrics.ErrConfig, a.Name)
		}
		server = context.WithValue(server, datadog.ContextServerIndex, 1)
		server = context.WithValue(server, datadog.ContextServerVariables, map[string]string{"protocol": u.Scheme, "name": u.Host})
	default:
		site := a.Site
		if site == "" {
			site = "datadoghq.com"
		}
		server = context.WithValue(server, datadog.ContextServerIndex, 2)
		server = context.WithValue(server, datadog.ContextServerVariables, map[string]string{"site": site})
	}
	return &Source{
		api:     datadogV2.NewMetricsApi(datadog.NewAPIClient(cfg)),
		account: a.Name,
		keys:    map[string]datadog.APIKey{"apiKeyAuth": {Key: apiKey}, "appKeyAuth": {Key: appKey}},
		server:  server,
		timeout: a.Timeout,
	}, nil
}

// Fetch runs the metric query over the range at the step's rollup.
func (s *Source) Fetch(ctx context.Context, q metrics.Query) (metrics.Series, error) {
	if err := q.Validate(); err != nil {
		return metrics.Series{}, err
	}
	return metrics.FetchSplit(ctx, q, MaxPoints, s.fetchRange)
}

func (s *Source) fetchRange(ctx context.Context, q metrics.Query) ([]metrics.Point, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	ctx = metrics.CountAttempts(context.WithValue(ctx, datadog.ContextAPIKeys, s.keys))
	ctx = context.WithValue(ctx, datadog.ContextServerIndex, s.server.Value(datadog.ContextServerIndex))
	ctx = context.WithValue(ctx, datadog.ContextServerVariables, s.server.Value(datadog.ContextServerVariables))
	interval := q.Step.Milliseconds()
	name := "a"
	body := datadogV2.TimeseriesFormulaQueryRequest{Data: datadogV2.TimeseriesFormulaRequest{
		Type: datadogV2.TIMESERIESFORMULAREQUESTTYPE_TIMESERIES_REQUEST,
		Attributes: datadogV2.TimeseriesFormulaRequestAttributes{
			From:     q.Start.UnixMilli(),
			To:       q.End.Add(q.Step).UnixMilli(), // exclusive
			Interval: &interval,
			Queries: []datadogV2.TimeseriesQuery{{MetricsTimeseriesQuery: &datadogV2.MetricsTimeseriesQuery{
				DataSource: datadogV2.METRICSDATASOURCE_METRICS, Query: q.Text, Name: &name,
			}}},
		},
	}}
	resp, httpResp, err := s.api.QueryTimeseriesData(ctx, body)
	if err != nil {
		status := 0
		if httpResp != nil {
			status = httpResp.StatusCode
		}
		return nil, s.classify(err, status)
	}
	if resp.Errors != nil && *resp.Errors != "" {
		return nil, fmt.Errorf("datadog account %q: %w: %s", s.account, metrics.ErrRejected, *resp.Errors)
	}
	if resp.Data == nil || resp.Data.Attributes == nil || len(resp.Data.Attributes.Values) == 0 {
		return nil, fmt.Errorf("datadog account %q: %w: the query matched no series", s.account, metrics.ErrNoData)
	}
	attrs := resp.Data.Attributes
	if len(attrs.Values) > 1 {
		return nil, fmt.Errorf("datadog account %q: %w (%d); aggregate it without a by {…} clause", s.account, metrics.ErrMultipleSeries, len(attrs.Values))
	}
	values := attrs.Values[0]
	if len(values) != len(attrs.Times) {
		return nil, fmt.Errorf("datadog account %q: %w: %d times but %d values", s.account, metrics.ErrUnavailable, len(attrs.Times), len(values))
	}
	points := make([]metrics.Point, len(values))
	for i, v := range values {
		points[i] = metrics.Point{T: time.UnixMilli(attrs.Times[i]), V: math.NaN()}
		if v != nil {
			points[i].V = *v
		}
	}
	return points, nil
}

// classify maps a client error to the package's sentinels with Datadog's
// own message.
func (s *Source) classify(err error, status int) error {
	if errors.Is(err, metrics.ErrTooLarge) {
		return fmt.Errorf("datadog account %q: %w", s.account, err)
	}
	msg := err.Error()
	var apiErr datadog.GenericOpenAPIError
	if errors.As(err, &apiErr) {
		var body struct {
			Errors []string `json:"errors"`
		}
		if json.Unmarshal(apiErr.Body(), &body) == nil && len(body.Errors) > 0 {
			msg = strings.Join(body.Errors, "; ")
		} else if b := strings.TrimSpace(string(apiErr.Body())); b != "" {
			msg = apiErr.Error() + ": " + metrics.Excerpt(b)
		}
	}
	switch {
	case status == 429 || status >= 500:
		return fmt.Errorf("datadog account %q: %w: HTTP %d: %s", s.account, metrics.ErrUnavailable, status, msg)
	case status >= 400:
		return fmt.Errorf("datadog account %q: %w: HTTP %d: %s", s.account, metrics.ErrRejected, status, msg)
	case status >= 200 && status < 300:
		return fmt.Errorf("datadog account %q: %w: unreadable answer: %s", s.account, metrics.ErrUnavailable, metrics.Excerpt(msg))
	}
	return fmt.Errorf("datadog account %q: %w: %s", s.account, metrics.ErrUnavailable, metrics.Excerpt(msg))
}

// Language is Datadog's metric query syntax for metrics.Expand. It has no
// string quoting, so values are checked instead of escaped.
var Language = metrics.Language{Name: "Datadog", Escape: escape}

// Render expands a Datadog metric query template with the scope's
// variables.
func Render(tmpl string, vars map[string]string) (string, error) {
	return metrics.Expand(tmpl, vars, Language)
}

// Verbatim is Language substituting scope values as they are (Kayenta's
// raw substitution, for an account's trusted callers only).
var Verbatim = metrics.Verbatim(Language)

var (
	// tagValue is what Datadog keeps of a tag unchanged: letters, digits,
	// '_', '-', ':', '.', '/'.
	tagValue = regexp.MustCompile(`^[A-Za-z0-9_\-:./]+$`)
	bareWord = regexp.MustCompile(`^[A-Za-z0-9_.]+$`)
)

// escape checks a value: inside {…} it must be a plain tag value (no ',',
// '}', '*', spaces or operators that would add or widen a filter); outside
// braces a plain word.
func escape(v string, at metrics.Place) (string, error) {
	if at.Braces {
		// Several tags, comma-separated, each plain (a Kayenta scope such
		// as kube_deployment:x,env:prod): in a Datadog filter a comma is
		// AND, so they only narrow it.
		for _, tag := range strings.Split(v, ",") {
			if !tagValue.MatchString(tag) {
				return "", fmt.Errorf("%w: a Datadog tag value may only hold letters, digits and _ - : . / (several tags: comma-separated, none empty)", metrics.ErrUnsafeValue)
			}
		}
		return v, nil
	}
	if !bareWord.MatchString(v) {
		return "", fmt.Errorf("%w: outside {…} only letters, digits, _ and . can go", metrics.ErrUnsafeValue)
	}
	return v, nil
}

// kayentaQuery is Kayenta's DatadogCanaryMetricSetQueryConfig.
type kayentaQuery struct {
	MetricName           string `json:"metricName"`
	CustomInlineTemplate string `json:"customInlineTemplate"`
	CustomFilterTemplate string `json:"customFilterTemplate"`
}

// FromKayenta builds the Datadog query of a Kayenta query config: the
// custom inline template, or metricName{<custom filter template or
// ${scope}>}, as Kayenta does.
func FromKayenta(raw []byte, templates, vars map[string]string) (string, error) {
	return FromKayentaWith(Language, raw, templates, vars)
}

// FromKayentaWith is FromKayenta placing scope values with lang (Language,
// or Verbatim for Kayenta's raw substitution).
func FromKayentaWith(lang metrics.Language, raw []byte, templates, vars map[string]string) (string, error) {
	var k kayentaQuery
	if err := json.Unmarshal(raw, &k); err != nil {
		return "", fmt.Errorf("%w: datadog query config: %w", metrics.ErrTemplate, err)
	}
	if k.CustomInlineTemplate != "" {
		return metrics.Expand(k.CustomInlineTemplate, vars, lang)
	}
	if k.MetricName == "" {
		return "", fmt.Errorf("%w: datadog query config: metricName or customInlineTemplate is required", metrics.ErrTemplate)
	}
	filter := "${scope}"
	if k.CustomFilterTemplate != "" {
		t, ok := templates[k.CustomFilterTemplate]
		if !ok {
			return "", fmt.Errorf("%w: customFilterTemplate %q is not among the config's templates", metrics.ErrTemplate, k.CustomFilterTemplate)
		}
		filter = t
	}
	return metrics.Expand(k.MetricName+"{"+filter+"}", vars, lang)
}
