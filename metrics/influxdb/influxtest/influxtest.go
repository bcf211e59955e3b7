// Package influxtest runs a real InfluxDB 1.x for tests: influxd from
// Debian's influxdb package (scripts/ensure-sources.sh installs it) on a
// temporary directory and free loopback ports, with fixture points written
// through its HTTP API into the database "judge". A missing InfluxDB is a
// test failure, never a skip.
package influxtest

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
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

// Database is the database the fixtures are written to.
const Database = "judge"

// Point is one fixture point: a measurement, its tags, the field "value"
// and a time.
type Point struct {
	Measurement string
	Tags        map[string]string
	Value       float64
	T           time.Time
}

// freePort returns a free loopback port.
func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// Start runs influxd for one test, writes the points and returns its URL;
// the server stops when the test ends.
func Start(t testing.TB, points []Point) string {
	testenv.NeedsExternal(t, "a real InfluxDB")
	t.Helper()
	bin, err := exec.LookPath("influxd")
	if err != nil {
		t.Fatal("influxd not found: run scripts/ensure-sources.sh (make test does) to install Debian's influxdb package")
	}
	dir := t.TempDir()
	httpPort, rpcPort := freePort(t), freePort(t)
	conf := fmt.Sprintf(`reporting-disabled = true
bind-address = "127.0.0.1:%d"
[meta]
  dir = %q
[data]
  dir = %q
  wal-dir = %q
  query-log-enabled = false
[http]
  bind-address = "127.0.0.1:%d"
  log-enabled = false
[monitor]
  store-enabled = false
`, rpcPort, filepath.Join(dir, "meta"), filepath.Join(dir, "data"), filepath.Join(dir, "wal"), httpPort)
	confPath := filepath.Join(dir, "influxdb.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	logFile, err := os.Create(filepath.Join(dir, "influxd.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "run", "-config", confPath) //nolint:gosec // influxd from its package
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		_ = logFile.Close()
	})
	base := fmt.Sprintf("http://127.0.0.1:%d", httpPort)
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if resp, err := http.Get(base + "/ping"); err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusNoContent {
				break
			}
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "influxd.log"))
			t.Fatalf("influxd did not start:\n%s", log)
		}
	}
	post(t, base+"/query", url.Values{"q": {"CREATE DATABASE " + Database}}.Encode(), "application/x-www-form-urlencoded")
	var lines []string
	for _, p := range points {
		var tags []string
		for k, v := range p.Tags {
			tags = append(tags, k+"="+strings.NewReplacer(",", `\,`, " ", `\ `, "=", `\=`).Replace(v))
		}
		slices.Sort(tags)
		key := p.Measurement
		if len(tags) > 0 {
			key += "," + strings.Join(tags, ",")
		}
		lines = append(lines, fmt.Sprintf("%s value=%s %d", key, strconv.FormatFloat(p.Value, 'g', -1, 64), p.T.Unix()))
	}
	for i := 0; i < len(lines); i += 5000 {
		post(t, base+"/write?db="+Database+"&precision=s", strings.Join(lines[i:min(i+5000, len(lines))], "\n"), "text/plain")
	}
	return base
}

func post(t testing.TB, u, body, contentType string) {
	t.Helper()
	resp, err := http.Post(u, contentType, strings.NewReader(body)) //nolint:gosec,noctx // the test's own server
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode/100 != 2 {
		t.Fatalf("POST %s: HTTP %d", u, resp.StatusCode)
	}
}
