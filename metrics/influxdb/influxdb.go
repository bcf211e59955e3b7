// Package influxdb is the InfluxDB 1.x metrics source: InfluxQL queries
// over the /query HTTP API, in Grafana's form — the query says where the
// time range goes with $timeFilter and may group by time($__interval);
// judge fills both in for each window.
package influxdb

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/canaryjudge/judge/metrics"
)

// Type is the account type and native query key of this backend.
const Type = "influxdb"

func init() {
	metrics.Register(metrics.Backend{
		Type: Type,
		New:  func(a metrics.Account, in *metrics.Instruments) (metrics.Source, error) { return New(a, in) },
		Uses: []string{"url", "basic_auth_username", "basic_auth_password_env", "basic_auth_password_file"},
		Check: func(a metrics.Account) error {
			_, err := settings(a)
			return err
		},
		Language:    Language,
		Verbatim:    Verbatim,
		FromKayenta: FromKayentaWith,
		Window:      Window,
		Settings:    Settings{},
	})
}

// MaxPoints bounds the buckets of one query; longer ranges are split.
const MaxPoints = 10_000

// Source queries one InfluxDB.
type Source struct {
	client         *http.Client
	url            string
	settings       Settings
	user, password string
	account        string
	timeout        time.Duration
}

var _ metrics.Source = (*Source)(nil)

// New returns a source for the account: url and database required,
// basic auth when basic_auth_username is set.
func New(a metrics.Account, in *metrics.Instruments) (*Source, error) {
	if err := a.Defaults(); err != nil {
		return nil, err
	}
	if a.URL == "" {
		return nil, fmt.Errorf("%w: account %q: an influxdb account needs url", metrics.ErrConfig, a.Name)
	}
	s, err := settings(a)
	if err != nil {
		return nil, err
	}
	password, err := a.Secret("basic_auth_password", a.BasicAuthPasswordEnv, a.BasicAuthPasswordFile)
	if err != nil {
		return nil, err
	}
	client, err := metrics.RetryingClient(a, in)
	if err != nil {
		return nil, err
	}
	return &Source{client: client, url: strings.TrimSuffix(a.URL, "/"), settings: s, user: a.BasicAuthUsername, password: password,
		account: a.Name, timeout: a.Timeout}, nil
}

// Fetch runs the query over the range, in parts of at most MaxPoints
// buckets.
func (s *Source) Fetch(ctx context.Context, q metrics.Query) (metrics.Series, error) {
	if err := q.Validate(); err != nil {
		return metrics.Series{}, err
	}
	if q.Step%time.Second != 0 {
		return metrics.Series{}, fmt.Errorf("influxdb account %q: %w: step %v is not whole seconds", s.account, metrics.ErrTemplate, q.Step)
	}
	if _, err := InfluxQL(q); err != nil {
		return metrics.Series{}, fmt.Errorf("influxdb account %q: %w", s.account, err)
	}
	return metrics.FetchSplit(ctx, q, MaxPoints, s.fetchRange)
}

// InfluxQL returns the statement sent for q: $timeFilter replaced by the
// range (both ends included, as the grid's), $__interval by the step, and
// GROUP BY time(step) appended when the query groups by nothing. A query
// without $timeFilter, or with a statement separator, is refused.
func InfluxQL(q metrics.Query) (string, error) {
	text := strings.TrimSpace(q.Text)
	switch {
	case !strings.Contains(text, "$timeFilter"):
		return "", fmt.Errorf("%w: an influxdb query says where the time range goes with $timeFilter, as in Grafana: SELECT mean(\"value\") FROM \"m\" WHERE \"pod\" = '${scope}' AND $timeFilter", metrics.ErrTemplate)
	case strings.Contains(text, ";"):
		return "", fmt.Errorf("%w: one statement per query (no ';')", metrics.ErrTemplate)
	}
	step := fmt.Sprintf("%ds", int64(q.Step/time.Second))
	filter := fmt.Sprintf("time >= %ds AND time <= %ds", q.Start.Unix(), q.End.Unix())
	text = strings.ReplaceAll(strings.ReplaceAll(text, "$timeFilter", filter), "$__interval", step)
	if !strings.Contains(strings.ToUpper(text), "GROUP BY") {
		text += " GROUP BY time(" + step + ")"
	}
	return text, nil
}

// answer is the /query answer.
type answer struct {
	Results []struct {
		Series []struct {
			Name    string            `json:"name"`
			Tags    map[string]string `json:"tags"`
			Columns []string          `json:"columns"`
			Values  [][]any           `json:"values"`
		} `json:"series"`
		Error string `json:"error"`
	} `json:"results"`
	Error string `json:"error"`
}

