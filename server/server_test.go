package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/canaryjudge/judge/kayenta"
	judgev1 "github.com/canaryjudge/judge/proto/judge/v1"
	"github.com/canaryjudge/judge/store"
	"github.com/canaryjudge/judge/store/pgtest"
	"github.com/canaryjudge/judge/verdict"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Run(m)) }

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func startServer(t *testing.T, cfg Config) *Server {
	t.Helper()
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:0"
	}
	if cfg.DataDir == "" && cfg.DatabaseURL == "" {
		cfg.DataDir = t.TempDir()
	}
	if cfg.Lease == 0 {
		cfg.Lease = time.Second
	}
	if cfg.Poll == 0 {
		cfg.Poll = 50 * time.Millisecond
	}
	s, err := Start(context.Background(), cfg, quiet)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Shutdown(context.Background()) })
	return s
}

// call sends a JSON request and decodes the JSON answer into out (if not nil).
func call(t *testing.T, method, url, body string, out any) int {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("%s %s: answer is not JSON (%v): %s", method, url, err, raw)
		}
	}
	return resp.StatusCode
}

const inlineConfig = `{"name":"svc","metrics":[{"name":"latency","groups":["perf"],"direction":"increase","critical":true},{"name":"errors","groups":["errors"],"direction":"increase"}]}`

func analyzeBody(canaryShift float64) string {
	var control, canary []string
	for i := range 40 {
		v := 100 + float64((i*37)%23)
		control = append(control, fmt.Sprint(v))
		canary = append(canary, fmt.Sprint(v+canaryShift))
	}
	series := func(s []string) string { return "[" + strings.Join(s, ",") + "]" }
	return fmt.Sprintf(`{"spec":{"canary_config":%s,"metrics":[
		{"name":"latency","control":%s,"experiment":%s},
		{"name":"errors","control":%s,"experiment":%s}]}}`,
		inlineConfig, series(control), series(canary), series(control), series(control))
}

func TestHTTPAnalyze(t *testing.T) {
	s := startServer(t, Config{})
	base := "http://" + s.Addr()

	var ok struct {
		Verdict struct {
			Result  string  `json:"result"`
			Score   float64 `json:"score"`
			Metrics []struct {
				Name           string   `json:"name"`
				Classification string   `json:"classification"`
				PValue         *float64 `json:"p_value"`
			} `json:"metrics"`
		} `json:"verdict"`
	}
	if code := call(t, "POST", base+"/v1/analyze", analyzeBody(50), &ok); code != 200 {
		t.Fatalf("status %d", code)
	}
	if ok.Verdict.Result != "FAIL" || ok.Verdict.Metrics[0].Classification != "HIGH" || ok.Verdict.Metrics[0].PValue == nil {
		t.Errorf("verdict %+v, want FAIL with latency HIGH", ok.Verdict)
	}
	// A score of 0 is sent, not left out as proto3 JSON would by default.
	var raw struct {
		Verdict map[string]any `json:"verdict"`
	}
	if call(t, "POST", base+"/v1/analyze", analyzeBody(50), &raw); raw.Verdict["score"] != 0.0 {
		t.Errorf("score field %v, want 0 present", raw.Verdict["score"])
	}
	if code := call(t, "POST", base+"/v1/analyze", analyzeBody(0), &ok); code != 200 || ok.Verdict.Result != "PASS" || ok.Verdict.Score != 100 {
		t.Errorf("unchanged canary: status %d verdict %+v", code, ok.Verdict)
	}
}

