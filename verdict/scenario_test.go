package verdict_test

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/canaryjudge/judge/kayenta"
	"github.com/canaryjudge/judge/verdict"
)

// scenarioExpectation is testdata/scenarios/*/expected.json: per judge, the
// result, the score and the class of every metric (keyed "name", or
// "name/test" when a metric carries several tests). A "note" key, when
// present, says that the expectation rests on one random draw.
type scenarioExpectation map[verdict.JudgeName]json.RawMessage

type judgeExpectation struct {
	Result  verdict.Outcome                   `json:"result"`
	Score   *float64                          `json:"score"`
	Metrics map[string]verdict.Classification `json:"metrics"`
}

func TestScenarios(t *testing.T) {
	dirs, err := filepath.Glob("testdata/scenarios/*")
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no scenarios: %v", err)
	}
	for _, dir := range dirs {
		cfgFiles, _ := filepath.Glob(filepath.Join(dir, "config.*"))
		if len(cfgFiles) != 1 {
			t.Fatalf("%s: want one config file, got %v", dir, cfgFiles)
		}
		var want scenarioExpectation
		verdict.ReadJSON(t, filepath.Join(dir, "expected.json"), &want)
		raw, err := os.ReadFile(filepath.Join(dir, "data.json"))
		if err != nil {
			t.Fatal(err)
		}
		delete(want, "note")
		for _, judge := range []verdict.JudgeName{verdict.JudgeDefault, verdict.JudgeKayenta} {
			if _, ok := want[judge]; !ok {
				t.Errorf("%s: no expectation for the %s judge", dir, judge)
			}
		}
		for judge, rawExp := range want {
			var exp judgeExpectation
			if err := json.Unmarshal(rawExp, &exp); err != nil {
				t.Fatalf("%s: %s: %v", dir, judge, err)
			}
			if exp.Score == nil {
				t.Errorf("%s: %s: no score", dir, judge)
				continue
			}
			t.Run(filepath.Base(dir)+"/"+string(judge), func(t *testing.T) {
				cfgRaw, err := os.ReadFile(cfgFiles[0])
				if err != nil {
					t.Fatal(err)
				}
				cfg, err := kayenta.ParseConfig(cfgRaw, cfgFiles[0])
				if err != nil {
					t.Fatal(err)
				}
				pairs, err := verdict.ParseMetricSetPairList(raw, "data.json")
				if err != nil {
					t.Fatal(err)
				}
				res, err := verdict.Analyze(cfg, pairs, verdict.Options{Judge: judge})
				if err != nil {
					t.Fatal(err)
				}
				got := verdict.Classes(res)
				for name, class := range exp.Metrics {
					if got[name] != class {
						t.Errorf("metric %s: %s, want %s", name, got[name], class)
					}
				}
				if len(got) != len(exp.Metrics) {
					t.Errorf("got %d metric results %v, want %d", len(got), got, len(exp.Metrics))
				}
				if math.Abs(res.Score-*exp.Score) > 0.005 {
					t.Errorf("score %.2f, want %.2f", res.Score, *exp.Score)
				}
				if res.Result != exp.Result {
					t.Errorf("result %s (score %.2f: %s), want %s", res.Result, res.Score, res.Reason, exp.Result)
				}
				if t.Failed() {
					for _, m := range res.Metrics {
						t.Logf("%s/%s %s: %s", m.Name, m.Test, m.Classification, m.Reason)
					}
				}
			})
		}
	}
}
