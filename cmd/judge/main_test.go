package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// runJudge runs the CLI in-process and returns exit code, stdout and stderr.
func runJudge(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(args, strings.NewReader(stdin), &out, &errOut)
	return code, out.String(), errOut.String()
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCompareJSON(t *testing.T) {
	dir := t.TempDir()
	canary := writeFile(t, dir, "c.txt", "# canary\n1.83\n0.50\n1.62\n2.48\n1.68\n1.88\n1.55\n3.06\n1.30\n")
	baseline := writeFile(t, dir, "b.txt", "0.878\n0.647\n0.598\n2.05\n1.06\n1.29\n1.06\n3.14\n1.29\n")
	code, out, errOut := runJudge(t, "", "compare", "--canary", canary, "--baseline", baseline, "--alternative", "greater", "--output", "json")
	if code != 0 {
		t.Fatalf("exit %d, stderr %s", code, errOut)
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, out)
	}
	// R 4.2.2: wilcox.test(x, y, alternative = "greater", conf.int = TRUE) on
	// these samples (ties in the baseline, so asymptotic) gives W = 58,
	// p = 0.06645973 and the interval [-0.09801935, Inf), where R's uniroot
	// lands within 1e-4 of the exact step at -0.098.
	if got["w"] != 58.0 || got["method"] != "asymptotic" || got["alternative"] != "greater" || got["ci_high"] != nil {
		t.Errorf("unexpected result %v", got)
	}
	if p := got["p_value"].(float64); p < 0.06645972 || p > 0.06645974 {
		t.Errorf("p_value = %v, want 0.06645973", p)
	}
	if lo := got["ci_low"].(float64); lo < -0.0981 || lo > -0.0979 {
		t.Errorf("ci_low = %v, want -0.098", lo)
	}
	for _, key := range []string{"n_canary", "n_baseline", "estimate", "ci_low", "conf_level"} {
		if _, ok := got[key]; !ok {
			t.Errorf("output lacks %q", key)
		}
	}
}

func TestCompareText(t *testing.T) {
	dir := t.TempDir()
	baseline := writeFile(t, dir, "b.txt", "1\n2\n3\n4\n5\n")
	code, out, errOut := runJudge(t, "10\n11\n12\n13\n", "compare", "--canary", "-", "--baseline", baseline)
	if code != 0 {
		t.Fatalf("exit %d, stderr %s", code, errOut)
	}
	for _, want := range []string{"canary", "baseline", "W = 20", "p-value", "confidence interval"} {
		if !strings.Contains(out, want) {
			t.Errorf("text output lacks %q:\n%s", want, out)
		}
	}
}

func TestCompareErrors(t *testing.T) {
	dir := t.TempDir()
	good := writeFile(t, dir, "good.txt", "1\n2\n3\n")
	bad := writeFile(t, dir, "bad.txt", "1\n2\nthree\n")
	empty := writeFile(t, dir, "empty.txt", "# nothing\n")
	tests := map[string]struct {
		args     []string
		wantCode int
		wantText string
	}{
		"unparsable line":   {[]string{"compare", "--canary", bad, "--baseline", good}, 65, "bad.txt:3"},
		"missing file":      {[]string{"compare", "--canary", filepath.Join(dir, "nope.txt"), "--baseline", good}, 65, "nope.txt"},
		"empty sample":      {[]string{"compare", "--canary", good, "--baseline", empty}, 65, "empty.txt"},
		"missing flag":      {[]string{"compare", "--canary", good}, 64, "--baseline"},
		"unknown flag":      {[]string{"compare", "--canary", good, "--baseline", good, "--frobnicate"}, 64, "frobnicate"},
		"bad alternative":   {[]string{"compare", "--canary", good, "--baseline", good, "--alternative", "up"}, 64, "--alternative"},
		"bad conf level":    {[]string{"compare", "--canary", good, "--baseline", good, "--conf-level", "1.5"}, 64, "--conf-level"},
		"non-numeric level": {[]string{"compare", "--canary", good, "--baseline", good, "--conf-level", "high"}, 64, "conf-level"},
		"bad output":        {[]string{"compare", "--canary", good, "--baseline", good, "--output", "xml"}, 64, "--output"},
		"both stdin":        {[]string{"compare", "--canary", "-", "--baseline", "-"}, 64, "standard input"},
		"unknown command":   {[]string{"frobnicate"}, 64, "unknown command"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			code, _, errOut := runJudge(t, "", tc.args...)
			if code != tc.wantCode {
				t.Errorf("exit %d, want %d (stderr %q)", code, tc.wantCode, errOut)
			}
			if !strings.Contains(errOut, tc.wantText) {
				t.Errorf("stderr %q does not mention %q", errOut, tc.wantText)
			}
		})
	}
}

