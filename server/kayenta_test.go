package server

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/canaryjudge/judge/metrics"
	"github.com/canaryjudge/judge/metrics/prometheus/promtest"
)

// kayentaCall sends a request as Argo Rollouts' kayenta provider or
// Spinnaker do and decodes the JSON answer into out.
func kayentaCall(t *testing.T, method, url, body string, out any) int {
	t.Helper()
	code, raw := rawCall(t, method, url, body)
	if out != nil && len(raw) > 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("%s %s: answer is not JSON (%v): %s", method, url, err, raw)
		}
	}
	return code
}

// checkoutPrometheus starts a real Prometheus holding 40 minutes of
// checkout_latency_seconds for a baseline pod (base), a good canary (good)
// and a regressed one (bad, +50%), and returns its URL and the window's
// start.
func checkoutPrometheus(t *testing.T) (url string, start time.Time) {
	t.Helper()
	start = time.Now().Add(-20 * time.Hour).Truncate(time.Hour).UTC()
	series := func(pod string, level float64, phase int) promtest.Series {
		s := promtest.Series{Name: "checkout_latency_seconds", Labels: map[string]string{"pod": pod}}
		for i := range 40 {
			s.Samples = append(s.Samples, promtest.Sample{T: start.Add(time.Duration(i) * time.Minute), V: level * (1 + 0.05*math.Sin(float64(i+phase)*1.9))})
		}
		return s
	}
	return promtest.Start(t, []promtest.Series{series("base", 0.2, 0), series("good", 0.2, 7), series("bad", 0.3, 0)}), start
}

// checkoutConfig is a Kayenta canary config of the checkout latency (a
// critical metric) for the application shop, as Deck stores it.
const checkoutConfig = `{"name":"checkout","applications":["shop"],"judge":{"name":"NetflixACAJudge-v1.0","judgeConfigurations":{}},
	"metrics":[{"name":"latency","groups":["perf"],"scopeName":"default",
	  "query":{"type":"prometheus","customInlineTemplate":"PromQL:avg(checkout_latency_seconds{pod=\"${scope}\"})"},
	  "analysisConfigurations":{"canary":{"direction":"increase","critical":true}}}],
	"templates":{},"classifier":{"groupWeights":{"perf":100},"scoreThresholds":{"pass":95,"marginal":75}}}`

