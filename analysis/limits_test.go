package analysis

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/canaryjudge/judge/metrics"
	"github.com/canaryjudge/judge/verdict"
)

// countingSource answers every query with a flat series and records the
// points each query asked for.
type countingSource struct{ asked []int }

func (c *countingSource) Fetch(_ context.Context, q metrics.Query) (metrics.Series, error) {
	c.asked = append(c.asked, q.Points())
	v := make([]float64, q.Points())
	for i := range v {
		v[i] = 1 + float64(i%7)/10
	}
	return metrics.Series{Start: q.Start, Step: q.Step, Values: v}, nil
}

// TestLimitsHoldForHistoryAndConfigs is the regression test for history
// fetched past the points limit (historyWindows 10 fetched ten windows
// whatever their size) and for a config with more metrics than the
// limit: the history is one series held to the limit, and the config is
// refused before anything is fetched.
func TestLimitsHoldForHistoryAndConfigs(t *testing.T) {
	src := &countingSource{}
	runner := &Runner{Sources: (&Sources{sources: map[string]metrics.Source{}}).WithSource(metrics.Account{Name: "p", Type: "prometheus"}, src),
		Limits: verdict.Limits{MaxMetrics: 3, MaxPoints: 1000}}
	ten := 10
	cfg := &verdict.Config{Name: "c", HistoryWindows: &ten, Metrics: []verdict.Metric{{Name: "m", Groups: []string{"g"},
		Tests: []verdict.Test{verdict.TestMannWhitney}, Query: map[string]string{"prometheus": `up{pod="${scope}"}`}}}}
	if err := cfg.Validate("test"); err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	scope := func(name string, points int) *Scope {
		return &Scope{Scope: name, Start: start, End: start.Add(time.Duration(points-1) * time.Minute), Step: 60}
	}
	req := &Request{Scopes: map[string]ScopePair{"default": {Control: scope("a", 300), Experiment: scope("b", 300)}}}
	if _, err := runner.Run(context.Background(), cfg, req, Options{}); err != nil {
		t.Fatal(err)
	}
	for _, n := range src.asked {
		if n > 1000 {
			t.Errorf("a query asked for %d points, more than the limit of 1000 (asked: %v)", n, src.asked)
		}
	}
	if len(src.asked) != 3 {
		t.Errorf("queries %v, want the two windows and one history of 3 windows (900 points)", src.asked)
	}
	// A window longer than the limit is refused, naming the scope.
	req = &Request{Scopes: map[string]ScopePair{"default": {Control: scope("a", 1200), Experiment: scope("b", 1200)}}}
	if err := runner.Check(cfg, req, Options{}); err == nil || !strings.Contains(err.Error(), "more than the limit of 1000") {
		t.Errorf("a 1200-point window: %v", err)
	}
	// A config with more metrics than the limit is refused.
	for i := range 3 {
		cfg.Metrics = append(cfg.Metrics, verdict.Metric{Name: fmt.Sprint("n", i), Groups: []string{"g"}, Tests: []verdict.Test{verdict.TestMannWhitney},
			Query: map[string]string{"prometheus": `up{pod="${scope}"}`}})
	}
	req = &Request{Scopes: map[string]ScopePair{"default": {Control: scope("a", 60), Experiment: scope("b", 60)}}}
	if err := runner.Check(cfg, req, Options{}); err == nil || !strings.Contains(err.Error(), "4 metrics, more than the limit of 3") {
		t.Errorf("4 metrics under a limit of 3: %v", err)
	}
}
