package main

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the chaos test reads the analyses table directly
	_ "modernc.org/sqlite"

	"github.com/canaryjudge/judge/store/pgtest"
	"github.com/canaryjudge/judge/verdict"
)

// childEnv marks a re-executed test binary that runs judge itself (so the
// chaos test can SIGKILL real judge serve processes).
const childEnv = "JUDGE_TEST_RUN_JUDGE"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" {
		os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
	}
	os.Exit(pgtest.Run(m))
}

// replica is a judge serve process that the test kills and restarts on the
// same address.
type replica struct {
	t    *testing.T
	args []string
	addr string
	log  *os.File

	mu  sync.Mutex
	cmd *exec.Cmd
}

func newReplica(t *testing.T, dir string, args ...string) *replica {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	log, err := os.Create(filepath.Join(dir, "replica-"+strings.ReplaceAll(addr, ":", "_")+".log"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { log.Close() })
	r := &replica{t: t, addr: addr, log: log, args: append([]string{"serve", "--addr", addr, "--lease", "1s", "--workers", "2"}, args...)}
	r.start()
	t.Cleanup(r.kill)
	return r
}

func (r *replica) start() {
	r.t.Helper()
	cmd := exec.Command(os.Args[0], r.args...)
	cmd.Env = append(os.Environ(), childEnv+"=1")
	cmd.Stdout, cmd.Stderr = r.log, r.log
	if err := cmd.Start(); err != nil {
		r.t.Fatal(err)
	}
	r.mu.Lock()
	r.cmd = cmd
	r.mu.Unlock()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get("http://" + r.addr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("replica %s not ready after 30s (see %s)", r.addr, r.log.Name())
		}
		time.Sleep(30 * time.Millisecond)
	}
}

// kill sends SIGKILL and waits for the process to end.
func (r *replica) kill() {
	r.mu.Lock()
	cmd := r.cmd
	r.cmd = nil
	r.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	_ = cmd.Wait()
}

func (r *replica) pid() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cmd == nil {
		return 0
	}
	return r.cmd.Process.Pid
}

// chaosSpec is one analysis: three metrics, the first shifted by shift.
func chaosSpec(seed uint64, shift float64, points int) (body string, cfg *verdict.Config, pairs []verdict.MetricSetPair) {
	cfgJSON := `{"name":"chaos","metrics":[{"name":"latency","groups":["perf"],"direction":"increase","critical":true},` +
		`{"name":"errors","groups":["errors"],"direction":"increase"},{"name":"cpu","groups":["perf"]}]}`
	r := rand.New(rand.NewPCG(seed, 7))
	var metrics []string
	for i, name := range []string{"latency", "errors", "cpu"} {
		control, canary := make([]float64, points), make([]float64, points)
		for j := range points {
			control[j] = 100 + 10*r.NormFloat64()
			canary[j] = 100 + 10*r.NormFloat64()
			if i == 0 {
				canary[j] += shift
			}
		}
		c, _ := json.Marshal(control)
		e, _ := json.Marshal(canary)
		metrics = append(metrics, fmt.Sprintf(`{"name":%q,"control":%s,"experiment":%s}`, name, c, e))
		pairs = append(pairs, verdict.MetricSetPair{Name: name, Values: verdict.PairValues{Control: control, Experiment: canary}})
	}
	cfg, err := verdict.ParseConfig([]byte(cfgJSON), "chaos")
	if err != nil {
		panic(err)
	}
	return `{"spec":{"canary_config":` + cfgJSON + `,"metrics":[` + strings.Join(metrics, ",") + `]}}`, cfg, pairs
}

