package server

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/canaryjudge/judge/metrics"
	"github.com/canaryjudge/judge/metrics/metricstest"
	"github.com/canaryjudge/judge/metrics/prometheus/promtest"
)

// TestScopesThroughTheService fetches series for analyses given scopes:
// synchronously (the answer carries the series) and asynchronously (the
// stored analysis keeps them, lists do not), with a source that cannot be
// reached turning its metric into ERROR, and unsafe scopes refused at
// submission.
func TestScopesThroughTheService(t *testing.T) {
	start := time.Now().Add(-30 * time.Hour).Truncate(time.Hour).UTC()
	series := func(pod string, level float64) promtest.Series {
		s := promtest.Series{Name: "api_latency_seconds", Labels: map[string]string{"pod": pod}}
		for i := range 40 {
			s.Samples = append(s.Samples, promtest.Sample{T: start.Add(time.Duration(i) * time.Minute), V: level * (1 + 0.05*math.Sin(float64(i)*2.1))})
		}
		return s
	}
	url := promtest.Start(t, []promtest.Series{series("base", 0.1), series("good", 0.1), series("slow", 0.2)})
	t.Setenv("TEST_DD_KEY", "dd-secret-0123456789")
	s := startServer(t, Config{Accounts: []metrics.Account{
		{Name: "prom", Type: "prometheus", URL: url},
		{Name: "dd-down", Type: "datadog", URL: "http://127.0.0.1:1", APIKeyEnv: "TEST_DD_KEY", AppKeyEnv: "TEST_DD_KEY", Retries: 1},
	}})
	base := "http://" + s.Addr()
	config := `{"name":"api","metrics":[
		{"name":"latency","groups":["perf"],"critical":true,"direction":"increase","query":{"prometheus":"avg(api_latency_seconds{pod=\"${scope}\"})"}},
		{"name":"errors","groups":["errors"],"query":{"datadog":"sum:api.errors{pod:${scope}}"}}]}`
	body := func(canary string) string {
		scope := func(name string) string {
			return fmt.Sprintf(`{"scope":%q,"start":%q,"end":%q,"step_seconds":60}`, name, start.Format(time.RFC3339), start.Add(39*time.Minute).Format(time.RFC3339))
		}
		return fmt.Sprintf(`{"spec":{"canary_config":%s,"scopes":{"default":{"control_scope":%s,"experiment_scope":%s}}}}`, config, scope("base"), scope(canary))
	}

	var sync struct {
		Verdict struct {
			Result  string `json:"result"`
			Metrics []struct {
				Name           string `json:"name"`
				Classification string `json:"classification"`
				Reason         string `json:"reason"`
			} `json:"metrics"`
		} `json:"verdict"`
		Series []struct {
			Name    string `json:"name"`
			Control []any  `json:"control"`
			Error   string `json:"error"`
		} `json:"series"`
	}
	if code := call(t, "POST", base+"/v1/analyze", body("slow"), &sync); code != 200 || sync.Verdict.Result != "FAIL" {
		t.Fatalf("sync: %d %+v", code, sync.Verdict)
	}
	if len(sync.Series) != 2 || len(sync.Series[0].Control) != 40 || !strings.Contains(sync.Series[1].Error, `datadog account "dd-down"`) {
		t.Errorf("series in the answer: %+v", sync.Series)
	}
	for _, m := range sync.Verdict.Metrics {
		if m.Name == "errors" && (m.Classification != "ERROR" || strings.Contains(m.Reason, "dd-secret")) {
			t.Errorf("unreachable Datadog: %s (%s)", m.Classification, m.Reason)
		}
	}
	// The good canary is not PASS either: one of two groups could not be
	// fetched (half the metrics are ERROR).
	if call(t, "POST", base+"/v1/analyze", body("good"), &sync); sync.Verdict.Result == "PASS" {
		t.Errorf("PASS with a metric that could not be fetched")
	}

	var created struct {
		Analysis struct{ ID string } `json:"analysis"`
	}
	if code := call(t, "POST", base+"/v1/analyses", body("slow"), &created); code != 200 {
		t.Fatalf("create: %d", code)
	}
	a := waitFinalHTTP(t, base, created.Analysis.ID)
	if a.Status != "ANALYSIS_STATUS_SUCCEEDED" || a.Verdict == nil || a.Verdict.Result != "FAIL" {
		t.Fatalf("async: %+v", a)
	}
	var got struct {
		Analysis struct {
			Series []struct {
				Name    string `json:"name"`
				Control []any  `json:"control"`
			} `json:"series"`
		} `json:"analysis"`
	}
	call(t, "GET", base+"/v1/analyses/"+created.Analysis.ID, "", &got)
	if len(got.Analysis.Series) != 2 || len(got.Analysis.Series[0].Control) != 40 {
		t.Errorf("stored series: %+v", got.Analysis.Series)
	}
	// The analysis page says what was compared: the scopes and range, and
	// each metric's rendered query, step and window.
	code, _, page := do(t, "GET", base+"/ui/analyses/"+created.Analysis.ID, "", "")
	if code != 200 || !strings.Contains(page, "scope default: baseline base from "+start.Format(time.RFC3339)) || !strings.Contains(page, "canary slow from") ||
		!strings.Contains(page, "step 60s") || !strings.Contains(page, "avg(api_latency_seconds{pod=&#34;slow&#34;})") || !strings.Contains(page, "what was compared") {
		t.Errorf("the analysis page does not say what was compared (%d)", code)
	}
	var list struct {
		Analyses []json.RawMessage `json:"analyses"`
	}
	call(t, "GET", base+"/v1/analyses", "", &list)
	if len(list.Analyses) != 1 || strings.Contains(string(list.Analyses[0]), `"control":[0`) || !strings.Contains(string(list.Analyses[0]), `"series":[]`) {
		t.Errorf("list carries series: %s", list.Analyses)
	}

	// A scope that cannot be placed in a Datadog query (a negation would
	// widen the filter) is refused at submission, naming the scope.
	var msg struct{ Message string }
	for _, path := range []string{"/v1/analyze", "/v1/analyses"} {
		if code := call(t, "POST", base+path, body("good,!pod:base"), &msg); code != 400 || !strings.Contains(msg.Message, "experimentScope") {
			t.Errorf("%s unsafe scope: %d %q", path, code, msg.Message)
		}
	}
}

