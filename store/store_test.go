package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/canaryjudge/judge/store/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Run(m)) }

// backends opens a fresh store of each kind; the second return value opens
// another handle on the same database (a second replica).
func backends(t *testing.T) map[string]func() *Store {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	pgURL := pgtest.NewDatabase(t)
	open := func(url, dir string) func() *Store {
		return func() *Store {
			s, err := Open(ctx, url, dir)
			if err != nil {
				t.Fatalf("open: %v", err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		}
	}
	return map[string]func() *Store{
		"sqlite":   open("", dir),
		"postgres": open(pgURL, ""),
	}
}

func TestConfigs(t *testing.T) {
	ctx := context.Background()
	for name, open := range backends(t) {
		t.Run(name, func(t *testing.T) {
			s := open()
			if _, err := s.GetConfig(ctx, "nope"); !errors.Is(err, ErrNotFound) {
				t.Fatalf("get missing: %v", err)
			}
			c1, err := s.PutConfig(ctx, "b", []byte(`{"v":1}`))
			if err != nil || c1.Version != 1 {
				t.Fatalf("put: %+v %v", c1, err)
			}
			c2, err := s.PutConfig(ctx, "b", []byte(`{"v":2}`))
			if err != nil || c2.Version != 2 {
				t.Fatalf("put again: %+v %v", c2, err)
			}
			got, err := s.GetConfig(ctx, "b")
			if err != nil || string(got.Body) != `{"v":2}` || got.Version != 2 {
				t.Fatalf("get: %+v %v", got, err)
			}
			for _, n := range []string{"a", "c", "d"} {
				if _, err := s.PutConfig(ctx, n, []byte(`{}`)); err != nil {
					t.Fatal(err)
				}
			}
			var names []string
			token := ""
			for {
				page, next, err := s.ListConfigs(ctx, 3, token)
				if err != nil {
					t.Fatal(err)
				}
				for _, c := range page {
					names = append(names, c.Name)
				}
				if next == "" {
					break
				}
				token = next
			}
			if fmt.Sprint(names) != "[a b c d]" {
				t.Errorf("listed %v, want [a b c d]", names)
			}
			if _, _, err := s.ListConfigs(ctx, 3, "garbage!"); !errors.Is(err, ErrBadPageToken) {
				t.Errorf("bad token: %v", err)
			}
			if err := s.DeleteConfig(ctx, "b"); err != nil {
				t.Fatal(err)
			}
			if err := s.DeleteConfig(ctx, "b"); !errors.Is(err, ErrNotFound) {
				t.Errorf("delete twice: %v", err)
			}
			// A new config under a deleted name starts again at version 1.
			if c, err := s.PutConfig(ctx, "b", []byte(`{}`)); err != nil || c.Version != 1 {
				t.Errorf("re-put: %+v %v", c, err)
			}
			// Reopening runs no migration twice and keeps the data.
			again := open()
			if _, err := again.GetConfig(ctx, "a"); err != nil {
				t.Errorf("after reopen: %v", err)
			}
		})
	}
}

func TestAnalysesLifecycle(t *testing.T) {
	ctx := context.Background()
	for name, open := range backends(t) {
		t.Run(name, func(t *testing.T) {
			s := open()
			var ids []string
			for i := range 5 {
				a, err := s.CreateAnalysis(ctx, fmt.Sprintf("cfg%d", i%2), fmt.Sprintf("app%d", i%3), "", []byte(`{}`))
				if err != nil {
					t.Fatal(err)
				}
				ids = append(ids, a.ID)
				time.Sleep(time.Millisecond)
			}
			page, next, err := s.ListAnalyses(ctx, AnalysisFilter{ConfigName: "cfg0"}, 2, "")
			if err != nil || len(page) != 2 || next == "" || page[0].ID != ids[4] || page[1].ID != ids[2] {
				t.Fatalf("first page %v next %q err %v", page, next, err)
			}
			page, next, err = s.ListAnalyses(ctx, AnalysisFilter{ConfigName: "cfg0"}, 2, next)
			if err != nil || len(page) != 1 || next != "" || page[0].ID != ids[0] {
				t.Fatalf("second page %v next %q err %v", page, next, err)
			}
			// Analyses 1 and 4 are for app1; 4 alone also of cfg0.
			if page, _, err = s.ListAnalyses(ctx, AnalysisFilter{Application: "app1"}, 10, ""); err != nil || len(page) != 2 || page[0].ID != ids[4] || page[1].ID != ids[1] {
				t.Fatalf("by application: %v %v", page, err)
			}
			if page, _, err = s.ListAnalyses(ctx, AnalysisFilter{Application: "app1", ConfigName: "cfg1"}, 10, ""); err != nil || len(page) != 1 || page[0].ID != ids[1] {
				t.Fatalf("by application and config: %v %v", page, err)
			}

			// The oldest pending analysis is claimed first.
			a, err := s.Claim(ctx, "w1", time.Minute, 3)
			if err != nil || a.ID != ids[0] || a.Status != StatusRunning || a.Attempts != 1 {
				t.Fatalf("claim: %+v %v", a, err)
			}
			if err := s.Finish(ctx, a.ID, "w2", Outcome{Verdict: []byte(`{}`)}); !errors.Is(err, ErrLeaseLost) {
				t.Errorf("finish by a non-owner: %v", err)
			}
			if err := s.Finish(ctx, a.ID, "w1", Outcome{Verdict: []byte(`{"result":"PASS"}`)}); err != nil {
				t.Fatal(err)
			}
			done, _ := s.GetAnalysis(ctx, a.ID)
			if done.Status != StatusSucceeded || string(done.Verdict) != `{"result":"PASS"}` {
				t.Errorf("finished analysis %+v", done)
			}
			// Cancelling a finished analysis changes nothing.
			if c, err := s.CancelAnalysis(ctx, a.ID, ""); err != nil || c.Status != StatusSucceeded {
				t.Errorf("cancel finished: %+v %v", c, err)
			}
			// A cancelled pending analysis is never claimed.
			if c, err := s.CancelAnalysis(ctx, ids[1], ""); err != nil || c.Status != StatusCanceled {
				t.Errorf("cancel pending: %+v %v", c, err)
			}
			if b, err := s.Claim(ctx, "w1", time.Minute, 3); err != nil || b.ID != ids[2] {
				t.Errorf("claim after cancel got %+v %v, want %s", b, err, ids[2])
			}
			if _, err := s.GetAnalysis(ctx, "missing"); !errors.Is(err, ErrNotFound) {
				t.Errorf("get missing: %v", err)
			}
			failed, err := s.Claim(ctx, "w1", time.Minute, 3)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Finish(ctx, failed.ID, "w1", Outcome{Error: "no data source"}); err != nil {
				t.Fatal(err)
			}
			if f, _ := s.GetAnalysis(ctx, failed.ID); f.Status != StatusFailed || f.Error != "no data source" {
				t.Errorf("failed analysis %+v", f)
			}
			list, _, err := s.ListAnalyses(ctx, AnalysisFilter{Status: StatusFailed}, 10, "")
			if err != nil || len(list) != 1 || list[0].ID != failed.ID {
				t.Errorf("filter by status: %v %v", list, err)
			}
		})
	}
}

// TestLeaseExpiry checks that an analysis whose worker died (its lease ran
// out) is claimed again by another worker, and that the dead worker can no
// longer record a result.
func TestLeaseExpiry(t *testing.T) {
	ctx := context.Background()
	for name, open := range backends(t) {
		t.Run(name, func(t *testing.T) {
			s := open()
			a, _ := s.CreateAnalysis(ctx, "c", "", "", []byte(`{}`))
			if _, err := s.Claim(ctx, "dead", 50*time.Millisecond, 3); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Claim(ctx, "alive", time.Minute, 3); !errors.Is(err, ErrNotFound) {
				t.Fatalf("claimed a leased analysis: %v", err)
			}
			time.Sleep(80 * time.Millisecond)
			b, err := s.Claim(ctx, "alive", time.Minute, 3)
			if err != nil || b.ID != a.ID || b.Attempts != 2 || b.Owner != "alive" {
				t.Fatalf("reclaim: %+v %v", b, err)
			}
			if err := s.Renew(ctx, a.ID, "dead", time.Minute); !errors.Is(err, ErrLeaseLost) {
				t.Errorf("renew by the dead worker: %v", err)
			}
			if err := s.Renew(ctx, a.ID, "alive", time.Minute); err != nil {
				t.Errorf("renew by the owner: %v", err)
			}
		})
	}
}

// TestConcurrentClaimsPostgres has two replicas with eight workers each claim
// 200 analyses: every analysis must be claimed exactly once.
func TestConcurrentClaimsPostgres(t *testing.T) {
	ctx := context.Background()
	url := pgtest.NewDatabase(t)
	var replicas []*Store
	for range 2 {
		s, err := Open(ctx, url, "")
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		replicas = append(replicas, s)
	}
	const total = 200
	for range total {
		if _, err := replicas[0].CreateAnalysis(ctx, "c", "", "", []byte(`{}`)); err != nil {
			t.Fatal(err)
		}
	}
	var (
		mu      sync.Mutex
		claimed = map[string]int{}
		wg      sync.WaitGroup
	)
	for r, s := range replicas {
		for w := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				owner := fmt.Sprintf("r%d-w%d", r, w)
				for {
					a, err := s.Claim(ctx, owner, time.Minute, 3)
					if errors.Is(err, ErrNotFound) {
						return
					}
					if err != nil {
						t.Error(err)
						return
					}
					mu.Lock()
					claimed[a.ID]++
					mu.Unlock()
					if err := s.Finish(ctx, a.ID, owner, Outcome{Verdict: []byte(`{}`)}); err != nil {
						t.Error(err)
					}
				}
			}()
		}
	}
	wg.Wait()
	if len(claimed) != total {
		t.Errorf("%d analyses claimed, want %d", len(claimed), total)
	}
	for id, n := range claimed {
		if n != 1 {
			t.Errorf("analysis %s claimed %d times", id, n)
		}
	}
}

