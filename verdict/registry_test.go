package verdict

import (
	"strings"
	"testing"
)

// highJudge classifies every rank-tested metric HIGH: a judge added by
// registration alone, for the registry test.
type highJudge struct{}

func (highJudge) Thins() bool { return false }

func (highJudge) Test(r *metricCase, _ float64, _ Options) {
	r.Classification, r.Reason = High, "the test judge flags every metric"
}

func (highJudge) Decide([]*metricCase, *Config) {}

// TestJudgeRegistry: a judge registered under a name is selected by a
// config's judge and by Options.Judge, with no other change; an unknown
// name is refused everywhere naming the registered ones; a name cannot be
// registered twice.
func TestJudgeRegistry(t *testing.T) {
	Register("test-high", highJudge{})
	cfg, err := ParseConfig([]byte("judge: test-high\nmetrics: [{name: a, groups: [g]}]\n"), "c.yaml")
	if err != nil {
		t.Fatal(err)
	}
	pairs := []MetricSetPair{pair("a", seq(30, func(i int) float64 { return float64(i) }), seq(30, func(i int) float64 { return float64(i) }))}
	res, err := Analyze(cfg, pairs, Options{})
	if err != nil || res.Result != ResultFail || res.Metrics[0].Classification != High || res.Judge != "test-high" {
		t.Errorf("config judge test-high: %+v %v", res, err)
	}
	res, _ = Analyze(cfg, pairs, Options{Judge: JudgeKayenta})
	if res.Result != ResultPass {
		t.Errorf("Options.Judge kayenta on identical data: %s", res.Result)
	}
	_, err = ParseConfig([]byte("judge: nope\nmetrics: [{name: a, groups: [g]}]\n"), "c.yaml")
	if err == nil || !strings.Contains(err.Error(), `"nope" is not one of default, kayenta, test-high`) {
		t.Errorf("unknown judge: %v", err)
	}
	if _, err := Analyze(cfg, pairs, Options{Judge: "nope"}); err == nil || !strings.Contains(err.Error(), "default, kayenta, test-high") {
		t.Errorf("Options.Judge nope: %v", err)
	}
	defer func() {
		if recover() == nil {
			t.Error("a second registration of a name did not panic")
		}
	}()
	Register(JudgeDefault, highJudge{})
}

// TestResultsDoNotAliasTheConfig: a result's bounds are copies: changing
// them leaves the (cached, shared) config as it was.
func TestResultsDoNotAliasTheConfig(t *testing.T) {
	cfg, err := ParseConfig([]byte("metrics: [{name: a, groups: [g], effectSize: {allowedIncrease: 1.2}, tests: [mann_whitney, threshold], threshold: {aggregate: max, max: 100}}]\n"), "c.yaml")
	if err != nil {
		t.Fatal(err)
	}
	res, err := Analyze(cfg, []MetricSetPair{pair("a", seq(30, func(i int) float64 { return float64(i) }), seq(30, func(i int) float64 { return float64(i) }))}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range res.Metrics {
		for _, p := range []*float64{m.Bounds.AllowedIncrease, m.Bounds.Max} {
			if p != nil {
				*p = -1
			}
		}
	}
	if *cfg.Metrics[0].EffectSize.AllowedIncrease != 1.2 || *cfg.Metrics[0].Threshold.Max != 100 {
		t.Errorf("changing a result changed the config: %v %v", *cfg.Metrics[0].EffectSize.AllowedIncrease, *cfg.Metrics[0].Threshold.Max)
	}
}

// TestRequestThresholds: an absent or empty override means the config's
// thresholds; a bad one is refused naming its field; a good one stands.
func TestRequestThresholds(t *testing.T) {
	if got, err := RequestThresholds(nil); got != nil || err != nil {
		t.Errorf("nil: %v %v", got, err)
	}
	if got, err := RequestThresholds(&Thresholds{}); got != nil || err != nil {
		t.Errorf("empty: %v %v", got, err)
	}
	if _, err := RequestThresholds(&Thresholds{Pass: 70, Marginal: 90}); err == nil || !strings.Contains(err.Error(), "marginal") {
		t.Errorf("marginal above pass: %v", err)
	}
	if got, err := RequestThresholds(&Thresholds{Pass: 90, Marginal: 50}); err != nil || got.Pass != 90 {
		t.Errorf("good: %v %v", got, err)
	}
}