// TestMixedSourcesThroughTheService judges a config mixing Prometheus
// (real), Datadog and New Relic (fakes) through the service, synchronously
// and asynchronously.
func TestMixedSourcesThroughTheService(t *testing.T) {
	start := time.Now().Add(-54 * time.Hour).Truncate(time.Hour).UTC()
	wave := func(level float64, phase int) []float64 {
		out := make([]float64, 30)
		for i := range out {
			out[i] = level * (1 + 0.05*math.Sin(float64(i+phase)*1.7))
		}
		return out
	}
	s := promtest.Series{Name: "svc_latency_seconds", Labels: map[string]string{"pod": "b"}}
	c := promtest.Series{Name: "svc_latency_seconds", Labels: map[string]string{"pod": "c"}}
	for i, v := range wave(0.3, 0) {
		s.Samples = append(s.Samples, promtest.Sample{T: start.Add(time.Duration(i) * time.Minute), V: v})
		c.Samples = append(c.Samples, promtest.Sample{T: start.Add(time.Duration(i) * time.Minute), V: wave(0.3, 6)[i]})
	}
	url := promtest.Start(t, []promtest.Series{s, c})
	dd := metricstest.NewDatadog(t, map[string][]float64{"sum:svc.errors{pod:b}": wave(2, 0), "sum:svc.errors{pod:c}": wave(2, 5)})
	nr := metricstest.NewNewRelic(t, map[string][]float64{
		"SELECT average(value) FROM Metric WHERE pod = 'b'": wave(500, 0),
		"SELECT average(value) FROM Metric WHERE pod = 'c'": wave(500, 2),
	})
	t.Setenv("SVC_KEY", "svc-secret-0123456789")
	srv := startServer(t, Config{Accounts: []metrics.Account{
		{Name: "prom", Type: "prometheus", URL: url},
		{Name: "dd", Type: "datadog", URL: dd.URL, APIKeyEnv: "SVC_KEY", AppKeyEnv: "SVC_KEY"},
		{Name: "nr", Type: "newrelic", URL: nr.URL + "/graphql", AccountID: 7, APIKeyEnv: "SVC_KEY"},
	}})
	base := "http://" + srv.Addr()
	config := `{"name":"mixed","metrics":[
		{"name":"latency","groups":["perf"],"critical":true,"direction":"increase","query":{"prometheus":"avg(svc_latency_seconds{pod=\"${scope}\"})"}},
		{"name":"errors","groups":["errors"],"direction":"increase","query":{"datadog":"sum:svc.errors{pod:${scope}}"}},
		{"name":"throughput","groups":["traffic"],"direction":"decrease","query":{"newrelic":"SELECT average(value) FROM Metric WHERE pod = '${scope}'"}}]}`
	scope := func(name string) string {
		return fmt.Sprintf(`{"scope":%q,"start":%q,"end":%q,"step_seconds":60}`, name, start.Format(time.RFC3339), start.Add(29*time.Minute).Format(time.RFC3339))
	}
	body := fmt.Sprintf(`{"spec":{"canary_config":%s,"scopes":{"default":{"control_scope":%s,"experiment_scope":%s}}}}`, config, scope("b"), scope("c"))
	var sync struct {
		Verdict struct {
			Result string `json:"result"`
			Reason string `json:"reason"`
		} `json:"verdict"`
		Series []struct {
			Name  string `json:"name"`
			Error string `json:"error"`
		} `json:"series"`
	}
	if code := call(t, "POST", base+"/v1/analyze", body, &sync); code != 200 || sync.Verdict.Result != "PASS" || len(sync.Series) != 3 {
		t.Fatalf("sync mixed: %d %+v", code, sync)
	}
	var created struct {
		Analysis struct{ ID string } `json:"analysis"`
	}
	call(t, "POST", base+"/v1/analyses", body, &created)
	if a := waitFinalHTTP(t, base, created.Analysis.ID); a.Status != "ANALYSIS_STATUS_SUCCEEDED" || a.Verdict == nil || a.Verdict.Result != "PASS" {
		t.Errorf("async mixed: %+v", a)
	}
	// Twice baseline, canary and the baseline's history (historyWindows 3).
	if len(dd.Received()) != 6 || len(nr.Received()) != 6 {
		t.Errorf("%d Datadog and %d New Relic requests, want 6 each", len(dd.Received()), len(nr.Received()))
	}
}
