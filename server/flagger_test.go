package server

import (
	"context"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/canaryjudge/judge/metrics"
	"github.com/canaryjudge/judge/metrics/prometheus/promtest"
	"github.com/canaryjudge/judge/store/pgtest"
)

// flaggerSetup starts a real Prometheus holding a good canary (podinfo)
// and a regressed one (podinfo-slow) beside their primary, and returns its
// URL, the end of the 39-minute window they cover and the podinfo config.
func flaggerSetup(t *testing.T) (prom string, end time.Time, config string) {
	t.Helper()
	start := time.Now().Add(-10 * time.Hour).Truncate(time.Hour).UTC()
	var fixtures []promtest.Series
	for _, pod := range []struct {
		name    string
		latency float64
		phase   int
	}{{"podinfo-primary", 0.2, 0}, {"podinfo", 0.2, 7}, {"podinfo-slow", 0.4, 0}} {
		s := promtest.Series{Name: "web_latency_seconds", Labels: map[string]string{"pod": pod.name}}
		for i := range 40 {
			s.Samples = append(s.Samples, promtest.Sample{T: start.Add(time.Duration(i) * time.Minute), V: pod.latency * (1 + 0.05*math.Sin(float64(i+pod.phase)*1.9))})
		}
		fixtures = append(fixtures, s)
	}
	config = `{"config":{"name":"podinfo","metrics":[{"name":"latency","groups":["perf"],"direction":"increase","critical":true,
		"query":{"prometheus":"avg(web_latency_seconds{pod=\"${scope}\"})"}}]}}`
	return promtest.Start(t, fixtures), start.Add(39 * time.Minute), config
}

