package main

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/canaryjudge/judge/metrics/metricstest"
	"github.com/canaryjudge/judge/metrics/prometheus/promtest"
)

// TestAnalyzeScopes runs judge analyze --scopes against a real Prometheus:
// a regressed canary FAILs, a good one PASSes, --save-data replays to the
// same verdict with --data, a hostile scope matches nothing, and a source
// that cannot be reached exits 69.
func TestAnalyzeScopes(t *testing.T) {
	start := time.Now().Add(-50 * time.Hour).Truncate(time.Hour).UTC()
	series := func(pod string, level float64, phase int) promtest.Series {
		s := promtest.Series{Name: "checkout_latency_seconds", Labels: map[string]string{"pod": pod}}
		for i := range 60 {
			v := level * (1 + 0.05*math.Sin(float64(i+phase)*1.7))
			s.Samples = append(s.Samples, promtest.Sample{T: start.Add(time.Duration(i) * time.Minute), V: v})
		}
		return s
	}
	url := promtest.Start(t, []promtest.Series{series("checkout-baseline", 0.2, 0), series("checkout-canary", 0.2, 11), series("checkout-slow", 0.35, 0)})
	dir := t.TempDir()
	appConfig := writeFile(t, dir, "judge.yaml", fmt.Sprintf("metrics:\n  accounts:\n    - name: prod-prom\n      type: prometheus\n      url: %s\n", url))
	canaryConfig := writeFile(t, dir, "canary.json", `{"name":"checkout","judge":{"name":"NetflixACAJudge-v1.0"},
		"metrics":[{"name":"latency","groups":["perf"],"scopeName":"default",
		  "query":{"type":"prometheus","metricName":"checkout_latency_seconds","customFilterTemplate":"by-pod"},
		  "analysisConfigurations":{"canary":{"direction":"increase","critical":true}}}],
		"templates":{"by-pod":"pod=\"${scope}\""},"classifier":{"groupWeights":{"perf":100}}}`)
	scopes := func(canary string) string {
		b, _ := json.Marshal(map[string]any{"scopes": map[string]any{"default": map[string]any{
			"controlScope":    map[string]any{"scope": "checkout-baseline", "start": start, "end": start.Add(59 * time.Minute), "step": 60},
			"experimentScope": map[string]any{"scope": canary, "start": start, "end": start.Add(59 * time.Minute), "step": 60},
		}}, "thresholds": map[string]any{"pass": 95, "marginal": 75}})
		return writeFile(t, dir, "scopes-"+strings.ReplaceAll(canary, "/", "_")+".json", string(b))
	}
	base := []string{"analyze", "--config", appConfig, "--canary-config", canaryConfig}

	saved := filepath.Join(dir, "saved.json")
	code, live, errOut := runJudge(t, "", append(base, "--scopes", scopes("checkout-slow"), "--save-data", saved, "--output", "json")...)
	if code != 1 || !strings.Contains(live, `"result": "FAIL"`) {
		t.Fatalf("regressed canary: exit %d %s %s", code, live, errOut)
	}
	code, replay, errOut := runJudge(t, "", "analyze", "--canary-config", canaryConfig, "--data", saved, "--output", "json")
	if code != 1 || replay != live {
		t.Errorf("replay with --data: exit %d %s\ndiffers from the live verdict:\n%s", code, errOut, live)
	}
	report, summary := filepath.Join(dir, "report.html"), filepath.Join(dir, "summary.md")
	if code, out, errOut := runJudge(t, "", append(base, "--scopes", scopes("checkout-canary"), "--report", report, "--summary", summary)...); code != 0 || !strings.HasPrefix(out, "PASS") {
		t.Errorf("good canary: exit %d %s %s", code, out, errOut)
	}
	// --report and --summary hold for fetched series too (CI fetches).
	page, _ := os.ReadFile(report) //nolint:gosec // the test's file
	md, _ := os.ReadFile(summary)  //nolint:gosec // the test's file
	if !strings.Contains(string(page), "<html") || !strings.HasPrefix(string(md), "### judge: PASS") {
		t.Errorf("report %.100q, summary %.100q", page, md)
	}
	// The scope is escaped into the string literal: it matches no series,
	// and the critical metric whose canary has no data fails.
	hostile := `checkout-canary"} or checkout_latency_seconds{pod="checkout-baseline`
	if code, out, errOut := runJudge(t, "", append(base, "--scopes", scopes(hostile))...); code != 1 || !strings.Contains(out, "NODATA_FAIL") {
		t.Errorf("hostile scope: exit %d %s %s", code, out, errOut)
	}
	down := writeFile(t, dir, "down.yaml", "metrics:\n  accounts:\n    - {name: gone, type: prometheus, url: 'http://127.0.0.1:1', retries: 1}\n")
	if code, _, errOut := runJudge(t, "", "analyze", "--config", down, "--canary-config", canaryConfig, "--scopes", scopes("checkout-canary")); code != 69 || !strings.Contains(errOut, `prometheus account "gone"`) {
		t.Errorf("unreachable source: exit %d %s, want 69 naming the account", code, errOut)
	}
	bad := writeFile(t, dir, "bad.yaml", "metrics:\n  accounts:\n    - {name: p, type: prometheus, url: 'http://x', passwrd: y}\n")
	if code, _, errOut := runJudge(t, "", "analyze", "--config", bad, "--canary-config", canaryConfig, "--scopes", scopes("checkout-canary")); code != 64 || !strings.Contains(errOut, "passwrd") {
		t.Errorf("unknown account field: exit %d %s", code, errOut)
	}
}

