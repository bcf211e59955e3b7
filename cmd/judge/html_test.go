package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestAnalyzeHTML checks judge analyze --output html: a self-contained
// report with a chart per metric, and the exit status of the verdict.
func TestAnalyzeHTML(t *testing.T) {
	dir := filepath.Join(scenarios, "regression-high")
	cfgs, _ := filepath.Glob(filepath.Join(dir, "config.*"))
	code, out, errOut := runJudge(t, "", "analyze", "--canary-config", cfgs[0], "--data", filepath.Join(dir, "data.json"), "--output", "html")
	if code != 1 || !strings.HasPrefix(out, "<!DOCTYPE html>") || !strings.Contains(out, "<svg") || !strings.Contains(out, `badge FAIL">FAIL`) {
		t.Errorf("exit %d (%s), page %.200q", code, errOut, out)
	}
	if code, _, errOut := runJudge(t, "", "analyze", "--canary-config", cfgs[0], "--data", filepath.Join(dir, "data.json"), "--output", "pdf"); code != 64 || !strings.Contains(errOut, "html") {
		t.Errorf("--output pdf: exit %d %s", code, errOut)
	}
}

// TestBacktestHTML checks judge backtest --output html on NAB-format input
// and synthetic cases.
func TestBacktestHTML(t *testing.T) {
	code, out, errOut := runJudge(t, "", "backtest", "--synthetic", "--cases", "24", "--judge", "both", "--output", "html")
	if code != 0 || !strings.HasPrefix(out, "<!DOCTYPE html>") || !strings.Contains(out, "Judge default") || !strings.Contains(out, "Judge kayenta") ||
		!strings.Contains(out, "Power curve") {
		t.Errorf("synthetic: exit %d (%s), page %.300q", code, errOut, out)
	}
	code, out, errOut = runJudge(t, "", "backtest", "--nab-data", "../../fixtures/nab", "--nab-labels", "../../fixtures/nab/combined_windows.json",
		"--judge", "default", "--advise", "0.3", "--output", "html")
	if code != 0 || !strings.Contains(out, "Threshold sweep") || !strings.Contains(out, "nyc_taxi.csv#incident-1") || !strings.Contains(out, "(shaded) right after the baseline window") {
		t.Errorf("NAB: exit %d (%s), page %.300q", code, errOut, out)
	}
}
