package server

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/canaryjudge/judge/metrics"
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
		{Name: "prom", Type: metrics.TypePrometheus, URL: url},
		{Name: "dd-down", Type: metrics.TypeDatadog, URL: "http://127.0.0.1:1", APIKeyEnv: "TEST_DD_KEY", AppKeyEnv: "TEST_DD_KEY", Retries: 1},
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
	var list struct {
		Analyses []json.RawMessage `json:"analyses"`
	}
	call(t, "GET", base+"/v1/analyses", "", &list)
	if len(list.Analyses) != 1 || strings.Contains(string(list.Analyses[0]), `"control":[0`) || !strings.Contains(string(list.Analyses[0]), `"series":[]`) {
		t.Errorf("list carries series: %s", list.Analyses)
	}

	// A scope that cannot be placed in a Datadog query is refused at
	// submission, naming the scope.
	var msg struct{ Message string }
	for _, path := range []string{"/v1/analyze", "/v1/analyses"} {
		if code := call(t, "POST", base+path, body("good,pod:base"), &msg); code != 400 || !strings.Contains(msg.Message, "experimentScope") {
			t.Errorf("%s unsafe scope: %d %q", path, code, msg.Message)
		}
	}
}
