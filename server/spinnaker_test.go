package server

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/canaryjudge/judge/metrics"
)

// rawCall sends a request and returns the status and the raw answer.
func rawCall(t *testing.T, method, url, body string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, raw
}

// mustMeet fails the test for every violation of the contract type of v.
func mustMeet(t *testing.T, what string, raw []byte, v any) {
	t.Helper()
	for _, e := range checkContract(raw, v) {
		t.Errorf("%s: %s", what, e)
	}
}

// orcaPromotes is what Orca's canary stage decides from an execution's
// status with the stage's thresholds: MonitorKayentaCanaryTask ends the
// run TERMINAL when the execution halted or its score (an Int) is at or
// below marginal, and AggregateCanaryResultsTask fails a final score below
// pass (spinnaker/orca@2fdb327a9f67345c4919e1503ff5119fa3c31caf,
// orca-kayenta/.../tasks/MonitorKayentaCanaryTask.kt and
// AggregateCanaryResultsTask.kt).
func orcaPromotes(raw []byte, pass, marginal int) (done, promoted bool) {
	var r struct {
		Status string
		Result *struct {
			JudgeResult struct{ Score struct{ Score float64 } }
		}
	}
	if json.Unmarshal(raw, &r) != nil {
		return true, false
	}
	switch strings.ToUpper(r.Status) {
	case "SUCCEEDED":
		if r.Result == nil {
			return true, false // result!! throws: the stage fails
		}
		score := int(r.Result.JudgeResult.Score.Score) // Jackson truncates to Int
		return true, score > marginal && score >= pass
	case "CANCELED", "TERMINAL", "STOPPED", "FAILED_CONTINUE", "SKIPPED":
		return true, false
	}
	return false, false
}

