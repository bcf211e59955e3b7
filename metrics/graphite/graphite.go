// Package graphite is the Graphite metrics source: target expressions
// over graphite-web's render API (JSON), scope values placed in metric
// path segments or quoted arguments.
package graphite

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
	"strconv"
	"strings"
	"time"

	"github.com/canaryjudge/judge/metrics"
)

// Type is the account type and native query key of this backend.
const Type = "graphite"

func init() {
	metrics.Register(metrics.Backend{
		Type:        Type,
		New:         func(a metrics.Account, in *metrics.Instruments) (metrics.Source, error) { return New(a, in) },
		Uses:        []string{"url", "basic_auth_username", "basic_auth_password_env", "basic_auth_password_file"},
		Language:    Language,
		Verbatim:    Verbatim,
		FromKayenta: FromKayentaWith,
		Window:      Window,
	})
}

// Source queries one graphite-web.
type Source struct {
	client         *http.Client
	url            string
	user, password string
	account        string
	timeout        time.Duration
}

var _ metrics.Source = (*Source)(nil)

// New returns a source for the account: url required (graphite-web's
// address), basic auth when basic_auth_username is set.
func New(a metrics.Account, in *metrics.Instruments) (*Source, error) {
	if err := a.Defaults(); err != nil {
		return nil, err
	}
	if a.URL == "" {
		return nil, fmt.Errorf("%w: account %q: a graphite account needs url (graphite-web's address)", metrics.ErrConfig, a.Name)
	}
	password, err := a.Secret("basic_auth_password", a.BasicAuthPasswordEnv, a.BasicAuthPasswordFile)
	if err != nil {
		return nil, err
	}
	client, err := metrics.RetryingClient(a, in)
	if err != nil {
		return nil, err
	}
	return &Source{client: client, url: strings.TrimSuffix(a.URL, "/"), user: a.BasicAuthUsername, password: password, account: a.Name, timeout: a.Timeout}, nil
}

// MaxPoints bounds the points of one render request; longer ranges are
// split.
const MaxPoints = 10_000

// Fetch renders the target over the range (from the second before Start,
// graphite's from being exclusive, to End), $__interval replaced by the
// step for summarize(), and places its points on the query's grid.
func (s *Source) Fetch(ctx context.Context, q metrics.Query) (metrics.Series, error) {
	if err := q.Validate(); err != nil {
		return metrics.Series{}, err
	}
	if q.Step%time.Second != 0 {
		return metrics.Series{}, fmt.Errorf("graphite account %q: %w: step %v is not whole seconds", s.account, metrics.ErrTemplate, q.Step)
	}
	return metrics.FetchSplit(ctx, q, MaxPoints, s.fetchRange)
}

// Target is the target sent for q.
func Target(q metrics.Query) string {
	return strings.ReplaceAll(strings.TrimSpace(q.Text), "$__interval", strconv.FormatInt(int64(q.Step/time.Second), 10)+"s")
}

func (s *Source) fetchRange(ctx context.Context, q metrics.Query) ([]metrics.Point, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	form := url.Values{"target": {Target(q)}, "format": {"json"},
		"from": {strconv.FormatInt(q.Start.Unix()-1, 10)}, "until": {strconv.FormatInt(q.End.Unix(), 10)}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url+"/render", strings.NewReader(form.Encode()))
	if err != nil {
		return nil, fmt.Errorf("graphite account %q: %w: %w", s.account, metrics.ErrConfig, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if s.user != "" {
		req.SetBasicAuth(s.user, s.password)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		var nerr net.Error
		if errors.Is(err, metrics.ErrTooLarge) {
			return nil, fmt.Errorf("graphite account %q: %w", s.account, err)
		}
		if errors.As(err, &nerr) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
			return nil, fmt.Errorf("graphite account %q: %w: %s", s.account, metrics.ErrUnavailable, err.Error())
		}
		return nil, fmt.Errorf("graphite account %q: %w: %s", s.account, metrics.ErrUnavailable, err.Error())
	}
	defer func() { _ = resp.Body.Close() }()
	raw, err := io.ReadAll(resp.Body) // bounded by the account's max_response_bytes
	if errors.Is(err, metrics.ErrTooLarge) {
		return nil, fmt.Errorf("graphite account %q: %w", s.account, err)
	}
	if err != nil {
		return nil, fmt.Errorf("graphite account %q: %w: reading the answer: %w", s.account, metrics.ErrUnavailable, err)
	}
	if resp.StatusCode != http.StatusOK {
		sentinel := metrics.ErrRejected
		if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500 {
			sentinel = metrics.ErrUnavailable
		}
		return nil, fmt.Errorf("graphite account %q: %w: HTTP %d: %s", s.account, sentinel, resp.StatusCode, metrics.Excerpt(string(raw)))
	}
	var out []struct {
		Target     string  `json:"target"`
		Datapoints [][]any `json:"datapoints"`
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, fmt.Errorf("graphite account %q: %w: the answer is not render JSON: %s", s.account, metrics.ErrUnavailable, metrics.Excerpt(string(raw)))
	}
	switch {
	case len(out) == 0:
		return nil, fmt.Errorf("graphite account %q: %w: the target matched no series", s.account, metrics.ErrNoData)
	case len(out) > 1:
		return nil, fmt.Errorf("graphite account %q: %w: %d series (aggregate them, e.g. sumSeries or averageSeries)", s.account, metrics.ErrMultipleSeries, len(out))
	}
	if n := len(out[0].Datapoints); n > 2*q.Points()+1 {
		return nil, fmt.Errorf("graphite account %q: %w: %d points for a range of %d (summarize to the step: summarize(…, \"$__interval\", \"avg\"))", s.account, metrics.ErrTooLarge, n, q.Points())
	}
	points := make([]metrics.Point, 0, len(out[0].Datapoints))
	for i, dp := range out[0].Datapoints {
		if len(dp) != 2 {
			return nil, fmt.Errorf("graphite account %q: %w: datapoint %d has %d fields", s.account, metrics.ErrRejected, i, len(dp))
		}
		ts, ok := dp[1].(float64)
		if !ok {
			return nil, fmt.Errorf("graphite account %q: %w: datapoint %d: the time is not a number", s.account, metrics.ErrRejected, i)
		}
		v := math.NaN()
		if f, ok := dp[0].(float64); ok {
			v = f
		}
		points = append(points, metrics.Point{T: time.Unix(int64(ts), 0), V: v})
	}
	return points, nil
}

// Window is the span each point reads: graphite's points are its
// storage's (or summarize's) buckets, which do not overlap.
func Window(string) time.Duration { return 0 }