// TestAnalyzeMixedSources runs a config mixing Prometheus (real), Datadog
// and New Relic (fakes replaying their documented answers) through judge
// analyze --scopes: a good canary passes; when Datadog refuses the keys, its
// metric is ERROR and the verdict is not PASS, and no key reaches the output.
func TestAnalyzeMixedSources(t *testing.T) {
	start := time.Now().Add(-52 * time.Hour).Truncate(time.Hour).UTC()
	wave := func(level float64, phase int) []float64 {
		out := make([]float64, 30)
		for i := range out {
			out[i] = level * (1 + 0.05*math.Sin(float64(i+phase)*1.7))
		}
		return out
	}
	prom := func(pod string, level float64, phase int) promtest.Series {
		s := promtest.Series{Name: "shop_latency_seconds", Labels: map[string]string{"pod": pod}}
		for i, v := range wave(level, phase) {
			s.Samples = append(s.Samples, promtest.Sample{T: start.Add(time.Duration(i) * time.Minute), V: v})
		}
		return s
	}
	url := promtest.Start(t, []promtest.Series{prom("shop-base", 0.2, 0), prom("shop-canary", 0.2, 9)})
	dd := metricstest.NewDatadog(t, map[string][]float64{"sum:shop.errors{pod:shop-base}": wave(3, 0), "sum:shop.errors{pod:shop-canary}": wave(3, 4)})
	nr := metricstest.NewNewRelic(t, map[string][]float64{
		"SELECT average(value) FROM Metric WHERE pod = 'shop-base'":   wave(900, 0),
		"SELECT average(value) FROM Metric WHERE pod = 'shop-canary'": wave(900, 3),
	})
	t.Setenv("SHOP_DD_API", "dd-api-secret-0123456789")
	t.Setenv("SHOP_DD_APP", "dd-app-secret-0123456789")
	t.Setenv("SHOP_NR", "NRAK-secret-0123456789")
	dir := t.TempDir()
	appConfig := writeFile(t, dir, "judge.yaml", fmt.Sprintf(`metrics:
  accounts:
    - {name: prom, type: prometheus, url: %s}
    - {name: dd, type: datadog, url: %s, api_key_env: SHOP_DD_API, app_key_env: SHOP_DD_APP, retries: 1}
    - {name: nr, type: newrelic, url: %s/graphql, account_id: 42, api_key_env: SHOP_NR, retries: 1}
`, url, dd.URL, nr.URL))
	canaryConfig := writeFile(t, dir, "canary.yaml", `
metrics:
  - {name: latency, groups: [perf], critical: true, direction: increase, query: {prometheus: 'avg(shop_latency_seconds{pod="${scope}"})'}}
  - {name: errors, groups: [errors], direction: increase, query: {datadog: 'sum:shop.errors{pod:${scope}}'}}
  - {name: throughput, groups: [traffic], direction: decrease, query: {newrelic: "SELECT average(value) FROM Metric WHERE pod = '${scope}'"}}
`)
	b, _ := json.Marshal(map[string]any{"scopes": map[string]any{"default": map[string]any{
		"controlScope":    map[string]any{"scope": "shop-base", "start": start, "end": start.Add(29 * time.Minute), "step": 60},
		"experimentScope": map[string]any{"scope": "shop-canary", "start": start, "end": start.Add(29 * time.Minute), "step": 60},
	}}})
	scopes := writeFile(t, dir, "scopes.json", string(b))
	args := []string{"analyze", "--config", appConfig, "--canary-config", canaryConfig, "--scopes", scopes, "--output", "json"}
	if code, out, errOut := runJudge(t, "", args...); code != 0 || !strings.Contains(out, `"result": "PASS"`) {
		t.Fatalf("mixed sources: exit %d %s %s", code, out, errOut)
	}
	// Baseline, canary and the baseline's history (historyWindows 3).
	if len(dd.Received()) != 3 || len(nr.Received()) != 3 {
		t.Errorf("%d Datadog and %d New Relic requests, want 3 each", len(dd.Received()), len(nr.Received()))
	}
	dd.Fault = func(w http.ResponseWriter, _ int) bool {
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprint(w, `{"errors":["Forbidden"]}`)
		return true
	}
	code, out, errOut := runJudge(t, "", args...)
	if code == 0 || !strings.Contains(out, `"classification": "ERROR"`) || !strings.Contains(out, `datadog account \"dd\": query rejected by the metrics source: HTTP 403: Forbidden`) {
		t.Errorf("Datadog refusing the keys: exit %d %s %s", code, out, errOut)
	}
	if strings.Contains(out+errOut, "secret-0123456789") {
		t.Error("a key reached the output")
	}
}