// TestKayentaSurface drives the Kayenta REST surface the way Argo Rollouts'
// kayenta provider does (list configs, start an execution, poll it, read
// result.judgeResult.score.score) against a real Prometheus, and checks
// the metric set pair list, the remote judge and bad input.
func TestKayentaSurface(t *testing.T) {
	url, start := checkoutPrometheus(t)
	s := startServer(t, Config{Accounts: []metrics.Account{{Name: "prom", Type: "prometheus", URL: url}}})
	base := "http://" + s.Addr()

	config := checkoutConfig
	var created struct{ CanaryConfigID string }
	if code := kayentaCall(t, "POST", base+"/canaryConfig", config, &created); code != 200 || created.CanaryConfigID == "" {
		t.Fatalf("POST /canaryConfig: %d %+v", code, created)
	}

	// Argo Rollouts' kayenta provider: GET /canaryConfig with storageAccountName
	// passed as configurationAccountName; it needs exactly 200 and picks
	// the id whose name matches.
	var list []struct {
		ID, Name            string
		UpdatedTimestamp    int64
		UpdatedTimestampIso string
		Applications        []string
	}
	if code := kayentaCall(t, "GET", base+"/canaryConfig?application=shop&configurationAccountName=my-storage", "", &list); code != 200 ||
		len(list) != 1 || list[0].ID != created.CanaryConfigID || list[0].Name != "checkout" || list[0].UpdatedTimestamp == 0 {
		t.Fatalf("GET /canaryConfig: %d %+v", code, list)
	}
	if kayentaCall(t, "GET", base+"/canaryConfig?application=other", "", &list); len(list) != 0 {
		t.Errorf("application filter: %+v", list)
	}
	// A config stored in judge's native format reads back as Kayenta's and
	// is listed for every application.
	native := `{"config":{"name":"native-latency","metrics":[{"name":"latency","groups":["perf"],"direction":"increase","query":{"prometheus":"avg(x{pod=\"${scope}\"})"}}]}}`
	if code := call(t, "PUT", base+"/v1/canaryConfigs/native-latency", native, nil); code != 200 {
		t.Fatalf("PUT native config: %d", code)
	}
	var asKayenta struct {
		ID, Name string
		Judge    struct{ Name string }
		Metrics  []struct {
			Query                  struct{ Type, CustomInlineTemplate string }
			AnalysisConfigurations struct{ Canary struct{ Direction string } }
		}
	}
	if code := kayentaCall(t, "GET", base+"/canaryConfig/native-latency", "", &asKayenta); code != 200 || asKayenta.Judge.Name != "NetflixACAJudge-v1.0" ||
		len(asKayenta.Metrics) != 1 || asKayenta.Metrics[0].Query.Type != "prometheus" || asKayenta.Metrics[0].Query.CustomInlineTemplate != `PromQL:avg(x{pod="${scope}"})` ||
		asKayenta.Metrics[0].AnalysisConfigurations.Canary.Direction != "increase" {
		t.Errorf("native config as Kayenta's: %d %+v", code, asKayenta)
	}
	if kayentaCall(t, "GET", base+"/canaryConfig?application=shop", "", &list); len(list) != 2 {
		t.Errorf("application shop lists %+v, want the shop config and the native one", list)
	}
	if code := call(t, "DELETE", base+"/v1/canaryConfigs/native-latency", "", nil); code != 200 {
		t.Fatalf("DELETE native config: %d", code)
	}

	execute := func(canary string) (float64, string) {
		scope := func(name string) string {
			return fmt.Sprintf(`{"scope":%q,"location":"eu-west-1","step":60,"start":%q,"end":%q}`, name,
				start.Format(time.RFC3339), start.Add(39*time.Minute).Format(time.RFC3339))
		}
		body := fmt.Sprintf(`{"scopes":{"default":{"controlScope":%s,"experimentScope":%s}},"thresholds":{"pass":95,"marginal":75}}`, scope("base"), scope(canary))
		var started struct{ CanaryExecutionID string }
		path := fmt.Sprintf("%s/canary/%s?application=shop&metricsAccountName=prom&configurationAccountName=my-storage&storageAccountName=my-storage", base, created.CanaryConfigID)
		if code := kayentaCall(t, "POST", path, body, &started); code != 200 || started.CanaryExecutionID == "" {
			t.Fatalf("POST /canary: %d %+v", code, started)
		}
		deadline := time.Now().Add(15 * time.Second)
		for {
			var st struct {
				Complete bool
				Status   string
				Result   *struct {
					JudgeResult struct {
						Score struct {
							Score          float64
							Classification string
						}
						Results []struct{ Classification string }
					}
				}
				MetricSetPairListID string
			}
			if code := kayentaCall(t, "GET", base+"/canary/"+started.CanaryExecutionID, "", &st); code != 200 {
				t.Fatalf("GET /canary: %d", code)
			}
			if st.Complete {
				if st.Status != "succeeded" || st.Result == nil || st.MetricSetPairListID != started.CanaryExecutionID {
					t.Fatalf("complete execution %+v", st)
				}
				var pairs []struct {
					Name   string
					Values struct{ Control, Experiment []any }
				}
				if code := kayentaCall(t, "GET", base+"/metricSetPairList/"+st.MetricSetPairListID, "", &pairs); code != 200 || len(pairs) != 1 || len(pairs[0].Values.Control) != 40 {
					t.Errorf("metricSetPairList: %d %+v", code, pairs)
				}
				return st.Result.JudgeResult.Score.Score, st.Result.JudgeResult.Score.Classification
			}
			if st.Status != "not_started" && st.Status != "running" {
				t.Fatalf("incomplete execution with status %q", st.Status)
			}
			if time.Now().After(deadline) {
				t.Fatal("execution not complete after 15s")
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	if score, class := execute("good"); score != 100 || class != "Pass" {
		t.Errorf("good canary: %v %s", score, class)
	}
	if score, class := execute("bad"); score != 0 || class != "Fail" {
		t.Errorf("bad canary: %v %s", score, class)
	}
	// A hostile scope is escaped into the PromQL string: it matches no
	// series, and the critical metric fails.
	if score, _ := execute(`bad"} or checkout_latency_seconds{pod="good`); score != 0 {
		t.Errorf("hostile scope scored %v", score)
	}

	// Spinnaker with RemoteJudge-v1.0: Kayenta fetched, judge judges.
	dir := filepath.Join("..", "verdict", "testdata", "scenarios", "regression-high")
	cfgRaw, _ := os.ReadFile(filepath.Join(dir, "config.json"))
	dataRaw, _ := os.ReadFile(filepath.Join(dir, "data.json"))
	var judged struct {
		JudgeName string
		Score     struct {
			Score          float64
			Classification string
		}
		Results []struct{ Name, Classification string }
	}
	// Kayenta sends the config with the remote judge's name.
	remoteCfg := strings.Replace(string(cfgRaw), "NetflixACAJudge-v1.0", "RemoteJudge-v1.0", 1)
	if remoteCfg == string(cfgRaw) {
		t.Fatal("scenario config names no judge")
	}
	body := fmt.Sprintf(`{"canaryConfig":%s,"scoreThresholds":{"pass":95,"marginal":75},"metricSetPairList":%s}`, remoteCfg, dataRaw)
	// judgeName names the judge that ran: the default judge, whatever
	// judge the config names.
	before := failVerdicts(t, base)
	if code := kayentaCall(t, "POST", base+"/judge", body, &judged); code != 200 || judged.Score.Classification != "Fail" || len(judged.Results) != 2 ||
		judged.JudgeName != "default" {
		t.Errorf("POST /judge: %d %+v", code, judged)
	}
	// The remote judge's analysis is counted with the service's own.
	if after := failVerdicts(t, base); after != before+1 {
		t.Errorf("judge_verdicts_total{result=\"FAIL\"} went from %v to %v over one remote judgement, want +1", before, after)
	}

	var judges []struct{ Name string }
	if kayentaCall(t, "GET", base+"/judges", "", &judges); len(judges) == 0 || judges[0].Name != "NetflixACAJudge-v1.0" {
		t.Errorf("GET /judges: %+v", judges)
	}
	var creds []struct {
		Name, Type     string
		SupportedTypes []string
	}
	if kayentaCall(t, "GET", base+"/credentials", "", &creds); len(creds) != 1 || creds[0].Name != "prom" || creds[0].SupportedTypes[0] != "METRICS_STORE" {
		t.Errorf("GET /credentials: %+v", creds)
	}

	// Bad input: Kayenta-style 400 / 404 with a message, never 500.
	scopes := fmt.Sprintf(`{"scopes":{"default":{"controlScope":{"scope":"base","step":60,"start":%q,"end":%q},"experimentScope":{"scope":"good","step":60,"start":%q,"end":%q}}},"thresholds":{"pass":95,"marginal":75}}`,
		start.Format(time.RFC3339), start.Add(time.Hour).Format(time.RFC3339), start.Format(time.RFC3339), start.Add(time.Hour).Format(time.RFC3339))
	for _, tc := range []struct {
		method, path, body string
		want               int
		text               string
	}{
		{"POST", "/canary/no-such-config", scopes, 404, "no-such-config"},
		{"POST", "/canary/" + created.CanaryConfigID, `{"scopes":`, 400, "syntax error"},
		{"POST", "/canary/" + created.CanaryConfigID, `{"scopes":{}}`, 400, "no scopes"},
		{"POST", "/canary/" + created.CanaryConfigID, `{"scopes":{"default":{"controlScope":{"scope":"a"}}}}`, 400, "missing experimentScope or controlScope"},
		{"POST", "/canary/" + created.CanaryConfigID, `{"scopes":{"other":` + scopes[len(`{"scopes":{"default":`):], 400, `scope "default"`},
		{"POST", "/canary", `{"canaryConfig":{"name":"x"}}`, 400, "both required"},
		// Spinnaker and Argo compare the score with the thresholds
		// themselves: none, or both 0, would promote any canary.
		{"POST", "/canary/" + created.CanaryConfigID, strings.Replace(scopes, `"thresholds":{"pass":95,"marginal":75}`, `"thresholds":{"pass":0,"marginal":0}`, 1), 400, "promote every canary"},
		{"POST", "/canary/" + created.CanaryConfigID, strings.Replace(scopes, `,"thresholds":{"pass":95,"marginal":75}`, ``, 1), 400, "thresholds: required"},
		{"GET", "/canary/no-such-execution", "", 404, "no-such-execution"},
		{"GET", "/metricSetPairList/no-such-execution", "", 404, "no-such-execution"},
		{"POST", "/canaryConfig", config, 400, "already exists"},
		{"POST", "/canaryConfig", `[1,2]`, 400, "JSON object"},
		{"PUT", "/canaryConfig/nope", config, 404, "nope"},
		{"POST", "/judge", `{"canaryConfig":{"metrics":[]},"metricSetPairList":[]}`, 400, "no metrics"},
		{"POST", "/judge", `garbage`, 400, "RemoteJudgeRequest"},
	} {
		var msg struct{ Message string }
		if code := kayentaCall(t, tc.method, base+tc.path, tc.body, &msg); code != tc.want || !strings.Contains(msg.Message, tc.text) {
			t.Errorf("%s %s: %d %q, want %d naming %q", tc.method, tc.path, code, msg.Message, tc.want, tc.text)
		}
	}
	if code := kayentaCall(t, "DELETE", base+"/canaryConfig/"+created.CanaryConfigID, "", nil); code != 204 {
		t.Errorf("DELETE /canaryConfig: %d", code)
	}
}

// TestStandaloneCanaryAnalysis runs Kayenta's standalone canary analysis:
// three analyses over growing windows for a good canary (succeeded, thresholds
// met), and an early stop after the first analysis of a bad one.
func TestStandaloneCanaryAnalysis(t *testing.T) {
	start := time.Now().Add(-16 * time.Hour).Truncate(time.Hour).UTC()
	series := func(pod string, level float64, phase int) promtest.Series {
		s := promtest.Series{Name: "sa_latency_seconds", Labels: map[string]string{"pod": pod}}
		for i := range 40 {
			s.Samples = append(s.Samples, promtest.Sample{T: start.Add(time.Duration(i) * time.Minute), V: level * (1 + 0.05*math.Sin(float64(i+phase)*1.9))})
		}
		return s
	}
	url := promtest.Start(t, []promtest.Series{series("base", 0.2, 0), series("good", 0.2, 7), series("bad", 0.4, 0)})
	s := startServer(t, Config{Accounts: []metrics.Account{{Name: "prom", Type: "prometheus", URL: url}}})
	base := "http://" + s.Addr()
	config := `{"name":"sa","judge":{"name":"NetflixACAJudge-v1.0"},"metrics":[{"name":"latency","groups":["perf"],
		"query":{"type":"prometheus","customInlineTemplate":"PromQL:avg(sa_latency_seconds{pod=\"${scope}\"})"},
		"analysisConfigurations":{"canary":{"direction":"increase","critical":true}}}],"classifier":{"groupWeights":{"perf":100}}}`
	var created struct{ CanaryConfigID string }
	if code := kayentaCall(t, "POST", base+"/canaryConfig", config, &created); code != 200 {
		t.Fatalf("POST /canaryConfig: %d", code)
	}
	// No step: Kayenta's default of 60 s.
	request := func(canary string) string {
		return fmt.Sprintf(`{"scopes":[{"scopeName":"default","controlScope":"base","experimentScope":%q,"startTimeIso":%q}],
			"thresholds":{"pass":95,"marginal":75},"lifetimeDurationMins":39,"analysisIntervalMins":13}`, canary, start.Format(time.RFC3339))
	}
	run := func(canary string) standaloneStatus {
		var started struct{ CanaryAnalysisExecutionID string }
		if code := kayentaCall(t, "POST", base+"/standalone_canary_analysis/"+created.CanaryConfigID+"?metricsAccountName=prom&application=shop&user=ci&parentPipelineExecutionId=01P", request(canary), &started); code != 200 {
			t.Fatalf("POST /standalone_canary_analysis: %d", code)
		}
		var st standaloneStatus
		waitStandalone(t, base, started.CanaryAnalysisExecutionID, &st)
		return st
	}
	good := run("good")
	if good.ExecutionStatus != "SUCCEEDED" || good.Result == nil || !good.Result.DidPassThresholds || len(good.Result.CanaryExecutionResults) != 3 ||
		len(good.Result.CanaryScores) != 3 || good.Result.CanaryScores[2] != 100 {
		t.Errorf("good canary: %+v %+v", good, good.Result)
	} else if ends := good.Result.CanaryExecutionResults; ends[0].JudgementEndTimeIso >= ends[1].JudgementEndTimeIso || ends[1].JudgementEndTimeIso >= ends[2].JudgementEndTimeIso {
		t.Errorf("windows do not grow: %+v", ends)
	}
	// Each run as Kayenta's CanaryExecutionResult: its judge result, pair
	// list, warnings and times; the whole with Kayenta's status fields.
	if good.Result != nil && len(good.Result.CanaryExecutionResults) == 3 {
		for i, r := range good.Result.CanaryExecutionResults {
			if r.Result == nil || r.Result.JudgeResult.Score.Score != good.Result.CanaryScores[i] || r.MetricSetPairListID != r.ExecutionID ||
				r.Warnings == nil || r.JudgementStartTimeMillis != start.UnixMilli() || r.Result.CanaryDuration != fmt.Sprintf("PT%dM", 13*(i+1)) {
				t.Errorf("run %d: %+v %+v", i+1, r, r.Result)
			}
		}
		if good.Application != "shop" || good.User != "ci" || good.ParentPipelineExecutionID != "01P" || good.PipelineID == "" ||
			len(good.StageStatus) != 3 || good.StageStatus[2].Type != "runCanary" || good.StageStatus[2].Status != "SUCCEEDED" {
			t.Errorf("status fields: %+v", good)
		}
	}
	bad := run("bad")
	if bad.ExecutionStatus != "TERMINAL" || bad.Result == nil || bad.Result.DidPassThresholds || len(bad.Result.CanaryExecutionResults) != 1 ||
		!strings.Contains(bad.Result.CanaryScoreMessage, "Run 1 of 3 is FAIL") {
		t.Errorf("bad canary: %+v %+v", bad, bad.Result)
	}
	for _, tc := range []struct {
		method, path, body string
		want               int
	}{
		{"POST", "/standalone_canary_analysis/" + created.CanaryConfigID, `{"scopes":[]}`, 400},
		{"POST", "/standalone_canary_analysis/nope", request("good"), 404},
		{"POST", "/standalone_canary_analysis/" + created.CanaryConfigID, `{"scopes":[{"controlScope":"a","experimentScope":"b","step":60}]}`, 400},
		{"POST", "/standalone_canary_analysis", `{"executionRequest":{}}`, 400},
		{"GET", "/standalone_canary_analysis/nope", "", 404},
	} {
		var msg struct{ Message string }
		if code := kayentaCall(t, tc.method, base+tc.path, tc.body, &msg); code != tc.want || msg.Message == "" {
			t.Errorf("%s %s: %d %q, want %d", tc.method, tc.path, code, msg.Message, tc.want)
		}
	}
}

// TestStandaloneFollowsVerdict is the regression test for a standalone
// analysis that passed on a FAIL verdict: with the config's thresholds
// (pass 99, marginal 98) and one non-critical metric of 20 regressed, every
// run scores 95 and is FAIL. Judged by the score against 95/75, the
// analysis used to end SUCCEEDED; judged by the verdict, it ends TERMINAL
// at the first FAIL run. A cancel through PUT /pipelines/{id}/cancel ends a
// running analysis CANCELED and never passed.
func TestStandaloneFollowsVerdict(t *testing.T) {
	start := time.Now().Add(-16 * time.Hour).Truncate(time.Hour).UTC()
	series := func(name, pod string, level float64, phase int) promtest.Series {
		s := promtest.Series{Name: name, Labels: map[string]string{"pod": pod}}
		for i := range 40 {
			s.Samples = append(s.Samples, promtest.Sample{T: start.Add(time.Duration(i) * time.Minute), V: level * (1 + 0.05*math.Sin(float64(i+phase)*1.9))})
		}
		return s
	}
	url := promtest.Start(t, []promtest.Series{series("sv_steady", "base", 1, 0), series("sv_steady", "bad", 1, 7),
		series("sv_latency", "base", 0.2, 0), series("sv_latency", "bad", 0.4, 0)})
	s := startServer(t, Config{Accounts: []metrics.Account{{Name: "prom", Type: "prometheus", URL: url}}})
	base := "http://" + s.Addr()
	var ms []string
	for i := range 19 {
		ms = append(ms, fmt.Sprintf(`{"name":"steady%d","groups":["all"],"query":{"type":"prometheus","customInlineTemplate":"PromQL:avg(sv_steady{pod=\"${scope}\"})"},
			"analysisConfigurations":{"canary":{"direction":"either"}}}`, i))
	}
	ms = append(ms, `{"name":"latency","groups":["all"],"query":{"type":"prometheus","customInlineTemplate":"PromQL:avg(sv_latency{pod=\"${scope}\"})"},
		"analysisConfigurations":{"canary":{"direction":"increase"}}}`)
	config := `{"name":"strict","judge":{"name":"NetflixACAJudge-v1.0"},"metrics":[` + strings.Join(ms, ",") +
		`],"classifier":{"groupWeights":{"all":100},"scoreThresholds":{"pass":99,"marginal":98}}}`
	var created struct{ CanaryConfigID string }
	if code := kayentaCall(t, "POST", base+"/canaryConfig", config, &created); code != 200 {
		t.Fatalf("POST /canaryConfig: %d", code)
	}
	startRun := func(body string) string {
		var started struct{ CanaryAnalysisExecutionID string }
		if code := kayentaCall(t, "POST", base+"/standalone_canary_analysis/"+created.CanaryConfigID+"?metricsAccountName=prom", body, &started); code != 200 {
			t.Fatalf("POST /standalone_canary_analysis: %d", code)
		}
		return started.CanaryAnalysisExecutionID
	}
	wait := func(id string) standaloneStatus {
		var st standaloneStatus
		waitStandalone(t, base, id, &st)
		return st
	}
	// No thresholds in the request: the config's decide.
	st := wait(startRun(fmt.Sprintf(`{"scopes":[{"scopeName":"default","controlScope":"base","experimentScope":"bad","startTimeIso":%q,"step":60}],
		"lifetimeDurationMins":39,"analysisIntervalMins":13}`, start.Format(time.RFC3339))))
	// Each run tests at its share of the level over the three planned runs
	// (the early ones at a small share): the analysis ends TERMINAL at the
	// first run whose verdict is FAIL, scoring 95.
	if st.ExecutionStatus != "TERMINAL" || st.Result == nil || st.Result.DidPassThresholds || len(st.Result.CanaryScores) == 0 ||
		st.Result.CanaryScores[len(st.Result.CanaryScores)-1] != 95 || !strings.Contains(st.Result.CanaryScoreMessage, "is FAIL") {
		t.Errorf("score 95 under the config's pass 99, marginal 98: %+v %+v, want TERMINAL at the FAIL run", st, st.Result)
	}
	// The request's thresholds, when given, decide: 90/50 makes it PASS.
	st = wait(startRun(fmt.Sprintf(`{"scopes":[{"scopeName":"default","controlScope":"base","experimentScope":"bad","startTimeIso":%q,"step":60}],
		"thresholds":{"pass":90,"marginal":50},"lifetimeDurationMins":39,"analysisIntervalMins":13}`, start.Format(time.RFC3339))))
	if st.ExecutionStatus != "SUCCEEDED" || st.Result == nil || !st.Result.DidPassThresholds {
		t.Errorf("score 95 under the request's pass 90: %+v %+v, want SUCCEEDED", st, st.Result)
	}
	// Bad thresholds in the request are refused, naming the field.
	var msg struct{ Message string }
	if code := kayentaCall(t, "POST", base+"/standalone_canary_analysis/"+created.CanaryConfigID, `{"scopes":[{"controlScope":"base","experimentScope":"bad","step":60}],
		"thresholds":{"pass":50,"marginal":90},"lifetimeDurationMins":39}`, &msg); code != 400 || !strings.Contains(msg.Message, "thresholds") {
		t.Errorf("pass below marginal: %d %q", code, msg.Message)
	}
	// A run whose window ends in the future waits; a cancel ends it.
	id := startRun(`{"scopes":[{"scopeName":"default","controlScope":"base","experimentScope":"bad","step":60}],"lifetimeDurationMins":60,"analysisIntervalMins":30}`)
	if code := kayentaCall(t, "PUT", base+"/pipelines/"+id+"/cancel", "", nil); code != 202 {
		t.Fatalf("PUT /pipelines/{id}/cancel: %d, want 202", code)
	}
	if st := wait(id); st.ExecutionStatus != "CANCELED" || st.Result == nil || st.Result.DidPassThresholds {
		t.Errorf("cancelled: %+v %+v", st, st.Result)
	}
	if code := kayentaCall(t, "PUT", base+"/pipelines/nope/cancel", "", nil); code != 404 {
		t.Errorf("cancel of an unknown id: %d, want 404", code)
	}
}

// standaloneStatus is the part of a CanaryAnalysisExecutionStatusResponse
// the tests read.
type standaloneStatus struct {
	Complete                                bool
	ExecutionStatus                         string
	Application, User, PipelineID           string
	ParentPipelineExecutionID, CanaryConfig string
	StageStatus                             []struct{ Type, Name, Status, ExecutionID string }
	Result                                  *struct {
		DidPassThresholds      bool
		CanaryScoreMessage     string
		CanaryScores           []float64
		CanaryExecutionResults []struct {
			ExecutionID, ExecutionStatus string
			JudgementEndTimeIso          string
			JudgementStartTimeMillis     int64
			MetricSetPairListID          string
			Warnings                     []string
			Result                       *struct {
				JudgeResult    struct{ Score struct{ Score float64 } }
				CanaryDuration string
			}
		}
	} `json:"canaryAnalysisExecutionResult"`
}

// waitStandalone polls a standalone canary analysis until it is complete
// and decodes its final status into out.
func waitStandalone(t *testing.T, base, id string, out *standaloneStatus) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		var st struct{ Complete bool }
		if code := kayentaCall(t, "GET", base+"/standalone_canary_analysis/"+id, "", &st); code != 200 {
			t.Fatalf("GET /standalone_canary_analysis/%s: %d", id, code)
		}
		if st.Complete {
			kayentaCall(t, "GET", base+"/standalone_canary_analysis/"+id, "", out)
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("standalone analysis %s not complete after 30s", id)
		}
	}
}

// failVerdicts reads judge_verdicts_total{result="FAIL"} from /metrics (0
// before the first).
func failVerdicts(t *testing.T, base string) float64 {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	exported, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(exported), "\n") {
		if v, ok := strings.CutPrefix(line, `judge_verdicts_total{result="FAIL"} `); ok {
			f, _ := strconv.ParseFloat(v, 64)
			return f
		}
	}
	return 0
}
