package server

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/canaryjudge/judge/auth"
	"github.com/canaryjudge/judge/sequence"
	"github.com/canaryjudge/judge/store/pgtest"
)

// lookBody is analyzeBody as a look of a sequence.
func lookBody(shift float64, name string, looks int, extra string) string {
	body := analyzeBody(shift)
	return strings.Replace(body, `{"spec":{`, fmt.Sprintf(`{"spec":{"sequence":%q,"looks":%d,%s`, name, looks, extra), 1)
}

type lookAnswer struct {
	Verdict struct {
		Result string `json:"result"`
		Reason string `json:"reason"`
		Look   struct {
			Sequence  string  `json:"sequence"`
			Look      int     `json:"look"`
			Looks     int     `json:"looks"`
			Level     float64 `json:"level"`
			Spent     float64 `json:"spent"`
			Decision  string  `json:"decision"`
			NextLevel float64 `json:"next_level"`
		} `json:"look"`
	} `json:"verdict"`
}

// TestSequenceSurvivesRestartsAndReplicas looks four times at one canary
// through two servers in turn (SQLite: one stopped before the next starts
// on its data; PostgreSQL: two replicas at once): the looks are numbered
// 1 to 4 and each is tested at its share of the level, the regression at
// look 4 fails the sequence, and every later look is FAIL without a fetch.
func TestSequenceSurvivesRestartsAndReplicas(t *testing.T) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			cfg := Config{DataDir: t.TempDir()}
			if backend == "postgres" {
				cfg = Config{DatabaseURL: pgtest.NewDatabase(t)}
			}
			const name = "ci:pipeline-42/canary"
			plan := sequence.Plan{Alpha: 0.05, Looks: 4}
			a := startServer(t, cfg)
			var b *Server
			if backend == "postgres" {
				b = startServer(t, cfg)
			}
			var spent float64
			for k := 1; k <= 5; k++ {
				if k == 3 && backend == "sqlite" {
					a.Shutdown(context.Background())
					a = startServer(t, cfg)
				}
				s := a
				if b != nil && k%2 == 0 {
					s = b
				}
				shift := 0.0
				if k == 4 {
					shift = 50
				}
				var got lookAnswer
				if code := call(t, "POST", "http://"+s.Addr()+"/v1/analyze", lookBody(shift, name, 4, ""), &got); code != 200 {
					t.Fatalf("look %d: status %d", k, code)
				}
				l := got.Verdict.Look
				switch {
				case k <= 3:
					spent += plan.Level(k)
					if got.Verdict.Result != "PASS" || l.Look != k || l.Decision != "continue" || l.Level != plan.Level(k) || l.NextLevel != plan.Level(k+1) {
						t.Errorf("look %d: %s %+v, want PASS at look %d, level %v", k, got.Verdict.Result, l, k, plan.Level(k))
					}
					if d := l.Spent - spent; d > 1e-12 || d < -1e-12 {
						t.Errorf("look %d: spent %v, want %v", k, l.Spent, spent)
					}
				case k == 4:
					if got.Verdict.Result != "FAIL" || l.Look != 4 || l.Decision != "fail" || !strings.Contains(got.Verdict.Reason, "regression is established") {
						t.Errorf("look 4: %s %+v: %s", got.Verdict.Result, l, got.Verdict.Reason)
					}
				default:
					if got.Verdict.Result != "FAIL" || l.Look != 0 || !strings.Contains(got.Verdict.Reason, "has failed") {
						t.Errorf("look after the failure: %s %+v: %s", got.Verdict.Result, l, got.Verdict.Reason)
					}
				}
			}
			var seq struct {
				State   string `json:"state"`
				Looks   int    `json:"looks"`
				History []struct {
					Look    int `json:"look"`
					Verdict struct {
						Result string `json:"result"`
						Look   struct {
							Look int `json:"look"`
						} `json:"look"`
					} `json:"verdict"`
				} `json:"history"`
			}
			if code := call(t, "GET", "http://"+a.Addr()+"/v1/sequences/"+name, "", &seq); code != 200 || seq.State != "failed" || seq.Looks != 4 || len(seq.History) != 4 {
				t.Fatalf("GET the sequence: %d %+v", code, seq)
			}
			for i, h := range seq.History {
				if h.Verdict.Look.Look != i+1 || h.Look != i+1 {
					t.Errorf("history %d holds look %d (record says %d)", i, h.Verdict.Look.Look, h.Look)
				}
			}
			if seq.History[3].Verdict.Result != "FAIL" {
				t.Errorf("look 4 stored as %s", seq.History[3].Verdict.Result)
			}
			// The web UI's page of the sequence: each look, and each
			// metric's intervals over the looks as a chart.
			resp, err := http.Get("http://" + a.Addr() + "/ui/sequences/" + url.PathEscape(name))
			if err != nil {
				t.Fatal(err)
			}
			page, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			for _, want := range []string{"4 of 4 planned looks", `class="badge failed"`, "Intervals over the looks", "<svg", "latency: the shift", "regression is established"} {
				if resp.StatusCode != 200 || !strings.Contains(string(page), want) {
					t.Errorf("sequence page: %d lacks %q", resp.StatusCode, want)
				}
			}
		})
	}
}

