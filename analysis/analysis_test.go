package analysis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/canaryjudge/judge/internal/testenv"
	"github.com/canaryjudge/judge/kayenta"
	"github.com/canaryjudge/judge/metrics"
	"github.com/canaryjudge/judge/metrics/metricstest"
	"github.com/canaryjudge/judge/metrics/prometheus/promtest"
	"github.com/canaryjudge/judge/verdict"
)

const mixedConfig = `
name: mixed
metrics:
  - name: latency_p99
    groups: [latency]
    critical: true
    direction: increase
    query: {prometheus: 'avg(http_request_duration_seconds_p99{pod="${scope}"})'}
  - name: errors
    groups: [errors]
    direction: increase
    query: {datadog: 'avg:app.errors{pod:${scope}}'}
  - name: throughput
    groups: [traffic]
    direction: decrease
    query: {newrelic: "SELECT average(value) FROM Metric WHERE pod = '${scope}'"}
`

const points = 60

// The real Prometheus the package's tests share, started on first use
// with the latency of a baseline, a good canary and a bad one.
var (
	promOnce sync.Once
	promURL  string
	promStop = func() {}
	promErr  error
)

// prometheus is the shared real Prometheus' URL.
func prometheus(t testing.TB) string {
	t.Helper()
	testenv.NeedsExternal(t, "a real Prometheus")
	promOnce.Do(func() {
		series := func(pod string, f func(int) float64) promtest.Series {
			s := promtest.Series{Name: "http_request_duration_seconds_p99", Labels: map[string]string{"pod": pod}}
			// Four hours at 60 s (enough for the split test).
			for i := range 4 * 60 {
				s.Samples = append(s.Samples, promtest.Sample{T: fixtureStart.Add(time.Duration(i) * time.Minute), V: f(i)})
			}
			return s
		}
		var stop func()
		promURL, stop, promErr = promtest.Run([]promtest.Series{
			series("baseline", wiggle(0.2)),
			series("canary-good", func(i int) float64 { return wiggle(0.2)(i + 13) }),
			series("canary-bad", wiggle(0.3)),
		})
		if stop != nil {
			promStop = stop
		}
	})
	if promErr != nil {
		t.Fatalf("analysis tests need a real Prometheus: %v", promErr)
	}
	return promURL
}

func TestMain(m *testing.M) {
	code := m.Run()
	promStop()
	os.Exit(code)
}

// testSetup is a runner over the real Prometheus and the two fakes.
type testSetup struct {
	runner *Runner
	dd, nr *metricstest.Fake
}

func newSetup(t *testing.T) *testSetup {
	t.Helper()
	t.Setenv("TEST_DD_API_KEY", "dd-api-key-0123456789")
	t.Setenv("TEST_DD_APP_KEY", "dd-app-key-0123456789")
	t.Setenv("TEST_NR_KEY", "NRAK-0123456789")
	dd := metricstest.NewDatadog(t, map[string][]float64{
		"avg:app.errors{pod:baseline}":    steps(points, wiggle(5)),
		"avg:app.errors{pod:canary-good}": steps(points, func(i int) float64 { return wiggle(5)(i + 5) }),
		"avg:app.errors{pod:canary-bad}":  steps(points, func(i int) float64 { return wiggle(5)(i + 5) }),
	})
	nr := metricstest.NewNewRelic(t, map[string][]float64{
		"SELECT average(value) FROM Metric WHERE pod = 'baseline'":    steps(points, wiggle(1000)),
		"SELECT average(value) FROM Metric WHERE pod = 'canary-good'": steps(points, func(i int) float64 { return wiggle(1000)(i + 3) }),
		"SELECT average(value) FROM Metric WHERE pod = 'canary-bad'":  steps(points, func(i int) float64 { return wiggle(1000)(i + 3) }),
	})
	sources, err := NewSources([]metrics.Account{
		{Name: "prom", Type: "prometheus", URL: prometheus(t)},
		{Name: "dd", Type: "datadog", URL: dd.URL, APIKeyEnv: "TEST_DD_API_KEY", AppKeyEnv: "TEST_DD_APP_KEY", Retries: 1},
		{Name: "nr", Type: "newrelic", URL: nr.URL + "/graphql", AccountID: 1234567, APIKeyEnv: "TEST_NR_KEY", Retries: 1},
	}, metrics.NewInstruments())
	if err != nil {
		t.Fatal(err)
	}
	return &testSetup{runner: &Runner{Sources: sources}, dd: dd, nr: nr}
}