func TestHTTPBadInput(t *testing.T) {
	s := startServer(t, Config{Limits: Limits{MaxRequestBytes: 64 << 10, MaxMetrics: 3, MaxPoints: 50}})
	base := "http://" + s.Addr()
	many := make([]string, 60)
	for i := range many {
		many[i] = "1"
	}
	tests := map[string]struct {
		method, path, body string
		wantCode           int
		wantText           string
	}{
		"malformed JSON":   {"POST", "/v1/analyze", `{"spec":`, 400, ""},
		"trailing data":    {"POST", "/v1/analyze", analyzeBody(20) + ` {"spec":{"judge":"kayenta"}}`, 400, ""},
		"unknown field":    {"POST", "/v1/analyze", `{"spec":{"bogus":1}}`, 400, "bogus"},
		"no spec":          {"POST", "/v1/analyze", `{}`, 400, "spec"},
		"no metrics":       {"POST", "/v1/analyze", `{"spec":{"canary_config":` + inlineConfig + `}}`, 400, "spec.metrics"},
		"no config":        {"POST", "/v1/analyze", `{"spec":{"metrics":[{"name":"a","control":[1],"experiment":[1]}]}}`, 400, "canary_config"},
		"bad config":       {"POST", "/v1/analyze", `{"spec":{"canary_config":{"metrics":[{"name":"a","groups":["g"],"direction":"up"}]},"metrics":[{"name":"a","control":[1],"experiment":[1]}]}}`, 400, "metrics[0] (a).direction"},
		"unknown metric":   {"POST", "/v1/analyze", `{"spec":{"canary_config":` + inlineConfig + `,"metrics":[{"name":"zzz","control":[1],"experiment":[1]}]}}`, 400, "zzz"},
		"duplicate metric": {"POST", "/v1/analyze", `{"spec":{"canary_config":` + inlineConfig + `,"metrics":[{"name":"latency"},{"name":"latency"}]}}`, 400, "spec.metrics[1].name"},
		"unnamed metric":   {"POST", "/v1/analyze", `{"spec":{"canary_config":` + inlineConfig + `,"metrics":[{"control":[1]}]}}`, 400, "spec.metrics[0].name"},
		"too many metrics": {"POST", "/v1/analyze", `{"spec":{"canary_config":` + inlineConfig + `,"metrics":[{"name":"a"},{"name":"b"},{"name":"c"},{"name":"d"}]}}`, 400, "limit of 3"},
		"too many points":  {"POST", "/v1/analyze", `{"spec":{"canary_config":` + inlineConfig + `,"metrics":[{"name":"latency","control":[` + strings.Join(many, ",") + `]}]}}`, 400, "spec.metrics[0] (latency).control"},
		"bad judge":        {"POST", "/v1/analyze", `{"spec":{"canary_config":` + inlineConfig + `,"judge":"oracle","metrics":[{"name":"latency","control":[1],"experiment":[1]}]}}`, 400, "spec.judge"},
		"bad thresholds":   {"POST", "/v1/analyze", `{"spec":{"canary_config":` + inlineConfig + `,"thresholds":{"pass":10,"marginal":90},"metrics":[{"name":"latency","control":[1],"experiment":[1]}]}}`, 400, "spec.thresholds"},
		"scopes":           {"POST", "/v1/analyze", `{"spec":{"canary_config":` + inlineConfig + `,"scopes":{"default":{"control_scope":{"scope":"a"}}}}}`, 400, "no metrics account"},
		"stored missing":   {"POST", "/v1/analyze", `{"spec":{"canary_config_name":"ghost","metrics":[{"name":"a","control":[1],"experiment":[1]}]}}`, 404, "ghost"},
		"huge body":        {"POST", "/v1/analyze", `{"spec":{"judge":"` + strings.Repeat("x", 70<<10) + `"}}`, 413, "limit of 65536 bytes"},
		"unknown analysis": {"GET", "/v1/analyses/nope", "", 404, "nope"},
		"bad page token":   {"GET", "/v1/analyses?page_token=zzz", "", 400, "page token"},
		"bad page size":    {"GET", "/v1/canaryConfigs?page_size=5000", "", 400, "page_size"},
		"bad config name":  {"PUT", "/v1/canaryConfigs/bad%20name", `{"config":{}}`, 400, "name"},
		"invalid stored":   {"PUT", "/v1/canaryConfigs/x", `{"config":{"metrics":[]}}`, 400, "no metrics"},
		"delete missing":   {"DELETE", "/v1/canaryConfigs/ghost", "", 404, "ghost"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var body struct {
				Code    int    `json:"code"`
				Message string `json:"message"`
			}
			code := call(t, tc.method, base+tc.path, tc.body, &body)
			if code != tc.wantCode {
				t.Errorf("status %d, want %d (%q)", code, tc.wantCode, body.Message)
			}
			if body.Message == "" || !strings.Contains(body.Message, tc.wantText) {
				t.Errorf("message %q does not name %q", body.Message, tc.wantText)
			}
		})
	}
	// Nothing above broke the server or its data.
	if code := call(t, "GET", base+"/readyz", "", nil); code != 200 {
		t.Errorf("readyz %d after bad input", code)
	}
}

