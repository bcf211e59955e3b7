package server

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/canaryjudge/judge/metrics"
	"github.com/canaryjudge/judge/metrics/prometheus/promtest"
)

// TestDeployerWebhooks drives the Argo Rollouts web provider endpoint, the
// Flagger webhook and the Prometheus-compatible score query against a real
// Prometheus, with the requests those deployers send.
func TestDeployerWebhooks(t *testing.T) {
	start := time.Now().Add(-10 * time.Hour).Truncate(time.Hour).UTC()
	end := start.Add(39 * time.Minute)
	series := func(name, pod string, level float64, phase int) promtest.Series {
		s := promtest.Series{Name: name, Labels: map[string]string{"pod": pod}}
		for i := range 40 {
			s.Samples = append(s.Samples, promtest.Sample{T: start.Add(time.Duration(i) * time.Minute), V: level * (1 + 0.05*math.Sin(float64(i+phase)*1.9))})
		}
		return s
	}
	var fixtures []promtest.Series
	for _, pod := range []struct {
		name           string
		latency, error float64
		phase          int
	}{{"podinfo-primary", 0.2, 1, 0}, {"podinfo", 0.2, 1, 7}, {"podinfo-slow", 0.3, 1, 0}, {"podinfo-half", 0.3, 1, 3}} {
		fixtures = append(fixtures, series("web_latency_seconds", pod.name, pod.latency, pod.phase), series("web_errors", pod.name, pod.error, pod.phase+2))
	}
	prom := promtest.Start(t, fixtures)
	s := startServer(t, Config{Accounts: []metrics.Account{{Name: "prom", Type: "prometheus", URL: prom}}})
	base := "http://" + s.Addr()
	config := `{"config":{"name":"podinfo","thresholds":{"pass":95,"marginal":40},
		"groups":[{"name":"perf","weight":50},{"name":"errors","weight":50}],
		"metrics":[
		  {"name":"latency","groups":["perf"],"direction":"increase","query":{"prometheus":"avg(web_latency_seconds{pod=\"${scope}\"})"}},
		  {"name":"errors","groups":["errors"],"direction":"increase","query":{"prometheus":"avg(web_errors{pod=\"${scope}\"})"}}]}}`
	if code := call(t, "PUT", base+"/v1/canaryConfigs/podinfo", config, nil); code != 200 {
		t.Fatalf("put config: %d", code)
	}

	// Argo Rollouts' web provider: GET with args in the URL, jsonPath
	// {$.score} and {$.result}.
	argo := func(canary string) (int, map[string]any) {
		q := url.Values{"config": {"podinfo"}, "baseline": {"podinfo-primary"}, "canary": {canary}, "end": {end.Format(time.RFC3339)}, "window": {"39m"}, "step": {"60"}}
		var out map[string]any
		return call(t, "GET", base+"/webhooks/argo?"+q.Encode(), "", &out), out
	}
	for canary, want := range map[string]string{"podinfo": "PASS", "podinfo-slow": "MARGINAL", "podinfo-half": "MARGINAL"} {
		code, out := argo(canary)
		if code != 200 || out["result"] != want {
			t.Errorf("argo %s: %d %v, want %s", canary, code, out, want)
		}
		// The analysis is stored: its id and report come with the answer.
		id, _ := out["analysisId"].(string)
		var stored struct {
			Analysis struct {
				Status  string
				Verdict struct{ Result string }
			}
		}
		if code := call(t, "GET", base+"/v1/analyses/"+id, "", &stored); id == "" || code != 200 || stored.Analysis.Status != "ANALYSIS_STATUS_SUCCEEDED" ||
			stored.Analysis.Verdict.Result != want {
			t.Errorf("argo %s: stored analysis %q: %d %+v", canary, id, code, stored)
		}
		if out["reportUrl"] != base+"/ui/analyses/"+id {
			t.Errorf("argo %s: reportUrl %v", canary, out["reportUrl"])
		} else if resp, err := http.Get(base + "/ui/analyses/" + id); err != nil || resp.StatusCode != 200 {
			t.Errorf("argo %s: report: %v %v", canary, err, resp)
		} else {
			resp.Body.Close()
		}
	}
	// A config stored through Kayenta's API (under a generated id) is named
	// by the name it gives itself; an unknown config is 404, naming it.
	kayentaConfig := `{"name":"podinfo-kayenta","metrics":[{"name":"latency","groups":["perf"],"scopeName":"default",
	  "query":{"type":"prometheus","customInlineTemplate":"PromQL:avg(web_latency_seconds{pod=\"${scope}\"})"},
	  "analysisConfigurations":{"canary":{"direction":"increase"}}}],"classifier":{"groupWeights":{"perf":100}}}`
	if code := kayentaCall(t, "POST", base+"/canaryConfig", kayentaConfig, nil); code != 200 {
		t.Fatalf("POST /canaryConfig: %d", code)
	}
	for name, want := range map[string]int{"podinfo-kayenta": 200, "no-such-config": 404} {
		q := url.Values{"config": {name}, "baseline": {"podinfo-primary"}, "canary": {"podinfo"}, "end": {end.Format(time.RFC3339)}, "window": {"39m"}, "step": {"60"}}
		var out map[string]any
		if code := call(t, "GET", base+"/webhooks/argo?"+q.Encode(), "", &out); code != want || want == 200 && out["result"] != "PASS" ||
			want == 404 && !strings.Contains(fmt.Sprint(out), name) {
			t.Errorf("argo with config %s: %d %v, want %d", name, code, out, want)
		}
	}
	// The same as a POST with Argo's jsonBody, which keeps the template's
	// types: step and timeout as numbers or strings.
	for _, extra := range []string{``, `,"step":60,"timeout":30`, `,"step":"60","timeout":"30s"`} {
		var posted map[string]any
		body := fmt.Sprintf(`{"config":"podinfo","baseline":"podinfo-primary","canary":"podinfo","end":%q,"window":"39m"%s}`, end.Format(time.RFC3339), extra)
		if code := call(t, "POST", base+"/webhooks/argo", body, &posted); code != 200 || posted["score"] != 100.0 || posted["result"] != "PASS" {
			t.Errorf("argo POST %s: %d %v", extra, code, posted)
		}
	}
	// A sequence named by the template (a canary's pod-template hash): the
	// looks are numbered, the stored analysis linked to its look; the first
	// look decides nothing and says so (no result that reads as a pass),
	// the last one passes.
	for k, want := range []string{"continue", "pass"} {
		var posted struct {
			AnalysisID string `json:"analysisId"`
			Result     string `json:"result"`
			Pass       bool   `json:"pass"`
			Decision   string `json:"decision"`
			Reason     string `json:"reason"`
			Look       struct {
				Sequence string `json:"sequence"`
				Look     int    `json:"look"`
				Looks    int    `json:"looks"`
				Decision string `json:"decision"`
			} `json:"look"`
		}
		body := fmt.Sprintf(`{"config":"podinfo","baseline":"podinfo-primary","canary":"podinfo","end":%q,"window":"39m","sequence":"7f9c","looks":"2"}`, end.Format(time.RFC3339))
		wantResult, wantPass := "PASS", true
		if want == "continue" {
			wantResult, wantPass = "CONTINUE", false
		}
		if code := call(t, "POST", base+"/webhooks/argo", body, &posted); code != 200 || posted.Result != wantResult || posted.Pass != wantPass || posted.Decision != want ||
			posted.Look.Look != k+1 || posted.Look.Looks != 2 || posted.Look.Decision != want || posted.Look.Sequence != "argo-web:7f9c" {
			t.Errorf("argo look %d: %d %+v", k+1, code, posted)
		}
		if want == "continue" && !strings.Contains(posted.Reason, "no decision yet: look 1 found no regression established (this look alone: PASS); look 2 of 2 decides") {
			t.Errorf("argo look 1 reason: %q", posted.Reason)
		}
		if _, _, page := do(t, "GET", base+"/ui/analyses/"+posted.AnalysisID, "", ""); (want == "continue") != strings.Contains(page, "no decision yet") {
			t.Errorf("argo look %d: the analysis page does not say whether it decided", k+1)
		}
		var seq struct {
			History []struct {
				AnalysisID string `json:"analysis_id"`
			} `json:"history"`
		}
		if code := call(t, "GET", base+"/v1/sequences/argo-web:7f9c", "", &seq); code != 200 || len(seq.History) != k+1 || seq.History[k].AnalysisID != posted.AnalysisID {
			t.Errorf("argo look %d: the sequence %d %+v does not link analysis %s", k+1, code, seq, posted.AnalysisID)
		}
	}
	// An analysis that cannot be stored (the database refuses it): the
	// deployer still has the look's verdict, with no analysis id, and the
	// sequence's look links no analysis that does not exist.
	db, err := sql.Open("sqlite", "file:"+filepath.Join(s.cfg.DataDir, "judge.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE TRIGGER refuse_analyses BEFORE INSERT ON analyses BEGIN SELECT RAISE(FAIL, 'refused by the test'); END`); err != nil {
		t.Fatal(err)
	}
	var unstored struct {
		AnalysisID string `json:"analysisId"`
		Result     string `json:"result"`
		Look       struct {
			Look int `json:"look"`
		} `json:"look"`
	}
	body := fmt.Sprintf(`{"config":"podinfo","baseline":"podinfo-primary","canary":"podinfo","end":%q,"window":"39m","sequence":"unstored","looks":"2"}`, end.Format(time.RFC3339))
	if code := call(t, "POST", base+"/webhooks/argo", body, &unstored); code != 200 || unstored.Result != "CONTINUE" || unstored.AnalysisID != "" || unstored.Look.Look != 1 {
		t.Errorf("argo look whose analysis is not stored: %d %+v; want its verdict, no analysis id", code, unstored)
	}
	var seq struct {
		History []struct {
			AnalysisID string `json:"analysis_id"`
		} `json:"history"`
	}
	if code := call(t, "GET", base+"/v1/sequences/argo-web:unstored", "", &seq); code != 200 || len(seq.History) != 1 || seq.History[0].AnalysisID != "" {
		t.Errorf("the sequence of an unstored analysis: %d %+v; want one look linking nothing", code, seq)
	}
	if _, err := db.Exec(`DROP TRIGGER refuse_analyses`); err != nil {
		t.Fatal(err)
	}
	for _, extra := range []string{`,"looks":2`, `,"sequence":"s","looks":"x"`, `,"sequence":"s","looks":-1`, `,"sequence":"s","passEarly":"maybe"`, `,"sequence":"a\u0000b"`} {
		var out map[string]any
		body := fmt.Sprintf(`{"config":"podinfo","baseline":"podinfo-primary","canary":"podinfo","end":%q,"window":"39m"%s}`, end.Format(time.RFC3339), extra)
		if code := call(t, "POST", base+"/webhooks/argo", body, &out); code != 400 || !strings.Contains(fmt.Sprint(out["error"]), "sequence") && !strings.Contains(fmt.Sprint(out["error"]), "looks") && !strings.Contains(fmt.Sprint(out["error"]), "passEarly") {
			t.Errorf("argo POST %s: %d %v, want 400 naming the field", extra, code, out)
		}
	}
	for _, extra := range []string{`,"step":-1`, `,"step":true`, `,"timeout":1`, `,"timeout":"1h"`, `,"timeout":"soon"`, `,"timeout":1e308`} {
		var out map[string]any
		body := fmt.Sprintf(`{"config":"podinfo","baseline":"podinfo-primary","canary":"podinfo","end":%q,"window":"39m"%s}`, end.Format(time.RFC3339), extra)
		field := "step"
		if strings.Contains(extra, "timeout") {
			field = "timeout"
		}
		if code := call(t, "POST", base+"/webhooks/argo", body, &out); code != 400 || !strings.Contains(fmt.Sprint(out["error"]), field) {
			t.Errorf("argo POST %s: %d %v, want 400 naming %s", extra, code, out, field)
		}
	}
	for q, want := range map[string]int{
		"config=podinfo&baseline=a":                                                      400,
		"config=nope&baseline=a&canary=b":                                                404,
		"config=podinfo&baseline=a&canary=b&window=soon":                                 400,
		"config=podinfo&baseline=a&canary=b&step=-1":                                     400,
		"config=podinfo&baseline=a&canary=b&timeout=0.5":                                 400,
		"config=podinfo&baseline=a&canary=b&end=yesterday":                               400,
		"config=podinfo&baseline=a&canary=" + url.QueryEscape("b\"}) or vector(1) or ("): 200,
	} {
		var out map[string]any
		if code := call(t, "GET", base+"/webhooks/argo?"+q, "", &out); code != want {
			t.Errorf("argo %s: %d %v, want %d", q, code, out, want)
		} else if code == 200 && out["result"] == "PASS" {
			t.Errorf("argo %s: PASS", q)
		}
	}

	// Flagger: POST the webhook payload; ≤ 202 passes, > 202 fails with the
	// body as the event message.
	flagger := func(canary, marginal string) (int, string) {
		md := map[string]string{"config": "podinfo", "canary": canary, "end": end.Format(time.RFC3339), "window": "39m"}
		if marginal != "" {
			md["marginal"] = marginal
		}
		payload, _ := json.Marshal(map[string]any{"name": "podinfo", "namespace": "test", "phase": "Progressing", "checksum": "abc", "metadata": md})
		resp, err := http.Post(base+"/webhooks/flagger", "application/json", strings.NewReader(string(payload)))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, text := flagger("podinfo", ""); code != 200 || !strings.Contains(text, "PASS") || !strings.Contains(text, "(report: "+base+"/ui/analyses/") {
		t.Errorf("flagger good: %d %s", code, text)
	}
	if code, text := flagger("podinfo-slow", ""); code != 409 || !strings.Contains(text, "MARGINAL") || !strings.Contains(text, "latency") {
		t.Errorf("flagger marginal: %d %s", code, text)
	}
	if code, _ := flagger("podinfo-slow", "pass"); code > 202 {
		t.Errorf("flagger marginal with marginal: pass: %d", code)
	}
	if code, text := flagger("podinfo", "sometimes"); code != 400 || !strings.Contains(text, "metadata.marginal") {
		t.Errorf("flagger bad metadata: %d %s", code, text)
	}
	resp, err := http.Post(base+"/webhooks/flagger", "application/json", strings.NewReader(`{"phase":1}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Errorf("flagger malformed payload: %d", resp.StatusCode)
	}

	// Flagger's Prometheus provider reads data.result[0].value[1].
	promQuery := func(q string) (int, []any) {
		var out struct {
			Status string
			Data   struct {
				ResultType string
				Result     []struct {
					Value []any
				}
			}
		}
		code := call(t, "GET", base+"/api/v1/query?query="+url.QueryEscape(q), "", &out)
		if len(out.Data.Result) == 0 {
			return code, nil
		}
		return code, out.Data.Result[0].Value
	}
	code, value := promQuery(`judge_score{name="podinfo",namespace="test"}`)
	if code != 200 || len(value) != 2 {
		t.Fatalf("score query: %d %v", code, value)
	}
	if score, err := strconv.ParseFloat(value[1].(string), 64); err != nil || score >= 95 {
		t.Errorf("latest score %v (%v), want the last (marginal) analysis' score", value[1], err)
	}
	if code, value := promQuery(`judge_score{name="other",namespace="test"}`); code != 200 || value != nil {
		t.Errorf("unknown canary: %d %v, want an empty vector", code, value)
	}
	if code, _ := promQuery(`up or vector(1)`); code != 400 {
		t.Errorf("other query: %d", code)
	}
}
