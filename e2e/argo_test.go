package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/argoproj/argo-rollouts/metricproviders/kayenta"
	"github.com/argoproj/argo-rollouts/metricproviders/webmetric"
	"github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	log "github.com/sirupsen/logrus"

	"github.com/canaryjudge/judge/metrics"
	"github.com/canaryjudge/judge/metrics/prometheus/promtest"
	"github.com/canaryjudge/judge/server"
)

// fixture is a live judge server over a real Prometheus holding a baseline
// and four canaries: good (PASS), half (one of two groups regressed:
// MARGINAL), bad (the critical latency regressed: FAIL) and noisy (the
// critical latency unchanged against its own baseline, noisy-base, but
// too noisy for 40 points to show a 20% shift: INCONCLUSIVE, not counted,
// so MARGINAL at score 100).
type fixture struct {
	addr       string
	start, end time.Time
	// prom is the Prometheus' URL; nativeConfig the config as PUT
	// /v1/canaryConfigs/checkout takes it.
	prom, nativeConfig string
}

func newFixture(t *testing.T) fixture {
	t.Helper()
	start := time.Now().Add(-12 * time.Hour).Truncate(time.Hour).UTC()
	series := func(name, pod string, level float64, phase int) promtest.Series {
		s := promtest.Series{Name: name, Labels: map[string]string{"pod": pod}}
		for i := range 40 {
			s.Samples = append(s.Samples, promtest.Sample{T: start.Add(time.Duration(i) * time.Minute), V: level * (1 + 0.05*math.Sin(float64(i+phase)*1.9))})
		}
		return s
	}
	var fixtures []promtest.Series
	r := rand.New(rand.NewPCG(7, 7))
	for _, pod := range []string{"noisy-base", "noisy"} {
		noisy := promtest.Series{Name: "e2e_latency_seconds", Labels: map[string]string{"pod": pod}}
		for i := range 40 {
			noisy.Samples = append(noisy.Samples, promtest.Sample{T: start.Add(time.Duration(i) * time.Minute), V: 0.2 * math.Exp(0.5*r.NormFloat64())})
		}
		fixtures = append(fixtures, noisy, series("e2e_errors", pod, 1, 3))
	}
	for _, p := range []struct {
		pod                string
		latency, errs      float64
		latPhase, errPhase int
	}{{"base", 0.2, 1, 0, 0}, {"good", 0.2, 1, 7, 3}, {"half", 0.2, 2, 7, 0}, {"bad", 0.4, 1, 0, 3}} {
		fixtures = append(fixtures, series("e2e_latency_seconds", p.pod, p.latency, p.latPhase), series("e2e_errors", p.pod, p.errs, p.errPhase))
	}
	prom := promtest.Start(t, fixtures)
	srv, err := server.Start(context.Background(), server.Config{
		Addr: "127.0.0.1:0", DataDir: t.TempDir(), Poll: 20 * time.Millisecond,
		Accounts: []metrics.Account{{Name: "prod-prom", Type: "prometheus", URL: prom}},
	}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Shutdown(context.Background()) })
	// A Kayenta canary config, stored the way Spinnaker stores it.
	config := `{"name":"checkout","applications":["shop"],"judge":{"name":"NetflixACAJudge-v1.0","judgeConfigurations":{}},
		"metrics":[
		 {"name":"latency","groups":["perf"],"scopeName":"default",
		  "query":{"type":"prometheus","customInlineTemplate":"PromQL:avg(e2e_latency_seconds{pod=\"${scope}\"})"},
		  "analysisConfigurations":{"canary":{"direction":"increase","critical":true}}},
		 {"name":"errors","groups":["errors"],"scopeName":"default",
		  "query":{"type":"prometheus","customInlineTemplate":"PromQL:avg(e2e_errors{pod=\"${scope}\"})"},
		  "analysisConfigurations":{"canary":{"direction":"increase"}}}],
		"classifier":{"groupWeights":{"perf":50,"errors":50},"scoreThresholds":{"pass":95,"marginal":40}}}`
	resp, err := http.Post("http://"+srv.Addr()+"/canaryConfig", "application/json", strings.NewReader(config))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("POST /canaryConfig: %d %s", resp.StatusCode, b)
	}
	return fixture{addr: srv.Addr(), start: start, end: start.Add(39 * time.Minute), prom: prom, nativeConfig: `{"config":` + config + `}`}
}

// baselineOf is the fixture's baseline pod for a canary.
func baselineOf(canary string) string {
	if canary == "noisy" {
		return "noisy-base"
	}
	return "base"
}

