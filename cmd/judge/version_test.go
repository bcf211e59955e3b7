package main

import (
	"encoding/json"
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
