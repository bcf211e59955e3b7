package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/canaryjudge/judge/auth"
	"github.com/canaryjudge/judge/backtest"
	judgev1 "github.com/canaryjudge/judge/proto/judge/v1"
	"github.com/canaryjudge/judge/protoconv"
	"github.com/canaryjudge/judge/server"
	"github.com/canaryjudge/judge/verdict"
)

// TestBacktestServer replays the analyses a judge server stored through
// judge backtest --server: with no candidate every recorded verdict is
// reproduced and labels become expected verdicts; a stricter candidate's
// changed verdicts are listed; a read token and an unreachable server
// exit 64 and 69.
func TestBacktestServer(t *testing.T) {
	tokens, err := auth.Parse("write:replay-write-0123456789\nread:replay-read-0123456789", "test")
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.Start(context.Background(), server.Config{Addr: "127.0.0.1:0", DataDir: t.TempDir(), Tokens: tokens},
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown(context.Background())
	dir := t.TempDir()
	writeToken, readToken := writeFile(t, dir, "write", "replay-write-0123456789"), writeFile(t, dir, "read", "replay-read-0123456789")
	ids := storeScenarios(t, srv.Addr(), "replay-write-0123456789", map[string]string{"regression-high": "regression", "aa-independent": "good", "weights-marginal": ""})

	base := []string{"backtest", "--server", srv.Addr(), "--token-file", writeToken}
	code, out, errOut := runJudge(t, "", append(base, "--output", "json")...)
	var report backtest.Report
	if err := json.Unmarshal([]byte(out), &report); code != 0 || err != nil || len(report.Judges) != 1 {
		t.Fatalf("replay: exit %d %v %s", code, err, errOut)
	}
	j := report.Judges[0]
	if j.Judge != JudgeRecorded || len(j.Cases) != len(ids) || j.Summary.Changed != 0 || j.Summary.Incidents != 1 || j.Summary.Detected != 1 ||
		j.Summary.Controls != 1 || j.Summary.FalseFails != 0 || j.Summary.Unlabelled != 1 || j.Summary.IncidentsPassed != 0 || j.Summary.ControlsPassed != 1 {
		t.Errorf("replay with the recorded configs: %+v", j.Summary)
	}
	for _, o := range j.Cases {
		if o.Recorded == nil || o.Recorded.Result != o.Result || o.Recorded.Score != o.Score {
			t.Errorf("%s: recorded %+v, replayed %s %v", o.ID, o.Recorded, o.Result, o.Score)
		}
	}

	// A candidate with a stricter pass threshold: the marginal analysis
	// changes, and the table says so.
	code, out, errOut = runJudge(t, "", append(base, "--pass", "100", "--marginal", "99")...)
	if code != 0 || !strings.Contains(out, "verdicts changed") || !strings.Contains(out, "RECORDED") || !strings.Contains(out, ids["weights-marginal"]) {
		t.Errorf("a stricter candidate: exit %d\n%s\n%s", code, out, errOut)
	}
	cand := filepath.Join(scenarios, "regression-high", "config.json")
	if code, out, errOut := runJudge(t, "", append(base, "--canary-config", cand, "--judge", "both", "--labelled-only", "--output", "json")...); code != 0 || strings.Count(out, `"judge": "`) < 2 {
		t.Errorf("a candidate config with both judges: exit %d %.300s %s", code, out, errOut)
	}

	if code, _, errOut := runJudge(t, "", "backtest", "--server", srv.Addr(), "--token-file", readToken); code != 64 || !strings.Contains(errOut, "token") {
		t.Errorf("a read token: exit %d %s, want 64", code, errOut)
	}
	if code, _, errOut := runJudge(t, "", "backtest", "--server", "127.0.0.1:1", "--token-file", writeToken); code != 69 {
		t.Errorf("no server: exit %d %s, want 69", code, errOut)
	}
	if code, _, errOut := runJudge(t, "", append(base, "--output", "html")...); code != 64 {
		t.Errorf("--output html: exit %d %s, want 64", code, errOut)
	}
	if code, _, errOut := runJudge(t, "", append(base, "--since", "-1h")...); code != 64 || !strings.Contains(errOut, "--since") {
		t.Errorf("--since -1h: exit %d %s, want 64", code, errOut)
	}
}

// storeScenarios stores one asynchronous analysis per shipped scenario on
// the server, waits for each, labels it (an empty label leaves it
// unlabelled) and returns the ids by scenario.
func storeScenarios(t *testing.T, addr, token string, labels map[string]string) map[string]string {
	t.Helper()
	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithPerRPCCredentials(bearer{token: token}))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	client := judgev1.NewJudgeServiceClient(cc)
	ctx := context.Background()
	ids := map[string]string{}
	for scenario, label := range labels {
		dir := filepath.Join(scenarios, scenario)
		cfgs, _ := filepath.Glob(filepath.Join(dir, "config.*"))
		rawCfg, _ := os.ReadFile(cfgs[0]) //nolint:gosec // a shipped scenario
		body, err := configStruct(rawCfg)
		if err != nil {
			t.Fatal(err)
		}
		rawData, _ := os.ReadFile(filepath.Join(dir, "data.json")) //nolint:gosec // a shipped scenario
		pairs, err := verdict.ParseMetricSetPairList(rawData, scenario)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := client.CreateAnalysis(ctx, &judgev1.CreateAnalysisRequest{Spec: &judgev1.AnalysisSpec{
			Config: &judgev1.AnalysisSpec_CanaryConfig{CanaryConfig: body}, Metrics: protoconv.PairsToProto(pairs)}})
		if err != nil {
			t.Fatal(err)
		}
		id := resp.GetAnalysis().GetId()
		for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			got, err := client.GetAnalysis(ctx, &judgev1.GetAnalysisRequest{Id: id})
			if err != nil || got.GetAnalysis().GetStatus() == judgev1.AnalysisStatus_ANALYSIS_STATUS_FAILED || time.Now().After(deadline) {
				t.Fatalf("%s: %v %v", scenario, err, got)
			}
			if got.GetAnalysis().GetStatus() == judgev1.AnalysisStatus_ANALYSIS_STATUS_SUCCEEDED {
				break
			}
		}
		if label != "" {
			if _, err := client.LabelAnalysis(ctx, &judgev1.LabelAnalysisRequest{Id: id, Label: label}); err != nil {
				t.Fatal(err)
			}
		}
		ids[scenario] = id
	}
	return ids
}

