package server

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/canaryjudge/judge/metrics"
	judgev1 "github.com/canaryjudge/judge/proto/judge/v1"
	"github.com/canaryjudge/judge/store"
)

// TestSequencePaged is the regression test for row 6 of issue 30: a
// sequence was returned whole (a 300 × 500 sequence was 192 MB). Reads come
// in pages of at most 100 looks, in the API and the web UI.
func TestSequencePaged(t *testing.T) {
	s := startServer(t, Config{})
	base := "http://" + s.Addr()
	const looks = 130
	for k := 1; k <= looks; k++ {
		if code, _, body := do(t, "POST", base+"/v1/analyze", "", lookBody(0, "nightly/paged", 0, "")); code != 200 {
			t.Fatalf("look %d: %d %s", k, code, body)
		}
	}
	type page struct {
		History []struct {
			Verdict struct {
				Look struct{ Look int } `json:"look"`
			} `json:"verdict"`
		} `json:"history"`
		NextPageToken string `json:"next_page_token"`
	}
	read := func(query string) (int, page) {
		t.Helper()
		var p page
		code, _, body := do(t, "GET", base+"/v1/sequences/nightly/paged"+query, "", "")
		if code == 200 {
			if err := json.Unmarshal([]byte(body), &p); err != nil {
				t.Fatal(err)
			}
		}
		return code, p
	}
	var seen []int
	token := ""
	for range looks {
		q := "?page_size=0"
		if token != "" {
			q = "?page_token=" + token
		}
		code, p := read(q)
		if code != 200 || len(p.History) > 100 {
			t.Fatalf("page after %q: %d with %d looks, want 200 and at most 100", token, code, len(p.History))
		}
		for _, l := range p.History {
			seen = append(seen, l.Verdict.Look.Look)
		}
		if token = p.NextPageToken; token == "" {
			break
		}
	}
	if len(seen) != looks || seen[0] != 1 || seen[looks-1] != looks {
		t.Errorf("pages held %d looks (%v … ), want 1 to %d once each", len(seen), seen[:min(3, len(seen))], looks)
	}
	if code, p := read("?page_size=7"); code != 200 || len(p.History) != 7 || p.NextPageToken != "look:7" {
		t.Errorf("page_size 7: %d, %d looks, next %q", code, len(p.History), p.NextPageToken)
	}
	for _, bad := range []string{"?page_size=101", "?page_size=-1", "?page_token=abc", "?page_token=look:0"} {
		if code, _ := read(bad); code != 400 {
			t.Errorf("%s: %d, want 400", bad, code)
		}
	}
	code, _, ui := do(t, "GET", base+"/ui/sequences/nightly/paged", "", "")
	if code != 200 || !strings.Contains(ui, "later looks") || strings.Contains(ui, ">look 101<") {
		t.Errorf("UI page: %d, later-looks link %v", code, strings.Contains(ui, "later looks"))
	}
	if code, _, ui := do(t, "GET", base+"/ui/sequences/nightly/paged?page=look:100", "", ""); code != 200 || strings.Contains(ui, "later looks") {
		t.Errorf("UI second page: %d, later-looks link %v", code, strings.Contains(ui, "later looks"))
	}
}

