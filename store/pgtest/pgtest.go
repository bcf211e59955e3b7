// Package pgtest runs a throwaway PostgreSQL cluster for tests: initdb into a
// temporary directory, a server on a free loopback port, removed when the
// test binary ends. The server binaries come from Debian's postgresql
// package (scripts/ensure-postgres.sh installs it). A missing PostgreSQL is
// a test failure, never a skip.
package pgtest

import (
	"database/sql"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver

	"github.com/canaryjudge/judge/internal/testenv"
)

type cluster struct {
	base, data, pgCtl string
	port              int
	cred              *syscall.Credential
}

var (
	once    sync.Once
	running *cluster
	bootErr error
	dbSeq   atomic.Int64
)

// Run runs the package's tests and stops the cluster afterwards, if one was
// started. Call it from TestMain: os.Exit(pgtest.Run(m)).
func Run(m *testing.M) int {
	code := m.Run()
	if running != nil {
		running.stop()
	}
	return code
}

// NewDatabase creates an empty database in the shared cluster and returns
// its URL.
func NewDatabase(t testing.TB) string {
	testenv.NeedsExternal(t, "a real PostgreSQL")
	t.Helper()
	once.Do(func() { running, bootErr = start(false) })
	if bootErr != nil {
		t.Fatalf("PostgreSQL for tests: %v", bootErr)
	}
	name := fmt.Sprintf("judge_test_%d_%d", os.Getpid(), dbSeq.Add(1))
	admin, err := sql.Open("pgx", running.url("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if _, err := admin.Exec("CREATE DATABASE " + name); err != nil {
		t.Fatalf("create database: %v", err)
	}
	return running.url(name)
}

// Start starts a cluster of its own, outside any test (the fleet
// benchmark), and returns the URL of its postgres database and the function
// that stops and removes it. A durable cluster keeps PostgreSQL's own
// defaults (every commit flushed to disk, as in production); otherwise,
// as for tests, nothing is flushed.
func Start(durable bool) (url string, stop func(), err error) {
	c, err := start(durable)
	if err != nil {
		return "", nil, err
	}
	return c.url("postgres"), c.stop, nil
}

func (c *cluster) url(db string) string {
	return fmt.Sprintf("postgres://judge@127.0.0.1:%d/%s?sslmode=disable", c.port, db)
}

// binDir finds initdb and pg_ctl on PATH or under /usr/lib/postgresql.
func binDir() (string, error) {
	if p, err := exec.LookPath("initdb"); err == nil {
		if _, err := exec.LookPath("pg_ctl"); err == nil {
			return filepath.Dir(p), nil
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Strings(dirs)
	for i := len(dirs) - 1; i >= 0; i-- {
		if _, err := os.Stat(filepath.Join(dirs[i], "initdb")); err == nil {
			return dirs[i], nil
		}
	}
	return "", fmt.Errorf("initdb and pg_ctl not found on PATH or in /usr/lib/postgresql/*/bin; run scripts/ensure-postgres.sh (make test does)")
}

func start(durable bool) (*cluster, error) {
	bin, err := binDir()
	if err != nil {
		return nil, err
	}
	base, err := os.MkdirTemp("", "judge-pg-")
	if err != nil {
		return nil, err
	}
	c := &cluster{base: base, data: filepath.Join(base, "data"), pgCtl: filepath.Join(bin, "pg_ctl")}
	// PostgreSQL refuses to run as root: run it as the postgres user.
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, fmt.Errorf("running as root and no postgres user to run the server as: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		c.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)} //nolint:gosec // ids from the user database
		if err := os.Chown(base, uid, gid); err != nil {
			return nil, err
		}
	}
	if err := os.Chmod(base, 0o755); err != nil { //nolint:gosec // the postgres user must reach its data directory
		return nil, err
	}
	if c.port, err = freePort(); err != nil {
		return nil, err
	}
	if out, err := c.command(filepath.Join(bin, "initdb"), "-D", c.data, "-U", "judge", "--auth=trust", "-E", "UTF8", "--no-sync").CombinedOutput(); err != nil {
		_ = os.RemoveAll(base)
		return nil, fmt.Errorf("initdb: %w\n%s", err, out)
	}
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c max_connections=200", c.port, base)
	if !durable {
		opts += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
	}
	if out, err := c.command(c.pgCtl, "-D", c.data, "-o", opts, "-l", filepath.Join(base, "server.log"), "-w", "-t", "60", "start").CombinedOutput(); err != nil {
		log, _ := os.ReadFile(filepath.Join(base, "server.log"))
		_ = os.RemoveAll(base)
		return nil, fmt.Errorf("pg_ctl start: %w\n%s\n%s", err, out, log)
	}
	return c, nil
}

func (c *cluster) command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...) //nolint:gosec // PostgreSQL's own binaries
	cmd.Dir = c.base
	if c.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred}
	}
	return cmd
}

func (c *cluster) stop() {
	_ = c.command(c.pgCtl, "-D", c.data, "-m", "immediate", "-w", "stop").Run()
	_ = os.RemoveAll(c.base)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
