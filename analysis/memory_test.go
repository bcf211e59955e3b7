package analysis

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/canaryjudge/judge/metrics"
	"github.com/canaryjudge/judge/verdict"
)

// memoryRunner serves every query from an in-memory source.
func memoryRunner(mem *metrics.Memory, typ string) *Runner {
	empty, _ := NewSources(nil, nil)
	return &Runner{Sources: empty.WithSource(metrics.Account{Name: "mem", Type: typ}, mem)}
}

// TestKayentaQueries checks the queries built from Kayenta query configs
// for each scope, as Kayenta builds them, with values escaped.
func TestKayentaQueries(t *testing.T) {
	t.Parallel()
	cfg := parseConfig(t, `{"name":"k","metrics":[
		{"name":"cpu","groups":["g"],"query":{"type":"prometheus","metricName":"cpu_usage","resourceType":"aws_ec2_instance","labelBindings":["job=\"api\""],"groupByFields":["zone"]}},
		{"name":"lat","groups":["g"],"query":{"type":"prometheus","metricName":"latency","customFilterTemplate":"pods"}},
		{"name":"raw","groups":["g"],"query":{"type":"prometheus","customInlineTemplate":"PromQL:sum(rate(errors{pod=~\"${scope}.*\",env=\"${env}\"}[1m]))"}}],
		"templates":{"pods":"pod=\"${scope}\",region=\"${location}\""},
		"classifier":{"groupWeights":{"g":100}}}`)
	mem := &metrics.Memory{}
	req := request("canary", 10)
	for _, s := range []*Scope{req.Scopes["default"].Control, req.Scopes["default"].Experiment} {
		s.Location, s.ExtendedScopeParams = "us-east-1", map[string]string{"env": `pro"d`}
	}
	req.Scopes["default"].Experiment.Scope = `can"ary`
	if _, err := memoryRunner(mem, "prometheus").Run(context.Background(), cfg, req, Options{}); err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{
		`avg(cpu_usage{asg_groupName="baseline",zone=~"us-east-1.{1}",job="api"}) by (zone)`: false,
		`avg(cpu_usage{asg_groupName="can\"ary",zone=~"us-east-1.{1}",job="api"}) by (zone)`: false,
		`avg(latency{pod="can\"ary",region="us-east-1"})`:                                    false,
		`sum(rate(errors{pod=~"can\"ary.*",env="pro\"d"}[1m]))`:                              false,
		`sum(rate(errors{pod=~"baseline.*",env="pro\"d"}[1m]))`:                              false,
	}
	for _, q := range mem.Queries {
		if _, ok := want[q.Text]; ok {
			want[q.Text] = true
		}
		if q.Step != time.Minute || !q.Start.Equal(fixtureStart) {
			t.Errorf("query %q over %v at %v", q.Text, q.Start, q.Step)
		}
	}
	for q, seen := range want {
		if !seen {
			t.Errorf("query not sent: %s (sent: %v)", q, mem.Queries)
		}
	}
	// Kayenta refuses a query that would not tell the scopes apart.
	noScope := parseConfig(t, `{"name":"k","metrics":[{"name":"x","groups":["g"],"query":{"type":"prometheus","metricName":"x"}}],"classifier":{"groupWeights":{"g":100}}}`)
	if _, err := memoryRunner(mem, "prometheus").Run(context.Background(), noScope, req, Options{}); !errors.Is(err, ErrInvalidRequest) || !strings.Contains(err.Error(), "resourceType or a custom filter") {
		t.Errorf("query without a scope filter: %v", err)
	}
}

// TestRunStopsWhenCancelled checks that a cancelled analysis (a cancel, a
// lost lease) stops fetching with an error, never a verdict.
func TestRunStopsWhenCancelled(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	cfg := parseConfig(t, "metrics: [{name: a, groups: [g], query: {prometheus: 'up{pod=\"${scope}\"}'}}]")
	out, err := memoryRunner(&metrics.Memory{}, "prometheus").Run(ctx, cfg, request("c", 10), Options{})
	if err == nil || out != nil || !strings.Contains(err.Error(), "stopped while fetching") {
		t.Errorf("cancelled run: %v, %v", out, err)
	}
}

// TestAccountChoice checks how a metric's account is chosen.
func TestAccountChoice(t *testing.T) {
	t.Parallel()
	mem := &metrics.Memory{}
	empty, _ := NewSources(nil, nil)
	two := empty.WithSource(metrics.Account{Name: "east", Type: "prometheus"}, mem).
		WithSource(metrics.Account{Name: "west", Type: "prometheus"}, mem)
	cfg := parseConfig(t, "metrics: [{name: a, groups: [g], query: {prometheus: 'up{pod=\"${scope}\"}'}}]")
	r := &Runner{Sources: two}
	if _, err := r.Run(context.Background(), cfg, request("c", 10), Options{}); !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "east, west") {
		t.Errorf("two accounts without a choice: %v", err)
	}
	out, err := r.Run(context.Background(), cfg, request("c", 10), Options{Account: "west"})
	if err != nil || out.Pairs[0].Tags["controlAccount"] != "west" {
		t.Errorf("chosen account: %v %v", out, err)
	}
	dd := parseConfig(t, "metrics: [{name: a, groups: [g], query: {datadog: 'avg:x{pod:${scope}}'}}]")
	if _, err := r.Run(context.Background(), dd, request("c", 10), Options{}); !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "no datadog account") {
		t.Errorf("no account of the type: %v", err)
	}
}