// TestAdmissionControl is the regression test for row 7: 200 synchronous
// analyses at once had a p50 of 54 s and slowed /healthz to seconds. Past
// the limit an analysis waits, then is refused with 503 and Retry-After,
// on the API and the webhooks alike, while health checks answer at once.
func TestAdmissionControl(t *testing.T) {
	release := make(chan struct{})
	var once sync.Once
	stop := func() { once.Do(func() { close(release) }) }
	defer stop()
	holding := make(chan struct{}, 2)
	hold := func(ctx context.Context, spec *judgev1.AnalysisSpec) {
		if strings.Contains(spec.GetApplication(), "hold") {
			holding <- struct{}{}
			select {
			case <-release:
			case <-ctx.Done():
			}
		}
	}
	s := startServer(t, Config{MaxConcurrentAnalyses: 2, AdmissionWait: 200 * time.Millisecond, beforeJudge: hold,
		Accounts: []metrics.Account{{Name: "prom", Type: "prometheus", URL: "http://127.0.0.1:1"}}})
	base := "http://" + s.Addr()
	if code := call(t, "PUT", base+"/v1/canaryConfigs/c", `{"config":{"metrics":[{"name":"a","groups":["g"],"query":{"prometheus":"up{pod=\"${scope}\"}"}}]}}`, nil); code != 200 {
		t.Fatalf("PUT config: %d", code)
	}
	held := strings.Replace(analyzeBody(0), `{"spec":{`, `{"spec":{"application":"hold",`, 1)
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if code, _, body := do(t, "POST", base+"/v1/analyze", "", held); code != 200 {
				t.Errorf("a held analysis: %d %s", code, body)
			}
		}()
	}
	for range 2 { // both hold their slots
		select {
		case <-holding:
		case <-time.After(30 * time.Second):
			t.Fatal("the held analyses never started")
		}
	}
	code, h, body := do(t, "POST", base+"/v1/analyze", "", analyzeBody(0))
	if code != http.StatusServiceUnavailable || h.Get("Retry-After") == "" || !strings.Contains(body, "busy") {
		t.Errorf("a third analysis: %d (Retry-After %q) %s, want 503 with Retry-After", code, h.Get("Retry-After"), body)
	}
	code, h, body = do(t, "GET", base+"/webhooks/argo?config=c&baseline=a&canary=b", "", "")
	if code != http.StatusServiceUnavailable || h.Get("Retry-After") == "" {
		t.Errorf("the Argo webhook while busy: %d (Retry-After %q) %s, want 503 with Retry-After", code, h.Get("Retry-After"), body)
	}
	for _, path := range []string{"/healthz", "/readyz"} {
		start := time.Now()
		if code, _, _ := do(t, "GET", base+path, "", ""); code != 200 || time.Since(start) > 2*time.Second {
			t.Errorf("%s while busy: %d in %s", path, code, time.Since(start))
		}
	}
	stop()
	wg.Wait()
	if code, _, body := do(t, "POST", base+"/v1/analyze", "", analyzeBody(0)); code != 200 {
		t.Errorf("after the held analyses: %d %s", code, body)
	}
}

// countRows counts a table's rows in a server's SQLite database, read
// through a connection of its own.
func countRows(t *testing.T, dir, table string) int {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "judge.db")+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow("SELECT COUNT(*) FROM " + table).Scan(&n); err != nil { //nolint:gosec // the tests' own table names
		t.Fatal(err)
	}
	return n
}