func request(canary string, n int) *Request {
	scope := func(name string) *Scope {
		return &Scope{Scope: name, Start: fixtureStart, End: fixtureStart.Add(time.Duration(n-1) * time.Minute), Step: 60}
	}
	return &Request{Scopes: map[string]ScopePair{"default": {Control: scope("baseline"), Experiment: scope(canary)}}}
}

// parseConfig parses a canary config that fetches no baseline history, so
// that tests count the windows' requests; TestBaselineHistory covers it.
func parseConfig(t *testing.T, text string) *verdict.Config {
	t.Helper()
	cfg, err := kayenta.ParseConfig([]byte(text), "config")
	if err != nil {
		t.Fatal(err)
	}
	cfg.HistoryWindows = new(0)
	return cfg
}

func classOf(res *verdict.Result, name string) (verdict.Classification, string) {
	for _, m := range res.Metrics {
		if m.Name == name {
			return m.Classification, m.Reason
		}
	}
	return "", ""
}

// TestMixedSourcesEndToEnd judges a config mixing Prometheus (real),
// Datadog and New Relic (fakes replaying their documented answers): a good
// canary passes, a slower one fails, and every request carries what the
// APIs require.
func TestMixedSourcesEndToEnd(t *testing.T) {
	s := newSetup(t)
	cfg := parseConfig(t, mixedConfig)
	for _, tc := range []struct {
		canary  string
		result  verdict.Outcome
		latency verdict.Classification
	}{{"canary-good", verdict.ResultPass, verdict.Pass}, {"canary-bad", verdict.ResultFail, verdict.High}} {
		out, err := s.runner.Run(context.Background(), cfg, request(tc.canary, points), Options{})
		if err != nil {
			t.Fatal(err)
		}
		if out.Result.Result != tc.result {
			t.Errorf("%s: %s (%s), want %s", tc.canary, out.Result.Result, out.Result.Reason, tc.result)
		}
		if c, reason := classOf(out.Result, "latency_p99"); c != tc.latency {
			t.Errorf("%s: latency %s (%s), want %s", tc.canary, c, reason, tc.latency)
		}
		for _, p := range out.Pairs {
			if len(p.Values.Control) != points || len(p.Values.Experiment) != points || p.Error != "" {
				t.Errorf("%s: pair %s has %d/%d points, error %q", tc.canary, p.Name, len(p.Values.Control), len(p.Values.Experiment), p.Error)
			}
		}
	}
	for _, r := range s.dd.Received() {
		if r.Path != "POST /api/v2/query/timeseries" || r.Headers.Get("DD-API-KEY") != "dd-api-key-0123456789" ||
			r.Headers.Get("DD-APPLICATION-KEY") != "dd-app-key-0123456789" || r.From != fixtureStart.UnixMilli() ||
			r.To != fixtureStart.Add(points*time.Minute).UnixMilli() || r.Step != 60_000 {
			t.Errorf("Datadog request %+v", r)
		}
	}
	for _, r := range s.nr.Received() {
		if r.Path != "POST /graphql" || r.Headers.Get("Api-Key") != "NRAK-0123456789" || r.Step != 60 ||
			r.From != fixtureStart.Unix() || r.To != fixtureStart.Add(points*time.Minute).Unix() {
			t.Errorf("New Relic request %+v", r)
		}
	}
	if len(s.dd.Received()) != 4 || len(s.nr.Received()) != 4 {
		t.Errorf("%d Datadog and %d New Relic requests, want 4 each", len(s.dd.Received()), len(s.nr.Received()))
	}
}

