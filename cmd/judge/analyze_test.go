package main

import (
	"encoding/json"
	"fmt"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/canaryjudge/judge/internal/testenv"
)

const scenarios = "../../verdict/testdata/scenarios"

func TestAnalyzeExitCodesAndJSON(t *testing.T) {
	tests := map[string]struct {
		scenario string
		judge    string
		wantCode int
		want     string
	}{
		"pass":     {"aa-independent", "default", 0, "PASS"},
		"fail":     {"regression-high", "default", 1, "FAIL"},
		"marginal": {"weights-marginal", "kayenta", 2, "MARGINAL"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(scenarios, tc.scenario)
			code, out, errOut := runJudge(t, "", "analyze", "--canary-config", filepath.Join(dir, "config.json"),
				"--data", filepath.Join(dir, "data.json"), "--judge", tc.judge, "--output", "json")
			if code != tc.wantCode {
				t.Fatalf("exit %d, want %d; stderr %s", code, tc.wantCode, errOut)
			}
			var got struct {
				Result  string                  `json:"result"`
				Score   float64                 `json:"score"`
				Groups  []struct{ Name string } `json:"groups"`
				Metrics []map[string]any        `json:"metrics"`
			}
			if err := json.Unmarshal([]byte(out), &got); err != nil {
				t.Fatalf("bad JSON: %v\n%s", err, out)
			}
			if got.Result != tc.want || len(got.Groups) == 0 || len(got.Metrics) == 0 {
				t.Errorf("result %q with %d groups, %d metrics; want %s", got.Result, len(got.Groups), len(got.Metrics), tc.want)
			}
			for _, key := range []string{"name", "groups", "classification", "critical", "reason", "baseline", "canary",
				"p_value", "adjusted_p_value", "estimate", "ci_low", "ci_high", "effect_size"} {
				if _, ok := got.Metrics[0][key]; !ok {
					t.Errorf("metric output lacks %q", key)
				}
			}
		})
	}
}