// TestParseRequestErrors checks that bad scope files get errors naming the
// problem, without Go type names.
func TestParseRequestErrors(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		`{"scopes":`: "ends too early",
		`{"scopes":{"default":{"controlScope":{"step":"60"}}}}`:         "controlScope.step: a JSON string",
		`{"scopes":{"default":{"controlScope":{"start":"yesterday"}}}}`: `"yesterday" is not an RFC 3339 time`,
		`{"scopes":{}}`: "scopes: none given",
		`{"scopes":{"default":{"controlScope":{"scope":"a","start":"2026-01-01T00:00:00Z","end":"2026-01-01T01:00:00Z","step":60}}}}`:                                                                                                       "experimentScope: missing",
		`{"scopes":{"default":{"controlScope":{"scope":"a","start":"2026-01-01T01:00:00Z","end":"2026-01-01T00:00:00Z","step":60},"experimentScope":{"scope":"b","start":"2026-01-01T00:00:00Z","end":"2026-01-01T01:00:00Z","step":60}}}}`: "is not after start",
	} {
		_, err := ParseRequest([]byte(in), "scopes.json")
		if err == nil || !strings.Contains(err.Error(), want) || !strings.HasPrefix(err.Error(), "scopes.json") || strings.Contains(err.Error(), "Go ") || strings.Contains(err.Error(), "int64") {
			t.Errorf("%s: %v, want an error naming %q", in, err, want)
		}
	}
}

// historySource serves Memory's points and fails every query that ends
// before fail (the history) when fail is set.
type historySource struct {
	*metrics.Memory
	fail time.Time
}

func (h historySource) Fetch(ctx context.Context, q metrics.Query) (metrics.Series, error) {
	if !h.fail.IsZero() && q.End.Before(h.fail) {
		return metrics.Series{}, fmt.Errorf("%w: history store down", metrics.ErrUnavailable)
	}
	return h.Memory.Fetch(ctx, q)
}

// TestBaselineHistory checks that the default judge's analyses fetch
// historyWindows windows of the baseline right before its window (ending one
// step before it), carry them as the pair's controlHistory, and that a
// failed history fetch leaves the metric judged on its windows, never
// ERROR; the kayenta judge fetches none.
func TestBaselineHistory(t *testing.T) {
	t.Parallel()
	cfg := parseConfig(t, `{"name":"h","metrics":[{"name":"lat","groups":["g"],"query":{"type":"prometheus","customInlineTemplate":"PromQL:lat{pod=\"${scope}\"}"}}],
		"classifier":{"groupWeights":{"g":100}}}`)
	cfg.HistoryWindows = new(3)
	req := request("canary", 10) // a 9-minute window
	points := map[string][]metrics.Point{}
	for _, pod := range []string{"baseline", "canary"} {
		for i := -40; i < 10; i++ {
			points[`lat{pod="`+pod+`"}`] = append(points[`lat{pod="`+pod+`"}`],
				metrics.Point{T: fixtureStart.Add(time.Duration(i) * time.Minute), V: float64(100 + i%7)})
		}
	}
	mem := &metrics.Memory{Points: points}
	out, err := memoryRunner(mem, "prometheus").Run(context.Background(), cfg, req, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var history *metrics.Query
	for i, q := range mem.Queries {
		if q.End.Before(fixtureStart) {
			history = &mem.Queries[i]
		}
	}
	if len(mem.Queries) != 3 || history == nil || history.Text != `lat{pod="baseline"}` ||
		!history.Start.Equal(fixtureStart.Add(-27*time.Minute)) || !history.End.Equal(fixtureStart.Add(-time.Minute)) {
		t.Fatalf("queries %+v: want the windows and the baseline's 27 minutes before its own", mem.Queries)
	}
	if h := out.Pairs[0].Values.ControlHistory; len(h) != 27 {
		t.Errorf("controlHistory has %d points, want 27", len(h))
	}

	failing := historySource{Memory: &metrics.Memory{Points: points}, fail: fixtureStart}
	empty, _ := NewSources(nil, nil)
	runner := &Runner{Sources: empty.WithSource(metrics.Account{Name: "mem", Type: "prometheus"}, failing)}
	out, err = runner.Run(context.Background(), cfg, req, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if m := out.Result.Metrics[0]; m.Classification == verdict.Error || out.Pairs[0].Error != "" || out.Unavailable || len(out.Pairs[0].Values.ControlHistory) != 0 {
		t.Errorf("failed history: %s (%s), pair error %q", m.Classification, m.Reason, out.Pairs[0].Error)
	}

	kmem := &metrics.Memory{Points: points}
	if _, err := memoryRunner(kmem, "prometheus").Run(context.Background(), cfg, req, Options{Judge: verdict.JudgeKayenta}); err != nil {
		t.Fatal(err)
	}
	if len(kmem.Queries) != 2 {
		t.Errorf("kayenta judge sent %d queries, want 2", len(kmem.Queries))
	}
}
