package e2e

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/argoproj/argo-rollouts/metricproviders/plugin"
	"github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	"github.com/argoproj/argo-rollouts/utils/config"
	"github.com/argoproj/argo-rollouts/utils/defaults"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/canaryjudge/judge/auth"
	"github.com/canaryjudge/judge/metrics"
	"github.com/canaryjudge/judge/server"
)

// TestArgoMetricPlugin runs judge's metric provider plugin
// (argoplugin/, built here) through Argo Rollouts' own plugin client
// (metricproviders/plugin: the plugin found through the controller's
// ConfigMap, started and called over hashicorp/go-plugin's RPC) against a
// live judge serve with authentication on and no route opened, fetching
// from a real Prometheus: Successful, Inconclusive and Failed for PASS,
// MARGINAL and FAIL data, Error for an analysis that cannot run, and a
// terminated measurement whose judge analysis is cancelled.
func TestArgoMetricPlugin(t *testing.T) {
	f := newFixture(t)
	// A second judge, with authentication on: the plugin reads its write
	// token from a file (in a cluster, a Secret).
	tokens, err := auth.Parse("write:plugin-token-0123456789\n", "tokens")
	if err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	hung := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(hung.Close)
	t.Cleanup(func() { close(release) }) // before hung.Close, which waits for its handlers
	srv, err := server.Start(context.Background(), server.Config{
		Addr: "127.0.0.1:0", DataDir: t.TempDir(), Poll: 20 * time.Millisecond, Tokens: tokens,
		Accounts: []metrics.Account{{Name: "prod-prom", Type: "prometheus", URL: f.prom},
			{Name: "silent", Type: "prometheus", URL: hung.URL, Timeout: 30 * time.Second, Retries: 1}},
	}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Shutdown(context.Background()) })
	base := "http://" + srv.Addr()
	req, _ := http.NewRequest("PUT", base+"/v1/canaryConfigs/checkout", strings.NewReader(f.nativeConfig))
	req.Header.Set("Authorization", "Bearer plugin-token-0123456789")
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
		t.Fatalf("put config: %v %v", err, resp)
	}

	// Argo finds plugins under ./plugin-bin/<namespace>/<name>, named in
	// its ConfigMap.
	dir := t.TempDir()
	bin := filepath.Join(dir, defaults.DefaultRolloutPluginFolder, "canaryjudge", "judge")
	if built := os.Getenv("JUDGE_ARGO_PLUGIN"); built != "" { // make argo-plugin
		raw, err := os.ReadFile(built)
		if err != nil {
			t.Fatalf("JUDGE_ARGO_PLUGIN: %v", err)
		}
		if err := os.MkdirAll(filepath.Dir(bin), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(bin, raw, 0o755); err != nil { //nolint:gosec // an executable
			t.Fatal(err)
		}
	} else {
		build := exec.Command("go", "build", "-o", bin, ".")
		build.Dir = filepath.Join("..", "argoplugin")
		if out, err := build.CombinedOutput(); err != nil {
			t.Fatalf("build the plugin: %v\n%s", err, out)
		}
	}
	t.Chdir(dir)
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: defaults.DefaultRolloutsConfigMapName, Namespace: defaults.Namespace()},
		Data: map[string]string{"metricProviderPlugins": "- name: canaryjudge/judge\n  location: file://" + bin + "\n"}}
	if _, err := config.InitializeConfig(fake.NewSimpleClientset(cm), defaults.DefaultRolloutsConfigMapName); err != nil {
		t.Fatal(err)
	}
	tokenFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokenFile, []byte("plugin-token-0123456789\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	metric := func(canary, account string) v1alpha1.Metric {
		cfg, _ := json.Marshal(map[string]any{"address": base, "token": map[string]string{"file": tokenFile}, "config": "checkout",
			"baseline": "base", "canary": canary, "window": "39m", "end": f.end.Format(time.RFC3339), "step": 60, "metricsAccount": account})
		return v1alpha1.Metric{Name: "judge", Provider: v1alpha1.MetricProvider{Plugin: map[string]json.RawMessage{"canaryjudge/judge": cfg}}}
	}
	for i, tc := range []struct {
		canary, account string
		want            v1alpha1.AnalysisPhase
		result          string
	}{
		{"good", "prod-prom", v1alpha1.AnalysisPhaseSuccessful, "PASS"},
		{"half", "prod-prom", v1alpha1.AnalysisPhaseInconclusive, "MARGINAL"},
		{"bad", "prod-prom", v1alpha1.AnalysisPhaseFailed, "FAIL"},
		{"good", "no-such-account", v1alpha1.AnalysisPhaseError, ""},
	} {
		// Each case is its own AnalysisRun: one measurement, a sequence
		// of one look.
		run := &v1alpha1.AnalysisRun{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "checkout-7d9f-" + strconv.Itoa(i), UID: types.UID("uid-" + strconv.Itoa(i))}}
		m := metric(tc.canary, tc.account)
		provider, err := plugin.NewRpcPlugin(m)
		if err != nil {
			t.Fatalf("Argo's plugin client: %v", err)
		}
		meas := provider.Run(run, m)
		deadline := time.Now().Add(30 * time.Second)
		for meas.Phase == v1alpha1.AnalysisPhaseRunning && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
			meas = provider.Resume(run, m, meas)
		}
		if meas.Phase != tc.want || meas.Metadata["result"] != tc.result {
			t.Errorf("%s via %s: %s %q (%s), want %s %q", tc.canary, tc.account, meas.Phase, meas.Metadata["result"], meas.Message, tc.want, tc.result)
			continue
		}
		if tc.result == "" {
			if !strings.Contains(meas.Message, "no-such-account") {
				t.Errorf("error measurement %q does not name the account", meas.Message)
			}
			continue
		}
		if !strings.HasPrefix(meas.Metadata["reportUrl"], base+"/ui/analyses/") || meas.Metadata["analysisId"] == "" {
			t.Errorf("%s: metadata %v, want the analysis id and report URL", tc.canary, meas.Metadata)
		}
		if tc.result == "FAIL" && !strings.Contains(meas.Metadata["failedMetrics"], "latency") {
			t.Errorf("%s: failedMetrics %q, want latency", tc.canary, meas.Metadata["failedMetrics"])
		}
		if md := provider.GetMetadata(m); md["config"] != "checkout" {
			t.Errorf("GetMetadata: %v", md)
		}
		if meas.Metadata["look"] != "1/1 "+map[string]string{"PASS": "pass", "MARGINAL": "fail", "FAIL": "fail"}[tc.result] {
			t.Errorf("%s: look %q, want the only look of one", tc.canary, meas.Metadata["look"])
		}
	}

	// Three measurements of one metric (count 3) are one sequence of three
	// looks, numbered by judge: the first decides nothing at its small share
	// of the level (CONTINUE, a Successful measurement that is no verdict),
	// the second establishes the regression, and the third fails for it
	// even on good data.
	seqRun := &v1alpha1.AnalysisRun{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "checkout-seq", UID: "uid-seq"}}
	count := intstr.FromInt32(3)
	for k, tc := range []struct {
		canary string
		want   v1alpha1.AnalysisPhase
		look   string
	}{
		{"good", v1alpha1.AnalysisPhaseSuccessful, "1/3 continue"},
		{"bad", v1alpha1.AnalysisPhaseFailed, "2/3 fail"},
		{"good", v1alpha1.AnalysisPhaseFailed, ""},
	} {
		m := metric(tc.canary, "prod-prom")
		m.Count, m.Interval = &count, "1m"
		provider, err := plugin.NewRpcPlugin(m)
		if err != nil {
			t.Fatal(err)
		}
		meas := provider.Run(seqRun, m)
		deadline := time.Now().Add(30 * time.Second)
		for meas.Phase == v1alpha1.AnalysisPhaseRunning && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
			meas = provider.Resume(seqRun, m, meas)
		}
		if meas.Phase != tc.want || meas.Metadata["look"] != tc.look && tc.look != "" {
			t.Errorf("measurement %d (%s): %s, look %q (%s); want %s, look %q", k+1, tc.canary, meas.Phase, meas.Metadata["look"], meas.Message, tc.want, tc.look)
		}
		if k == 0 && (meas.Metadata["result"] != "CONTINUE" || !strings.Contains(meas.Message, "no decision yet")) {
			t.Errorf("measurement 1 decided nothing: result %q, message %q; want CONTINUE saying so", meas.Metadata["result"], meas.Message)
		}
		if k == 2 && !strings.Contains(meas.Message, "has failed") {
			t.Errorf("measurement 3: %q, want the failed sequence named", meas.Message)
		}
	}

	// Terminated: the analysis on the silent source is still running when
	// Argo terminates the measurement; judge's analysis is cancelled (and
	// never passes), the measurement ends as Argo's terminated ones do.
	run := &v1alpha1.AnalysisRun{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "checkout-terminated", UID: "uid-terminated"}}
	m := metric("good", "silent")
	provider, err := plugin.NewRpcPlugin(m)
	if err != nil {
		t.Fatal(err)
	}
	meas := provider.Run(run, m)
	if meas.Phase != v1alpha1.AnalysisPhaseRunning {
		t.Fatalf("Run on the silent source: %s %s", meas.Phase, meas.Message)
	}
	if meas = provider.Resume(run, m, meas); meas.Phase != v1alpha1.AnalysisPhaseRunning {
		t.Fatalf("Resume on the silent source: %s %s", meas.Phase, meas.Message)
	}
	meas = provider.Terminate(run, m, meas)
	if meas.Phase != v1alpha1.AnalysisPhaseSuccessful || meas.Metadata["result"] != "TERMINATED" {
		t.Errorf("Terminate: %s %v", meas.Phase, meas.Metadata)
	}
	req, _ = http.NewRequest("GET", base+"/v1/analyses/"+meas.Metadata["analysisId"], nil)
	req.Header.Set("Authorization", "Bearer plugin-token-0123456789")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got struct{ Analysis struct{ Status string } }
	_ = json.NewDecoder(resp.Body).Decode(&got)
	if got.Analysis.Status != "ANALYSIS_STATUS_CANCELED" {
		t.Errorf("judge's analysis after Terminate: %q, want cancelled", got.Analysis.Status)
	}
}
