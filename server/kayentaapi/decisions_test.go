package kayentaapi

import (
	"maps"
	"testing"

	"github.com/canaryjudge/judge/kayenta"
	judgev1 "github.com/canaryjudge/judge/proto/judge/v1"
)

// TestJudgeRun pins how a standalone analysis decides on each run's
// verdict, never its score: a FAIL ends it at once when a regression is
// established (or on the last run), waits otherwise; MARGINAL and PASS wait
// for the last run, where only PASS passes; an unknown result fails.
func TestJudgeRun(t *testing.T) {
	high := []*judgev1.MetricResult{{Name: "latency", Classification: "HIGH"}}
	nodata := []*judgev1.MetricResult{{Name: "latency", Classification: "NODATA"}}
	for _, tc := range []struct {
		name         string
		v            *judgev1.Verdict
		n, runs      int
		done, passed bool
	}{
		{"an established FAIL ends at once", &judgev1.Verdict{Result: "FAIL", Score: 99, Metrics: high}, 1, 3, true, false},
		{"a FAIL without a regression waits", &judgev1.Verdict{Result: "FAIL", Metrics: nodata}, 1, 3, false, false},
		{"a FAIL on the last run fails", &judgev1.Verdict{Result: "FAIL", Metrics: nodata}, 3, 3, true, false},
		{"PASS before the last run waits", &judgev1.Verdict{Result: "PASS", Score: 100}, 2, 3, false, false},
		{"PASS on the last run passes", &judgev1.Verdict{Result: "PASS", Score: 100}, 3, 3, true, true},
		{"MARGINAL on the last run fails", &judgev1.Verdict{Result: "MARGINAL", Score: 96}, 3, 3, true, false},
		{"MARGINAL before the last run waits", &judgev1.Verdict{Result: "MARGINAL"}, 1, 3, false, false},
		{"an unknown result fails", &judgev1.Verdict{Result: "CONTINUE", Score: 100}, 1, 3, true, false},
		{"a FAIL at score 100 still fails", &judgev1.Verdict{Result: "FAIL", Score: 100, Metrics: []*judgev1.MetricResult{{Classification: "ERROR"}}}, 1, 1, true, false},
	} {
		done, passed, msg := judgeRun(tc.v, tc.n, tc.runs)
		if done != tc.done || passed != tc.passed || done && msg == "" {
			t.Errorf("%s: done %v passed %v (%q), want %v %v", tc.name, done, passed, msg, tc.done, tc.passed)
		}
	}
}

// TestStageStatus pins the stages of Kayenta's canary pipeline implied by
// an execution's status: one fetch stage per metric and side, mix and
// judge after them, setup done once started.
func TestStageStatus(t *testing.T) {
	for _, tc := range []struct {
		status                     string
		fetched                    bool
		setup, fetch, mix, judgeSt string
	}{
		{kayenta.StatusNotStarted, false, "not_started", "not_started", "not_started", "not_started"},
		{kayenta.StatusRunning, false, "succeeded", "running", "not_started", "not_started"},
		{kayenta.StatusSucceeded, true, "succeeded", "succeeded", "succeeded", "succeeded"},
		{kayenta.StatusTerminal, false, "succeeded", "terminal", "not_started", "terminal"},
		{kayenta.StatusTerminal, true, "succeeded", "succeeded", "succeeded", "terminal"},
		{kayenta.StatusCanceled, false, "succeeded", "canceled", "not_started", "canceled"},
	} {
		got := stageStatus(tc.status, 2, tc.fetched)
		want := map[string]string{stageSetup: tc.setup, stageMix: tc.mix, stageJudge: tc.judgeSt,
			stageControl + "0": tc.fetch, stageExperiment + "0": tc.fetch, stageControl + "1": tc.fetch, stageExperiment + "1": tc.fetch}
		if !maps.Equal(got, want) {
			t.Errorf("%s (fetched %v): %v, want %v", tc.status, tc.fetched, got, want)
		}
	}
}

// TestCanaryDuration is Kayenta's calculateDuration: the one span every
// scope covers, null when they differ, when a time does not parse, or when
// there is no scope (series given inline, which crashed it before).
func TestCanaryDuration(t *testing.T) {
	scope := func(start, end string) kayenta.Scope { return kayenta.Scope{Start: start, End: end} }
	pair := func(c, e kayenta.Scope) kayenta.ScopePair {
		return kayenta.ScopePair{ControlScope: c, ExperimentScope: e}
	}
	hour := scope("2026-12-05T10:00:00Z", "2026-12-05T11:00:00Z")
	for name, tc := range map[string]struct {
		req  *kayenta.ExecutionRequest
		want string
	}{
		"one span":   {&kayenta.ExecutionRequest{Scopes: map[string]kayenta.ScopePair{"default": pair(hour, hour), "other": pair(hour, hour)}}, "PT1H"},
		"differing":  {&kayenta.ExecutionRequest{Scopes: map[string]kayenta.ScopePair{"default": pair(hour, scope("2026-12-05T10:00:00Z", "2026-12-05T10:30:00Z"))}}, ""},
		"bad time":   {&kayenta.ExecutionRequest{Scopes: map[string]kayenta.ScopePair{"default": pair(hour, scope("soon", "later"))}}, ""},
		"no scopes":  {&kayenta.ExecutionRequest{Scopes: map[string]kayenta.ScopePair{}}, ""},
		"no request": {nil, ""},
	} {
		got := canaryDuration(tc.req)
		if (got == nil) != (tc.want == "") || got != nil && *got != tc.want {
			t.Errorf("%s: %v, want %q", name, got, tc.want)
		}
	}
}