// TestFaultsNeverPass checks that each fault of a source becomes its
// metric's ERROR with the source's message and the account name, and that
// the verdict is never PASS.
func TestFaultsNeverPass(t *testing.T) {
	cfg := parseConfig(t, mixedConfig)
	for _, tc := range []struct {
		name   string
		target string // "dd" or "nr"
		fault  func(w http.ResponseWriter, n int) bool
		metric string
		want   string // in the reason
		retry  bool   // succeeds after a retry
	}{
		{"datadog 403", "dd", func(w http.ResponseWriter, _ int) bool {
			w.WriteHeader(403)
			fmt.Fprint(w, `{"errors":["Forbidden"]}`)
			return true
		}, "errors", "HTTP 403: Forbidden", false},
		{"datadog 400", "dd", func(w http.ResponseWriter, _ int) bool {
			w.WriteHeader(400)
			fmt.Fprint(w, `{"errors":["Error parsing query: unable to parse avg:app.errors"]}`)
			return true
		}, "errors", "Error parsing query", false},
		{"datadog 429 then ok", "dd", func(w http.ResponseWriter, n int) bool {
			if n > 1 {
				return false
			}
			for k, v := range map[string]string{"X-RateLimit-Limit": "100", "X-RateLimit-Period": "60", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "1", "X-RateLimit-Name": "query"} {
				w.Header().Set(k, v)
			}
			w.WriteHeader(429)
			fmt.Fprint(w, `{"errors":["Rate limit exceeded"]}`)
			return true
		}, "errors", "", true},
		{"datadog malformed", "dd", func(w http.ResponseWriter, _ int) bool {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"data":{"attributes":{"times":[1,2],"values":[[1]]`)
			return true
		}, "errors", "datadog account \"dd\"", false},
		{"new relic graphql error", "nr", func(w http.ResponseWriter, _ int) bool {
			fmt.Fprint(w, `{"data":{"actor":{"account":{"nrql":null}}},"errors":[{"message":"NRQL Syntax Error: Error at line 1 position 8","extensions":{"errorClass":"INVALID_INPUT"}}]}`)
			return true
		}, "throughput", "NRQL Syntax Error", false},
		{"new relic 401", "nr", func(w http.ResponseWriter, _ int) bool {
			w.WriteHeader(401)
			fmt.Fprint(w, `{"errors":[{"message":"Invalid API key","extensions":{"error_code":"BAD_API_KEY"}}]}`)
			return true
		}, "throughput", "HTTP 401: Invalid API key", false},
		{"new relic 503", "nr", func(w http.ResponseWriter, _ int) bool {
			w.WriteHeader(503)
			fmt.Fprint(w, `upstream unavailable`)
			return true
		}, "throughput", "HTTP 503", false},
		{"new relic malformed", "nr", func(w http.ResponseWriter, _ int) bool {
			fmt.Fprint(w, `<html>oops</html>`)
			return true
		}, "throughput", "not JSON", false},
		// A proxy that echoes the request's headers in its error (issue 30,
		// row 12): the keys must not reach the reason.
		{"datadog 400 echoing the keys", "dd", func(w http.ResponseWriter, _ int) bool {
			w.WriteHeader(400)
			fmt.Fprint(w, `{"errors":["bad request; you sent DD-API-KEY: dd-api-key-0123456789 and DD-APPLICATION-KEY: dd-app-key-0123456789"]}`)
			return true
		}, "errors", "DD-API-KEY: [redacted]", false},
		{"new relic 502 echoing the key", "nr", func(w http.ResponseWriter, _ int) bool {
			w.WriteHeader(502)
			fmt.Fprint(w, "bad gateway; request headers: Api-Key: NRAK-0123456789; Content-Type: application/json")
			return true
		}, "throughput", "HTTP 502", false},
		{"new relic 429 then ok", "nr", func(w http.ResponseWriter, n int) bool {
			if n > 1 {
				return false
			}
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(429)
			return true
		}, "throughput", "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newSetup(t)
			target := s.dd
			if tc.target == "nr" {
				target = s.nr
			}
			target.Fault = tc.fault
			out, err := s.runner.Run(context.Background(), cfg, request("canary-good", points), Options{})
			if err != nil {
				t.Fatal(err)
			}
			class, reason := classOf(out.Result, tc.metric)
			if tc.retry {
				if class != verdict.Pass || out.Result.Result != verdict.ResultPass {
					t.Errorf("after a retry: %s %s (%s)", class, out.Result.Result, reason)
				}
				if len(target.Received()) != 3 {
					t.Errorf("%d requests, want 3 (baseline, canary, one retried)", len(target.Received()))
				}
				return
			}
			if class != verdict.Error || !strings.Contains(reason, tc.want) {
				t.Errorf("%s: %s (%s), want ERROR naming %q", tc.metric, class, reason, tc.want)
			}
			if out.Result.Result == verdict.ResultPass {
				t.Errorf("verdict PASS with a failed fetch: %s", out.Result.Reason)
			}
			for _, secret := range []string{"dd-api-key-0123456789", "dd-app-key-0123456789", "NRAK-0123456789"} {
				b, _ := json.Marshal(out)
				if strings.Contains(string(b), secret) || strings.Contains(reason, secret) {
					t.Errorf("a secret leaked into the outcome")
				}
			}
		})
	}
}

// TestUnavailable checks that when every source is unreachable the outcome
// says so (judge analyze exits 69) and the verdict is FAIL.
func TestUnavailable(t *testing.T) {
	t.Setenv("K", "key-0123456789")
	sources, err := NewSources([]metrics.Account{
		{Name: "prom", Type: "prometheus", URL: "http://127.0.0.1:1", Retries: 1, Timeout: 5 * time.Second},
		{Name: "dd", Type: "datadog", URL: "http://127.0.0.1:1", APIKeyEnv: "K", AppKeyEnv: "K", Retries: 1},
		{Name: "nr", Type: "newrelic", URL: "http://127.0.0.1:1/graphql", AccountID: 1, APIKeyEnv: "K", Retries: 1},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	out, err := (&Runner{Sources: sources}).Run(context.Background(), parseConfig(t, mixedConfig), request("canary-good", points), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !out.Unavailable || !errors.Is(out.Cause, metrics.ErrUnavailable) || out.Result.Result != verdict.ResultFail {
		t.Errorf("unavailable %v cause %v result %s", out.Unavailable, out.Cause, out.Result.Result)
	}
}

// TestHostileScopes checks that scope values cannot inject query syntax:
// each is escaped where it lands (and then matches nothing: NODATA, and a
// critical canary that matches nothing fails) or refused with an error
// naming the scope.
func TestHostileScopes(t *testing.T) {
	s := newSetup(t)
	promOnly := `
metrics:
  - name: latency_p99
    groups: [latency]
    critical: true
    direction: increase
    query: {prometheus: 'avg(http_request_duration_seconds_p99{pod="${scope}"})'}
  - name: latency_re
    groups: [latency]
    query: {prometheus: 'avg(http_request_duration_seconds_p99{pod=~"${scope}"})'}
`
	for _, hostile := range []string{`"}) or vector(1) or (`, `canary-bad"} or http_request_duration_seconds_p99{pod="baseline`,
		`.*`, `baseline|canary-bad`, "canary\\\"\n", `\`} {
		out, err := s.runner.Run(context.Background(), parseConfig(t, promOnly), request(hostile, points), Options{})
		if err != nil {
			t.Fatalf("%q: %v", hostile, err)
		}
		for _, m := range out.Result.Metrics {
			if m.Canary.Count > 0 {
				t.Errorf("%q: metric %s got %d canary points from an injected selector", hostile, m.Name, m.Canary.Count)
			}
		}
		if out.Result.Result == verdict.ResultPass {
			t.Errorf("%q: PASS", hostile)
		}
	}
	// Datadog has no quoting: a value that would widen or end the filter is
	// refused. (Comma-separated plain tags are AND: they only narrow it,
	// and are allowed, as Kayenta scopes use them.)
	for _, hostile := range []string{"canary,!pod:canary", "canary, OR pod:baseline", "canary,pod:*", "canary} by {host", "*", "a b"} {
		_, err := s.runner.Run(context.Background(), parseConfig(t, mixedConfig), request(hostile, points), Options{})
		if !errors.Is(err, ErrInvalidRequest) || !errors.Is(err, metrics.ErrUnsafeValue) || !strings.Contains(err.Error(), "experimentScope") {
			t.Errorf("%q: %v, want an unsafe-value error naming the scope", hostile, err)
		}
	}
	// NRQL: the quote is escaped, the fake sees a literal that matches
	// nothing.
	nrOnly := `
metrics:
  - name: throughput
    groups: [traffic]
    query: {newrelic: "SELECT average(value) FROM Metric WHERE pod = '${scope}'"}
`
	out, err := s.runner.Run(context.Background(), parseConfig(t, nrOnly), request("x' OR pod = 'baseline", points), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if c, _ := classOf(out.Result, "throughput"); c != verdict.Nodata {
		t.Errorf("NRQL injection: %s", c)
	}
	var sawEscaped bool
	for _, r := range s.nr.Received() {
		if r.Query == `SELECT average(value) FROM Metric WHERE pod = 'x\' OR pod = \'baseline'` {
			sawEscaped = true
		}
	}
	if !sawEscaped {
		t.Errorf("the escaped NRQL never reached New Relic: %+v", s.nr.Received())
	}
}

// TestSplitting checks that ranges longer than a source's points limit
// are split and joined on one grid.
func TestSplitting(t *testing.T) {
	s := newSetup(t)
	// Prometheus: four hours at 1 s is 14,401 points, above 11,000.
	cfg := parseConfig(t, `
metrics:
  - name: latency
    groups: [g]
    query: {prometheus: 'avg(http_request_duration_seconds_p99{pod="${scope}"})'}
`)
	req := request("canary-good", points)
	for _, sc := range []*Scope{req.Scopes["default"].Control, req.Scopes["default"].Experiment} {
		sc.Step, sc.End = 1, fixtureStart.Add(4*time.Hour-time.Minute)
	}
	out, err := s.runner.Run(context.Background(), cfg, req, Options{})
	if err != nil {
		t.Fatal(err)
	}
	p := out.Pairs[0]
	if len(p.Values.Control) != 14341 || countValid(p.Values.Control) != 14341 {
		t.Errorf("control: %d points, %d valid; want 14341", len(p.Values.Control), countValid(p.Values.Control))
	}
	// New Relic: 400 one-minute buckets, above 366.
	s.nr.Series["SELECT average(value) FROM Metric WHERE pod = 'baseline'"] = steps(400, wiggle(1000))
	nrCfg := parseConfig(t, `
metrics:
  - name: throughput
    groups: [g]
    query: {newrelic: "SELECT average(value) FROM Metric WHERE pod = '${scope}'"}
`)
	out, err = s.runner.Run(context.Background(), nrCfg, request("canary-good", 400), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := countValid(out.Pairs[0].Values.Control); got != 400 {
		t.Errorf("New Relic baseline: %d valid points, want 400", got)
	}
	if n := len(s.nr.Received()); n != 4 {
		t.Errorf("%d New Relic requests, want 4 (two parts per side)", n)
	}
}

func countValid(x []float64) int {
	n := 0
	for _, v := range x {
		if !math.IsNaN(v) {
			n++
		}
	}
	return n
}

// TestSlowSource checks that a source slower than the account's timeout
// makes its metric ERROR instead of holding the analysis.
func TestSlowSource(t *testing.T) {
	s := newSetup(t)
	s.nr.Fault = func(w http.ResponseWriter, _ int) bool {
		time.Sleep(1500 * time.Millisecond)
		return false
	}
	t.Setenv("TEST_NR_KEY", "NRAK-0123456789")
	sources, err := NewSources([]metrics.Account{{Name: "nr", Type: "newrelic", URL: s.nr.URL + "/graphql", AccountID: 1, APIKeyEnv: "TEST_NR_KEY", Timeout: 500 * time.Millisecond, Retries: 1}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg := parseConfig(t, `
metrics:
  - name: throughput
    groups: [traffic]
    query: {newrelic: "SELECT average(value) FROM Metric WHERE pod = '${scope}'"}
`)
	out, err := (&Runner{Sources: sources}).Run(context.Background(), cfg, request("canary-good", points), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if c, reason := classOf(out.Result, "throughput"); c != verdict.Error || !strings.Contains(reason, "deadline exceeded") {
		t.Errorf("slow source: %s (%s)", c, reason)
	}
}

// TestAccountSelection checks how the metrics account is chosen: a name no
// account has is refused, naming the accounts there are (never another
// account fetched from); the only account of a type serves an unnamed
// request; several of a type need a name.
func TestAccountSelection(t *testing.T) {
	t.Setenv("K", "key-0123456789")
	sources, err := NewSources([]metrics.Account{
		{Name: "prom-a", Type: "prometheus", URL: "http://127.0.0.1:1"},
		{Name: "prom-b", Type: "prometheus", URL: "http://127.0.0.1:1"},
		{Name: "dd", Type: "datadog", URL: "http://127.0.0.1:1", APIKeyEnv: "K", AppKeyEnv: "K"},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		typ, named, want, err string
	}{
		{"prometheus", "prom-b", "prom-b", ""},
		{"datadog", "", "dd", ""},
		{"datadog", "prom-a", "dd", ""}, // a mixed config names one account
		{"prometheus", "", "", "several prometheus accounts (prom-a, prom-b)"},
		{"prometheus", "prod", "", `metrics account "prod" is not configured; the accounts are: prom-a (prometheus), prom-b (prometheus), dd (datadog)`},
		{"newrelic", "", "", "no newrelic account is configured"},
	} {
		a, err := sources.pick(tc.typ, tc.named)
		switch {
		case tc.err == "" && (err != nil || a.Name != tc.want):
			t.Errorf("pick(%s, %q) = %q, %v; want %q", tc.typ, tc.named, a.Name, err, tc.want)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err) || !errors.Is(err, ErrConfig)):
			t.Errorf("pick(%s, %q) error %v; want one saying %q", tc.typ, tc.named, err, tc.err)
		}
	}
}

// TestKayentaRawScopes checks the opt-in raw substitution of an account:
// a Kayenta-style regex scope inside =~ matches as Kayenta would make it
// match, while the default escaping makes the same scope match only
// itself (no series: NODATA, with a reason naming kayenta_raw_scopes).
func TestKayentaRawScopes(t *testing.T) {
	cfg := parseConfig(t, `
metrics:
  - name: latency_re
    groups: [latency]
    query: {prometheus: 'avg(http_request_duration_seconds_p99{pod=~"${scope}"})'}
`)
	for _, tc := range []struct {
		raw  bool
		want int // canary points fetched
	}{{true, points}, {false, 0}} {
		sources, err := NewSources([]metrics.Account{{Name: "prom", Type: "prometheus", URL: prometheus(t), KayentaRawScopes: tc.raw}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		out, err := (&Runner{Sources: sources}).Run(context.Background(), cfg, request("canary-go.*", points), Options{})
		if err != nil {
			t.Fatalf("raw %v: %v", tc.raw, err)
		}
		if got := out.Result.Metrics[0].Canary.Count; got != tc.want {
			t.Errorf("raw %v: %d canary points, want %d (query %q)", tc.raw, got, tc.want, out.Pairs[0].Attributes["experiment"]["query"])
		}
		if q := out.Pairs[0].Attributes["experiment"]["query"]; tc.raw != strings.Contains(q, `pod=~"canary-go.*"`) {
			t.Errorf("raw %v: query %q", tc.raw, q)
		}
		// Escaped, the empty answer says why and names the setting.
		if reason := out.Result.Metrics[0].Reason; tc.raw == strings.Contains(reason, `set kayenta_raw_scopes: true on account "prom"`) {
			t.Errorf("raw %v: reason %q", tc.raw, reason)
		}
	}
	// Even verbatim, a NUL is refused.
	sources, _ := NewSources([]metrics.Account{{Name: "prom", Type: "prometheus", URL: prometheus(t), KayentaRawScopes: true}}, nil)
	if _, err := (&Runner{Sources: sources}).Run(context.Background(), cfg, request("canary\x00", points), Options{}); !errors.Is(err, metrics.ErrUnsafeValue) {
		t.Errorf("a NUL in a raw scope: %v", err)
	}
}

// TestBackendTable: every shipped source is registered (metrics/all) with
// every function set, and the registry is the one list errors quote.
func TestBackendTable(t *testing.T) {
	for _, typ := range []string{"prometheus", "datadog", "newrelic", "influxdb", "graphite"} {
		b, ok := backend(typ)
		if !ok || b.New == nil || len(b.Uses) == 0 || b.FromKayenta == nil || b.Window == nil || b.Language.Escape == nil || b.Verbatim.Name == "" {
			t.Errorf("backend %s: %+v", typ, b)
		}
	}
	if got := strings.Join(backendTypes(), ", "); got != "datadog, graphite, influxdb, newrelic, prometheus" {
		t.Errorf("backend types %q", got)
	}
	m := &verdict.Metric{Name: "x", Query: map[string]string{"oracle": "a.b"}}
	if _, err := sourceType(m, "", nil); err == nil || !strings.Contains(err.Error(), "not one of datadog, graphite, influxdb, newrelic, prometheus") {
		t.Errorf("unknown query source: %v", err)
	}
}