// TestSequenceOpenEndedAndPastThePlan: an open-ended sequence spends
// α·10/((k+10)(k+9)) per look; a planned one answers FAIL past its last
// look; a look whose analysis cannot run spends nothing.
func TestSequenceOpenEndedAndPastThePlan(t *testing.T) {
	s := startServer(t, Config{})
	url := "http://" + s.Addr() + "/v1/analyze"
	open := sequence.Plan{Alpha: 0.05}
	for k := 1; k <= 3; k++ {
		var got lookAnswer
		if code := call(t, "POST", url, lookBody(0, "nightly/podinfo/abc", 0, ""), &got); code != 200 || got.Verdict.Look.Look != k || got.Verdict.Look.Level != open.Level(k) {
			t.Fatalf("open-ended look %d: %d %+v", k, code, got.Verdict.Look)
		}
	}
	// An analysis that cannot run (a metric not in the config) is refused
	// before a look is taken; the next look is still 4.
	bad := strings.Replace(lookBody(0, "nightly/podinfo/abc", 0, ""), `"name":"errors"`, `"name":"nope"`, 1)
	if code := call(t, "POST", url, bad, nil); code != 400 {
		t.Errorf("bad look: %d", code)
	}
	var got lookAnswer
	if call(t, "POST", url, lookBody(0, "nightly/podinfo/abc", 0, ""), &got); got.Verdict.Look.Look != 4 {
		t.Errorf("after a refused look: look %d, want 4", got.Verdict.Look.Look)
	}
	for k := 1; k <= 2; k++ {
		call(t, "POST", url, lookBody(0, "two", 2, ""), &got)
	}
	if got.Verdict.Result != "PASS" || got.Verdict.Look.Decision != "pass" {
		t.Errorf("last look: %s %+v", got.Verdict.Result, got.Verdict.Look)
	}
	if call(t, "POST", url, lookBody(0, "two", 2, ""), &got); got.Verdict.Result != "FAIL" || !strings.Contains(got.Verdict.Reason, "spent") {
		t.Errorf("past the plan: %s %s", got.Verdict.Result, got.Verdict.Reason)
	}
}

// TestSequenceBadInput: every sequence field a client can get wrong is a
// 400 naming it, and nothing is stored for it.
func TestSequenceBadInput(t *testing.T) {
	s := startServer(t, Config{})
	base := "http://" + s.Addr()
	if code := call(t, "POST", base+"/v1/analyze", lookBody(0, "planned", 3, ""), nil); code != 200 {
		t.Fatalf("first look: %d", code)
	}
	for _, tc := range []struct{ name, body, field string }{
		{"control characters", lookBody(0, "a\nb", 3, ""), "spec.sequence"},
		{"too long", lookBody(0, strings.Repeat("x", 1025), 3, ""), "spec.sequence"},
		{"a look number with a sequence", lookBody(0, "s", 3, `"look":2,`), "spec.look"},
		{"too many looks", lookBody(0, "s", 1001, ""), "spec.looks"},
		{"negative looks", lookBody(0, "s", -1, ""), "spec.look"},
		{"another plan for a stored sequence", lookBody(0, "planned", 6, ""), "spec.looks"},
		{"pass_early without a sequence", strings.Replace(analyzeBody(0), `{"spec":{`, `{"spec":{"pass_early":true,`, 1), "spec.pass_early"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var e struct {
				Message string `json:"message"`
			}
			if code := call(t, "POST", base+"/v1/analyze", tc.body, &e); code != http.StatusBadRequest || !strings.Contains(e.Message, tc.field) {
				t.Errorf("status %d, message %q; want 400 naming %s", code, e.Message, tc.field)
			}
		})
	}
	resp, err := http.Get(base + "/v1/sequences/planned")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var raw map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&raw); err != nil || len(raw["history"].([]any)) != 1 {
		t.Errorf("the stored sequence after refused looks: %v (%v)", raw, err)
	}
	if code := call(t, "GET", base+"/v1/sequences/none", "", nil); code != http.StatusNotFound {
		t.Errorf("unknown sequence: %d", code)
	}
}

// TestSequenceRoles: reading a sequence whose name has slashes needs read
// (not the strictest role a route without a mapping would get); a look,
// which runs an analysis, needs write.
func TestSequenceRoles(t *testing.T) {
	tokens, err := auth.Parse("read:reader-token-0123456789\nwrite:writer-token-0123456789\n", "tokens")
	if err != nil {
		t.Fatal(err)
	}
	s := startServer(t, Config{Tokens: tokens})
	base := "http://" + s.Addr()
	do := func(method, path, token, body string) int {
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := do("POST", "/v1/analyze", "reader-token-0123456789", lookBody(0, "argo:shop/run/uid/judge", 3, "")); code != http.StatusForbidden {
		t.Errorf("a look with a read token: %d, want 403", code)
	}
	if code := do("POST", "/v1/analyze", "writer-token-0123456789", lookBody(0, "argo:shop/run/uid/judge", 3, "")); code != 200 {
		t.Errorf("a look with a write token: %d", code)
	}
	for _, path := range []string{"/v1/sequences/argo:shop/run/uid/judge", "/v1/sequences/" + url.PathEscape("argo:shop/run/uid/judge")} {
		if code := do("GET", path, "reader-token-0123456789", ""); code != 200 {
			t.Errorf("GET %s with a read token: %d, want 200", path, code)
		}
	}
	if code := do("GET", "/v1/sequences/argo:shop/run/uid/judge", "", ""); code != http.StatusUnauthorized {
		t.Errorf("GET without a token: %d, want 401", code)
	}
}