func TestHTTPConfigsAndAsyncAnalyses(t *testing.T) {
	s := startServer(t, Config{})
	base := "http://" + s.Addr()
	var put struct {
		CanaryConfig struct {
			Name    string `json:"name"`
			Version string `json:"version"`
		} `json:"canary_config"`
	}
	for want := 1; want <= 2; want++ {
		if code := call(t, "PUT", base+"/v1/canaryConfigs/svc", `{"config":`+inlineConfig+`}`, &put); code != 200 || put.CanaryConfig.Version != fmt.Sprint(want) {
			t.Fatalf("put: %d %+v", code, put)
		}
	}
	var list struct {
		CanaryConfigs []struct{ Name string } `json:"canary_configs"`
	}
	if call(t, "GET", base+"/v1/canaryConfigs", "", &list); len(list.CanaryConfigs) != 1 || list.CanaryConfigs[0].Name != "svc" {
		t.Errorf("list %+v", list)
	}
	// Every version, newest first, each with its body.
	var versions struct {
		Versions []struct {
			Version string         `json:"version"`
			Config  map[string]any `json:"config"`
		} `json:"versions"`
	}
	if code := call(t, "GET", base+"/v1/canaryConfigs/svc/versions", "", &versions); code != 200 || len(versions.Versions) != 2 ||
		versions.Versions[0].Version != "2" || versions.Versions[1].Version != "1" || versions.Versions[1].Config["metrics"] == nil {
		t.Errorf("versions: %d %+v", code, versions)
	}
	if code := call(t, "GET", base+"/v1/canaryConfigs/nosuch/versions", "", nil); code != 404 {
		t.Errorf("versions of a missing config: %d, want 404", code)
	}

	body := strings.Replace(analyzeBody(50), `"canary_config":`+inlineConfig, `"canary_config_name":"svc"`, 1)
	var created struct {
		Analysis struct {
			ID     string `json:"id"`
			Status string `json:"status"`
		} `json:"analysis"`
	}
	if code := call(t, "POST", base+"/v1/analyses", body, &created); code != 200 || created.Analysis.ID == "" {
		t.Fatalf("create: %d %+v", code, created)
	}
	var got struct {
		Analysis struct {
			Status           string `json:"status"`
			CanaryConfigName string `json:"canary_config_name"`
			Verdict          struct {
				Result string `json:"result"`
			} `json:"verdict"`
		} `json:"analysis"`
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		call(t, "GET", base+"/v1/analyses/"+created.Analysis.ID, "", &got)
		if got.Analysis.Status == "ANALYSIS_STATUS_SUCCEEDED" {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got.Analysis.Status != "ANALYSIS_STATUS_SUCCEEDED" || got.Analysis.Verdict.Result != "FAIL" || got.Analysis.CanaryConfigName != "svc" {
		t.Fatalf("analysis %+v", got.Analysis)
	}
	// The analysis keeps the config it was created with.
	if code := call(t, "DELETE", base+"/v1/canaryConfigs/svc", "", nil); code != 200 {
		t.Fatalf("delete %d", code)
	}
	var filtered struct {
		Analyses []struct{ ID string } `json:"analyses"`
	}
	call(t, "GET", base+"/v1/analyses?status=ANALYSIS_STATUS_SUCCEEDED&canary_config_name=svc", "", &filtered)
	if len(filtered.Analyses) != 1 || filtered.Analyses[0].ID != created.Analysis.ID {
		t.Errorf("filtered list %+v", filtered)
	}
	var cancelled struct {
		Analysis struct{ Status string } `json:"analysis"`
	}
	if call(t, "POST", base+"/v1/analyses/"+created.Analysis.ID+":cancel", `{}`, &cancelled); cancelled.Analysis.Status != "ANALYSIS_STATUS_SUCCEEDED" {
		t.Errorf("cancelling a finished analysis changed it: %+v", cancelled)
	}

	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`judge_requests_total{code="200",method="POST /v1/analyses",protocol="http"} 1`,
		`judge_verdicts_total{result="FAIL"} 1`,
		`judge_async_analyses_total{outcome="succeeded"} 1`,
		`judge_analysis_duration_seconds_count 1`,
	} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	resp, err = http.Get(base + "/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	doc, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !bytes.Contains(doc, []byte(`"/v1/analyze"`)) {
		t.Errorf("openapi.json lacks the analyze route")
	}
}

func grpcClient(t *testing.T, addr string) judgev1.JudgeServiceClient {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return judgev1.NewJudgeServiceClient(conn)
}

// TestGRPCSharedAndSplitPorts runs Analyze and WatchAnalysis over gRPC, on
// the HTTP port and on a port of its own.
func TestGRPCSharedAndSplitPorts(t *testing.T) {
	for name, cfg := range map[string]Config{"shared": {}, "split": {GRPCAddr: "127.0.0.1:0"}} {
		t.Run(name, func(t *testing.T) {
			s := startServer(t, cfg)
			client := grpcClient(t, s.GRPCAddr())
			var req judgev1.AnalyzeRequest
			if err := protojson.Unmarshal([]byte(analyzeBody(50)), &req); err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			resp, err := client.Analyze(ctx, &req)
			if err != nil || resp.GetVerdict().GetResult() != "FAIL" {
				t.Fatalf("Analyze: %v %v", resp, err)
			}
			_, err = client.GetAnalysis(ctx, &judgev1.GetAnalysisRequest{Id: "nope"})
			if status.Code(err) != codes.NotFound {
				t.Errorf("GetAnalysis(nope) = %v, want NotFound", err)
			}
			_, err = client.Analyze(ctx, &judgev1.AnalyzeRequest{})
			if status.Code(err) != codes.InvalidArgument {
				t.Errorf("empty Analyze = %v, want InvalidArgument", err)
			}
			created, err := client.CreateAnalysis(ctx, &judgev1.CreateAnalysisRequest{Spec: req.GetSpec()})
			if err != nil {
				t.Fatal(err)
			}
			stream, err := client.WatchAnalysis(ctx, &judgev1.WatchAnalysisRequest{Id: created.GetAnalysis().GetId()})
			if err != nil {
				t.Fatal(err)
			}
			var last *judgev1.Analysis
			for {
				msg, err := stream.Recv()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				last = msg.GetAnalysis()
			}
			if last.GetStatus() != judgev1.AnalysisStatus_ANALYSIS_STATUS_SUCCEEDED || last.GetVerdict().GetResult() != "FAIL" {
				t.Errorf("watch ended with %v", last)
			}
		})
	}
}

// TestRestartResumesAnalyses stores analyses as a server that stopped would
// leave them (one pending, one claimed by a worker that died) and checks that
// a server started on the same data directory runs both.
func TestRestartResumesAnalyses(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	st, err := store.Open(ctx, "", dir)
	if err != nil {
		t.Fatal(err)
	}
	var req judgev1.AnalyzeRequest
	if err := protojson.Unmarshal([]byte(analyzeBody(50)), &req); err != nil {
		t.Fatal(err)
	}
	spec, _ := protojson.Marshal(req.GetSpec())
	pending, _ := st.CreateAnalysis(ctx, "svc", "", "", spec)
	interrupted, _ := st.CreateAnalysis(ctx, "svc", "", "", spec)
	if _, err := st.Claim(ctx, "dead-replica", 100*time.Millisecond, 3); err != nil {
		t.Fatal(err)
	}
	st.Close()

	s := startServer(t, Config{DataDir: dir})
	client := grpcClient(t, s.Addr())
	for _, a := range []store.Analysis{pending, interrupted} {
		got := waitFinal(t, client, a.ID)
		if got.GetStatus() != judgev1.AnalysisStatus_ANALYSIS_STATUS_SUCCEEDED {
			t.Errorf("analysis %s ended %v (%s)", a.ID, got.GetStatus(), got.GetError())
		}
	}
}

func waitFinal(t *testing.T, client judgev1.JudgeServiceClient, id string) *judgev1.Analysis {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := client.GetAnalysis(context.Background(), &judgev1.GetAnalysisRequest{Id: id})
		if err != nil {
			t.Fatal(err)
		}
		switch resp.GetAnalysis().GetStatus() {
		case judgev1.AnalysisStatus_ANALYSIS_STATUS_SUCCEEDED, judgev1.AnalysisStatus_ANALYSIS_STATUS_FAILED, judgev1.AnalysisStatus_ANALYSIS_STATUS_CANCELED:
			return resp.GetAnalysis()
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("analysis %s did not finish", id)
	return nil
}

// TestTwoReplicasOnPostgres runs two replicas on one PostgreSQL database:
// they share configs and analyses, every analysis runs exactly once, and an
// analysis left running by a dead replica is finished by a live one.
func TestTwoReplicasOnPostgres(t *testing.T) {
	url := pgtest.NewDatabase(t)
	ctx := context.Background()
	var req judgev1.AnalyzeRequest
	if err := protojson.Unmarshal([]byte(analyzeBody(50)), &req); err != nil {
		t.Fatal(err)
	}

	// A replica that died while running an analysis left it claimed.
	st, err := store.Open(ctx, url, "")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := protojson.Marshal(req.GetSpec())
	orphan, _ := st.CreateAnalysis(ctx, "svc", "", "", raw)
	if c, err := st.Claim(ctx, "dead-replica", 300*time.Millisecond, 3); err != nil || c.ID != orphan.ID {
		t.Fatalf("claim orphan: %v %v", c, err)
	}
	st.Close()

	a := startServer(t, Config{DatabaseURL: url, Workers: 3})
	b := startServer(t, Config{DatabaseURL: url, Workers: 3})
	ca, cb := grpcClient(t, a.Addr()), grpcClient(t, b.Addr())

	cfg := &judgev1.PutCanaryConfigRequest{Name: "svc"}
	cfg.Config = req.GetSpec().GetCanaryConfig()
	if _, err := ca.PutCanaryConfig(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	got, err := cb.GetCanaryConfig(ctx, &judgev1.GetCanaryConfigRequest{Name: "svc"})
	if err != nil || got.GetCanaryConfig().GetVersion() != 1 {
		t.Fatalf("replica b reads %v, %v", got, err)
	}

	spec := &judgev1.AnalysisSpec{
		Config:  &judgev1.AnalysisSpec_CanaryConfigName{CanaryConfigName: "svc"},
		Metrics: req.GetSpec().GetMetrics(),
	}
	ran := func(s *Server) bool {
		resp, err := http.Get("http://" + s.Addr() + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return strings.Contains(string(body), `judge_async_analyses_total{outcome="succeeded"}`)
	}
	// Rounds of 30 analyses, created through both replicas, until both
	// replicas have run one: on a loaded machine one replica's workers can
	// drain a round while the other's sleep between polls.
	var ids []string
	for round := 0; round == 0 || (!ran(a) || !ran(b)) && round < 10; round++ {
		for i := range 30 {
			client := ca
			if i%2 == 1 {
				client = cb
			}
			resp, err := client.CreateAnalysis(ctx, &judgev1.CreateAnalysisRequest{Spec: spec})
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, resp.GetAnalysis().GetId())
		}
		for _, id := range ids[len(ids)-30:] {
			an := waitFinal(t, ca, id)
			if an.GetStatus() != judgev1.AnalysisStatus_ANALYSIS_STATUS_SUCCEEDED || an.GetVerdict().GetResult() != "FAIL" {
				t.Errorf("analysis %s: %v %s", id, an.GetStatus(), an.GetError())
			}
		}
	}
	an := waitFinal(t, cb, orphan.ID)
	if an.GetStatus() != judgev1.AnalysisStatus_ANALYSIS_STATUS_SUCCEEDED || an.GetAttempts() != 2 {
		t.Errorf("orphaned analysis: %v after %d attempts", an.GetStatus(), an.GetAttempts())
	}
	for _, id := range ids {
		resp, _ := cb.GetAnalysis(ctx, &judgev1.GetAnalysisRequest{Id: id})
		if n := resp.GetAnalysis().GetAttempts(); n != 1 {
			t.Errorf("analysis %s ran %d times, want exactly once", id, n)
		}
	}
	// Both replicas did work.
	for name, s := range map[string]*Server{"a": a, "b": b} {
		if !ran(s) {
			t.Errorf("replica %s ran no analysis in %d analyses", name, len(ids))
		}
	}
}

// TestVerdictMatchesEngine checks that the service returns the verdict
// engine's own result for a shipped scenario.
func TestVerdictMatchesEngine(t *testing.T) {
	dir := "../verdict/testdata/scenarios/weights-marginal"
	rawCfg, _ := os.ReadFile(filepath.Join(dir, "config.json"))
	rawData, _ := os.ReadFile(filepath.Join(dir, "data.json"))
	cfg, err := kayenta.ParseConfig(rawCfg, "config.json")
	if err != nil {
		t.Fatal(err)
	}
	pairs, err := verdict.ParseMetricSetPairList(rawData, "data.json")
	if err != nil {
		t.Fatal(err)
	}
	want, err := verdict.Analyze(cfg, pairs, verdict.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var metrics []string
	for _, p := range pairs {
		c, _ := json.Marshal(p.Values.Control)
		e, _ := json.Marshal(p.Values.Experiment)
		metrics = append(metrics, fmt.Sprintf(`{"name":%q,"control":%s,"experiment":%s}`, p.Name, c, e))
	}
	body := fmt.Sprintf(`{"spec":{"canary_config":%s,"metrics":[%s]}}`, rawCfg, strings.Join(metrics, ","))
	s := startServer(t, Config{})
	var got struct {
		Verdict struct {
			Result string  `json:"result"`
			Score  float64 `json:"score"`
		} `json:"verdict"`
	}
	if code := call(t, "POST", "http://"+s.Addr()+"/v1/analyze", body, &got); code != 200 {
		t.Fatalf("status %d", code)
	}
	if verdict.Outcome(got.Verdict.Result) != want.Result || got.Verdict.Score != want.Score {
		t.Errorf("service says %s %.2f, engine %s %.2f", got.Verdict.Result, got.Verdict.Score, want.Result, want.Score)
	}
}

// TestShutdownKeepsAcceptedAnalyses creates analyses and shuts the server
// down at once, as SIGTERM does; a server restarted on the same data
// directory finishes every one of them.
func TestShutdownKeepsAcceptedAnalyses(t *testing.T) {
	dir := t.TempDir()
	first, err := Start(context.Background(), Config{Addr: "127.0.0.1:0", DataDir: dir, Poll: time.Hour}, quiet)
	if err != nil {
		t.Fatal(err)
	}
	client := grpcClient(t, first.Addr())
	var req judgev1.AnalyzeRequest
	if err := protojson.Unmarshal([]byte(analyzeBody(50)), &req); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for range 5 {
		resp, err := client.CreateAnalysis(context.Background(), &judgev1.CreateAnalysisRequest{Spec: req.GetSpec()})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, resp.GetAnalysis().GetId())
	}
	if err := first.Shutdown(context.Background()); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	second := startServer(t, Config{DataDir: dir})
	client = grpcClient(t, second.Addr())
	for _, id := range ids {
		if a := waitFinal(t, client, id); a.GetStatus() != judgev1.AnalysisStatus_ANALYSIS_STATUS_SUCCEEDED {
			t.Errorf("analysis %s ended %v", id, a.GetStatus())
		}
	}
}

// TestDatabaseDown checks that a database that cannot be reached is
// UNAVAILABLE (HTTP 503), not a 500, and that /readyz says so. The server
// reaches PostgreSQL through a TCP proxy that the test then shuts.
func TestDatabaseDown(t *testing.T) {
	dbURL := pgtest.NewDatabase(t)
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := newTCPProxy(t, u.Host)
	u.Host = proxy.addr()
	s := startServer(t, Config{DatabaseURL: u.String()})
	base := "http://" + s.Addr()
	if code := call(t, "GET", base+"/v1/canaryConfigs", "", nil); code != http.StatusOK {
		t.Fatalf("before the outage: status %d", code)
	}
	proxy.shut()
	var body struct{ Message string }
	if code := call(t, "GET", base+"/v1/canaryConfigs/svc", "", &body); code != http.StatusServiceUnavailable {
		t.Errorf("status %d (%q), want 503", code, body.Message)
	}
	if strings.Contains(body.Message, "127.0.0.1") {
		t.Errorf("message %q leaks the database address", body.Message)
	}
	if code := call(t, "GET", base+"/readyz", "", nil); code != http.StatusServiceUnavailable {
		t.Errorf("readyz %d, want 503", code)
	}
}

// tcpProxy forwards connections to a target until shut, then refuses them.
type tcpProxy struct {
	ln    net.Listener
	mu    sync.Mutex
	conns []net.Conn
	down  bool
}

func newTCPProxy(t *testing.T, target string) *tcpProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &tcpProxy{ln: ln}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.mu.Lock()
			down := p.down
			p.mu.Unlock()
			if down {
				c.Close()
				continue
			}
			up, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, up)
			p.mu.Unlock()
			go func() { io.Copy(up, c); up.Close() }()
			go func() { io.Copy(c, up); c.Close() }()
		}
	}()
	t.Cleanup(p.shut)
	return p
}

func (p *tcpProxy) addr() string { return p.ln.Addr().String() }

// pause drops every connection and refuses new ones until resume.
func (p *tcpProxy) pause() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = true
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

func (p *tcpProxy) resume() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = false
}

func (p *tcpProxy) shut() {
	p.ln.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}
