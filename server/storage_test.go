package server

import (
	"context"
	"database/sql"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/canaryjudge/judge/internal/testenv"
)

// waitStatus polls url until it answers want, or fails after 5 s.
func waitStatus(t *testing.T, url string, want int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		code, _, _ := do(t, "GET", url, "", "")
		if code == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %d, want %d", url, code, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestDiskFull is the regression test for row 9 of issue 30 on a real full
// disk (a 4 MiB tmpfs holding the data directory): /readyz answered 200
// while every write failed with 500. The write probe makes the replica
// unready, a failed write is 503, and both recover when space returns.
func TestDiskFull(t *testing.T) {
	testenv.NeedsExternal(t, "a tmpfs mount (root)")
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Fatalf("mount a tmpfs for a full disk (the test runs as root, as make test does): %v: %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("umount", "-l", dir).Run() })
	data := filepath.Join(dir, "data")
	s := startServer(t, Config{DataDir: data, ProbeInterval: 100 * time.Millisecond})
	base := "http://" + s.Addr()
	if code := call(t, "PUT", base+"/v1/canaryConfigs/c1", `{"config":`+inlineConfig+`}`, nil); code != 200 {
		t.Fatalf("PUT config: %d", code)
	}
	waitStatus(t, base+"/readyz", 200)
	filler := filepath.Join(dir, "filler")
	f, err := os.Create(filler)
	if err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, 64<<10)
	for {
		if _, err := f.Write(chunk); err != nil {
			break
		}
	}
	f.Close()
	big := `{"config":{"name":"svc","templates":{"t":"` + strings.Repeat("x", 1<<20) + `"},"metrics":[{"name":"latency","groups":["perf"]}]}}`
	if code, _, body := do(t, "PUT", base+"/v1/canaryConfigs/c2", "", big); code != 503 {
		t.Errorf("PUT config on a full disk: %d %s, want 503", code, body)
	}
	waitStatus(t, base+"/readyz", 503)
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, base+"/readyz", 200)
	if code := call(t, "PUT", base+"/v1/canaryConfigs/c3", `{"config":`+inlineConfig+`}`, nil); code != 200 {
		t.Errorf("PUT config after space returned: %d", code)
	}
	if code := call(t, "GET", base+"/v1/canaryConfigs/c1", "", nil); code != 200 {
		t.Errorf("the config stored before the disk filled: %d", code)
	}
}

// TestDatabaseFileLost is the regression test for the deleted database of
// row 9: the replica went on answering ready, and after a restart it served
// an empty database. It is unready at once and refuses to start.
func TestDatabaseFileLost(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, Config{DataDir: dir, ProbeInterval: 100 * time.Millisecond})
	base := "http://" + s.Addr()
	if code := call(t, "PUT", base+"/v1/canaryConfigs/c1", `{"config":`+inlineConfig+`}`, nil); code != 200 {
		t.Fatalf("PUT config: %d", code)
	}
	waitStatus(t, base+"/readyz", 200)
	for _, f := range []string{"judge.db", "judge.db-wal", "judge.db-shm"} {
		_ = os.Remove(filepath.Join(dir, f))
	}
	waitStatus(t, base+"/readyz", 503)
	s.Shutdown(context.Background())
	for _, f := range []string{"judge.db", "judge.db-wal", "judge.db-shm"} {
		_ = os.Remove(filepath.Join(dir, f))
	}
	cfg := Config{Addr: "127.0.0.1:0", DataDir: dir}
	if s2, err := Start(context.Background(), cfg, quiet); err == nil {
		s2.Shutdown(context.Background())
		t.Fatal("started on a data directory whose database was deleted")
	} else if !strings.Contains(err.Error(), "judge.db is missing") {
		t.Errorf("start error %q does not say the database is missing", err)
	}
}

// TestDatabaseCorrupted is the regression test for the corrupted database
// of row 9 (ready, lists 500): a replica started on a corrupt file is
// unready, and reads that hit the corruption answer 503.
func TestDatabaseCorrupted(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, Config{DataDir: dir})
	base := "http://" + s.Addr()
	for i := range 300 {
		if code := call(t, "PUT", base+"/v1/canaryConfigs/c"+strconv.Itoa(i), `{"config":`+inlineConfig+`}`, nil); code != 200 {
			t.Fatalf("PUT config: %d", code)
		}
	}
	pageSize, pages := leafPages(t, filepath.Join(dir, "judge.db"), "canary_configs")
	s.Shutdown(context.Background())
	if len(pages) < 2 {
		t.Fatalf("the configs fill %d leaf pages; want several", len(pages))
	}
	// Garbage over them, written past SQLite.
	f, err := os.OpenFile(filepath.Join(dir, "judge.db"), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	garbage := []byte(strings.Repeat("\xde\xad\xbe\xef", int(pageSize)/4))
	for _, p := range pages {
		if _, err := f.WriteAt(garbage, (p-1)*pageSize); err != nil {
			t.Fatal(err)
		}
	}
	f.Close()
	s2, err := Start(context.Background(), Config{Addr: "127.0.0.1:0", DataDir: dir, ProbeInterval: 100 * time.Millisecond}, quiet)
	if err != nil {
		// Refusing to start on a corrupt file is as good.
		t.Logf("start: %v", err)
		if !strings.Contains(err.Error(), "malformed") && !strings.Contains(err.Error(), "not a database") {
			t.Errorf("start on a corrupt database: %v", err)
		}
		return
	}
	t.Cleanup(func() { s2.Shutdown(context.Background()) })
	base = "http://" + s2.Addr()
	waitStatus(t, base+"/readyz", 503)
	if code, _, body := do(t, "GET", base+"/v1/canaryConfigs?page_size=1000", "", ""); code == 500 || code == 200 {
		t.Errorf("list configs on a corrupt database: %d %.200s, want 503", code, body)
	}
}

// leafPages returns a SQLite file's page size and the leaf pages of one of
// its tables, found through SQLite's dbstat.
func leafPages(t *testing.T, file, table string) (int64, []int64) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+file)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var pageSize int64
	if err := db.QueryRow(`PRAGMA page_size`).Scan(&pageSize); err != nil {
		t.Fatal(err)
	}
	rows, err := db.Query(`SELECT pageno FROM dbstat WHERE name = ? AND pagetype = 'leaf'`, table)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var pages []int64
	for rows.Next() {
		var p int64
		if err := rows.Scan(&p); err != nil {
			t.Fatal(err)
		}
		pages = append(pages, p)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return pageSize, pages
}
