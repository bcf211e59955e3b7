package verdict_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/canaryjudge/judge/kayenta"
	"github.com/canaryjudge/judge/verdict"
)

// FuzzParseAndAnalyze feeds arbitrary configs (native or Kayenta) and data
// through parsing and both judges: no panic, every parse error wraps
// ErrInvalidConfig or ErrInvalidData, every analysis of parsed input yields
// a result, and its Kayenta form encodes.
func FuzzParseAndAnalyze(f *testing.F) {
	dirs, _ := filepath.Glob("testdata/scenarios/*")
	for _, dir := range dirs {
		cfgs, _ := filepath.Glob(filepath.Join(dir, "config.*"))
		cfg, _ := os.ReadFile(cfgs[0])
		data, _ := os.ReadFile(filepath.Join(dir, "data.json"))
		if len(data) > 4096 {
			data = data[:4096]
		}
		f.Add(cfg, data)
	}
	f.Add([]byte(`metrics: [{name: a, groups: [g], tests: [threshold], threshold: {aggregate: rate, max: 1}}]`),
		[]byte(`[{"name":"a","values":{"control":[1e308,-1e308],"experiment":[1,"NaN",null]}}]`))
	f.Fuzz(func(t *testing.T, cfgRaw, dataRaw []byte) {
		cfg, err := kayenta.ParseConfig(cfgRaw, "config")
		if err != nil {
			if !errors.Is(err, verdict.ErrInvalidConfig) {
				t.Fatalf("config error %v does not wrap ErrInvalidConfig", err)
			}
			return
		}
		pairs, err := verdict.ParseMetricSetPairList(dataRaw, "data")
		if err != nil {
			if !errors.Is(err, verdict.ErrInvalidData) {
				t.Fatalf("data error %v does not wrap ErrInvalidData", err)
			}
			return
		}
		for _, judge := range []verdict.JudgeName{verdict.JudgeDefault, verdict.JudgeKayenta} {
			res, err := verdict.Analyze(cfg, pairs, verdict.Options{Judge: judge})
			if err != nil {
				continue // e.g. a pair whose metric is not in the config
			}
			if res.Result != verdict.ResultPass && res.Result != verdict.ResultMarginal && res.Result != verdict.ResultFail {
				t.Fatalf("result %q", res.Result)
			}
			if res.Score < 0 || res.Score > 100 {
				t.Fatalf("score %v", res.Score)
			}
			if _, err := json.Marshal(kayenta.FromResult(res)); err != nil {
				t.Fatalf("Kayenta result: %v", err)
			}
		}
	})
}
