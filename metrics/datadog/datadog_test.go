package datadog_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/canaryjudge/judge/metrics"
	"github.com/canaryjudge/judge/metrics/datadog"
	"github.com/canaryjudge/judge/metrics/metricstest"
)

// TestRetriesCounted checks that a 429 Datadog's client retries (after
// X-RateLimit-Reset) is counted in judge_source_retries_total and that the
// retried request succeeds.
func TestRetriesCounted(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	fake := metricstest.NewDatadog(t, map[string][]float64{"avg:x{pod:a}": {1, 2, 3, 4, 5}})
	fake.Fault = func(w http.ResponseWriter, n int) bool {
		if n > 1 {
			return false
		}
		w.Header().Set("X-RateLimit-Reset", "1")
		w.WriteHeader(http.StatusTooManyRequests)
		fmt.Fprint(w, `{"errors":["Rate limit exceeded"]}`)
		return true
	}
	t.Setenv("DD_TEST_KEY", "key-0123456789")
	in := metrics.NewInstruments()
	src, err := datadog.New(metrics.Account{Name: "dd", Type: "datadog", URL: fake.URL, APIKeyEnv: "DD_TEST_KEY", AppKeyEnv: "DD_TEST_KEY", Retries: 2}, in)
	if err != nil {
		t.Fatal(err)
	}
	s, err := src.Fetch(context.Background(), metrics.Query{Text: "avg:x{pod:a}", Start: start, End: start.Add(4 * time.Minute), Step: time.Minute})
	if err != nil || len(s.Values) != 5 || s.Values[4] != 5 {
		t.Fatalf("fetch after a 429: %+v %v", s, err)
	}
	if got := testutil.ToFloat64(in.Retries.WithLabelValues("dd", "datadog")); got != 1 {
		t.Errorf("retries counted %v, want 1", got)
	}
	if got := testutil.ToFloat64(in.Requests.WithLabelValues("dd", "datadog", "429")); got != 1 {
		t.Errorf("429 requests counted %v, want 1", got)
	}
}