// TestAttemptsCap checks that an analysis whose worker died maxAttempts
// times is failed instead of claimed again.
func TestAttemptsCap(t *testing.T) {
	ctx := context.Background()
	for name, open := range backends(t) {
		t.Run(name, func(t *testing.T) {
			s := open()
			a, _ := s.CreateAnalysis(ctx, "c", "", "", []byte(`{}`))
			for i := range 3 {
				b, err := s.Claim(ctx, fmt.Sprintf("dies-%d", i), 20*time.Millisecond, 3)
				if err != nil || b.ID != a.ID || b.Attempts != i+1 {
					t.Fatalf("claim %d: %+v %v", i+1, b, err)
				}
				time.Sleep(40 * time.Millisecond)
			}
			if b, err := s.Claim(ctx, "next", time.Minute, 3); !errors.Is(err, ErrNotFound) {
				t.Fatalf("claimed a fourth time: %+v %v", b, err)
			}
			got, _ := s.GetAnalysis(ctx, a.ID)
			if got.Status != StatusFailed || !strings.Contains(got.Error, "3 attempts") || got.Attempts != 3 {
				t.Errorf("exhausted analysis %+v", got)
			}
		})
	}
}

// TestConcurrentPutConfig checks that concurrent versions of one name all
// succeed as consecutive versions (they used to collide on PostgreSQL).
func TestConcurrentPutConfig(t *testing.T) {
	ctx := context.Background()
	for name, open := range backends(t) {
		t.Run(name, func(t *testing.T) {
			a, b := open(), open()
			var wg sync.WaitGroup
			errs := make(chan error, 40)
			for i := range 40 {
				s := a
				if i%2 == 1 {
					s = b
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, err := s.PutConfig(ctx, "same", []byte(fmt.Sprintf(`{"v":%d}`, i)))
					errs <- err
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					t.Error(err)
				}
			}
			if c, err := a.GetConfig(ctx, "same"); err != nil || c.Version != 40 {
				t.Errorf("latest version %d (%v), want 40", c.Version, err)
			}
		})
	}
}

