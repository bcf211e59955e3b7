package server

import (
	"bufio"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/canaryjudge/judge/metrics"
)

// hostileBody writes what a hostile or broken metrics source answers, in
// the shape of source typ: prefix, then item repeated n times (without
// end when n < 0, until the client stops reading), then suffix.
func hostileBody(w http.ResponseWriter, prefix, item, suffix string, n int) {
	w.Header().Set("Content-Type", "application/json")
	bw := bufio.NewWriterSize(w, 64<<10)
	_, _ = bw.WriteString(prefix)
	for i := 0; n < 0 || i < n; i++ {
		if i > 0 {
			_ = bw.WriteByte(',')
		}
		if _, err := bw.WriteString(strings.ReplaceAll(item, "$i", strconv.Itoa(i))); err != nil {
			return
		}
		if n < 0 && i > 40_000_000 { // ~400 MB or more: stop somewhere
			break
		}
	}
	_, _ = bw.WriteString(suffix)
	_ = bw.Flush()
}

// hostileSource answers every query of the mode in its path
// (/prometheus/huge/api/v1/query_range, /datadog/series/…) in that
// source's format.
func hostileSource(w http.ResponseWriter, r *http.Request) {
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/"), "/")
	if len(parts) < 2 {
		http.NotFound(w, r)
		return
	}
	source, mode := parts[0], parts[1]
	type shape struct{ prefix, point, suffix, seriesPrefix, series, seriesSuffix, wrong string }
	shapes := map[string]shape{
		"prometheus": {`{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[`, `[1767225600,"1"]`, `]}]}}`,
			`{"status":"success","data":{"resultType":"matrix","result":[`, `{"metric":{"pod":"p$i"},"values":[[1767225600,"1"]]}`, `]}}`,
			`{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1767225600,{"x":1}]]}]}}`},
		"datadog": {`{"data":{"type":"timeseries_response","attributes":{"times":[`, `1767225600000`, `],"values":[[1]]}}}`,
			`{"data":{"type":"timeseries_response","attributes":{"times":[1767225600000],"values":[`, `[1]`, `]}}}`,
			`{"data":{"type":"timeseries_response","attributes":{"times":"soon","values":{"a":1}}}}`},
		"newrelic": {`{"data":{"actor":{"account":{"nrql":{"results":[`, `{"beginTimeSeconds":1767225600,"v":1}`, `]}}}}}`,
			`{"data":{"actor":{"account":{"nrql":{"results":[`, `{"beginTimeSeconds":1767225600,"facet":"p$i","v":1}`, `]}}}}}`,
			`{"data":{"actor":{"account":{"nrql":{"results":"many"}}}}}`},
	}
	sh, ok := shapes[source]
	if !ok {
		http.NotFound(w, r)
		return
	}
	switch mode {
	case "huge": // an endless answer
		hostileBody(w, sh.prefix, sh.point, sh.suffix, -1)
	case "points": // millions of points in one series
		hostileBody(w, sh.prefix, sh.point, sh.suffix, 3_000_000)
	case "series": // thousands of series
		hostileBody(w, sh.seriesPrefix, sh.series, sh.seriesSuffix, 5_000)
	case "length": // a Content-Length far above any limit
		w.Header().Set("Content-Length", strconv.Itoa(1<<30))
		w.WriteHeader(200)
		_, _ = w.Write([]byte(sh.prefix))
	case "drip": // a byte at a time, slower than the account's timeout
		w.Header().Set("Content-Type", "application/json")
		for i := range 200 {
			if _, err := w.Write([]byte(sh.prefix[i%len(sh.prefix) : i%len(sh.prefix)+1])); err != nil {
				return
			}
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
	case "types": // the right envelope, the wrong types
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(sh.wrong))
	default:
		http.NotFound(w, r)
	}
}

// peakRSS resets the process's peak resident memory (Linux clear_refs 5)
// and returns a function reading the peak since, in bytes.
func peakRSS(t *testing.T) func() int64 {
	t.Helper()
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		t.Fatalf("reset the peak resident memory: %v", err)
	}
	return func() int64 {
		b, err := os.ReadFile("/proc/self/status")
		if err != nil {
			t.Fatal(err)
		}
		for line := range strings.SplitSeq(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
				kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
				return kb << 10
			}
		}
		t.Fatal("no VmHWM in /proc/self/status")
		return 0
	}
}

