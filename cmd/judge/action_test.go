package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// action is the part of action.yml the test runs.
type action struct {
	Inputs map[string]struct {
		Default string `yaml:"default"`
	} `yaml:"inputs"`
	Runs struct {
		Using string `yaml:"using"`
		Steps []struct {
			ID   string            `yaml:"id"`
			Name string            `yaml:"name"`
			Uses string            `yaml:"uses"`
			Run  string            `yaml:"run"`
			Env  map[string]string `yaml:"env"`
		} `yaml:"steps"`
	} `yaml:"runs"`
}

// TestGitHubAction runs the composite action's analyze and gate steps
// (action.yml at the repository root) as GitHub runs them, with a judge
// built from this tree: a regression fails the job, a good canary passes
// it, a missing file fails it with no verdict; the outputs, the job
// summary and the report are written each time. The examples use it.
func TestGitHubAction(t *testing.T) {
	raw, err := os.ReadFile("../../action.yml")
	if err != nil {
		t.Fatal(err)
	}
	var a action
	if err := yaml.Unmarshal(raw, &a); err != nil {
		t.Fatalf("action.yml: %v", err)
	}
	if a.Runs.Using != "composite" {
		t.Fatalf("runs.using %q", a.Runs.Using)
	}
	var analyze, gate string
	for _, s := range a.Runs.Steps {
		switch {
		case s.ID == "analyze":
			analyze = s.Run
		case s.Name == "gate on the verdict":
			gate = s.Run
		}
	}
	if analyze == "" || gate == "" {
		t.Fatal("action.yml: no analyze or gate step")
	}
	temp := t.TempDir()
	build := exec.Command("go", "build", "-o", filepath.Join(temp, "judge"), ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v %s", err, out)
	}
	root, _ := filepath.Abs("../..")
	for _, tc := range []struct {
		name, data, result string
		gatePasses         bool
	}{
		{"regression", "fixtures/analyze/regression.json", "FAIL", false},
		{"good", "fixtures/analyze/good.json", "PASS", true},
		{"missing data", "fixtures/analyze/none.json", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			output, summary := filepath.Join(dir, "output"), filepath.Join(dir, "summary.md")
			env := append(os.Environ(), "RUNNER_TEMP="+temp, "GITHUB_ACTION_PATH="+root, "GITHUB_OUTPUT="+output,
				"GITHUB_STEP_SUMMARY="+summary, "IN_CONFIG=fixtures/analyze/canary-config.yaml", "IN_DATA="+tc.data,
				"IN_REPORT="+filepath.Join(dir, "report.html"), "IN_TLS=false", "IN_LOOKS=0")
			step := exec.Command("bash", "-e", "-o", "pipefail", "-c", analyze) //nolint:gosec // the action's own script
			step.Dir, step.Env = root, env
			if out, err := step.CombinedOutput(); err != nil {
				t.Fatalf("analyze step: %v %s", err, out)
			}
			outs, _ := os.ReadFile(output) //nolint:gosec // the test's file
			md, _ := os.ReadFile(summary)  //nolint:gosec // the test's file
			if tc.result != "" {
				if !strings.Contains(string(outs), "result="+tc.result+"\n") || !strings.Contains(string(md), "### judge: "+tc.result) {
					t.Errorf("outputs %q, summary %q", outs, md)
				}
				if _, err := os.Stat(filepath.Join(dir, "report.html")); err != nil {
					t.Errorf("report: %v", err)
				}
			} else if !strings.Contains(string(md), "no verdict") || strings.Contains(string(outs), "result=") {
				t.Errorf("no verdict: outputs %q, summary %q", outs, md)
			}
			g := exec.Command("bash", "-e", "-c", gate) //nolint:gosec // the action's own script
			g.Env = env
			if err := g.Run(); (err == nil) != tc.gatePasses {
				t.Errorf("gate: %v, want passing %v", err, tc.gatePasses)
			}
		})
	}
	example, err := os.ReadFile("../../examples/ci/github-actions.yml")
	if err != nil || !strings.Contains(string(example), "uses: canaryjudge/judge@") {
		t.Errorf("the GitHub Actions example does not use the action: %v", err)
	}
	gitlab, err := os.ReadFile("../../examples/ci/gitlab-ci.yml")
	if err != nil || !strings.Contains(string(gitlab), "ci/judge.gitlab-ci.yml") || !strings.Contains(string(gitlab), "extends: .judge-analyze") {
		t.Errorf("the GitLab example does not use the template: %v", err)
	}
}

// TestGitLabTemplate runs the template's analyze script (after its go
// install) with a judge built from this tree on PATH: only PASS exits 0,
// and the summary and report are written for the artifacts.
func TestGitLabTemplate(t *testing.T) {
	raw, err := os.ReadFile("../../ci/judge.gitlab-ci.yml")
	if err != nil {
		t.Fatal(err)
	}
	var tmpl map[string]struct {
		Variables map[string]string `yaml:"variables"`
		Script    []string          `yaml:"script"`
		Artifacts struct {
			Paths []string `yaml:"paths"`
		} `yaml:"artifacts"`
	}
	if err := yaml.Unmarshal(raw, &tmpl); err != nil {
		t.Fatal(err)
	}
	job, ok := tmpl[".judge-analyze"]
	if !ok || len(job.Script) != 2 || !strings.HasPrefix(job.Script[0], "go install ") {
		t.Fatalf("template: %+v", job)
	}
	bin := t.TempDir()
	if out, err := exec.Command("go", "build", "-o", filepath.Join(bin, "judge"), ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v %s", err, out)
	}
	root, _ := filepath.Abs("../..")
	for data, want := range map[string]int{"regression.json": 1, "good.json": 0, "none.json": exitDataErr} {
		dir := t.TempDir()
		for _, f := range []string{"canary-config.yaml", "regression.json", "good.json"} {
			b, err := os.ReadFile(filepath.Join(root, "fixtures", "analyze", f)) //nolint:gosec // fixtures
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, f), b, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		env := []string{"PATH=" + bin + ":" + os.Getenv("PATH"), "HOME=" + dir}
		for k, v := range job.Variables {
			env = append(env, k+"="+v)
		}
		env = append(env, "JUDGE_CANARY_CONFIG=canary-config.yaml", "JUDGE_DATA="+data)
		cmd := exec.Command("bash", "-c", job.Script[1]) //nolint:gosec // the template's own script
		cmd.Dir, cmd.Env = dir, env
		out, _ := cmd.CombinedOutput()
		if got := cmd.ProcessState.ExitCode(); got != want {
			t.Errorf("%s: exit %d, want %d\n%s", data, got, want, out)
		}
		if want < 64 {
			for _, p := range job.Artifacts.Paths {
				if _, err := os.Stat(filepath.Join(dir, p)); err != nil {
					t.Errorf("%s: artifact %s: %v", data, p, err)
				}
			}
		}
	}
}