// TestSpinnakerContract drives judge's Kayenta routes with the exact
// requests Spinnaker sends — Orca's kayenta stage (resolve the config by
// name and application, start, poll until complete, read the score and
// the credentials, cancel) and Gate for Deck's canary report (execution,
// metric set pair list, executions list, metric picker) — against a real
// Prometheus, and checks every answer strictly against the clients' own
// types (contract_test.go). Orca's decision must follow judge's verdict.
func TestSpinnakerContract(t *testing.T) {
	url, start := checkoutPrometheus(t)
	// A peer that never answers keeps one execution running, to cancel it.
	release := make(chan struct{})
	hung := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(hung.Close)
	t.Cleanup(func() { close(release) }) // before hung.Close, which waits for its handlers
	s := startServer(t, Config{Accounts: []metrics.Account{{Name: "prom", Type: "prometheus", URL: url},
		{Name: "slow", Type: "prometheus", URL: hung.URL, Timeout: 30 * time.Second, Retries: 1}}})
	base := "http://" + s.Addr()

	// Deck creates the config (through Gate's POST /v2/canaryConfig).
	var created struct{ CanaryConfigID string }
	if code := kayentaCall(t, "POST", base+"/canaryConfig", checkoutConfig, &created); code != 200 || created.CanaryConfigID == "" {
		t.Fatalf("POST /canaryConfig: %d %+v", code, created)
	}

	// A config in judge's native format, stored through /v1, names its
	// applications too, and Orca finds it by name and application.
	native := `{"config":{"name":"checkout-native","applications":["shop"],"metrics":[{"name":"latency","groups":["perf"],"direction":"increase",
		"query":{"prometheus":"avg(checkout_latency_seconds{pod=\"${scope}\"})"}}]}}`
	if code := call(t, "PUT", base+"/v1/canaryConfigs/checkout-native", native, nil); code != 200 {
		t.Fatalf("PUT native config: %d", code)
	}

	// Orca's ResolveKayentaConfigIdTask: GET /canaryConfig, the one config
	// of that name listing the pipeline's application.
	code, raw := rawCall(t, "GET", base+"/canaryConfig", "")
	mustMeet(t, "GET /canaryConfig", raw, []orcaCanaryConfig{})
	var configs []orcaCanaryConfig
	_ = json.Unmarshal(raw, &configs)
	var ids []string
	for _, c := range configs {
		if c.Name == "checkout" && slices.Contains(c.Applications, "shop") {
			ids = append(ids, c.ID)
		}
	}
	if code != 200 || len(ids) != 1 || ids[0] != created.CanaryConfigID {
		t.Fatalf("Orca resolves config ids %v (%d), want [%s]", ids, code, created.CanaryConfigID)
	}
	if !slices.ContainsFunc(configs, func(c orcaCanaryConfig) bool {
		return c.ID == "checkout-native" && c.Name == "checkout-native" && slices.Equal(c.Applications, []string{"shop"})
	}) {
		t.Errorf("the native config is not listed with its name and application: %+v", configs)
	}

	// Orca's RunKayentaCanaryTask: the request as OrcaObjectMapper writes
	// it (Instants as ISO strings, nulls left out, siteLocal).
	startExecution := func(canary, account, parent string) string {
		t.Helper()
		scope := func(name string) string {
			return fmt.Sprintf(`{"scope":%q,"location":"eu-west-1","start":%q,"end":%q,"step":60,"extendedScopeParams":{}}`, name,
				start.Format(time.RFC3339), start.Add(39*time.Minute).Format(time.RFC3339))
		}
		body := fmt.Sprintf(`{"scopes":{"default":{"controlScope":%s,"experimentScope":%s}},"thresholds":{"pass":95,"marginal":75},"siteLocal":{}}`,
			scope("base"), scope(canary))
		path := fmt.Sprintf("%s/canary/%s?application=shop&parentPipelineExecutionId=%s&metricsAccountName=%s&configurationAccountName=cfgstore&storageAccountName=objstore",
			base, ids[0], parent, account)
		code, raw := rawCall(t, "POST", path, body)
		var started map[string]any
		_ = json.Unmarshal(raw, &started)
		id, ok := started["canaryExecutionId"].(string) // Orca: ["canaryExecutionId"] as String
		if code != 200 || !ok || id == "" {
			t.Fatalf("POST /canary/{id}: %d %s", code, raw)
		}
		return id
	}
	// Orca's MonitorKayentaCanaryTask: poll until complete.
	poll := func(id string) []byte {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			code, raw := rawCall(t, "GET", base+"/canary/"+id+"?storageAccountName=objstore", "")
			if code != 200 {
				t.Fatalf("GET /canary/%s: %d %s", id, code, raw)
			}
			mustMeet(t, "Orca CanaryResults", raw, orcaCanaryResults{})
			mustMeet(t, "Kayenta CanaryExecutionStatusResponse", raw, kayentaStatusResponse{})
			mustMeet(t, "Deck ICanaryExecutionStatusResult", raw, deckExecution{})
			if done, _ := orcaPromotes(raw, 95, 75); done || time.Now().After(deadline) {
				return raw
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	verdictOf := func(id string) string {
		var a struct {
			Analysis struct{ Verdict struct{ Result string } }
		}
		if code := call(t, "GET", base+"/v1/analyses/"+id, "", &a); code != 200 {
			t.Fatalf("GET /v1/analyses/%s: %d", id, code)
		}
		return a.Analysis.Verdict.Result
	}

	executions := map[string]string{}
	for _, tc := range []struct {
		canary, verdict string
		promoted        bool
	}{{"good", "PASS", true}, {"bad", "FAIL", false}} {
		id := startExecution(tc.canary, "prom", "01J-parent-"+tc.canary)
		executions[tc.canary] = id
		raw := poll(id)
		if _, promoted := orcaPromotes(raw, 95, 75); promoted != tc.promoted || verdictOf(id) != tc.verdict {
			t.Errorf("%s canary: Orca promotes %v on verdict %s, want %v on %s: %s", tc.canary, promoted, verdictOf(id), tc.promoted, tc.verdict, raw)
		}
		var st struct {
			Application, ParentPipelineExecutionID, PipelineID, CanaryConfigID string
			MetricsAccountName, StorageAccountName, ConfigurationAccountName   string
			MetricSetPairListID, Status                                        string
			StageStatus                                                        map[string]string
			Result                                                             struct{ CanaryDuration string }
			CanaryExecutionRequest                                             struct {
				Thresholds struct{ Pass, Marginal float64 }
			}
			Config struct{ Name string }
		}
		_ = json.Unmarshal(raw, &st)
		want := map[string]string{"application": "shop", "parentPipelineExecutionId": "01J-parent-" + tc.canary, "pipelineId": id,
			"canaryConfigId": ids[0], "metricsAccountName": "prom", "storageAccountName": "objstore", "configurationAccountName": "cfgstore",
			"canaryDuration": "PT39M", "status": "succeeded", "config.name": "checkout", "metricSetPairListId": id}
		got := map[string]string{"application": st.Application, "parentPipelineExecutionId": st.ParentPipelineExecutionID, "pipelineId": st.PipelineID,
			"canaryConfigId": st.CanaryConfigID, "metricsAccountName": st.MetricsAccountName, "storageAccountName": st.StorageAccountName,
			"configurationAccountName": st.ConfigurationAccountName, "canaryDuration": st.Result.CanaryDuration, "status": st.Status,
			"config.name": st.Config.Name, "metricSetPairListId": st.MetricSetPairListID}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("%s canary: %s = %q, want %q", tc.canary, k, got[k], v)
			}
		}
		for _, stage := range []string{"setupContext", "fetchControl0", "fetchExperiment0", "mixMetrics", "judge"} {
			if st.StageStatus[stage] != "succeeded" {
				t.Errorf("%s canary: stageStatus %v, want %s succeeded", tc.canary, st.StageStatus, stage)
			}
		}
		if th := st.CanaryExecutionRequest.Thresholds; th.Pass != 95 || th.Marginal != 75 {
			t.Errorf("%s canary: canaryExecutionRequest.thresholds %+v", tc.canary, th)
		}

		// Deck's report: the metric set pair list, each result's pair by id.
		code, pairsRaw := rawCall(t, "GET", base+"/metricSetPairList/"+st.MetricSetPairListID+"?accountName=objstore", "")
		if code != 200 {
			t.Fatalf("GET /metricSetPairList: %d %s", code, pairsRaw)
		}
		mustMeet(t, "Deck IMetricSetPair[]", pairsRaw, []deckMetricSetPair{})
		var pairs []struct {
			ID         string
			Attributes map[string]map[string]string
			Scopes     map[string]struct{ StartTimeIso string }
		}
		var results struct {
			Result struct {
				JudgeResult struct{ Results []struct{ ID string } }
			}
		}
		_ = json.Unmarshal(pairsRaw, &pairs)
		_ = json.Unmarshal(raw, &results)
		for _, r := range results.Result.JudgeResult.Results {
			i := slices.IndexFunc(pairs, func(p struct {
				ID         string
				Attributes map[string]map[string]string
				Scopes     map[string]struct{ StartTimeIso string }
			}) bool {
				return p.ID == r.ID
			})
			if r.ID == "" || i < 0 {
				t.Errorf("%s canary: result id %q has no pair (pairs %s)", tc.canary, r.ID, pairsRaw)
				continue
			}
			p := pairs[i]
			if !strings.Contains(p.Attributes["control"]["query"], `pod="base"`) || !strings.Contains(p.Attributes["experiment"]["query"], `pod="`+tc.canary+`"`) {
				t.Errorf("%s canary: attributes %v, want the rendered queries", tc.canary, p.Attributes)
			}
			if p.Scopes["control"].StartTimeIso != start.Format(time.RFC3339) || p.Scopes["experiment"].StartTimeIso != start.Format(time.RFC3339) {
				t.Errorf("%s canary: scopes %v, want both starting %s", tc.canary, p.Scopes, start.Format(time.RFC3339))
			}
		}
	}

	// Orca reads the credentials for its warning on short series.
	code, raw = rawCall(t, "GET", base+"/credentials", "")
	mustMeet(t, "Orca KayentaCredential[]", raw, []orcaCredential{})
	var creds []orcaCredential
	_ = json.Unmarshal(raw, &creds)
	if code != 200 || !slices.Contains(creds, orcaCredential{Name: "prom", Type: "prometheus"}) {
		t.Errorf("GET /credentials: %d %s", code, raw)
	}

	// Orca's cancel (RunCanaryPipelineStage.cancel): PUT with body "".
	// The execution on the silent source is running; cancelled, it halts
	// and is never promoted.
	slow := startExecution("good", "slow", "01J-parent-cancel")
	if code, raw := rawCall(t, "PUT", base+"/pipelines/"+slow+"/cancel", `""`); code != http.StatusAccepted {
		t.Fatalf("PUT /pipelines/{id}/cancel: %d %s", code, raw)
	}
	raw = poll(slow)
	if done, promoted := orcaPromotes(raw, 95, 75); !done || promoted || !strings.Contains(string(raw), `"status":"canceled"`) {
		t.Errorf("cancelled execution: done %v promoted %v: %s", done, promoted, raw)
	}

	// Deck's list (Gate's GET /v2/canaries/{application}/executions).
	list := func(query string) (int, []string) {
		t.Helper()
		code, raw := rawCall(t, "GET", base+"/canary/executions?"+query, "")
		if code != 200 {
			return code, nil
		}
		mustMeet(t, "Deck ICanaryExecutionStatusResult[] ("+query+")", raw, []deckExecution{})
		var got []struct{ PipelineID string }
		_ = json.Unmarshal(raw, &got)
		var out []string
		for _, e := range got {
			out = append(out, e.PipelineID)
		}
		return code, out
	}
	for _, tc := range []struct {
		query string
		want  []string
	}{
		{"application=shop&limit=20&page=1", []string{slow, executions["bad"], executions["good"]}},
		{"application=shop&statuses=SUCCEEDED", []string{executions["bad"], executions["good"]}},
		{"application=shop&statuses=canceled,TERMINAL", []string{slow}},
		{"application=shop&limit=1&page=2", []string{executions["bad"]}},
		{"application=shop&statuses=PAUSED", nil},
		{"application=other", nil},
		{"", nil}, // ad-hoc executions: none here
	} {
		if code, got := list(tc.query); code != 200 || !slices.Equal(got, tc.want) {
			t.Errorf("GET /canary/executions?%s: %d %v, want %v", tc.query, code, got, tc.want)
		}
	}
	for _, q := range []string{"statuses=BOGUS", "limit=0", "page=-1", "limit=abc", "limit=10000&page=2"} {
		if code, _ := list(q); code != 400 {
			t.Errorf("GET /canary/executions?%s: %d, want 400", q, code)
		}
	}

	// Deck's metric picker (Gate's GET /v2/canaries/metadata/metricsService).
	code, raw = rawCall(t, "GET", base+"/metadata/metricsService?filter=LATENCY&metricsAccountName=prom", "")
	if code != 200 || string(raw) != `[{"name":"checkout_latency_seconds"}]` {
		t.Errorf("GET /metadata/metricsService: %d %s", code, raw)
	}
	code, raw = rawCall(t, "GET", base+"/metadata/metricsService?filter=nothing-like-it", "")
	if code != 200 || string(raw) != `[]` {
		t.Errorf("GET /metadata/metricsService, no match: %d %s", code, raw)
	}
	code, raw = rawCall(t, "GET", base+"/metadata/metricsService?metricsAccountName=prod", "")
	if code != 400 || !strings.Contains(string(raw), "prom (prometheus)") {
		t.Errorf("GET /metadata/metricsService of an unknown account: %d %s", code, raw)
	}

	// An unknown metrics account is refused, naming the known ones, before
	// anything runs (Kayenta: "Unable to resolve account").
	body := fmt.Sprintf(`{"scopes":{"default":{"controlScope":{"scope":"base","start":%q,"end":%q,"step":60},"experimentScope":{"scope":"good","start":%q,"end":%q,"step":60}}},"thresholds":{"pass":95,"marginal":75}}`,
		start.Format(time.RFC3339), start.Add(39*time.Minute).Format(time.RFC3339), start.Format(time.RFC3339), start.Add(39*time.Minute).Format(time.RFC3339))
	code, raw = rawCall(t, "POST", base+"/canary/"+ids[0]+"?application=shop&metricsAccountName=prod", body)
	if code != 400 || !strings.Contains(string(raw), `metrics account \"prod\" is not configured`) || !strings.Contains(string(raw), "prom (prometheus)") {
		t.Errorf("POST /canary with an unknown account: %d %s", code, raw)
	}
}
