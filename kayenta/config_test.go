package kayenta

import (
	"encoding/json"
	"errors"
	"reflect"
	"slices"
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

// TestToCanaryConfigRoundTrip writes configs as Kayenta CanaryConfigs and
// reads them back: the judge config is the same.
func TestToCanaryConfigRoundTrip(t *testing.T) {
	t.Parallel()
	for name, raw := range map[string]string{
		"kayenta": `{"name":"k","judge":{"name":"NetflixACAJudge-v1.0"},"metrics":[
			{"name":"5xx","query":{"type":"prometheus","metricName":"http_requests_total","customFilterTemplate":"t"},"groups":["errors"],"scopeName":"default",
			 "analysisConfigurations":{"canary":{"direction":"increase","nanStrategy":"replace","critical":true,"mustHaveData":true,
			   "effectSize":{"allowedIncrease":1.1,"criticalIncrease":2.0},"outliers":{"strategy":"remove","outlierFactor":2.5}}}},
			{"name":"cpu","query":{"type":"datadog","metricName":"avg:cpu"},"groups":["system"],"analysisConfigurations":{"canary":{"muted":true}}}],
			"templates":{"t":"pod=\"${scope}\""},"classifier":{"groupWeights":{"errors":60,"system":40},"scoreThresholds":{"pass":90,"marginal":50}}}`,
		"native": "name: n\njudge: kayenta\nthresholds: {pass: 80, marginal: 60}\ngroups: [{name: g, weight: 100}]\n" +
			"metrics:\n  - {name: lat, groups: [g], direction: decrease, minSamples: 5, query: {prometheus: 'avg(lat{pod=\"${scope}\"})'}}\n" +
			"  - {name: err, groups: [g], query: {newrelic: \"SELECT count(*) FROM T WHERE pod = '${scope}'\"}}\n",
	} {
		cfg, err := ParseConfig([]byte(raw), name)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		kc, err := ToCanaryConfig(cfg, []string{"app"})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		b, err := json.Marshal(kc)
		if err != nil {
			t.Fatal(err)
		}
		if !IsConfig(b) {
			t.Fatalf("%s: the written config is not recognised as Kayenta's: %s", name, b)
		}
		back, err := ParseConfig(b, name+" written")
		if err != nil {
			t.Fatalf("%s: reading the written config: %v\n%s", name, err, b)
		}
		// The native config's queries come back as Kayenta queries that
		// render the same text; everything else is equal.
		// An unnamed scope is Kayenta's "default", written out; the
		// applications written are the ones given.
		if !slices.Equal(back.Applications, []string{"app"}) {
			t.Errorf("%s: applications %v, want the ones written", name, back.Applications)
		}
		cfg.Applications = back.Applications
		for i := range cfg.Metrics {
			if _, native := cfg.Metrics[i].Query["kayenta"]; !native {
				cfg.Metrics[i].Query = back.Metrics[i].Query
			}
			if cfg.Metrics[i].Scope == "" {
				cfg.Metrics[i].Scope = "default"
			}
		}
		if !reflect.DeepEqual(cfg, back) {
			t.Errorf("%s: round trip changed the config:\n%+v\n%+v", name, cfg, back)
		}
	}
	withThreshold, _ := verdict.ParseConfig([]byte("metrics: [{name: a, groups: [g], threshold: {max: 1}}]"), "c")
	if _, err := ToCanaryConfig(withThreshold, nil); err == nil || !strings.Contains(err.Error(), "metrics[0] (a)") {
		t.Errorf("threshold test: %v", err)
	}
}