// flaggerHook posts Flagger's webhook payload and returns the status and
// body.
func flaggerHook(t *testing.T, base, canary, checksum string, md map[string]string) (int, string) {
	t.Helper()
	payload, _ := json.Marshal(map[string]any{"name": "podinfo", "namespace": "test", "phase": "Progressing", "checksum": checksum,
		"metadata": mergeMetadata(map[string]string{"config": "podinfo", "canary": canary}, md)})
	resp, err := http.Post(base+"/webhooks/flagger", "application/json", strings.NewReader(string(payload)))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func mergeMetadata(a, b map[string]string) map[string]string {
	for k, v := range b {
		a[k] = v
	}
	return a
}

// verdictQuery asks judge's Prometheus-compatible endpoint for a canary's
// verdict, as Flagger's MetricTemplate does, and returns the value or ""
// for an empty vector.
func verdictQuery(t *testing.T, base string) string {
	t.Helper()
	var out struct {
		Data struct{ Result []struct{ Value []any } }
	}
	if code := call(t, "GET", base+"/api/v1/query?query="+url.QueryEscape(`judge_verdict{name="podinfo",namespace="test"}`), "", &out); code != 200 {
		t.Fatalf("score query: %d", code)
	}
	if len(out.Data.Result) == 0 {
		return ""
	}
	return out.Data.Result[0].Value[1].(string)
}

// TestFlaggerVerdictSurvivesReplicasAndRestarts checks that a Flagger
// webhook's verdict is read back by the score query on another replica of
// the same PostgreSQL database, after a restart (SQLite too), and on
// /metrics, and that it goes stale: a stale verdict is no verdict (an
// empty vector, on which Flagger halts).
func TestFlaggerVerdictSurvivesReplicasAndRestarts(t *testing.T) {
	prom, end, config := flaggerSetup(t)
	accounts := []metrics.Account{{Name: "prom", Type: "prometheus", URL: prom}}
	window := map[string]string{"end": end.Format(time.RFC3339), "window": "39m"}

	db := pgtest.NewDatabase(t)
	a := startServer(t, Config{DatabaseURL: db, Accounts: accounts})
	b := startServer(t, Config{DatabaseURL: db, Accounts: accounts})
	baseA, baseB := "http://"+a.Addr(), "http://"+b.Addr()
	if code := call(t, "PUT", baseA+"/v1/canaryConfigs/podinfo", config, nil); code != 200 {
		t.Fatalf("put config: %d", code)
	}
	if got := verdictQuery(t, baseB); got != "" {
		t.Fatalf("before any webhook: %q, want an empty vector", got)
	}
	if code, text := flaggerHook(t, baseA, "podinfo", "rev1", window); code != 200 || !strings.Contains(text, "PASS") {
		t.Fatalf("webhook on replica A: %d %s", code, text)
	}
	if got := verdictQuery(t, baseB); got != "1" {
		t.Errorf("replica B reads %q after A passed the canary, want 1", got)
	}
	// The next check fails on B: A must read that, not its own pass.
	if code, text := flaggerHook(t, baseB, "podinfo-slow", "rev1", window); code != 409 || !strings.Contains(text, "FAIL") {
		t.Fatalf("webhook on replica B: %d %s", code, text)
	}
	if got := verdictQuery(t, baseA); got != "0" {
		t.Errorf("replica A reads %q after B failed the canary, want 0", got)
	}
	// /metrics on either replica exports the same.
	for _, base := range []string{baseA, baseB} {
		resp, err := http.Get(base + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.Contains(string(body), `judge_canary_verdict{name="podinfo",namespace="test"} 0`) || !strings.Contains(string(body), `judge_canary_score{name="podinfo",namespace="test"} 0`) {
			t.Errorf("%s/metrics lacks the canary's verdict 0 and score 0", base)
		}
	}
	// A restart of A loses nothing.
	a.Shutdown(context.Background())
	a2 := startServer(t, Config{DatabaseURL: db, Accounts: accounts})
	if got := verdictQuery(t, "http://"+a2.Addr()); got != "0" {
		t.Errorf("after a restart: %q, want 0", got)
	}

	// SQLite: a restart on the same data directory.
	dir := t.TempDir()
	s1 := startServer(t, Config{DataDir: dir, Accounts: accounts})
	if code := call(t, "PUT", "http://"+s1.Addr()+"/v1/canaryConfigs/podinfo", config, nil); code != 200 {
		t.Fatalf("put config: %d", code)
	}
	if code, _ := flaggerHook(t, "http://"+s1.Addr(), "podinfo", "rev1", window); code != 200 {
		t.Fatalf("webhook: %d", code)
	}
	s1.Shutdown(context.Background())
	s2 := startServer(t, Config{DataDir: dir, Accounts: accounts, FlaggerScoreMaxAge: 300 * time.Millisecond})
	if got := verdictQuery(t, "http://"+s2.Addr()); got != "1" {
		t.Errorf("SQLite after a restart: %q, want 1", got)
	}
	time.Sleep(400 * time.Millisecond)
	if got := verdictQuery(t, "http://"+s2.Addr()); got != "" {
		t.Errorf("a stale verdict: %q, want an empty vector", got)
	}
}

// TestFlaggerHooks checks the hook semantics Flagger applies: a rollback
// hook rolls back on any 2xx, so judge answers it inverted; a pre-rollout
// hook has nothing to judge; and a revision's window starts no earlier
// than its first call, judge waiting (never passing) until it has data of
// its own.
func TestFlaggerHooks(t *testing.T) {
	prom, end, config := flaggerSetup(t)
	s := startServer(t, Config{Accounts: []metrics.Account{{Name: "prom", Type: "prometheus", URL: prom}}})
	base := "http://" + s.Addr()
	if code := call(t, "PUT", base+"/v1/canaryConfigs/podinfo", config, nil); code != 200 {
		t.Fatalf("put config: %d", code)
	}
	past := map[string]string{"end": end.Format(time.RFC3339), "window": "39m"}
	for _, tc := range []struct {
		canary string
		md     map[string]string
		want   int
		text   string
	}{
		{"podinfo", map[string]string{"hook": "rollback"}, 409, "no rollback: judge: PASS"},
		{"podinfo-slow", map[string]string{"hook": "rollback"}, 200, "roll back: judge: FAIL"},
		// An analysis that cannot run rolls back: never a silent pass.
		{"podinfo", map[string]string{"hook": "rollback", "config": "missing"}, 200, "roll back"},
		{"podinfo", map[string]string{"hook": "rollout"}, 200, "PASS"},
		{"podinfo-slow", nil, 409, "FAIL"},
		{"podinfo", map[string]string{"hook": "pre-rollout"}, 400, "before the canary has traffic"},
		{"podinfo", map[string]string{"hook": "post"}, 400, "metadata.hook"},
	} {
		code, text := flaggerHook(t, base, tc.canary, "rev-"+tc.canary, mergeMetadata(map[string]string{"end": past["end"], "window": past["window"]}, tc.md))
		if code != tc.want || !strings.Contains(text, tc.text) {
			t.Errorf("%s %v: %d %q, want %d with %q", tc.canary, tc.md, code, text, tc.want, tc.text)
		}
	}

	// A window ending now: the revision was first seen just now, so none of
	// the window is its own yet. A rollout hook waits (a failed check); a
	// rollback hook does not roll back on no data.
	if code, text := flaggerHook(t, base, "podinfo", "rev-new", map[string]string{"window": "10m"}); code != http.StatusTooEarly || !strings.Contains(text, "waiting for data") {
		t.Errorf("first call of a revision: %d %q, want 425 waiting", code, text)
	}
	if code, text := flaggerHook(t, base, "podinfo", "rev-new", map[string]string{"window": "10m", "hook": "rollback"}); code != 409 || !strings.Contains(text, "no rollback") {
		t.Errorf("rollback hook on a revision without data: %d %q, want 409 no rollback", code, text)
	}
}

// TestFlaggerSequence: the checks of one revision are one sequence of
// looks. A regression established at the second check fails the third on
// good data; a new revision starts a new sequence; a bad looks is refused.
func TestFlaggerSequence(t *testing.T) {
	prom, end, config := flaggerSetup(t)
	s := startServer(t, Config{Accounts: []metrics.Account{{Name: "prom", Type: "prometheus", URL: prom}}})
	base := "http://" + s.Addr()
	if code := call(t, "PUT", base+"/v1/canaryConfigs/podinfo", config, nil); code != 200 {
		t.Fatalf("put config: %d", code)
	}
	md := func(extra map[string]string) map[string]string {
		return mergeMetadata(map[string]string{"end": end.Format(time.RFC3339), "window": "39m"}, extra)
	}
	for i, tc := range []struct {
		canary, checksum string
		want             int
		text             string
	}{
		{"podinfo", "rev-a", 200, `"flagger:test/podinfo/rev-a", look 1 (open-ended)`},
		{"podinfo-slow", "rev-a", 409, "look 2 (open-ended) tested at level 0.00379"},
		{"podinfo", "rev-a", 409, "has failed"},
		{"podinfo", "rev-b", 200, "look 1 (open-ended)"},
	} {
		code, text := flaggerHook(t, base, tc.canary, tc.checksum, md(nil))
		if code != tc.want || !strings.Contains(text, tc.text) {
			t.Errorf("check %d (%s, %s): %d %q, want %d with %q", i+1, tc.canary, tc.checksum, code, text, tc.want, tc.text)
		}
	}
	if code, text := flaggerHook(t, base, "podinfo", "rev-c", md(map[string]string{"looks": "5"})); code != 200 || !strings.Contains(text, "look 1 of 5") {
		t.Errorf("planned looks: %d %q", code, text)
	}
	if code, text := flaggerHook(t, base, "podinfo", "rev-d", md(map[string]string{"looks": "many"})); code != 400 || !strings.Contains(text, "looks") {
		t.Errorf("bad looks: %d %q, want 400 naming looks", code, text)
	}
}
