package verdict

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
)

func TestParseNativeConfigErrors(t *testing.T) {
	tests := map[string]struct{ in, want string }{
		"not a mapping":  {"- a\n- b\n", "mapping"},
		"bad YAML":       {"metrics: [\n", "invalid canary config"},
		"wrong type":     {"metrics: [{name: a, groups: g}]\n", `c.yaml:1:29: metrics[0].groups: the text "g" where a list is expected`},
		"unknown field":  {"metrics: [{name: a, groups: [g]}]\nthreshold: 3\n", "c.yaml:2:1: threshold: unknown field; did you mean thresholds?"},
		"no metrics":     {"name: x\n", "metrics: the config has no metrics"},
		"effect bounds":  {"metrics: [{name: a, groups: [g], effectSize: {allowedIncrease: 0.5}}]\n", "allowedIncrease"},
		"threshold agg":  {"metrics: [{name: a, groups: [g], tests: [threshold], threshold: {aggregate: p42, max: 1}}]\n", "aggregate"},
		"min above max":  {"metrics: [{name: a, groups: [g], threshold: {min: 5, max: 1}}]\n", "min 5 is above max 1"},
		"negative score": {"thresholds: {pass: -1, marginal: -2}\nmetrics: [{name: a, groups: [g]}]\n", "thresholds"},
		"history":        {"historyWindows: 11\nmetrics: [{name: a, groups: [g]}]\n", "historyWindows: 11 is not in 0–10"},
		"history sign":   {"historyWindows: -1\nmetrics: [{name: a, groups: [g]}]\n", "historyWindows: -1"},
		"shadow both":    {"shadow: [{judge: kayenta, config: x}]\nmetrics: [{name: a, groups: [g]}]\n", "shadow[0]: set one of judge"},
		"shadow judge":   {"shadow: [{judge: oracle}]\nmetrics: [{name: a, groups: [g]}]\n", "shadow[0].judge"},
		"shadow typo":    {"shadow: [{judg: kayenta}]\nmetrics: [{name: a, groups: [g]}]\n", "c.yaml:1:11: shadow[0].judg: unknown field"},
		"shadows":        {"shadow: [{judge: kayenta}, {judge: kayenta}, {judge: kayenta}, {judge: kayenta}, {judge: kayenta}]\nmetrics: [{name: a, groups: [g]}]\n", "5 shadows, more than 4"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := ParseConfig([]byte(tc.in), "c.yaml")
			if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "c.yaml") {
				t.Errorf("error = %v, want ErrInvalidConfig from c.yaml naming %q", err, tc.want)
			}
		})
	}
}

func TestParseMetricSetPairList(t *testing.T) {
	pairs, err := ParseMetricSetPairList([]byte(`[{"name":"a","tags":{"k":"v"},"values":{"control":[1,"NaN",null,2.5],"experiment":[]},
		"scopes":{"experiment":{"stepMillis":30000}}}]`), "d.json")
	if err != nil {
		t.Fatal(err)
	}
	c := pairs[0].Values.Control
	if len(c) != 4 || c[0] != 1 || !math.IsNaN(c[1]) || !math.IsNaN(c[2]) || c[3] != 2.5 || len(pairs[0].Values.Experiment) != 0 {
		t.Errorf("control %v experiment %v", c, pairs[0].Values.Experiment)
	}
	if pairs[0].Scopes["experiment"].StepMillis != 30000 || pairs[0].Tags["k"] != "v" {
		t.Errorf("pair %+v", pairs[0])
	}
	for in, want := range map[string]string{
		`{}`:                          "JSON array",
		`[{"values":{}}]`:             "[0].name: invalid metric data: missing",
		`[{"name":"a"},{"name":"a"}]`: "[1] (a).name",
		`[{"name":"a","values":{"experiment":[1,true]}}]`: "[0] (a).values.experiment[1]",
		`[{"name":"a","values":{"control":"1,2"}}]`:       "[0] (a).values.control: want an array",
	} {
		_, err := ParseMetricSetPairList([]byte(in), "d.json")
		if !errors.Is(err, ErrInvalidData) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want one naming %q", in, err, want)
		}
	}
}

