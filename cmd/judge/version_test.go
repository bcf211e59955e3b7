package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/canaryjudge/judge/version"
)

func TestVersionCommand(t *testing.T) {
	code, out, errOut := runJudge(t, "", "version")
	if code != 0 || !strings.HasPrefix(out, "judge ") || !strings.Contains(out, runtime.Version()) {
		t.Errorf("judge version: exit %d, %q %q", code, out, errOut)
	}
	code, out, _ = runJudge(t, "", "version", "--output", "json")
	var got version.Info
	if err := json.Unmarshal([]byte(out), &got); err != nil || code != 0 || got != version.Get() {
		t.Errorf("judge version --output json: exit %d, %s (%v)", code, out, err)
	}
	if code, _, errOut := runJudge(t, "", "version", "--output", "yaml"); code != exitUsage || !strings.Contains(errOut, "--output") {
		t.Errorf("bad --output: exit %d, %q", code, errOut)
	}
}

func TestHealthcheckCommand(t *testing.T) {
	if code, _, errOut := runJudge(t, "", "healthcheck", "--url", "http://127.0.0.1:1/healthz"); code != exitUnavailable || !strings.Contains(errOut, "health check") {
		t.Errorf("nothing listening: exit %d, %q", code, errOut)
	}
	if code, _, _ := runJudge(t, "", "healthcheck", "--url", "::not a url"); code != exitUsage {
		t.Errorf("bad url: exit %d", code)
	}
}

// TestArgoPluginInstall copies a plugin binary into a directory,
// executable, and refuses a missing plugin or directory with exit 65.
func TestArgoPluginInstall(t *testing.T) {
	dir := t.TempDir()
	from := writeFile(t, dir, "plugin", "\x7fELF stand-in")
	to := t.TempDir()
	code, out, errOut := runJudge(t, "", "argo-plugin", "install", "--from", from, to)
	info, err := os.Stat(filepath.Join(to, "judge-argo-plugin"))
	if code != 0 || err != nil || info.Mode().Perm() != 0o755 || !strings.Contains(out, "file://"+filepath.Join(to, "judge-argo-plugin")) {
		t.Fatalf("install: exit %d %s %s, %v", code, out, errOut, err)
	}
	if code, _, _ := runJudge(t, "", "argo-plugin", "install", "--from", filepath.Join(dir, "missing"), to); code != 65 {
		t.Errorf("a missing plugin: exit %d, want 65", code)
	}
	if code, _, _ := runJudge(t, "", "argo-plugin", "install", "--from", from, filepath.Join(dir, "no-such-dir")); code != 65 {
		t.Errorf("a missing directory: exit %d, want 65", code)
	}
}