// TestConcurrentMigrations opens many replicas of a fresh PostgreSQL
// database at once: every one must start.
func TestConcurrentMigrations(t *testing.T) {
	url := pgtest.NewDatabase(t)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := Open(context.Background(), url, "")
			if err == nil {
				s.Close()
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}

// TestRetentionAndLists checks DeleteFinished, that lists carry no spec and
// that the SQLite file is private.
func TestRetentionAndLists(t *testing.T) {
	ctx := context.Background()
	for name, open := range backends(t) {
		t.Run(name, func(t *testing.T) {
			s := open()
			for i := range 7 {
				a, _ := s.CreateAnalysis(ctx, "c", "", "", []byte(`{"big":"spec"}`))
				if i < 5 {
					c, err := s.Claim(ctx, "w", time.Minute, 3)
					if err != nil {
						t.Fatal(err)
					}
					if err := s.Finish(ctx, c.ID, "w", Outcome{Verdict: []byte(`{}`)}); err != nil {
						t.Fatal(err)
					}
				}
				_ = a
			}
			list, _, err := s.ListAnalyses(ctx, AnalysisFilter{}, 10, "")
			if err != nil || len(list) != 7 {
				t.Fatalf("list: %d %v", len(list), err)
			}
			for _, a := range list {
				if len(a.Spec) != 0 {
					t.Errorf("list loaded the spec of %s", a.ID)
				}
			}
			n, err := s.DeleteFinished(ctx, time.Now().Add(time.Minute), 2)
			if err != nil || n != 5 {
				t.Errorf("deleted %d (%v), want the 5 finished", n, err)
			}
			list, _, _ = s.ListAnalyses(ctx, AnalysisFilter{}, 10, "")
			if len(list) != 2 {
				t.Errorf("%d analyses left, want the 2 pending", len(list))
			}
			if n, _ := s.DeleteFinished(ctx, time.Now().Add(-time.Hour), 2); n != 0 {
				t.Errorf("deleted %d recent analyses", n)
			}
		})
	}
	dir := t.TempDir()
	s, err := Open(ctx, "", dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.CreateAnalysis(ctx, "c", "", "", []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"judge.db", "judge.db-wal"} {
		info, err := os.Stat(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		if perm := info.Mode().Perm(); perm&0o077 != 0 {
			t.Errorf("%s has mode %v, want owner-only", f, perm)
		}
	}
}

// TestQueueState checks the queue counts and the oldest pending analysis
// on both backends: empty, then three pending, then one claimed.
func TestQueueState(t *testing.T) {
	ctx := context.Background()
	for name, open := range backends(t) {
		t.Run(name, func(t *testing.T) {
			s := open()
			if q, err := s.QueueState(ctx); err != nil || q != (Queue{}) {
				t.Fatalf("empty queue: %+v, %v", q, err)
			}
			var first Analysis
			for i := range 3 {
				a, err := s.CreateAnalysis(ctx, "cfg", "", "", []byte(`{}`))
				if err != nil {
					t.Fatal(err)
				}
				if i == 0 {
					first = a
				}
				time.Sleep(time.Millisecond)
			}
			q, err := s.QueueState(ctx)
			if err != nil || q.Pending != 3 || q.Running != 0 || !q.OldestPending.Equal(time.Unix(0, first.CreatedAt.UnixNano())) {
				t.Fatalf("three pending: %+v (first created %v), %v", q, first.CreatedAt, err)
			}
			if _, err := s.Claim(ctx, "r1", time.Minute, 3); err != nil {
				t.Fatal(err)
			}
			if q, err := s.QueueState(ctx); err != nil || q.Pending != 2 || q.Running != 1 || q.OldestPending.IsZero() {
				t.Fatalf("after a claim: %+v, %v", q, err)
			}
		})
	}
}

// TestConfigVersions checks that every version of a config is kept and
// listed newest first.
func TestConfigVersions(t *testing.T) {
	ctx := context.Background()
	for name, open := range backends(t) {
		t.Run(name, func(t *testing.T) {
			s := open()
			if _, err := s.ConfigVersions(ctx, "none"); !errors.Is(err, ErrNotFound) {
				t.Errorf("unknown config: %v", err)
			}
			for i := range 3 {
				if _, err := s.PutConfig(ctx, "c", []byte(fmt.Sprintf(`{"v":%d}`, i+1))); err != nil {
					t.Fatal(err)
				}
			}
			vs, err := s.ConfigVersions(ctx, "c")
			if err != nil || len(vs) != 3 || vs[0].Version != 3 || string(vs[2].Body) != `{"v":1}` {
				t.Errorf("versions %+v, %v", vs, err)
			}
		})
	}
}
