// Package metricstest has local stand-ins for the metrics services that
// cannot be reached from here, Datadog and New Relic: HTTP servers that
// replay their documented answers (series by query, empty results, null
// points) or a fault the test sets (an HTTP status with rate-limit headers,
// malformed JSON, a slow answer), and record what judge sent.
package metricstest

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// Request is one request a fake received.
type Request struct {
	Path    string
	Headers http.Header
	Query   string // the metric query or NRQL
	From    int64  // ms (Datadog) or s (New Relic)
	To      int64
	Step    int64
}

// Fake is a Datadog or New Relic stand-in that replays their documented
// answers: series by query text, or a fault.
type Fake struct {
	*httptest.Server
	mu       sync.Mutex
	requests []Request
	// Series maps a query text to its values at the request's grid; a
	// missing query answers an empty result.
	Series map[string][]float64
	// Fault, when set, answers instead (status, headers, body).
	Fault func(w http.ResponseWriter, n int) bool
}

func (f *Fake) record(r Request) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = append(f.requests, r)
	return len(f.requests)
}

// Received returns the requests so far.
func (f *Fake) Received() []Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Request(nil), f.requests...)
}

// NewDatadog serves POST /api/v2/query/timeseries as Datadog does.
func NewDatadog(t testing.TB, series map[string][]float64) *Fake {
	f := &Fake{Series: series}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Data struct {
				Type       string `json:"type"`
				Attributes struct {
					From     int64 `json:"from"`
					To       int64 `json:"to"`
					Interval int64 `json:"interval"`
					Queries  []struct {
						DataSource string `json:"data_source"`
						Query      string `json:"query"`
					} `json:"queries"`
				} `json:"attributes"`
			} `json:"data"`
		}
		raw, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(raw, &body); err != nil || body.Data.Type != "timeseries_request" || len(body.Data.Attributes.Queries) != 1 {
			w.WriteHeader(400)
			fmt.Fprint(w, `{"errors":["API input validation failed: Invalid type. Expected \"timeseries_request\"."]}`)
			return
		}
		a := body.Data.Attributes
		n := f.record(Request{Path: r.Method + " " + r.URL.Path, Headers: r.Header.Clone(), Query: a.Queries[0].Query, From: a.From, To: a.To, Step: a.Interval})
		if f.Fault != nil && f.Fault(w, n) {
			return
		}
		values, ok := f.Series[a.Queries[0].Query]
		w.Header().Set("Content-Type", "application/json")
		if !ok {
			fmt.Fprint(w, `{"data":{"type":"timeseries_response","attributes":{"series":[],"times":[],"values":[]}}}`)
			return
		}
		var times []int64
		var vals []*float64
		for i, v := range values {
			ts := a.From + int64(i)*a.Interval
			if ts >= a.To {
				break
			}
			times = append(times, ts)
			if math.IsNaN(v) {
				vals = append(vals, nil)
			} else {
				vals = append(vals, &v)
			}
		}
		out, _ := json.Marshal(map[string]any{"data": map[string]any{"type": "timeseries_response", "attributes": map[string]any{
			"series": []any{map[string]any{"query_index": 0, "group_tags": []string{}, "unit": nil}},
			"times":  times, "values": [][]*float64{vals}}}})
		_, _ = w.Write(out)
	}))
	t.Cleanup(f.Close)
	return f
}

var nrqlWindow = regexp.MustCompile(`^(.*) TIMESERIES (\d+) seconds SINCE (\d+) UNTIL (\d+)$`)

// NewNewRelic serves NerdGraph NRQL TIMESERIES queries as New Relic does.
func NewNewRelic(t testing.TB, series map[string][]float64) *Fake {
	f := &Fake{Series: series}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Query     string `json:"query"`
			Variables struct {
				Query     string `json:"query"`
				AccountID int64  `json:"accountId"`
			} `json:"variables"`
		}
		raw, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(raw, &body)
		m := nrqlWindow.FindStringSubmatch(body.Variables.Query)
		rec := Request{Path: r.Method + " " + r.URL.Path, Headers: r.Header.Clone(), Query: body.Variables.Query}
		if m != nil {
			rec.Query = m[1]
			rec.Step, _ = strconv.ParseInt(m[2], 10, 64)
			rec.From, _ = strconv.ParseInt(m[3], 10, 64)
			rec.To, _ = strconv.ParseInt(m[4], 10, 64)
		}
		n := f.record(rec)
		if f.Fault != nil && f.Fault(w, n) {
			return
		}
		w.Header().Set("Content-Type", "application/json")
		if m == nil || !strings.Contains(body.Query, "nrql(query: $query)") {
			fmt.Fprint(w, `{"data":{"actor":{"account":{"nrql":null}}},"errors":[{"message":"NRQL Syntax Error: Error at line 1","path":["actor","account","nrql"],"extensions":{"errorClass":"INVALID_INPUT"}}]}`)
			return
		}
		values := f.Series[rec.Query]
		var results []map[string]any
		for i, v := range values {
			begin := rec.From + int64(i)*rec.Step
			if begin >= rec.To {
				break
			}
			row := map[string]any{"beginTimeSeconds": begin, "endTimeSeconds": begin + rec.Step, "average.value": v}
			if math.IsNaN(v) {
				row["average.value"] = nil
			}
			results = append(results, row)
		}
		out, _ := json.Marshal(map[string]any{"data": map[string]any{"actor": map[string]any{"account": map[string]any{"nrql": map[string]any{
			"results":  results,
			"metadata": map[string]any{"eventTypes": []string{"Metric"}, "facets": nil, "messages": []string{}, "timeWindow": map[string]any{"begin": rec.From * 1000, "end": rec.To * 1000}},
		}}}}})
		_, _ = w.Write(out)
	}))
	t.Cleanup(f.Close)
	return f
}
