// Package graphitetest runs a real graphite-web for tests: Debian's
// graphite-web (scripts/ensure-sources.sh installs it) serving whisper
// files written with python3-whisper's whisper-create and whisper-update
// in a temporary storage directory, on a free loopback port. A missing
// Graphite is a test failure, never a skip.
package graphitetest

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/canaryjudge/judge/internal/testenv"
)

// Series is one fixture series: a dotted metric path and a point every
// Step from Start.
type Series struct {
	Path   string
	Start  time.Time
	Step   time.Duration
	Values []float64
}

// localSettings is graphite-web's local settings for a test's storage.
const localSettings = `STORAGE_DIR = %[1]q
WHISPER_DIR = %[2]q
STANDARD_DIRS = [%[2]q]
LOG_DIR = %[1]q
INDEX_FILE = %[3]q
SECRET_KEY = 'judge-test-only'
CARBONLINK_HOSTS = []
DATABASES = {'default': {'NAME': %[4]q, 'ENGINE': 'django.db.backends.sqlite3'}}
`

// Start writes the series as whisper files (one-minute points kept 100
// days), runs graphite-web on them and returns its URL; it stops when the
// test ends.
func Start(t testing.TB, series []Series) string {
	testenv.NeedsExternal(t, "a real graphite-web")
	t.Helper()
	manage, err := exec.LookPath("graphite-manage")
	if err != nil {
		t.Fatal("graphite-manage not found: run scripts/ensure-sources.sh (make test does) to install Debian's graphite-web package")
	}
	create, err := exec.LookPath("whisper-create")
	if err != nil {
		t.Fatal("whisper-create not found: run scripts/ensure-sources.sh (make test does) to install Debian's python3-whisper package")
	}
	update, _ := exec.LookPath("whisper-update")
	dir := t.TempDir()
	whisper := filepath.Join(dir, "whisper")
	for _, s := range series {
		file := filepath.Join(whisper, filepath.Join(strings.Split(s.Path, ".")...)) + ".wsp"
		if err := os.MkdirAll(filepath.Dir(file), 0o750); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command(create, file, "60s:100d").CombinedOutput(); err != nil { //nolint:gosec // whisper-create from its package
			t.Fatalf("whisper-create: %v\n%s", err, out)
		}
		args := []string{file}
		for i, v := range s.Values {
			args = append(args, fmt.Sprintf("%d:%s", s.Start.Add(time.Duration(i)*s.Step).Unix(), strconv.FormatFloat(v, 'g', -1, 64)))
		}
		if out, err := exec.Command(update, args...).CombinedOutput(); err != nil { //nolint:gosec // whisper-update from its package
			t.Fatalf("whisper-update: %v\n%s", err, out)
		}
	}
	settings := fmt.Sprintf(localSettings, dir, whisper, filepath.Join(dir, "index"), filepath.Join(dir, "graphite.db"))
	if err := os.WriteFile(filepath.Join(dir, "judge_graphite_local.py"), []byte(settings), 0o600); err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(), "PYTHONPATH="+dir, "GRAPHITE_SETTINGS_MODULE=judge_graphite_local")
	migrate := exec.Command(manage, "migrate", "--noinput") //nolint:gosec // graphite-manage from its package
	migrate.Env = env
	if out, err := migrate.CombinedOutput(); err != nil {
		t.Fatalf("graphite-manage migrate: %v\n%s", err, out)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	logFile, err := os.Create(filepath.Join(dir, "graphite-web.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(manage, "runserver", addr, "--noreload") //nolint:gosec // graphite-manage from its package
	cmd.Env, cmd.Stdout, cmd.Stderr = env, logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		_ = logFile.Close()
	})
	base := "http://" + addr
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if resp, err := http.Get(base + "/render?target=none&format=json"); err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "graphite-web.log"))
			t.Fatalf("graphite-web did not start:\n%s", log)
		}
	}
	return base
}
