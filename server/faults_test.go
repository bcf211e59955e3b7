package server

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"

	judgev1 "github.com/canaryjudge/judge/proto/judge/v1"
	"github.com/canaryjudge/judge/store"
	"github.com/canaryjudge/judge/store/pgtest"
)

// poison panics while judging any analysis whose config is named "poison".
func poison(_ context.Context, spec *judgev1.AnalysisSpec) {
	if spec.GetCanaryConfig().GetFields()["name"].GetStringValue() == "poison" {
		panic("poisoned analysis")
	}
}

var poisonBody = strings.Replace(analyzeBody(0), `"name":"svc"`, `"name":"poison"`, 1)

func metricsText(t *testing.T, base string) string {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// TestPoisonPill checks that a panic while judging fails that request or
// analysis with "internal error", is counted, and leaves the server (and
// the other analyses) running.
func TestPoisonPill(t *testing.T) {
	t.Parallel()
	s := startServer(t, Config{beforeJudge: poison})
	base := "http://" + s.Addr()

	var failed struct {
		Message string `json:"message"`
	}
	if code := call(t, "POST", base+"/v1/analyze", poisonBody, &failed); code != 500 || failed.Message != "internal error" {
		t.Errorf("poisoned analyze: %d %q, want 500 internal error", code, failed.Message)
	}
	conn, err := grpc.NewClient(s.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	req := &judgev1.AnalyzeRequest{}
	if err := protojson.Unmarshal([]byte(poisonBody), req); err != nil {
		t.Fatal(err)
	}
	if _, err := judgev1.NewJudgeServiceClient(conn).Analyze(context.Background(), req); status.Code(err) != codes.Internal ||
		strings.Contains(err.Error(), "poisoned") {
		t.Errorf("poisoned gRPC analyze: %v", err)
	}

	var created struct {
		Analysis struct{ ID string } `json:"analysis"`
	}
	call(t, "POST", base+"/v1/analyses", poisonBody, &created)
	var good struct {
		Analysis struct{ ID string } `json:"analysis"`
	}
	call(t, "POST", base+"/v1/analyses", analyzeBody(0), &good)
	for id, want := range map[string]string{created.Analysis.ID: "ANALYSIS_STATUS_FAILED", good.Analysis.ID: "ANALYSIS_STATUS_SUCCEEDED"} {
		a := waitFinalHTTP(t, base, id)
		if a.Status != want {
			t.Errorf("analysis %s: %s (%s), want %s", id, a.Status, a.Error, want)
		}
		if want == "ANALYSIS_STATUS_FAILED" && (a.Error != "internal error" || a.Attempts != 1) {
			t.Errorf("poisoned analysis error %q after %d attempts, want internal error after 1", a.Error, a.Attempts)
		}
	}
	m := metricsText(t, base)
	for _, want := range []string{`judge_panics_total 3`, `judge_requests_total{code="500",method="POST /v1/analyze",protocol="http"} 1`,
		`judge_requests_total{code="Internal",method="/judge.v1.JudgeService/Analyze",protocol="grpc"} 1`} {
		if !strings.Contains(m, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

type analysisView struct {
	ID       string `json:"id"`
	Status   string `json:"status"`
	Error    string `json:"error"`
	Attempts int    `json:"attempts"`
	Verdict  *struct {
		Result string  `json:"result"`
		Score  float64 `json:"score"`
	} `json:"verdict"`
}

func waitFinalHTTP(t *testing.T, base, id string) analysisView {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		var got struct {
			Analysis analysisView `json:"analysis"`
		}
		call(t, "GET", base+"/v1/analyses/"+id, "", &got)
		switch got.Analysis.Status {
		case "ANALYSIS_STATUS_SUCCEEDED", "ANALYSIS_STATUS_FAILED", "ANALYSIS_STATUS_CANCELED":
			return got.Analysis
		}
		if time.Now().After(deadline) {
			t.Fatalf("analysis %s still %s", id, got.Analysis.Status)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestCancelStopsJudging checks that cancelling a running analysis cancels
// the context its judging runs under (through the lease renewal).
func TestCancelStopsJudging(t *testing.T) {
	t.Parallel()
	var sawCancel atomic.Bool
	started := make(chan struct{}, 1)
	slow := func(ctx context.Context, spec *judgev1.AnalysisSpec) {
		if spec.GetCanaryConfig().GetFields()["name"].GetStringValue() != "slow" {
			return
		}
		started <- struct{}{}
		select {
		case <-ctx.Done():
			sawCancel.Store(true)
		case <-time.After(10 * time.Second):
		}
	}
	s := startServer(t, Config{beforeJudge: slow, Lease: 600 * time.Millisecond})
	base := "http://" + s.Addr()
	var created struct {
		Analysis struct{ ID string } `json:"analysis"`
	}
	call(t, "POST", base+"/v1/analyses", strings.Replace(analyzeBody(0), `"name":"svc"`, `"name":"slow"`, 1), &created)
	select {
	case <-started:
	case <-time.After(10 * time.Second):
		t.Fatal("analysis never started")
	}
	call(t, "POST", base+"/v1/analyses/"+created.Analysis.ID+":cancel", `{}`, nil)
	deadline := time.Now().Add(5 * time.Second)
	for !sawCancel.Load() {
		if time.Now().After(deadline) {
			t.Fatal("judging context not cancelled within 5s of the cancel")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if a := waitFinalHTTP(t, base, created.Analysis.ID); a.Status != "ANALYSIS_STATUS_CANCELED" {
		t.Errorf("status %s after cancel", a.Status)
	}
}

// TestSubmissionValidation checks that CreateAnalysis rejects at submission
// what Analyze rejects, and that empty thresholds mean the defaults.
func TestSubmissionValidation(t *testing.T) {
	t.Parallel()
	s := startServer(t, Config{})
	base := "http://" + s.Addr()
	bad := map[string]struct{ body, want string }{
		"NaN thresholds":  {strings.Replace(analyzeBody(0), `{"spec":{`, `{"spec":{"thresholds":{"pass":"NaN","marginal":10},`, 1), "spec.thresholds.pass"},
		"inf thresholds":  {strings.Replace(analyzeBody(0), `{"spec":{`, `{"spec":{"thresholds":{"pass":90,"marginal":"-Infinity"},`, 1), "spec.thresholds.marginal"},
		"unknown metric":  {strings.Replace(analyzeBody(0), `"name":"errors","control"`, `"name":"ghost","control"`, 1), `"ghost" is not a metric`},
		"above 100":       {strings.Replace(analyzeBody(0), `{"spec":{`, `{"spec":{"thresholds":{"pass":101,"marginal":10},`, 1), "spec.thresholds.pass"},
		"marginal > pass": {strings.Replace(analyzeBody(0), `{"spec":{`, `{"spec":{"thresholds":{"pass":50,"marginal":60},`, 1), "spec.thresholds.marginal"},
	}
	for name, tc := range bad {
		for _, path := range []string{"/v1/analyze", "/v1/analyses"} {
			var body struct {
				Message string `json:"message"`
			}
			if code := call(t, "POST", base+path, tc.body, &body); code != 400 || !strings.Contains(body.Message, tc.want) {
				t.Errorf("%s %s: %d %q, want 400 naming %s", name, path, code, body.Message, tc.want)
			}
		}
	}
	// An empty thresholds object means the defaults: a critical regression
	// is FAIL, never PASS.
	var ok struct {
		Verdict struct {
			Result     string `json:"result"`
			Thresholds struct {
				Pass     float64 `json:"pass"`
				Marginal float64 `json:"marginal"`
			} `json:"thresholds"`
		} `json:"verdict"`
	}
	body := strings.Replace(analyzeBody(50), `{"spec":{`, `{"spec":{"thresholds":{},`, 1)
	if code := call(t, "POST", base+"/v1/analyze", body, &ok); code != 200 || ok.Verdict.Result != "FAIL" ||
		ok.Verdict.Thresholds.Pass != 95 || ok.Verdict.Thresholds.Marginal != 75 {
		t.Errorf("empty thresholds: %d %+v", code, ok.Verdict)
	}
	// Errors name JSON kinds, never Go types.
	var msg struct {
		Message string `json:"message"`
	}
	call(t, "POST", base+"/v1/analyze", `{"spec":{"canary_config":{"metrics":{"a":1}},"metrics":[{"name":"a","control":[1],"experiment":[1]}]}}`, &msg)
	if strings.Contains(msg.Message, "json.RawMessage") || strings.Contains(msg.Message, "[]") || strings.Contains(msg.Message, "verdict.") {
		t.Errorf("error leaks Go types: %q", msg.Message)
	}
}

// TestRetentionSweep checks that finished analyses are deleted after the
// retention and pending ones are kept.
func TestRetentionSweep(t *testing.T) {
	t.Parallel()
	s := startServer(t, Config{Retention: 300 * time.Millisecond, RetentionInterval: 100 * time.Millisecond})
	base := "http://" + s.Addr()
	var created struct {
		Analysis struct{ ID string } `json:"analysis"`
	}
	call(t, "POST", base+"/v1/analyses", analyzeBody(0), &created)
	waitFinalHTTP(t, base, created.Analysis.ID)
	deadline := time.Now().Add(5 * time.Second)
	for call(t, "GET", base+"/v1/analyses/"+created.Analysis.ID, "", nil) != 404 {
		if time.Now().After(deadline) {
			t.Fatal("finished analysis not deleted after its retention")
		}
		time.Sleep(50 * time.Millisecond)
	}
	_ = fmt.Sprint()
}

// TestShutdownHonoursTimeout checks that a shutdown returns within its
// timeout even while an analysis is still being judged, abandoning it to be
// claimed again (it is left running with its lease, not failed).
func TestShutdownHonoursTimeout(t *testing.T) {
	t.Parallel()
	started := make(chan struct{}, 1)
	stuck := func(ctx context.Context, spec *judgev1.AnalysisSpec) {
		if spec.GetCanaryConfig().GetFields()["name"].GetStringValue() != "stuck" {
			return
		}
		started <- struct{}{}
		<-ctx.Done()
	}
	dir := t.TempDir()
	s, err := Start(context.Background(), Config{Addr: "127.0.0.1:0", DataDir: dir, Lease: time.Minute, Poll: 20 * time.Millisecond,
		ShutdownTimeout: 300 * time.Millisecond, beforeJudge: stuck}, quiet)
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + s.Addr()
	var created struct {
		Analysis struct{ ID string } `json:"analysis"`
	}
	call(t, "POST", base+"/v1/analyses", strings.Replace(analyzeBody(0), `"name":"svc"`, `"name":"stuck"`, 1), &created)
	select {
	case <-started:
	case <-time.After(10 * time.Second):
		t.Fatal("analysis never started")
	}
	begin := time.Now()
	if err := s.Shutdown(context.Background()); err != nil {
		t.Errorf("shutdown: %v", err)
	}
	if d := time.Since(begin); d > 3*time.Second {
		t.Errorf("shutdown took %v with a 300ms timeout", d)
	}
	st, err := store.Open(context.Background(), "", dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	a, err := st.GetAnalysis(context.Background(), created.Analysis.ID)
	if err != nil || a.Status != store.StatusRunning || a.Verdict != nil {
		t.Errorf("abandoned analysis %+v %v, want still running for another claim", a.Status, err)
	}
}

// TestLeaseThroughOutages runs analyses on PostgreSQL through a proxy that
// goes down while they are judged: an outage shorter than the lease is
// ridden out by retried renewals (the analysis succeeds at its first
// attempt); one longer than the lease cancels the judging, and the analysis
// is claimed again and succeeds at its second attempt.
func TestLeaseThroughOutages(t *testing.T) {
	u, err := url.Parse(pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	proxy := newTCPProxy(t, u.Host)
	u.Host = proxy.addr()
	var calls atomic.Int32
	started := make(chan struct{}, 4)
	var cancelled atomic.Bool
	slow := func(ctx context.Context, spec *judgev1.AnalysisSpec) {
		if spec.GetCanaryConfig().GetFields()["name"].GetStringValue() != "slow" || calls.Add(1) > 2 {
			return
		}
		started <- struct{}{}
		select {
		case <-ctx.Done():
			cancelled.Store(true)
		case <-time.After(3500 * time.Millisecond):
		}
	}
	s := startServer(t, Config{DatabaseURL: u.String(), Lease: 3 * time.Second, Workers: 1, beforeJudge: slow})
	base := "http://" + s.Addr()
	body := strings.Replace(analyzeBody(0), `"name":"svc"`, `"name":"slow"`, 1)

	for _, tc := range []struct {
		name         string
		outage       time.Duration
		wantAttempts int
	}{
		{"shorter than the lease", 1500 * time.Millisecond, 1},
		{"longer than the lease", 5 * time.Second, 2},
	} {
		cancelled.Store(false)
		var created struct {
			Analysis struct{ ID string } `json:"analysis"`
		}
		call(t, "POST", base+"/v1/analyses", body, &created)
		select {
		case <-started:
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: analysis never started", tc.name)
		}
		time.Sleep(200 * time.Millisecond)
		proxy.pause()
		time.Sleep(tc.outage)
		proxy.resume()
		a := waitFinalHTTP(t, base, created.Analysis.ID)
		if a.Status != "ANALYSIS_STATUS_SUCCEEDED" || a.Attempts != tc.wantAttempts {
			t.Errorf("%s: %s (%s) after %d attempts, want succeeded after %d", tc.name, a.Status, a.Error, a.Attempts, tc.wantAttempts)
		}
		if got := cancelled.Load(); got != (tc.wantAttempts > 1) {
			t.Errorf("%s: judging cancelled = %v", tc.name, got)
		}
	}
}
