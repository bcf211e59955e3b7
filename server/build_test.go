package server

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/canaryjudge/judge/version"
)

// TestBuildInfo: an operator finds which build is running on /metrics
// (judge_build_info), in the web UI's footer and in the API index.
func TestBuildInfo(t *testing.T) {
	s := startServer(t, Config{})
	base := "http://" + s.Addr()
	b := version.Get()
	get := func(path string) string {
		t.Helper()
		resp, err := http.Get(base + path) //nolint:noctx // a test's request
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return string(body)
	}
	want := `judge_build_info{commit="` + b.Commit + `",commit_date="` + b.Date + `",goversion="` + b.GoVersion + `",version="` + b.Version + `"} 1`
	if m := get("/metrics"); !strings.Contains(m, want) {
		t.Errorf("/metrics lacks %s", want)
	}
	if page := get("/ui/"); !strings.Contains(page, "<footer><small>judge "+b.Version) || !strings.Contains(page, b.GoVersion) {
		t.Errorf("UI footer missing the build: %s", page)
	}
	if idx := get("/v1/"); !strings.Contains(idx, `"version": "`+b.Version+`"`) {
		t.Errorf("API index: %s", idx)
	}
}
