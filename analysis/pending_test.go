package analysis

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/canaryjudge/judge/metrics"
)

// blockingSource answers no fetch until its context ends, and counts the
// fetches that ended so.
type blockingSource struct{ stopped chan struct{} }

func (b blockingSource) Fetch(ctx context.Context, _ metrics.Query) (metrics.Series, error) {
	<-ctx.Done()
	b.stopped <- struct{}{}
	return metrics.Series{}, ctx.Err()
}

// TestPendingRun: a run started before its level is known judges its
// series at the level given when judged, exactly as Run does at that level;
// an abandoned run stops its fetches and judges nothing.
func TestPendingRun(t *testing.T) {
	t.Parallel()
	mem := &metrics.Memory{Points: map[string][]metrics.Point{}}
	for pod, level := range map[string]float64{"baseline": 0.2, "c": 0.26} {
		var pts []metrics.Point
		for i := range 60 {
			pts = append(pts, metrics.Point{T: fixtureStart.Add(time.Duration(i) * time.Minute), V: wiggle(level)(i + len(pod))})
		}
		mem.Points[`up{pod="`+pod+`"}`] = pts
	}
	cfg := parseConfig(t, "metrics: [{name: a, groups: [g], direction: increase, query: {prometheus: 'up{pod=\"${scope}\"}'}}]")
	runner := memoryRunner(mem, "prometheus")
	results := map[float64]string{}
	for _, level := range []float64{0.05, 1e-12} {
		at := *cfg
		at.FamilyWiseError = level
		want, err := runner.Run(context.Background(), &at, request("c", 60), Options{})
		if err != nil {
			t.Fatal(err)
		}
		got, err := runner.Start(context.Background(), cfg, request("c", 60), Options{}).Judge(&at)
		if err != nil {
			t.Fatal(err)
		}
		if got.Result.Result != want.Result.Result || got.Result.Score != want.Result.Score || len(got.Pairs) != len(want.Pairs) {
			t.Errorf("level %g: pending %s %v, run %s %v", level, got.Result.Result, got.Result.Score, want.Result.Result, want.Result.Score)
		}
		results[level] = string(got.Result.Result) + " " + got.Result.Metrics[0].Reason
	}
	if results[0.05] == results[1e-12] {
		t.Errorf("the level given to Judge changed nothing: %q", results[0.05])
	}

	block := blockingSource{stopped: make(chan struct{}, 8)}
	empty, _ := NewSources(nil, nil)
	blocked := &Runner{Sources: empty.WithSource(metrics.Account{Name: "mem", Type: "prometheus"}, block)}
	p := blocked.Start(context.Background(), cfg, request("c", 60), Options{})
	done := make(chan struct{})
	go func() { p.Abandon(errors.New("not wanted")); close(done) }()
	select {
	case <-done:
	case <-time.After(time.Minute):
		t.Fatal("Abandon did not stop the run's fetches")
	}
	if len(block.stopped) == 0 {
		t.Error("no fetch was stopped by Abandon")
	}
}