func (s *Source) fetchRange(ctx context.Context, q metrics.Query) ([]metrics.Point, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	stmt, err := InfluxQL(q)
	if err != nil {
		return nil, fmt.Errorf("influxdb account %q: %w", s.account, err)
	}
	form := url.Values{"db": {s.settings.Database}, "q": {stmt}, "epoch": {"s"}}
	if s.settings.RetentionPolicy != "" {
		form.Set("rp", s.settings.RetentionPolicy)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url+"/query", strings.NewReader(form.Encode()))
	if err != nil {
		return nil, fmt.Errorf("influxdb account %q: %w: %w", s.account, metrics.ErrConfig, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if s.user != "" {
		req.SetBasicAuth(s.user, s.password)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		var nerr net.Error
		if errors.Is(err, metrics.ErrTooLarge) {
			return nil, fmt.Errorf("influxdb account %q: %w", s.account, err)
		}
		if errors.As(err, &nerr) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
			return nil, fmt.Errorf("influxdb account %q: %w: %s", s.account, metrics.ErrUnavailable, err.Error())
		}
		return nil, fmt.Errorf("influxdb account %q: %w: %s", s.account, metrics.ErrUnavailable, err.Error())
	}
	defer func() { _ = resp.Body.Close() }()
	raw, err := io.ReadAll(resp.Body) // bounded by the account's max_response_bytes
	if errors.Is(err, metrics.ErrTooLarge) {
		return nil, fmt.Errorf("influxdb account %q: %w", s.account, err)
	}
	if err != nil {
		return nil, fmt.Errorf("influxdb account %q: %w: reading the answer: %w", s.account, metrics.ErrUnavailable, err)
	}
	var out answer
	jsonErr := json.Unmarshal(raw, &out)
	if resp.StatusCode != http.StatusOK {
		sentinel := metrics.ErrRejected
		if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500 {
			sentinel = metrics.ErrUnavailable
		}
		msg := out.Error
		if jsonErr != nil || msg == "" {
			msg = metrics.Excerpt(string(raw))
		}
		return nil, fmt.Errorf("influxdb account %q: %w: HTTP %d: %s", s.account, sentinel, resp.StatusCode, metrics.Excerpt(msg))
	}
	if jsonErr != nil {
		return nil, fmt.Errorf("influxdb account %q: %w: the answer is not JSON: %s", s.account, metrics.ErrUnavailable, metrics.Excerpt(string(raw)))
	}
	if out.Error != "" {
		return nil, fmt.Errorf("influxdb account %q: %w: %s", s.account, metrics.ErrRejected, metrics.Excerpt(out.Error))
	}
	if len(out.Results) != 1 {
		return nil, fmt.Errorf("influxdb account %q: %w: %d results for one statement", s.account, metrics.ErrRejected, len(out.Results))
	}
	res := out.Results[0]
	switch {
	case res.Error != "":
		return nil, fmt.Errorf("influxdb account %q: %w: %s", s.account, metrics.ErrRejected, metrics.Excerpt(res.Error))
	case len(res.Series) == 0:
		return nil, fmt.Errorf("influxdb account %q: %w: the query matched no series", s.account, metrics.ErrNoData)
	case len(res.Series) > 1:
		return nil, fmt.Errorf("influxdb account %q: %w: %d series (group by fewer tags, or filter to one)", s.account, metrics.ErrMultipleSeries, len(res.Series))
	}
	series := res.Series[0]
	if len(series.Columns) != 2 || series.Columns[0] != "time" {
		return nil, fmt.Errorf("influxdb account %q: %w: columns %q: select one value", s.account, metrics.ErrMultipleSeries, series.Columns)
	}
	if n := len(series.Values); n > q.Points()+1 {
		return nil, fmt.Errorf("influxdb account %q: %w: %d points for a range of %d", s.account, metrics.ErrTooLarge, n, q.Points())
	}
	points := make([]metrics.Point, 0, len(series.Values))
	for i, row := range series.Values {
		if len(row) != 2 {
			return nil, fmt.Errorf("influxdb account %q: %w: row %d has %d columns", s.account, metrics.ErrRejected, i, len(row))
		}
		t, ok := row[0].(float64)
		if !ok {
			return nil, fmt.Errorf("influxdb account %q: %w: row %d: time is not a number", s.account, metrics.ErrRejected, i)
		}
		v := math.NaN()
		switch x := row[1].(type) {
		case float64:
			v = x
		case nil:
		default:
			return nil, fmt.Errorf("influxdb account %q: %w: row %d: the value is not a number", s.account, metrics.ErrRejected, i)
		}
		points = append(points, metrics.Point{T: time.Unix(int64(t), 0), V: v})
	}
	return points, nil
}

// Window is the span each point reads: a query's points are the step's
// buckets, which do not overlap.
func Window(string) time.Duration { return 0 }