// TestConfigValidateServer validates a config as a judge server stores it:
// a Kayenta config stored by name is valid and its differences from Kayenta
// are listed; a name the server does not have exits 65.
func TestConfigValidateServer(t *testing.T) {
	srv, err := server.Start(context.Background(), server.Config{Addr: "127.0.0.1:0", DataDir: t.TempDir()}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown(context.Background())
	raw, _ := os.ReadFile(filepath.Join(scenarios, "kayenta-426-issue-data", "config.json")) //nolint:gosec // a shipped scenario
	body, err := configStruct(raw)
	if err != nil {
		t.Fatal(err)
	}
	cc, err := grpc.NewClient(srv.Addr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	if _, err := judgev1.NewJudgeServiceClient(cc).PutCanaryConfig(context.Background(), &judgev1.PutCanaryConfigRequest{Name: "issue426", Config: body}); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runJudge(t, "", "config", "validate", "--server", srv.Addr(), "issue426")
	if code != 0 || !strings.Contains(out, "issue426 on "+srv.Addr()+": valid") || !strings.Contains(out, "differences from Kayenta:") {
		t.Errorf("stored config: exit %d\n%s%s", code, out, errOut)
	}
	if code, _, errOut := runJudge(t, "", "config", "validate", "--server", srv.Addr(), "nope"); code != 65 || !strings.Contains(errOut, "nope") {
		t.Errorf("an unknown name: exit %d %s, want 65 naming it", code, errOut)
	}
}