// TestHostileSources puts a hostile source behind each metrics source type
// (an endless answer, millions of points, thousands of series, a huge
// Content-Length, a slow drip, wrong types) and runs an analysis of a
// critical metric against each: every case ends with the metric ERROR and
// the analysis FAIL (or, when nothing could be fetched, an unavailable
// error), never PASS; the process's peak resident memory stays bounded.
func TestHostileSources(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(hostileSource))
	t.Cleanup(srv.Close)
	t.Setenv("HOSTILE_DD_API", "dd-api-key-0123456789")
	t.Setenv("HOSTILE_DD_APP", "dd-app-key-0123456789")
	t.Setenv("HOSTILE_NR_KEY", "nr-key-0123456789")
	modes := []string{"huge", "points", "series", "length", "drip", "types"}
	var accounts []metrics.Account
	for _, mode := range modes {
		accounts = append(accounts,
			metrics.Account{Name: "prometheus-" + mode, Type: "prometheus", URL: srv.URL + "/prometheus/" + mode, Timeout: 2 * time.Second, Retries: 1},
			metrics.Account{Name: "datadog-" + mode, Type: "datadog", URL: srv.URL + "/datadog/" + mode, APIKeyEnv: "HOSTILE_DD_API",
				AppKeyEnv: "HOSTILE_DD_APP", Timeout: 2 * time.Second, Retries: 1},
			metrics.Account{Name: "newrelic-" + mode, Type: "newrelic", URL: srv.URL + "/newrelic/" + mode, APIKeyEnv: "HOSTILE_NR_KEY",
				AccountID: 1, Timeout: 2 * time.Second, Retries: 1})
	}
	s := startServer(t, Config{Accounts: accounts})
	base := "http://" + s.Addr()
	queries := map[string]string{
		"prometheus": `avg(up{pod=\"${scope}\"})`,
		"datadog":    `avg:system.cpu.user{pod:${scope}}`,
		"newrelic":   `SELECT average(duration) FROM Transaction WHERE pod = '${scope}'`,
	}
	peak := peakRSS(t)
	for _, typ := range []string{"prometheus", "datadog", "newrelic"} {
		for _, mode := range modes {
			account := typ + "-" + mode
			scope := `{"scope":"%s","start":"2026-01-01T00:00:00Z","end":"2026-01-01T01:00:00Z","step_seconds":60}`
			body := fmt.Sprintf(`{"spec":{"canary_config":{"metrics":[{"name":"m","groups":["g"],"critical":true,"query":{%q:"%s"}}]},
				"metrics_account":%q,"scopes":{"default":{"control_scope":`+scope+`,"experiment_scope":`+scope+`}}}}`,
				typ, queries[typ], account, "base", "canary")
			var out struct {
				Verdict struct {
					Result  string
					Metrics []struct{ Classification, Reason string }
				}
				Message string
			}
			code := call(t, "POST", base+"/v1/analyze", body, &out)
			switch code {
			case 200:
				if out.Verdict.Result == "PASS" || len(out.Verdict.Metrics) != 1 || out.Verdict.Metrics[0].Classification != "ERROR" {
					t.Errorf("%s: %s %+v, want FAIL with the metric ERROR", account, out.Verdict.Result, out.Verdict.Metrics)
				}
			case 503, 504:
				// Nothing could be fetched: the caller gets no verdict at all.
			default:
				t.Errorf("%s: HTTP %d %s", account, code, out.Message)
			}
		}
	}
	grew := peak()
	t.Logf("peak resident memory over %d hostile analyses: %d MiB", 3*len(modes), grew>>20)
	if grew > 1<<30 {
		t.Errorf("peak resident memory %d MiB while judging hostile sources; the answers are bounded at %d MiB each", grew>>20, metrics.DefaultMaxResponseBytes>>20)
	}
}
