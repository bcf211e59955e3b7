package server

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/canaryjudge/judge/metrics"
	"github.com/canaryjudge/judge/metrics/metricstest"
)

// TestStoredAnalysisReadsBack is the regression test for an analysis
// stored with more baseline history than can be read back: ten windows of
// 20,000 points of history used to be fetched and stored (200,000 points),
// after which GET /v1/analyses/{id}, /canary/{id} and
// /metricSetPairList/{id} answered 500 forever. The history is now held to
// the points limit, and whatever is stored reads back.
func TestStoredAnalysisReadsBack(t *testing.T) {
	values := make([]float64, 1500)
	for i := range values {
		values[i] = 10 + math.Sin(float64(i)*1.3)
	}
	dd := metricstest.NewDatadog(t, map[string][]float64{"avg:lat{pod:a}": values, "avg:lat{pod:b}": values})
	t.Setenv("RB_KEY", "rb-secret-0123456789")
	srv := startServer(t, Config{Accounts: []metrics.Account{{Name: "dd", Type: "datadog", URL: dd.URL, APIKeyEnv: "RB_KEY", AppKeyEnv: "RB_KEY",
		RateLimit: 10_000, RateBurst: 1_000}}})
	base := "http://" + srv.Addr()
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	scope := func(name string) string {
		return fmt.Sprintf(`{"scope":%q,"start":%q,"end":%q,"step_seconds":60}`, name, start.Format(time.RFC3339), start.Add(19_999*time.Minute).Format(time.RFC3339))
	}
	body := fmt.Sprintf(`{"spec":{"canary_config":{"name":"rb","historyWindows":10,"metrics":[{"name":"lat","groups":["g"],"query":{"datadog":"avg:lat{pod:${scope}}"}}]},
		"scopes":{"default":{"control_scope":%s,"experiment_scope":%s}}}}`, scope("a"), scope("b"))
	var created struct{ Analysis struct{ ID string } }
	if code := call(t, "POST", base+"/v1/analyses", body, &created); code != 200 {
		t.Fatalf("POST /v1/analyses: %d", code)
	}
	id := created.Analysis.ID
	deadline := time.Now().Add(60 * time.Second)
	var got struct {
		Analysis struct {
			Status string
			Error  string
		}
	}
	for {
		if code := call(t, "GET", base+"/v1/analyses/"+id, "", &got); code != 200 {
			t.Fatalf("GET /v1/analyses/%s: %d", id, code)
		}
		if s := got.Analysis.Status; s != "" && !strings.HasSuffix(s, "PENDING") && !strings.HasSuffix(s, "RUNNING") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("analysis not finished after 60s: %+v", got)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !strings.HasSuffix(got.Analysis.Status, "SUCCEEDED") {
		t.Fatalf("analysis %s: %+v", id, got.Analysis)
	}
	for _, path := range []string{"/canary/" + id, "/metricSetPairList/" + id} {
		var out any
		if code := call(t, "GET", base+path, "", &out); code != 200 {
			t.Errorf("GET %s: %d", path, code)
		}
	}
	var pairs []struct {
		Values struct{ ControlHistory []any }
	}
	call(t, "GET", base+"/metricSetPairList/"+id, "", &pairs)
	if len(pairs) != 1 || len(pairs[0].Values.ControlHistory) == 0 || len(pairs[0].Values.ControlHistory) > DefaultLimits.MaxPoints {
		n := -1
		if len(pairs) == 1 {
			n = len(pairs[0].Values.ControlHistory)
		}
		t.Errorf("history of %d points read back; want some, at most the limit of %d", n, DefaultLimits.MaxPoints)
	}
}