// submit posts an analysis to any live replica, retrying while replicas
// are down, and returns its id.
func submit(t *testing.T, replicas []*replica, body string) string {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for i := 0; ; i++ {
		r := replicas[i%len(replicas)]
		resp, err := http.Post("http://"+r.addr+"/v1/analyses", "application/json", strings.NewReader(body))
		if err == nil {
			var out struct {
				Analysis struct{ ID string } `json:"analysis"`
			}
			raw, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 && json.Unmarshal(raw, &out) == nil && out.Analysis.ID != "" {
				return out.Analysis.ID
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("could not submit an analysis for 60s: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

type storedAnalysis struct {
	status, verdict, errMsg, owner string
	attempts                       int
}

// snapshot reads every analysis from the database the replicas share.
func snapshot(t *testing.T, db *sql.DB) map[string]storedAnalysis {
	t.Helper()
	rows, err := db.Query(`SELECT id, status, verdict, error, owner, attempts FROM analyses`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]storedAnalysis{}
	for rows.Next() {
		var id string
		var a storedAnalysis
		if err := rows.Scan(&id, &a.status, &a.verdict, &a.errMsg, &a.owner, &a.attempts); err != nil {
			t.Fatal(err)
		}
		out[id] = a
	}
	return out
}

// ownerPID is the process id in a worker's owner name (host-pid-…).
func ownerPID(owner string) int {
	parts := strings.Split(owner, "-")
	if len(parts) < 4 {
		return 0
	}
	pid, _ := strconv.Atoi(parts[len(parts)-3])
	return pid
}

// TestChaosPostgres: two replicas on one PostgreSQL; 200 analyses are
// submitted while replicas are SIGKILLed and restarted over and over, and
// a poisoned analysis kills whichever replica runs it. At the end every
// analysis has succeeded exactly once with the verdict the engine gives
// synchronously, none is lost or stuck, and the poisoned one has failed
// after its three attempts.
func TestChaosPostgres(t *testing.T) {
	url := pgtest.NewDatabase(t)
	dir := t.TempDir()
	urlFile := filepath.Join(dir, "db-url")
	if err := os.WriteFile(urlFile, []byte(url), 0o600); err != nil {
		t.Fatal(err)
	}
	replicas := []*replica{newReplica(t, dir, "--database-url-file", urlFile), newReplica(t, dir, "--database-url-file", urlFile)}
	db, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	chaos(t, db, replicas, true)
}

// TestChaosSQLite: the same with one SQLite replica killed and restarted.
func TestChaosSQLite(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	replicas := []*replica{newReplica(t, dir, "--data-dir", data)}
	db, err := sql.Open("sqlite", "file:"+filepath.Join(data, "judge.db")+"?_pragma=busy_timeout(5000)&mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	chaos(t, db, replicas, false)
}

func chaos(t *testing.T, db *sql.DB, replicas []*replica, bothDie bool) {
	const total = 200
	type expected struct {
		result verdict.Outcome
		score  float64
	}
	want := map[string]expected{}
	var wantMu sync.Mutex

	// The poisoned analysis is large (slow to judge) and takes its replica
	// down every time it runs, as a crash in the engine would.
	poisonBody, _, _ := chaosSpec(999, 0, 100_000)
	poisonID := submit(t, replicas, poisonBody)

	stop := make(chan struct{})
	killerDone := make(chan int)
	go func() {
		kills := 0
		defer func() { killerDone <- kills }()
		rng := rand.New(rand.NewPCG(3, 4))
		next := time.Now().Add(300 * time.Millisecond)
		for {
			select {
			case <-stop:
				return
			case <-time.After(10 * time.Millisecond):
			}
			// The poison kills the replica running it.
			var owner, status string
			_ = db.QueryRow(`SELECT owner, status FROM analyses WHERE id = '`+poisonID+`'`).Scan(&owner, &status)
			if status == "running" {
				for _, r := range replicas {
					if pid := r.pid(); pid != 0 && pid == ownerPID(owner) {
						r.kill()
						kills++
						r.start()
					}
				}
			}
			// And, at random, one replica dies (either one on PostgreSQL).
			if time.Now().After(next) {
				r := replicas[0]
				if bothDie {
					r = replicas[rng.IntN(len(replicas))]
				}
				r.kill()
				kills++
				time.Sleep(time.Duration(rng.IntN(200)) * time.Millisecond)
				r.start()
				next = time.Now().Add(time.Duration(200+rng.IntN(400)) * time.Millisecond)
			}
		}
	}()

	var wg sync.WaitGroup
	ids := make(chan string, total)
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < total; i += 4 {
				shift := 0.0
				if i%3 == 0 {
					shift = 25
				}
				body, cfg, pairs := chaosSpec(uint64(i), shift, 40)
				res, err := verdict.Analyze(cfg, pairs, verdict.Options{})
				if err != nil {
					t.Error(err)
					return
				}
				// Submissions are spread over about ten seconds of chaos.
				time.Sleep(200 * time.Millisecond)
				id := submit(t, replicas, body)
				wantMu.Lock()
				want[id] = expected{res.Result, res.Score}
				wantMu.Unlock()
				ids <- id
			}
		}()
	}
	wg.Wait()
	close(ids)

	// Let the chaos go on until every analysis is final, then stop it.
	deadline := time.Now().Add(4 * time.Minute)
	for {
		snap := snapshot(t, db)
		pending := 0
		for id := range want {
			if s := snap[id].status; s != "succeeded" && s != "failed" {
				pending++
			}
		}
		if p := snap[poisonID].status; p != "failed" && p != "succeeded" {
			pending++
		}
		if pending == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d analyses still not final after 4 minutes of chaos", pending)
		}
		time.Sleep(100 * time.Millisecond)
	}
	close(stop)
	kills := <-killerDone

	snap := snapshot(t, db)
	if len(want) != total {
		t.Fatalf("%d analyses submitted, want %d", len(want), total)
	}
	retried := 0
	for id, w := range want {
		a := snap[id]
		if a.status != "succeeded" {
			t.Errorf("analysis %s: %s (%s) after %d attempts", id, a.status, a.errMsg, a.attempts)
			continue
		}
		var got struct {
			Result verdict.Outcome `json:"result"`
			Score  float64         `json:"score"`
		}
		if err := json.Unmarshal([]byte(a.verdict), &got); err != nil || got.Result != w.result || math.Abs(got.Score-w.score) > 1e-9 {
			t.Errorf("analysis %s: verdict %s %v, want %s %v", id, got.Result, got.Score, w.result, w.score)
		}
		if a.attempts > 1 {
			retried++
		}
	}
	p := snap[poisonID]
	if p.status != "failed" || p.attempts != 3 || !strings.Contains(p.errMsg, "3 attempts") {
		t.Errorf("poisoned analysis: %s after %d attempts (%q), want failed after 3", p.status, p.attempts, p.errMsg)
	}
	// Every replica is still serving.
	for _, r := range replicas {
		resp, err := http.Get("http://" + r.addr + "/readyz")
		if err != nil {
			t.Errorf("replica %s down at the end: %v", r.addr, err)
			continue
		}
		resp.Body.Close()
	}
	t.Logf("%d analyses done exactly once through %d SIGKILLs; %d needed a second attempt", total, kills, retried)
	if kills < 5 {
		t.Errorf("only %d kills: the test did not exercise failures", kills)
	}
}