// TestFlaggerWritesOnlyValidChecks is the regression test for row 8:
// Flagger rows were written before the request was validated, and
// retention skipped Flagger's and standalone analyses' tables.
func TestFlaggerWritesOnlyValidChecks(t *testing.T) {
	prom, end, config := flaggerSetup(t)
	dir := t.TempDir()
	s := startServer(t, Config{DataDir: dir, Tokens: ownershipTokens(t),
		Accounts: []metrics.Account{{Name: "prom", Type: "prometheus", URL: prom}}})
	base := "http://" + s.Addr()
	if code, _, body := do(t, "PUT", base+"/v1/canaryConfigs/podinfo", unscopedToken, config); code != 200 {
		t.Fatalf("put config: %d %s", code, body)
	}
	for i, md := range []map[string]string{
		{"window": "-5m"}, {"step": "x"}, {"looks": "many"}, {"marginal": "maybe"}, {"hook": "post"}, {"end": "yesterday"},
	} {
		if code, body := flaggerCall(t, base, "test", flaggerToken, "podinfo", fmt.Sprintf("rev%d", i), md); code != 400 {
			t.Errorf("metadata %v: %d %s, want 400", md, code, body)
		}
	}
	for _, payload := range []string{`{"name":"podinfo","namespace":"","checksum":"a"}`, `{"name":"podinfo","namespace":"test","checksum":"../x"}`,
		`{"name":"Pod/Info","namespace":"test","checksum":"a"}`} {
		if code, _, body := do(t, "POST", base+"/webhooks/flagger?token="+flaggerToken, "", payload); code != 400 {
			t.Errorf("payload %s: %d %s, want 400", payload, code, body)
		}
	}
	for _, table := range []string{"flagger_verdicts", "flagger_canaries", "sequences", "analyses"} {
		if n := countRows(t, dir, table); n != 0 {
			t.Errorf("%d rows in %s after refused checks, want none", n, table)
		}
	}
	if code, body := flaggerCall(t, base, "test", flaggerToken, "podinfo", "rev-ok", map[string]string{"end": end.Format(time.RFC3339), "window": "39m"}); code != 200 {
		t.Fatalf("a valid check: %d %s", code, body)
	}
	if n := countRows(t, dir, "flagger_verdicts"); n != 1 {
		t.Errorf("%d flagger_verdicts rows after one valid check, want 1", n)
	}
}

// TestRetentionSweepsEveryTable: with a retention, Flagger's canaries and
// verdicts, sequences, analyses and finished standalone analyses are all
// swept.
func TestRetentionSweepsEveryTable(t *testing.T) {
	prom, end, config := flaggerSetup(t)
	dir := t.TempDir()
	accounts := []metrics.Account{{Name: "prom", Type: "prometheus", URL: prom}}
	s := startServer(t, Config{DataDir: dir, Accounts: accounts})
	base := "http://" + s.Addr()
	if code := call(t, "PUT", base+"/v1/canaryConfigs/podinfo", config, nil); code != 200 {
		t.Fatalf("put config: %d", code)
	}
	if code, body := flaggerCall(t, base, "test", "", "podinfo", "rev1", map[string]string{"end": end.Format(time.RFC3339), "window": "39m"}); code != 200 {
		t.Fatalf("flagger check: %d %s", code, body)
	}
	st, err := store.Open(context.Background(), "", dir)
	if err != nil {
		t.Fatal(err)
	}
	done, err := st.CreateStandalone(context.Background(), []byte(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.CancelStandalone(context.Background(), done.ID, []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	st.Close()
	tables := []string{"flagger_verdicts", "flagger_canaries", "sequences", "analyses", "standalone_analyses"}
	for _, table := range tables {
		if countRows(t, dir, table) == 0 {
			t.Fatalf("no rows in %s before the sweep", table)
		}
	}
	s.Shutdown(context.Background())
	time.Sleep(20 * time.Millisecond)
	startServer(t, Config{DataDir: dir, Accounts: accounts, Retention: 10 * time.Millisecond, RetentionInterval: 50 * time.Millisecond})
	deadline := time.Now().Add(5 * time.Second)
	for _, table := range tables {
		for countRows(t, dir, table) != 0 && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		if n := countRows(t, dir, table); n != 0 {
			t.Errorf("%d rows left in %s past the retention", n, table)
		}
	}
}

// TestStreamWorkersBounded: the gRPC stream workers follow
// max-concurrent-analyses only up to maxStreamWorkers, so a large setting
// does not park that many goroutines when the server starts (100,000
// before the cap, at this setting).
func TestStreamWorkersBounded(t *testing.T) {
	before := runtime.NumGoroutine()
	startServer(t, Config{MaxConcurrentAnalyses: 50_000})
	if grown := runtime.NumGoroutine() - before; grown > maxStreamWorkers+2_000 {
		t.Errorf("starting a server with max-concurrent-analyses 50000 added %d goroutines, want at most about %d", grown, maxStreamWorkers)
	}
}