// TestConfigPrecedence checks that flags win over JUDGE_* environment
// variables, which win over the --config file.
func TestConfigPrecedence(t *testing.T) {
	dir := t.TempDir()
	c := writeFile(t, dir, "c.txt", "5\n6\n7\n")
	b := writeFile(t, dir, "b.txt", "1\n2\n3\n")
	cfg := writeFile(t, dir, "judge.yaml", "output: json\nalternative: less\n")

	code, out, _ := runJudge(t, "", "--config", cfg, "compare", "--canary", c, "--baseline", b)
	if code != 0 || !strings.Contains(out, `"alternative": "less"`) {
		t.Fatalf("config file not applied: exit %d, %s", code, out)
	}
	t.Setenv("JUDGE_ALTERNATIVE", "greater")
	_, out, _ = runJudge(t, "", "--config", cfg, "compare", "--canary", c, "--baseline", b)
	if !strings.Contains(out, `"alternative": "greater"`) {
		t.Fatalf("environment does not override the file: %s", out)
	}
	_, out, _ = runJudge(t, "", "--config", cfg, "compare", "--canary", c, "--baseline", b, "--alternative", "two-sided")
	if !strings.Contains(out, `"alternative": "two-sided"`) {
		t.Fatalf("flag does not override the environment: %s", out)
	}
}

// TestPanicExits70 checks that a panic in a command is an internal error
// (exit 70, one line), never Go's exit 2, which reads as MARGINAL.
func TestPanicExits70(t *testing.T) {
	var out, errOut strings.Builder
	root := &cobra.Command{Use: "judge", SilenceErrors: true, SilenceUsage: true}
	root.AddCommand(&cobra.Command{Use: "boom", RunE: func(*cobra.Command, []string) error {
		panic("boom:\na bug")
	}})
	code := execute(root, []string{"boom"}, &out, &errOut)
	if code != exitInternal || strings.Count(strings.TrimSpace(errOut.String()), "\n") != 0 || !strings.Contains(errOut.String(), "internal error") {
		t.Errorf("exit %d, stderr %q; want 70 and one line", code, errOut.String())
	}
}

// TestHugeStepRefused is the regression test for a step of 2^55 seconds,
// which overflowed to a zero duration and panicked (exit 2, MARGINAL): it
// is refused as bad input naming the field, before any arithmetic.
func TestHugeStepRefused(t *testing.T) {
	dir := t.TempDir()
	appConfig := writeFile(t, dir, "judge.yaml", "metrics:\n  accounts:\n    - name: p\n      type: prometheus\n      url: http://127.0.0.1:1\n")
	canaryConfig := writeFile(t, dir, "canary.yaml", "metrics:\n  - {name: a, groups: [g], query: {prometheus: 'up{pod=\"${scope}\"}'}}\n")
	for _, step := range []string{"36028797018963968", "-60", "0", "86401"} {
		scopes := writeFile(t, dir, "scopes.json", `{"scopes":{"default":{
			"controlScope":{"scope":"a","start":"2026-01-01T00:00:00Z","end":"2026-01-01T01:00:00Z","step":`+step+`},
			"experimentScope":{"scope":"b","start":"2026-01-01T00:00:00Z","end":"2026-01-01T01:00:00Z","step":`+step+`}}}}`)
		code, _, errOut := runJudge(t, "", "analyze", "--config", appConfig, "--canary-config", canaryConfig, "--scopes", scopes)
		if (code != exitUsage && code != exitDataErr) || !strings.Contains(errOut, "step") {
			t.Errorf("step %s: exit %d, stderr %q; want 64 or 65 naming the step", step, code, errOut)
		}
	}
}