func TestAnalyzeKayentaOutput(t *testing.T) {
	dir := filepath.Join(scenarios, "regression-high")
	code, out, _ := runJudge(t, "", "analyze", "--canary-config", filepath.Join(dir, "config.json"),
		"--data", filepath.Join(dir, "data.json"), "--judge", "kayenta", "--output", "kayenta")
	if code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	var got struct {
		JudgeName string `json:"judgeName"`
		Results   []struct {
			Name           string `json:"name"`
			Classification string `json:"classification"`
			Critical       bool   `json:"critical"`
		} `json:"results"`
		Score struct {
			Score          float64 `json:"score"`
			Classification string  `json:"classification"`
		} `json:"score"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	if got.JudgeName != "NetflixACAJudge-v1.0" || got.Score.Classification != "Fail" || got.Score.Score != 0 {
		t.Errorf("got %+v", got)
	}
	if len(got.Results) != 2 || got.Results[0].Classification != "High" || !got.Results[0].Critical {
		t.Errorf("results %+v, want latency High and critical first", got.Results)
	}
}

func TestAnalyzeText(t *testing.T) {
	dir := filepath.Join(scenarios, "regression-low")
	code, out, _ := runJudge(t, "", "analyze", "--canary-config", filepath.Join(dir, "config.json"), "--data", filepath.Join(dir, "data.json"))
	if code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	lines := strings.Split(out, "\n")
	if !strings.HasPrefix(lines[0], "FAIL") {
		t.Errorf("first line %q does not start with the verdict", lines[0])
	}
	// Worst metrics first: the LOW throughput row precedes the PASS latency row.
	if !strings.Contains(out, "LOW    throughput") || strings.Index(out, "throughput") > strings.Index(out, "PASS   latency") {
		t.Errorf("table not ordered worst first:\n%s", out)
	}
}

func TestAnalyzeBadInput(t *testing.T) {
	dir := t.TempDir()
	cfg := writeFile(t, dir, "cfg.yaml", "metrics:\n  - {name: a, groups: [g]}\n")
	good := writeFile(t, dir, "data.json", `[{"name":"a","values":{"control":[1,2,3,4,5],"experiment":[1,2,3,4,"NaN"]}}]`)
	tests := map[string]struct {
		cfg, data string
		args      []string
		wantCode  int
		wantText  string
	}{
		"bad value":      {cfg, writeFile(t, dir, "bad.json", `[{"name":"a","values":{"control":[1,"x"],"experiment":[1]}}]`), nil, 65, "[0] (a).values.control[1]"},
		"unknown metric": {cfg, writeFile(t, dir, "unk.json", `[{"name":"zzz","values":{"control":[1],"experiment":[1]}}]`), nil, 65, `"zzz"`},
		"not JSON":       {cfg, writeFile(t, dir, "nj.json", `{oops`), nil, 65, "nj.json"},
		"bad config":     {writeFile(t, dir, "bad.yaml", "metrics:\n  - {name: a, groups: [g], direction: up}\n"), good, nil, 65, "metrics[0] (a).direction"},
		"missing data":   {cfg, filepath.Join(dir, "none.json"), nil, 65, "none.json"},
		"bad judge":      {cfg, good, []string{"--judge", "oracle"}, 64, "--judge"},
		"bad output":     {cfg, good, []string{"--output", "xml"}, 64, "--output"},
		"bad thresholds": {cfg, good, []string{"--pass", "50", "--marginal", "80"}, 64, "marginal"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			args := append([]string{"analyze", "--canary-config", tc.cfg, "--data", tc.data}, tc.args...)
			code, _, errOut := runJudge(t, "", args...)
			if code != tc.wantCode || !strings.Contains(errOut, tc.wantText) {
				t.Errorf("exit %d stderr %q; want %d naming %q", code, errOut, tc.wantCode, tc.wantText)
			}
		})
	}
}

func TestConfigValidate(t *testing.T) {
	dir := t.TempDir()
	bad := writeFile(t, dir, "bad.yaml", `
thresholds: {pass: 70, marginal: 90}
groups: [{name: g, weight: 120}]
metrics:
  - {name: a, groups: [g], direction: sideways, nanStrategy: drop}
  - {name: a, groups: [nope], tests: [threshold]}
`)
	code, _, errOut := runJudge(t, "", "config", "validate", bad)
	if code != 65 {
		t.Fatalf("exit %d, want 65", code)
	}
	for _, want := range []string{"thresholds", "groups: weights sum to 120", "metrics[0] (a).direction", "metrics[0] (a).nanStrategy",
		"metrics[1] (a).name", "metrics[1] (a).groups", "metrics[1] (a).threshold"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("validate output lacks %q:\n%s", want, errOut)
		}
	}
	good := filepath.Join(scenarios, "kayenta-674-min-effect", "config.yaml")
	if code, out, errOut := runJudge(t, "", "config", "validate", good); code != 0 || !strings.Contains(out, "valid") {
		t.Errorf("valid config: exit %d, %s %s", code, out, errOut)
	}
	unknown := writeFile(t, dir, "unknown.yaml", "metrics: [{name: a, groups: [g], critcal: true}]\n")
	if code, _, errOut := runJudge(t, "", "config", "validate", unknown); code != 65 || !strings.Contains(errOut, "unknown.yaml:1:34: metrics[0].critcal: unknown field; did you mean critical?") {
		t.Errorf("misspelt field: exit %d, %s", code, errOut)
	}
	// A Kayenta config names the judge that serves NetflixACAJudge-v1.0.
	kayentaCfg := filepath.Join(scenarios, "kayenta-426-issue-data", "config.json")
	if code, out, errOut := runJudge(t, "", "config", "validate", kayentaCfg); code != 0 || !strings.Contains(out, "judge default for NetflixACAJudge-v1.0; judge serve's kayenta-aca-judge setting chooses") {
		t.Errorf("Kayenta config: exit %d, %q %s", code, out, errOut)
	}
	if _, out, _ := runJudge(t, "", "config", "validate", kayentaCfg); !strings.Contains(out, "differences from Kayenta:\n  - judge: NetflixACAJudge-v1.0 is served by judge's default judge") {
		t.Errorf("Kayenta config: no differences listed:\n%s", out)
	}
	one := writeFile(t, dir, "one.yaml", "metrics: [{name: a, groups: [g], critical: yes}]\n")
	if code, out, errOut := runJudge(t, "", "config", "validate", one); code != 0 || !strings.Contains(out, "(1 metric, judge default)") {
		t.Errorf("one metric: exit %d, %q %s", code, out, errOut)
	}
}

// TestAnalyzeDeterministic checks that the same input gives the same verdict,
// byte for byte.
func TestAnalyzeDeterministic(t *testing.T) {
	dir := filepath.Join(scenarios, "spinnaker-6278-constant-shift")
	var first string
	for i := range 3 {
		_, out, _ := runJudge(t, "", "analyze", "--canary-config", filepath.Join(dir, "config.json"),
			"--data", filepath.Join(dir, "data.json"), "--judge", "kayenta", "--output", "json")
		if i == 0 {
			first = out
		} else if out != first {
			t.Fatalf("run %d differs:\n%s\nvs\n%s", i, out, first)
		}
	}
}

// TestAnalyzeSafety checks the CLI paths that used to turn failures into
// PASS or crash: thresholds that let a critical failure through, JSON of
// infinite statistics, and control characters in names.
func TestAnalyzeSafety(t *testing.T) {
	dir := t.TempDir()
	critical := writeFile(t, dir, "crit.yaml", "metrics:\n  - {name: lat, groups: [g], critical: true, direction: increase}\n  - {name: ok, groups: [g]}\n")
	regress := writeFile(t, dir, "regress.json", `[{"name":"lat","values":{"control":[1,2,1,2,1,2,1,2],"experiment":[9,8,9,8,9,8,9,8]}},
		{"name":"ok","values":{"control":[1,2,3,4,5,6],"experiment":[1,2,3,4,5,6]}}]`)
	t.Run("critical failure with marginal 0", func(t *testing.T) {
		code, out, errOut := runJudge(t, "", "analyze", "--canary-config", critical, "--data", regress, "--marginal", "0", "--pass", "0")
		if code != 1 || !strings.HasPrefix(out, "FAIL") {
			t.Errorf("exit %d, want 1 (FAIL):\n%s%s", code, out, errOut)
		}
	})
	t.Run("thresholds name the flag", func(t *testing.T) {
		code, _, errOut := runJudge(t, "", "analyze", "--canary-config", critical, "--data", regress, "--pass", "NaN")
		if code != 64 || !strings.Contains(errOut, "--pass") {
			t.Errorf("exit %d, stderr %q; want 64 naming --pass", code, errOut)
		}
	})
	t.Run("json with infinite points", func(t *testing.T) {
		cfg := writeFile(t, dir, "inf.yaml", "metrics:\n  - {name: p99, groups: [g], tests: [mann_whitney, threshold], threshold: {aggregate: max, max: 5}}\n")
		data := writeFile(t, dir, "inf.json", `[{"name":"p99","values":{"control":[1,2,3,4,5,"-Infinity"],"experiment":[1,2,3,"Infinity","Infinity","Infinity"]}}]`)
		for _, format := range []string{"json", "kayenta"} {
			code, out, errOut := runJudge(t, "", "analyze", "--canary-config", cfg, "--data", data, "--output", format)
			if code != 1 || !json.Valid([]byte(out)) {
				t.Errorf("%s: exit %d, want 1 with valid JSON; stderr %s\n%s", format, code, errOut, out)
			}
			if format == "json" && !strings.Contains(out, `"+Inf"`) {
				t.Errorf("infinite aggregate not written as \"+Inf\":\n%s", out)
			}
		}
	})
	t.Run("control characters in names", func(t *testing.T) {
		name := "evil\n\x1b[32mPASS   forged\tmetric"
		cfgJSON, _ := json.Marshal(map[string]any{"metrics": []map[string]any{{"name": name, "groups": []string{"g\x1b[0m"}}}})
		cfg := writeFile(t, dir, "evil.json", string(cfgJSON))
		dataJSON, _ := json.Marshal([]map[string]any{{"name": name, "values": map[string]any{"control": []float64{1, 2, 3, 4, 5}, "experiment": []float64{1, 2, 3, 4, 5}}}})
		data := writeFile(t, dir, "evil-data.json", string(dataJSON))
		_, out, errOut := runJudge(t, "", "analyze", "--canary-config", cfg, "--data", data)
		if strings.ContainsAny(out, "\x1b") || strings.Contains(out, "\nPASS   forged") {
			t.Errorf("control characters reached the terminal:\n%q", out)
		}
		if !strings.Contains(out, `evil\n\x1b[32mPASS`) {
			t.Errorf("escaped name missing:\n%s%s", out, errOut)
		}
	})
}

// TestBacktest runs judge backtest on the shipped NAB corpus and on
// synthetic cases: JSON with both judges' cases and summaries, and usage
// errors for bad flags.
func TestBacktest(t *testing.T) {
	code, out, errOut := runJudge(t, "", "backtest", "--nab-data", "../../fixtures/nab", "--nab-labels", "../../fixtures/nab/combined_windows.json", "--output", "json")
	if code != 0 {
		t.Fatalf("NAB backtest: exit %d %s", code, errOut)
	}
	var report struct {
		Judges []struct {
			Judge   string
			Cases   []struct{ ID, Source, Expected, Result string }
			Summary struct {
				Incidents, Detected, Controls int
				FalseFails                    int     `json:"false_fails"`
				Recall                        float64 `json:"recall"`
			}
		}
	}
	if err := json.Unmarshal([]byte(out), &report); err != nil || len(report.Judges) != 2 {
		t.Fatalf("JSON %v: %s", err, out[:min(len(out), 300)])
	}
	for _, j := range report.Judges {
		s := j.Summary
		if s.Incidents == 0 || s.Controls < s.Incidents || len(j.Cases) != s.Incidents+s.Controls {
			t.Errorf("%s: %+v with %d cases", j.Judge, s, len(j.Cases))
		}
		detected := 0
		for _, c := range j.Cases {
			if c.Expected == "FAIL" && c.Result == "FAIL" {
				detected++
			}
		}
		if detected != s.Detected || math.Abs(s.Recall-float64(detected)/float64(s.Incidents)) > 1e-12 {
			t.Errorf("%s: detected %d by the cases, summary %+v", j.Judge, detected, s)
		}
	}
	code, out, errOut = runJudge(t, "", "backtest", "--synthetic", "--cases", "20", "--seed", "3", "--judge", "default")
	if code != 0 || !strings.Contains(out, "judge default: incidents 10") || !strings.Contains(out, "level-shift") {
		t.Errorf("synthetic backtest: exit %d %s %s", code, out, errOut)
	}
	for _, args := range [][]string{
		{"backtest"},
		{"backtest", "--synthetic", "--judge", "oracle"},
		{"backtest", "--synthetic", "--cases", "0"},
		{"backtest", "--synthetic", "--nab-data", "x", "--nab-labels", "y"},
		{"backtest", "--synthetic", "--marginal", "99"},
	} {
		if code, _, errOut := runJudge(t, "", args...); code != 64 {
			t.Errorf("%v: exit %d (%s), want 64", args, code, errOut)
		}
	}
	if code, _, errOut := runJudge(t, "", "backtest", "--nab-data", "../../fixtures/nab", "--nab-labels", "missing.json"); code != 65 || !strings.Contains(errOut, "missing.json") {
		t.Errorf("missing labels: exit %d %s", code, errOut)
	}
}

// TestDemoFixtures pins what make demo shows: the regressed canary FAILs
// (exit 1) on its critical latency metric, marked and explained, and the
// good canary PASSes (exit 0) under the same config.
func TestDemoFixtures(t *testing.T) {
	const cfg = "../../fixtures/analyze/canary-config.yaml"
	code, out, errOut := runJudge(t, "", "analyze", "--canary-config", cfg, "--data", "../../fixtures/analyze/regression.json")
	if code != 1 || !strings.HasPrefix(out, "FAIL") || !strings.Contains(out, "HIGH!  request_latency_ms") || !strings.Contains(out, "! critical: this result fails the analysis") {
		t.Errorf("regression: exit %d (%s)\n%s", code, errOut, out)
	}
	code, out, errOut = runJudge(t, "", "analyze", "--canary-config", cfg, "--data", "../../fixtures/analyze/good.json")
	if code != 0 || !strings.HasPrefix(out, "PASS") || strings.Contains(out, "critical:") {
		t.Errorf("good canary: exit %d (%s)\n%s", code, errOut, out)
	}
	code, out, errOut = runJudge(t, "", "analyze", "--canary-config", cfg, "--data", "../../fixtures/analyze/short.json")
	if code != 2 || !strings.HasPrefix(out, "MARGINAL") || !strings.Contains(out, "INCONCLUSIVE!  request_latency_ms") ||
		!strings.Contains(out, "more points per window (about ") {
		t.Errorf("the good canary's first 15 points: exit %d (%s)\n%s", code, errOut, out)
	}
}

// TestCriticalNotAppliedInOutput: a metric configured critical whose HIGH
// lies within its critical increase is marked * with its legend in text,
// and reads configured_critical true, critical false in JSON.
func TestCriticalNotAppliedInOutput(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "c.yaml")
	data := filepath.Join(dir, "d.json")
	if err := os.WriteFile(cfg, []byte("metrics:\n  - {name: p95, groups: [g], critical: true, direction: increase, effectSize: {allowedIncrease: 1.1, criticalIncrease: 1.5}}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var control, canary []string
	for i := range 60 {
		v := 100 + float64((i*37)%23)
		control, canary = append(control, fmt.Sprint(v)), append(canary, fmt.Sprint(v*1.21))
	}
	body := fmt.Sprintf(`[{"name":"p95","values":{"control":[%s],"experiment":[%s]}}]`, strings.Join(control, ","), strings.Join(canary, ","))
	if err := os.WriteFile(data, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	_, out, _ := runJudge(t, "", "analyze", "--canary-config", cfg, "--data", data)
	if !strings.Contains(out, "HIGH*") || !strings.Contains(out, "* configured critical, but within its critical effect size") || strings.Contains(out, "HIGH!") {
		t.Errorf("text output:\n%s", out)
	}
	_, out, _ = runJudge(t, "", "analyze", "--canary-config", cfg, "--data", data, "--output", "json")
	if !strings.Contains(out, `"critical": false`) || !strings.Contains(out, `"configured_critical": true`) {
		t.Errorf("JSON output:\n%s", out)
	}
}

// TestDemoPrometheusScript runs make demo-prometheus's script against a
// real Prometheus: the regressed canary FAILs, and the files a user copies
// from are left where it says, the saved series replaying to the same
// verdict.
func TestDemoPrometheusScript(t *testing.T) {
	text, out, err := runDemoScript(t, "scripts/demo-prometheus.sh")
	if err != nil || !strings.Contains(text, "exit 1") || !strings.Contains(text, "Kept in "+out) {
		t.Fatalf("demo-prometheus: %v\n%s", err, text)
	}
	for _, f := range []string{"judge.yaml", "canary-config.yaml", "scopes.json", "fetched.json"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Errorf("%s not kept: %v", f, err)
		}
	}
	code, replay, errOut := runJudge(t, "", "analyze", "--canary-config", filepath.Join(out, "canary-config.yaml"), "--data", filepath.Join(out, "fetched.json"))
	if code != 1 || !strings.HasPrefix(replay, "FAIL") {
		t.Errorf("replay of the saved series: exit %d (%s)\n%s", code, errOut, replay)
	}
}

// runDemoScript runs a demo script that starts its own Prometheus, with
// judge built from this tree, on a free port, keeping its files in a
// temporary directory; it returns the script's output, that directory and
// how the script ended.
func runDemoScript(t *testing.T, script string) (string, string, error) {
	t.Helper()
	testenv.NeedsExternal(t, "a real Prometheus and promtool")
	if _, err := exec.LookPath("promtool"); err != nil {
		t.Fatal("promtool not found: run scripts/ensure-prometheus.sh (make test does)")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "judge")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build judge: %v\n%s", err, out)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	out := filepath.Join(dir, "out")
	cmd := exec.Command("bash", script)
	cmd.Dir = "../.."
	cmd.Env = append(os.Environ(), "JUDGE_BIN="+bin, "DEMO_OUT="+out, fmt.Sprintf("DEMO_PROMETHEUS_PORT=%d", port))
	text, err := cmd.CombinedOutput()
	return string(text), out, err
}

// TestBacktestFlagsFewCases: rates from fewer than 20 cases are flagged
// with their footnote, rates from more are not, and the parametric-limit
// column is explained, in text and in the HTML report.
func TestBacktestFlagsFewCases(t *testing.T) {
	code, out, errOut := runJudge(t, "", "backtest", "--synthetic", "--cases", "60", "--judge", "default", "--regression", "level-shift:1.5", "--noise", "independent", "--rho", "0.5")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	aa := out[strings.Index(out, "A/A NOISE"):strings.Index(out, "KIND")]
	if strings.Contains(aa, "†") {
		t.Errorf("30 A/A cases flagged as few:\n%s", aa)
	}
	if !strings.Contains(out, "PARAMETRIC LIMIT: what a test that knew") {
		t.Errorf("the parametric limit is not explained:\n%s", out)
	}
	_, out, _ = runJudge(t, "", "backtest", "--synthetic", "--cases", "10", "--judge", "default")
	if !strings.Contains(out, "%†") || !strings.Contains(out, "† fewer than 20 cases") {
		t.Errorf("5 A/A cases not flagged:\n%s", out)
	}
	_, html, _ := runJudge(t, "", "backtest", "--synthetic", "--cases", "10", "--judge", "default", "--output", "html")
	if !strings.Contains(html, "%†") || !strings.Contains(html, "Parametric limit: what a test") {
		t.Error("the HTML report flags no rate or does not explain the parametric limit")
	}
}

// TestOpenIntervalInJSON: a one-sided test's interval reads the same in
// JSON as in text output, its open end "+Inf", not null.
func TestOpenIntervalInJSON(t *testing.T) {
	const cfg = "../../fixtures/analyze/canary-config.yaml"
	_, text, _ := runJudge(t, "", "analyze", "--canary-config", cfg, "--data", "../../fixtures/analyze/good.json")
	_, out, _ := runJudge(t, "", "analyze", "--canary-config", cfg, "--data", "../../fixtures/analyze/good.json", "--output", "json")
	var res struct {
		Metrics []struct {
			Name   string `json:"name"`
			CIHigh any    `json:"ci_high"`
		} `json:"metrics"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err)
	}
	for _, m := range res.Metrics {
		if m.Name == "cpu_utilization" && m.CIHigh != "+Inf" {
			t.Errorf("cpu_utilization (direction increase) ci_high %v, want \"+Inf\"", m.CIHigh)
		}
	}
	if !strings.Contains(text, "[-0.874, +∞]") {
		t.Errorf("text output lost the open interval:\n%s", text)
	}
}

// TestPairedComparisonNamed: a metric the default judge compared point by
// point says so in text output's TEST column, not just mann_whitney.
func TestPairedComparisonNamed(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "c.yaml")
	data := filepath.Join(dir, "d.json")
	if err := os.WriteFile(cfg, []byte("metrics:\n  - {name: rps, groups: [g]}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var control, canary []string
	for i := range 60 {
		traffic := 100 + 40*math.Sin(float64(i)/5)
		control = append(control, fmt.Sprint(traffic+float64((i*37)%7)))
		canary = append(canary, fmt.Sprint(traffic+float64((i*53)%7)))
	}
	scope := `{"startTimeMillis": 1700000000000, "stepMillis": 60000}`
	body := fmt.Sprintf(`[{"name":"rps","values":{"control":[%s],"experiment":[%s]},"scopes":{"control":%s,"experiment":%s}}]`,
		strings.Join(control, ","), strings.Join(canary, ","), scope, scope)
	if err := os.WriteFile(data, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	_, out, errOut := runJudge(t, "", "analyze", "--canary-config", cfg, "--data", data)
	if !strings.Contains(out, "mann_whitney (paired signed-rank)") || !strings.Contains(out, "paired by timestamp") {
		t.Errorf("paired comparison not named:\n%s%s", out, errOut)
	}
}

// TestAnalyzeReportFile: --report writes the HTML report of the same
// analysis beside the main output, and the exit code is still the verdict.
func TestAnalyzeReportFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "report.html")
	code, out, errOut := runJudge(t, "", "analyze", "--canary-config", "../../fixtures/analyze/canary-config.yaml",
		"--data", "../../fixtures/analyze/regression.json", "--output", "json", "--report", path)
	if code != exitFail || !strings.Contains(out, `"result": "FAIL"`) {
		t.Fatalf("exit %d, %s %s", code, out, errOut)
	}
	page, err := os.ReadFile(path) //nolint:gosec // the test's file
	if err != nil || !strings.Contains(string(page), "<html") || !strings.Contains(string(page), "FAIL") {
		t.Fatalf("report: %v\n%.300s", err, page)
	}
	code, _, errOut = runJudge(t, "", "analyze", "--canary-config", "../../fixtures/analyze/canary-config.yaml",
		"--data", "../../fixtures/analyze/good.json", "--report", filepath.Join(dir, "missing", "r.html"))
	if code != exitInternal || !strings.Contains(errOut, "--report") {
		t.Errorf("unwritable report: exit %d, %q", code, errOut)
	}
}

// TestAnalyzeSummary: --summary appends a Markdown table, worst metric
// first, in which a hostile metric name cannot break the table or inject
// HTML.
func TestAnalyzeSummary(t *testing.T) {
	dir := t.TempDir()
	path := writeFile(t, dir, "summary.md", "earlier step\n")
	code, _, errOut := runJudge(t, "", "analyze", "--canary-config", "../../fixtures/analyze/canary-config.yaml",
		"--data", "../../fixtures/analyze/regression.json", "--summary", path)
	if code != exitFail {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	raw, _ := os.ReadFile(path) //nolint:gosec // the test's file
	md := string(raw)
	if !strings.HasPrefix(md, "earlier step\n### judge: FAIL, score 0") || !strings.Contains(md, "| HIGH | request_latency_ms | mann_whitney | 6.219e-06 |") {
		t.Fatalf("summary:\n%s", md)
	}
	if strings.Index(md, "| HIGH |") > strings.Index(md, "| PASS |") {
		t.Errorf("worst metric not first:\n%s", md)
	}
	for _, tc := range []struct{ in, want string }{
		{"a|b", `a\|b`},
		{"x\n| forged | row |", `x\n\| forged \| row \|`},
		{"<img src=x onerror=alert(1)>", "&lt;img src=x onerror=alert(1)&gt;"},
	} {
		if got := cell(tc.in); got != tc.want {
			t.Errorf("cell(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