// TestArgoKayentaProvider runs Argo Rollouts' own kayenta provider against
// judge in Kayenta's place: Successful on PASS, Inconclusive on MARGINAL,
// Failed on FAIL. The provider reads only the score: the noisy canary's
// MARGINAL at score 100 must not read as Successful.
func TestArgoKayentaProvider(t *testing.T) {
	f := newFixture(t)
	provider := kayenta.NewKayentaProvider(*log.NewEntry(log.New()), kayenta.NewHttpClient())
	for canary, want := range map[string]v1alpha1.AnalysisPhase{
		"good":  v1alpha1.AnalysisPhaseSuccessful,
		"half":  v1alpha1.AnalysisPhaseInconclusive,
		"bad":   v1alpha1.AnalysisPhaseFailed,
		"noisy": v1alpha1.AnalysisPhaseInconclusive,
	} {
		scope := func(name string) v1alpha1.ScopeDetail {
			return v1alpha1.ScopeDetail{Scope: name, Region: "eu-west-1", Step: 60, Start: f.start.Format(time.RFC3339), End: f.end.Format(time.RFC3339)}
		}
		metric := v1alpha1.Metric{Name: "judge", Provider: v1alpha1.MetricProvider{Kayenta: &v1alpha1.KayentaMetric{
			Address: "http://" + f.addr, Application: "shop", CanaryConfigName: "checkout",
			MetricsAccountName: "prod-prom", ConfigurationAccountName: "judge", StorageAccountName: "judge",
			Threshold: v1alpha1.KayentaThreshold{Pass: 95, Marginal: 40},
			Scopes:    []v1alpha1.KayentaScope{{Name: "default", ControlScope: scope(baselineOf(canary)), ExperimentScope: scope(canary)}},
		}}}
		run := &v1alpha1.AnalysisRun{}
		m := provider.Run(run, metric)
		if m.Phase != v1alpha1.AnalysisPhaseRunning {
			t.Fatalf("%s: Run: %s %s", canary, m.Phase, m.Message)
		}
		deadline := time.Now().Add(20 * time.Second)
		for m.Phase == v1alpha1.AnalysisPhaseRunning && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
			m = provider.Resume(run, metric, m)
		}
		if m.Phase != want {
			t.Errorf("%s: %s (value %q, %s), want %s", canary, m.Phase, m.Value, m.Message, want)
		}
	}
}

// TestArgoWebProvider runs Argo Rollouts' own web provider against a live
// judge's /webhooks/argo with the conditions of the AnalysisTemplate shipped
// in deploy/argo-rollouts: jsonPath {$.result}, success on PASS, failure on
// FAIL (so MARGINAL is Inconclusive).
func TestArgoWebProvider(t *testing.T) {
	f := newFixture(t)
	for canary, want := range map[string]v1alpha1.AnalysisPhase{
		"good":  v1alpha1.AnalysisPhaseSuccessful,
		"half":  v1alpha1.AnalysisPhaseInconclusive,
		"bad":   v1alpha1.AnalysisPhaseFailed,
		"noisy": v1alpha1.AnalysisPhaseInconclusive,
	} {
		body, _ := json.Marshal(map[string]string{"config": "checkout", "baseline": baselineOf(canary), "canary": canary,
			"end": f.end.Format(time.RFC3339), "window": "39m", "step": "60"})
		metric := v1alpha1.Metric{
			Name:             "judge",
			SuccessCondition: `result == "PASS"`,
			FailureCondition: `result == "FAIL"`,
			Provider: v1alpha1.MetricProvider{Web: &v1alpha1.WebMetric{
				URL: fmt.Sprintf("http://%s/webhooks/argo", f.addr), Method: v1alpha1.WebMetricMethodPost,
				JSONBody: body, JSONPath: "{$.result}", TimeoutSeconds: 10,
			}},
		}
		m := runWebProvider(t, metric)
		if m.Phase != want {
			t.Errorf("%s: %s (value %q, %s), want %s", canary, m.Phase, m.Value, m.Message, want)
		}
	}
}

// runWebProvider measures metric once with Argo Rollouts' own web provider.
func runWebProvider(t *testing.T, metric v1alpha1.Metric) v1alpha1.Measurement {
	t.Helper()
	client, err := webmetric.NewWebMetricHttpClient(metric)
	if err != nil {
		t.Fatal(err)
	}
	parser, err := webmetric.NewWebMetricJsonParser(metric)
	if err != nil {
		t.Fatal(err)
	}
	return webmetric.NewWebMetricProvider(*log.NewEntry(log.New()), client, parser).Run(&v1alpha1.AnalysisRun{}, metric)
}
