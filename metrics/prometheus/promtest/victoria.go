package promtest

import (
	"fmt"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/canaryjudge/judge/internal/testenv"
)

// StartVictoriaMetrics runs Debian's victoria-metrics for one test with
// the series imported through its Prometheus text import, and returns its
// URL, which serves Prometheus' query API; it stops when the test ends. A
// missing binary is a test failure (scripts/ensure-sources.sh installs it).
func StartVictoriaMetrics(t testing.TB, series []Series) string {
	testenv.NeedsExternal(t, "a real VictoriaMetrics")
	t.Helper()
	bin, err := exec.LookPath("victoria-metrics")
	if err != nil {
		t.Fatal("victoria-metrics not found: run scripts/ensure-sources.sh (make test does) to install Debian's victoria-metrics package")
	}
	dir := t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	logFile, err := os.Create(filepath.Join(dir, "victoria-metrics.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-storageDataPath="+filepath.Join(dir, "data"), "-httpListenAddr="+addr, //nolint:gosec // victoria-metrics from its package
		"-retentionPeriod=100y", "-search.latencyOffset=0s")
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		_ = logFile.Close()
	})
	base := "http://" + addr
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if resp, err := http.Get(base + "/health"); err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "victoria-metrics.log"))
			t.Fatalf("victoria-metrics did not start:\n%s", log)
		}
	}
	var b strings.Builder
	for _, s := range series {
		var labels []string
		for k, v := range s.Labels {
			labels = append(labels, fmt.Sprintf("%s=%q", k, v))
		}
		slices.Sort(labels)
		for _, p := range s.Samples {
			if math.IsNaN(p.V) {
				continue
			}
			fmt.Fprintf(&b, "%s{%s} %s %d\n", s.Name, strings.Join(labels, ","), strconv.FormatFloat(p.V, 'g', -1, 64), p.T.UnixMilli())
		}
	}
	for _, step := range []struct{ path, body string }{{"/api/v1/import/prometheus", b.String()}, {"/internal/force_flush", ""}} {
		resp, err := http.Post(base+step.path, "text/plain", strings.NewReader(step.body)) //nolint:gosec,noctx // the test's own server
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			t.Fatalf("victoria-metrics %s: HTTP %d", step.path, resp.StatusCode)
		}
	}
	// Imported rows become searchable within a second of the flush.
	time.Sleep(1500 * time.Millisecond)
	return base
}
