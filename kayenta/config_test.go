package kayenta

import (
	"errors"
	"strings"
	"testing"

	"github.com/canaryjudge/judge/verdict"
)

func TestParseKayentaConfig(t *testing.T) {
	raw := `{"name":"k","judge":{"name":"NetflixACAJudge-v1.0","judgeConfigurations":{}},
	 "metrics":[
	  {"name":"5xx","query":{"type":"prometheus","metricName":"http_requests_total"},"groups":["errors"],
	   "analysisConfigurations":{"canary":{"direction":"increase","nanStrategy":"replace","critical":true,
	     "effectSize":{"allowedIncrease":1.1,"criticalIncrease":2.0},"outliers":{"strategy":"remove","outlierFactor":2.5}}}},
	  {"name":"cpu","query":{"type":"prometheus","metricName":"cpu"},"groups":["system"],
	   "analysisConfigurations":{"canary":{"direction":"sideways","effectSize":{"measure":"cles"}}}},
	  {"name":"mem","query":{},"groups":["system"]}],
	 "classifier":{"groupWeights":{"errors":60},"scoreThresholds":{"pass":90,"marginal":50}}}`
	cfg, err := ParseConfig([]byte(raw), "k.json")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Judge != verdict.JudgeDefault || cfg.Thresholds != (verdict.Thresholds{Pass: 90, Marginal: 50}) {
		t.Errorf("judge %q thresholds %+v", cfg.Judge, cfg.Thresholds)
	}
	m := cfg.Metrics[0]
	if m.Direction != verdict.DirectionIncrease || m.NaNStrategy != verdict.NaNReplace || !m.Critical || m.Outliers == nil || m.Outliers.Factor != 2.5 ||
		*m.EffectSize.AllowedIncrease != 1.1 || *m.EffectSize.CriticalIncrease != 2.0 || *m.EffectSize.AllowedDecrease != 1 {
		t.Errorf("metric 5xx converted to %+v", m)
	}
	if !strings.Contains(m.Query["kayenta"], "http_requests_total") {
		t.Errorf("query not kept: %v", m.Query)
	}
	cpu := cfg.Metrics[1]
	if cpu.Direction != verdict.DirectionEither || *cpu.EffectSize.AllowedIncrease != 0.5 || cpu.NaNStrategy != verdict.NaNRemove {
		t.Errorf("metric cpu converted to %+v (unknown direction reads as either, cles bounds default to 0.5)", cpu)
	}
	weights := map[string]*float64{}
	for _, g := range cfg.Groups {
		weights[g.Name] = g.Weight
	}
	if w := weights["errors"]; w == nil || *w != 60 {
		t.Errorf("errors weight %v, want 60", w)
	}
	if weights["system"] != nil {
		t.Errorf("system has a weight %v, want none (it shares the remaining 40)", *weights["system"])
	}

	if k, err := ParseConfig([]byte(strings.Replace(raw, "NetflixACAJudge-v1.0", "kayenta", 1)), "k.json"); err != nil || k.Judge != verdict.JudgeKayenta {
		t.Errorf("judge.name kayenta selects %q, %v", k.Judge, err)
	}
	_, err = ParseConfig([]byte(`{"judge":{"name":"MyJudge"},"metrics":[]}`), "bad.json")
	if !errors.Is(err, verdict.ErrInvalidConfig) || !strings.Contains(err.Error(), "judge.name") {
		t.Errorf("unknown judge error = %v", err)
	}
}

// TestKayentaWeights checks that Kayenta group weights that do not sum to
// 100 are refused (Kayenta: "Weights must total 100").
func TestKayentaWeights(t *testing.T) {
	t.Parallel()
	_, err := ParseConfig([]byte(`{"name":"k","metrics":[{"name":"x","groups":["a"],"analysisConfigurations":{"canary":{}}},{"name":"y","groups":["b"]}],
		"classifier":{"groupWeights":{"a":30,"b":30}}}`), "c")
	if err == nil || !strings.Contains(err.Error(), "sum to 60, not 100") {
		t.Errorf("error %v, want one naming the sum", err)
	}
}

// TestKayentaConfigIsNotNative checks that the native parser refuses a
// Kayenta config rather than misreading it, naming a field it does not know.
func TestKayentaConfigIsNotNative(t *testing.T) {
	t.Parallel()
	_, err := verdict.ParseConfig([]byte(`{"name":"k","metrics":[{"name":"x","groups":["a"],"analysisConfigurations":{"canary":{}}}],"classifier":{}}`), "c")
	if !errors.Is(err, verdict.ErrInvalidConfig) || !strings.Contains(err.Error(), "unknown field") {
		t.Errorf("error %v", err)
	}
}
