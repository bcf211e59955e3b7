// Package promtest runs a real Prometheus server for tests: fixture series
// written as OpenMetrics are backfilled with promtool into a temporary TSDB,
// and prometheus serves it on a free loopback port until the test ends. The
// binaries come from Debian's prometheus package
// (scripts/ensure-prometheus.sh installs it); a missing Prometheus is a test
// failure, never a skip.
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

// Sample is one point of a fixture series.
type Sample struct {
	T time.Time
	V float64
}

// Series is a fixture series: a metric name, its labels and samples in
// time order.
type Series struct {
	Name    string
	Labels  map[string]string
	Samples []Sample
}

// OpenMetrics writes series in the OpenMetrics text format promtool
// backfills (timestamps in seconds, # EOF at the end).
func OpenMetrics(series []Series) string {
	var b strings.Builder
	typed := map[string]bool{}
	for _, s := range series {
		if !typed[s.Name] {
			fmt.Fprintf(&b, "# TYPE %s gauge\n", s.Name)
			typed[s.Name] = true
		}
	}
	for _, s := range series {
		var labels []string
		for k, v := range s.Labels {
			labels = append(labels, fmt.Sprintf("%s=%q", k, v))
		}
		slices.Sort(labels)
		for _, p := range s.Samples {
			v := strconv.FormatFloat(p.V, 'g', -1, 64)
			switch {
			case math.IsInf(p.V, 1):
				v = "+Inf"
			case math.IsNaN(p.V):
				v = "NaN"
			}
			fmt.Fprintf(&b, "%s{%s} %s %d\n", s.Name, strings.Join(labels, ","), v, p.T.Unix())
		}
	}
	b.WriteString("# EOF\n")
	return b.String()
}

// binary finds a Prometheus binary on PATH or in /usr/bin.
func binary(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	p := filepath.Join("/usr/bin", name)
	if _, err := os.Stat(p); err == nil {
		return p, nil
	}
	return "", fmt.Errorf("%s not found: run scripts/ensure-prometheus.sh (make test does) to install Debian's prometheus package", name)
}

// Start runs a server for one test (see Run) and stops it when the test
// ends; any failure fails the test.
func Start(t testing.TB, series []Series) string {
	t.Helper()
	return StartWith(t, series, Options{})
}

// Options configure a Prometheus beyond its series.
type Options struct {
	// WebConfig, when set, is Prometheus' --web.config.file: TLS (then the
	// URL is https) and basic auth users.
	WebConfig string
	// Client checks readiness; it must meet what WebConfig asks (a CA, a
	// client certificate). Readiness is checked with BasicAuth when set.
	Client    *http.Client
	BasicAuth [2]string
}

// StartWith is Start with options.
func StartWith(t testing.TB, series []Series, opts Options) string {
	testenv.NeedsExternal(t, "a real Prometheus")
	t.Helper()
	url, stop, err := RunWith(series, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	return url
}

// Run backfills series into a new TSDB in a temporary directory, starts
// prometheus on it and returns its URL and a function that stops it and
// removes the directory. Fixture samples must be older than three hours
// (promtool cannot backfill the head block).
func Run(series []Series) (url string, stop func(), err error) { return RunWith(series, Options{}) }

// RunWith is Run with options.
func RunWith(series []Series, opts Options) (url string, stop func(), err error) {
	promtool, err := binary("promtool")
	if err != nil {
		return "", nil, err
	}
	prometheus, err := binary("prometheus")
	if err != nil {
		return "", nil, err
	}
	dir, err := os.MkdirTemp("", "judge-prometheus-")
	if err != nil {
		return "", nil, err
	}
	fail := func(err error) (string, func(), error) {
		_ = os.RemoveAll(dir)
		return "", nil, err
	}
	input := filepath.Join(dir, "fixtures.om")
	if err := os.WriteFile(input, []byte(OpenMetrics(series)), 0o600); err != nil {
		return fail(err)
	}
	data := filepath.Join(dir, "data")
	if out, err := exec.Command(promtool, "tsdb", "create-blocks-from", "openmetrics", input, data).CombinedOutput(); err != nil { //nolint:gosec // promtool from the prometheus package
		return fail(fmt.Errorf("promtool backfill: %w\n%s", err, out))
	}
	cfg := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfg, []byte("global:\n  scrape_interval: 1h\n"), 0o600); err != nil {
		return fail(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fail(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	logPath := filepath.Join(dir, "prometheus.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return fail(err)
	}
	args := []string{"--config.file=" + cfg, "--storage.tsdb.path=" + data, "--storage.tsdb.retention.time=100y", "--web.listen-address=" + addr}
	scheme, client := "http", http.DefaultClient
	if opts.WebConfig != "" {
		web := filepath.Join(dir, "web.yml")
		if err := os.WriteFile(web, []byte(opts.WebConfig), 0o600); err != nil {
			return fail(err)
		}
		args = append(args, "--web.config.file="+web)
		if strings.Contains(opts.WebConfig, "tls_server_config") {
			scheme = "https"
		}
	}
	if opts.Client != nil {
		client = opts.Client
	}
	cmd := exec.Command(prometheus, args...) //nolint:gosec // prometheus from its package
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		_ = logFile.Close()
		return fail(fmt.Errorf("start prometheus: %w", err))
	}
	stop = func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		_ = logFile.Close()
		_ = os.RemoveAll(dir)
	}
	url = scheme + "://" + addr
	deadline := time.Now().Add(60 * time.Second)
	for {
		req, _ := http.NewRequest(http.MethodGet, url+"/-/ready", nil)
		if opts.BasicAuth[0] != "" {
			req.SetBasicAuth(opts.BasicAuth[0], opts.BasicAuth[1])
		}
		resp, err := client.Do(req)
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return url, stop, nil
			}
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(logPath)
			stop()
			return "", nil, fmt.Errorf("prometheus not ready after 60s:\n%s", log)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Promtool returns the path of Debian's promtool (see scripts/ensure-prometheus.sh).
func Promtool() (string, error) { return binary("promtool") }
