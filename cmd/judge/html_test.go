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