func TestAutocorrelationInflatesVariance(t *testing.T) {
	// A slowly drifting series is strongly autocorrelated; an alternating one
	// negatively, which is reported but never narrows the test.
	drift := make([]float64, 60)
	alt := make([]float64, 60)
	for i := range drift {
		drift[i] = float64(i)
		alt[i] = float64(i % 2)
	}
	cfg := &Config{Metrics: []Metric{{Name: "m", Groups: []string{"g"}}}}
	if err := cfg.Validate("t"); err != nil {
		t.Fatal(err)
	}
	res, err := Analyze(cfg, []MetricSetPair{{Name: "m", Values: PairValues{Control: drift, Experiment: drift}}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if a := res.Metrics[0].Autocorr; a == nil || *a < 0.9 {
		t.Errorf("drift autocorrelation %v, want ≥ 0.9", a)
	}
	res, err = Analyze(cfg, []MetricSetPair{{Name: "m", Values: PairValues{Control: alt, Experiment: alt}}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if a := res.Metrics[0].Autocorr; a == nil || *a >= 0 {
		t.Errorf("alternating autocorrelation %v, want negative", a)
	}
	if r := res.Metrics[0].Reason; strings.Contains(r, "allowed for") {
		t.Errorf("negative autocorrelation allowed for: %s", r)
	}
}

// TestConfigProblemsAtOnce: one run reports every unknown field and value
// of the wrong kind with file, line and column, YAML or JSON, suggests the
// nearest known field, and still runs the checks after decoding on the
// rest (each located, none repeating a reported field). YAML 1.1 booleans
// and a number given for a name are read as YAML users mean them.
func TestConfigProblemsAtOnce(t *testing.T) {
	yamlDoc := `name: svc
thresholds: {pass: 95, marginal: 75}
groups:
  - {name: perf, weight: 60}
  - {name: unused, weight: 40}
metrics:
  - name: latency
    groups: [perf]
    critical: yes
    direction: upwards
    effectSize: {allowedIncrase: 1.1}
    query: {promtheus: "up"}
  - name: 500
    groups: [perf]
    minSamples: many
    mustHaveData: "maybe"
`
	_, err := ParseConfig([]byte(yamlDoc), "c.yaml")
	for _, want := range []string{
		"c.yaml:11:18: metrics[0].effectSize.allowedIncrase: unknown field; did you mean allowedIncrease?",
		"c.yaml:15:17: metrics[1].minSamples: the text \"many\" where an integer is expected",
		"c.yaml:16:19: metrics[1].mustHaveData: the text \"maybe\" where a boolean (true or false) is expected",
		"c.yaml:10:16: metrics[0] (latency).direction: \"upwards\" is not one of increase, decrease, either",
		"metrics[0] (latency).query.promtheus: not a metrics source (datadog, graphite, influxdb, newrelic, prometheus, kayenta); did you mean prometheus?",
		"groups[1] (unused): weight 40 but no metric is in the group",
	} {
		if !strings.Contains(fmt.Sprint(err), want) {
			t.Errorf("missing %q in:\n%v", want, err)
		}
	}
	if strings.Contains(fmt.Sprint(err), "critical") || strings.Contains(fmt.Sprint(err), "metrics[1].name") {
		t.Errorf("critical: yes and name: 500 are what YAML users mean:\n%v", err)
	}
	cfg, err := ParseConfig([]byte("metrics:\n  - {name: 500, groups: [g], critical: on}\n"), "ok.yaml")
	if err != nil || cfg.Metrics[0].Name != "500" || !cfg.Metrics[0].Critical {
		t.Errorf("YAML booleans and names: %+v %v", cfg, err)
	}
	jsonDoc := "{\n  \"metrics\": [\n    {\"name\": \"a\", \"groups\": [\"g\"], \"critcal\": true, \"minEffect\": \"big\"}\n  ]\n}\n"
	_, err = ParseConfig([]byte(jsonDoc), "c.json")
	for _, want := range []string{"c.json:3:36: metrics[0].critcal: unknown field; did you mean critical?", `c.json:3:66: metrics[0].minEffect: the text "big" where a number is expected`} {
		if !strings.Contains(fmt.Sprint(err), want) {
			t.Errorf("JSON: missing %q in:\n%v", want, err)
		}
	}
}
