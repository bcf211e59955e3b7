package main

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/canaryjudge/judge/backtest"
	"github.com/canaryjudge/judge/internal/testenv"
	"github.com/canaryjudge/judge/metrics/prometheus/promtest"
	"github.com/canaryjudge/judge/verdict"
)

// incidentsFixture is a real Prometheus holding six hours of past
// deployments at one-minute steps: a baseline pod and two canaries (one
// 50% slower) beside it, and two services rolled out at once at change
// (one becoming 50% slower there), with 3% noise. It returns the account
// config, the canary config, the instant of the change and the stop
// function of the server.
func incidentsFixture(t *testing.T, dir string) (appConfig, canaryConfig string, change time.Time, stop func()) {
	t.Helper()
	testenv.NeedsExternal(t, "a real Prometheus")
	start := time.Now().Add(-60 * time.Hour).Truncate(time.Hour).UTC()
	change = start.Add(4 * time.Hour)
	r := rand.New(rand.NewPCG(7, 8))
	series := func(pod string, level func(at time.Time) float64) promtest.Series {
		s := promtest.Series{Name: "checkout_latency_seconds", Labels: map[string]string{"pod": pod}}
		for i := range 6 * 60 {
			at := start.Add(time.Duration(i) * time.Minute)
			s.Samples = append(s.Samples, promtest.Sample{T: at, V: level(at) * (1 + 0.03*r.NormFloat64())})
		}
		return s
	}
	flat := func(time.Time) float64 { return 0.2 }
	step := func(at time.Time) float64 {
		if at.Before(change) {
			return 0.2
		}
		return 0.3
	}
	url, stop, err := promtest.Run([]promtest.Series{
		series("base", flat), series("canary-good", flat), series("canary-bad", func(time.Time) float64 { return 0.3 }),
		series("svc-regress", step), series("svc-good", flat),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	appConfig = writeFile(t, dir, "judge.yaml", fmt.Sprintf("metrics:\n  accounts:\n    - {name: prom, type: prometheus, url: %s}\n", url))
	canaryConfig = writeFile(t, dir, "canary.yaml", `name: checkout
metrics:
  - name: latency
    groups: [perf]
    critical: true
    direction: increase
    query: {prometheus: 'avg(checkout_latency_seconds{pod="${scope}"})'}
  - name: latency_max
    groups: [perf]
    direction: increase
    query: {prometheus: 'max(checkout_latency_seconds{pod="${scope}"})'}
`)
	return appConfig, canaryConfig, change, stop
}

// scopesCase is an incidents-file case of the scopes form: base against
// canary over the 30 minutes after the change instant.
func scopesCase(name, label, canary string, at time.Time) map[string]any {
	side := func(scope string) map[string]any {
		return map[string]any{"scope": scope, "start": at, "end": at.Add(29 * time.Minute), "step": 60}
	}
	return map[string]any{"name": name, "label": label, "scopes": map[string]any{"default": map[string]any{
		"controlScope": side("base"), "experimentScope": side(canary)}}}
}

// TestBacktestIncidents runs judge backtest --incidents against a real
// Prometheus: both case forms are judged as labelled; each case's default
// judge result is exactly judge analyze --scopes' for the same scopes; a
// replay from --cache with Prometheus stopped gives identical JSON, and
// another config sharing its metrics replays from it too, while a changed
// query is fetched anew; cases
// whose label is unknown or whose metric has no data are ERROR with their
// reason and make the run exit 1; a bad file exits 65 naming the case and
// field.
func TestBacktestIncidents(t *testing.T) {
	dir := t.TempDir()
	appConfig, canaryConfig, change, stop := incidentsFixture(t, dir)
	changeCase := func(name, label, scope string) map[string]any {
		return map[string]any{"name": name, "label": label, "change": map[string]any{"scope": scope, "at": change.Format(time.RFC3339), "window": "30m", "step": "60s"}}
	}
	valid := []map[string]any{
		scopesCase("canary-bad", "regression", "canary-bad", change), scopesCase("canary-good", "good", "canary-good", change),
		changeCase("rollout-regress", "regression", "svc-regress"), changeCase("rollout-good", "good", "svc-good"),
	}
	file := func(name string, cases []map[string]any) string {
		b, err := json.Marshal(map[string]any{"cases": cases})
		if err != nil {
			t.Fatal(err)
		}
		return writeFile(t, dir, name, string(b))
	}
	cache := filepath.Join(dir, "cache")
	args := func(incidents string, extra ...string) []string {
		return append([]string{"backtest", "--config", appConfig, "--canary-config", canaryConfig, "--incidents", incidents, "--cache", cache}, extra...)
	}
	good := file("incidents.json", valid)
	code, live, errOut := runJudge(t, "", args(good, "--judge", "both", "--output", "json")...)
	if code != 0 {
		t.Fatalf("backtest: exit %d %s", code, errOut)
	}
	var report backtest.Report
	if err := json.Unmarshal([]byte(live), &report); err != nil {
		t.Fatal(err)
	}
	def := report.Judges[0]
	if def.Judge != verdict.JudgeDefault || def.Summary.Incidents != 2 || def.Summary.Detected != 2 || def.Summary.Controls != 2 || def.Summary.FalseFails != 0 {
		t.Errorf("default judge: %+v", def.Summary)
	}
	if m := def.Summary.Metrics; len(m) != 2 || m[0].Name != "latency" || m[0].Flagged != 2 || m[0].FalseFlags != 0 || !(m[0].RecallInterval[0] > 0.1) {
		t.Errorf("per metric: %+v", m)
	}

	// Each case's default-judge result is judge analyze --scopes' for the
	// same scopes (a change's: the window before against the one after).
	cfg, err := loadCanaryConfig(canaryConfig)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(good) //nolint:gosec // the test's file
	incidents, err := backtest.ParseIncidents(raw, good)
	if err != nil {
		t.Fatal(err)
	}
	for i, in := range incidents {
		b, _ := json.Marshal(in.Request(cfg))
		scopes := writeFile(t, dir, fmt.Sprintf("scopes-%d.json", i), string(b))
		_, out, errOut := runJudge(t, "", "analyze", "--config", appConfig, "--canary-config", canaryConfig, "--scopes", scopes, "--output", "json")
		var res struct {
			Result verdict.Outcome `json:"result"`
			Score  float64         `json:"score"`
		}
		if err := json.Unmarshal([]byte(out), &res); err != nil {
			t.Fatalf("%s: analyze: %v %s", in.Name, err, errOut)
		}
		if o := def.Cases[i]; o.ID != in.Name || o.Result != res.Result || o.Score != res.Score {
			t.Errorf("%s: backtest %s %v, analyze --scopes %s %v", in.Name, o.Result, o.Score, res.Result, res.Score)
		}
	}

	// Cases that cannot be judged are ERROR with their reason, counted
	// apart, and the run exits 1.
	bad := file("errors.json", append(valid[:2:2], map[string]any{"name": "mislabelled", "label": "bad", "change": valid[2]["change"]},
		changeCase("gone-svc", "good", "no-such-svc")))
	code, out, errOut := runJudge(t, "", args(bad)...)
	if code != 1 || !strings.Contains(errOut, "2 of 4 cases could not be judged") ||
		!strings.Contains(out, `mislabelled: label "bad": want regression or good`) || !strings.Contains(out, `gone-svc: metric "latency": no data for the baseline or the canary`) ||
		!strings.Contains(out, "errors 2") {
		t.Errorf("errored cases: exit %d\n%s\n%s", code, out, errOut)
	}

	// Replayed from the cache with Prometheus stopped: the same report.
	stop()
	code, replay, errOut := runJudge(t, "", args(good, "--judge", "both", "--output", "json")...)
	if code != 0 || replay != live {
		t.Errorf("replay from the cache: exit %d %s\n%s\nwant\n%s", code, errOut, replay, live)
	}

	// The HTML report has the intervals and the per-metric table; the
	// threshold sweep works on these cases (both from the cache).
	if code, page, errOut := runJudge(t, "", args(good, "--output", "html")...); code != 0 || !strings.Contains(page, "Per metric") || !strings.Contains(page, "Clopper") {
		t.Errorf("HTML report: exit %d %s", code, errOut)
	}
	if code, out, errOut := runJudge(t, "", args(good, "--advise", "0.1")...); code != 0 || !strings.Contains(out, "FAMILY-WISE LEVEL") {
		t.Errorf("--advise: exit %d\n%s\n%s", code, out, errOut)
	}

	// Another config sharing a metric replays from the same cache; one
	// whose query changed must fetch, and cannot.
	subset := writeFile(t, dir, "subset.yaml", "metrics:\n  - {name: latency, groups: [perf], critical: true, direction: increase, query: {prometheus: 'avg(checkout_latency_seconds{pod=\"${scope}\"})'}}\n")
	if code, out, errOut := runJudge(t, "", "backtest", "--config", appConfig, "--canary-config", subset, "--incidents", good, "--cache", cache); code != 0 || !strings.Contains(out, "detected 2") {
		t.Errorf("a config of one cached metric: exit %d\n%s\n%s", code, out, errOut)
	}
	changed := writeFile(t, dir, "changed.yaml", "metrics:\n  - {name: latency, groups: [perf], critical: true, direction: increase, query: {prometheus: 'min(checkout_latency_seconds{pod=\"${scope}\"})'}}\n")
	if code, out, _ := runJudge(t, "", "backtest", "--config", appConfig, "--canary-config", changed, "--incidents", good, "--cache", cache); code != 1 || !strings.Contains(out, "errors 4") {
		t.Errorf("a changed query read from the cache: exit %d\n%s", code, out)
	}

	// A case not in the cache, with its source down: ERROR, exit 1.
	if code, out, errOut := runJudge(t, "", args(bad)...); code != 1 || !strings.Contains(out, "gone-svc: metric \"latency\": baseline: prometheus account \"prom\": metrics source unavailable") {
		t.Errorf("source down: exit %d\n%s\n%s", code, out, errOut)
	}

	for name, tc := range map[string]struct{ content, want string }{
		"both forms":  {`{"cases":[{"name":"x","label":"good","change":{"scope":"a","at":"2026-01-01T00:00:00Z","window":"30m","step":"60s"},"scopes":{}}]}`, "cases[0] (\"x\"): want exactly one of scopes"},
		"duplicate":   {"cases:\n  - {name: x, label: good, change: {scope: a, at: 2026-01-01T00:00:00Z, window: 30m, step: 60s}}\n  - {name: x, label: good, change: {scope: b, at: 2026-01-01T00:00:00Z, window: 30m, step: 60s}}\n", "cases[1] (\"x\"): name: also the name of cases[0]"},
		"bad window":  {"cases:\n  - {name: x, label: good, change: {scope: a, at: 2026-01-01T00:00:00Z, window: soon, step: 60s}}\n", "cases[0]"},
		"typo":        {"cases:\n  - {name: x, lable: good}\n", `unknown field "lable"`},
		"no cases":    {"cases: []\n", "cases: none given"},
		"not a file":  {"[1, 2", "bad-not-a-file.yaml: invalid backtest input: line 1"},
		"short scope": {`{"cases":[{"name":"x","label":"good","scopes":{"default":{"controlScope":{"scope":"a"}}}}]}`, "scopes.default"},
	} {
		path := writeFile(t, dir, "bad-"+strings.ReplaceAll(name, " ", "-")+".yaml", tc.content)
		if code, _, errOut := runJudge(t, "", args(path)...); code != 65 || !strings.Contains(errOut, tc.want) {
			t.Errorf("%s: exit %d %s, want 65 with %q", name, code, errOut, tc.want)
		}
	}
}

// TestBacktestNABErrors: a NAB run whose cases cannot be judged (the
// config's metric is not the files' "value") exits 1, never 0.
func TestBacktestNABErrors(t *testing.T) {
	dir := t.TempDir()
	other := writeFile(t, dir, "other.yaml", "metrics:\n  - {name: latency, groups: [g], critical: true}\n")
	code, out, errOut := runJudge(t, "", "backtest", "--nab-data", "../../fixtures/nab", "--nab-labels", "../../fixtures/nab/combined_windows.json",
		"--canary-config", other, "--judge", "default")
	if code != 1 || !strings.Contains(errOut, "could not be judged") || !strings.Contains(out, "incidents 0") {
		t.Errorf("exit %d\n%.400s\n%s", code, out, errOut)
	}
}

// TestDemoBacktestScript runs make demo-backtest's script against a real
// Prometheus: both judges catch the three labelled regressions and pass
// the three good deployments, and the candidate config without the error
// metric, judged from the cache with Prometheus stopped, misses the canary
// whose errors tripled and says so; the incidents file and cache are kept.
func TestDemoBacktestScript(t *testing.T) {
	text, out, err := runDemoScript(t, "scripts/demo-backtest.sh")
	if err != nil || strings.Count(text, "incidents 3, detected 3 (recall 100.0%); controls 3, false fails 0") != 2 ||
		!strings.Contains(text, "incidents 3, detected 2") || !strings.Contains(text, "canary-1190: regression, judged PASS") {
		t.Fatalf("demo-backtest: %v\n%s", err, text)
	}
	for _, f := range []string{"judge.yaml", "incidents.yaml", "cache"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Errorf("%s not kept: %v", f, err)
		}
	}
}
