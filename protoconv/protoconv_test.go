package protoconv

import (
	"math"
	"reflect"
	"testing"

	"github.com/canaryjudge/judge/stats"
	"github.com/canaryjudge/judge/verdict"
)

// TestVerdictRoundTrip: an engine verdict survives the API's form and back
// with every field the API carries.
func TestVerdictRoundTrip(t *testing.T) {
	p := func(v float64) *float64 { return &v }
	in := &verdict.Result{Judge: "default", Result: "FAIL", Score: 50, Reason: "why", Thresholds: verdict.Thresholds{Pass: 95, Marginal: 75},
		Groups: []verdict.GroupScore{{Name: "g", Score: 50, Weight: 100}}, Warnings: []string{"w"},
		Metrics: []verdict.MetricResult{{
			Name: "latency", Test: "mann_whitney", Groups: []string{"g"}, Classification: "HIGH", Critical: false, ConfiguredCritical: true,
			Reason: "r", Baseline: stats.Summary{Count: 3, Mean: 1, Std: 0.5, Min: 0.5, Max: 1.5, Median: 1, Q1: 0.75, Q3: 1.25},
			Canary: stats.Summary{Count: 3, Mean: 2}, PValue: p(0.01), AdjustedPValue: p(0.02), Estimate: p(1), CILow: p(0.5), CIHigh: nil,
			EffectSize: p(2), Comparison: "paired", TailPValue: p(0.3), Bounds: &verdict.Bounds{AllowedIncrease: p(1.1)},
			Warnings: []string{"few"}, MeanRatio: p(2), Autocorr: p(0.2), Aggregate: p(7), ID: "id", Tags: map[string]string{"k": "v"},
		}},
	}
	out := VerdictFromProto(VerdictToProto(in))
	if !reflect.DeepEqual(in, out) {
		t.Errorf("round trip changed the verdict:\n in %+v\nout %+v", in.Metrics[0], out.Metrics[0])
	}
}

// TestPairsRoundTrip: metric pairs survive the API's form and back, their
// time grid included; a scope given by its ISO start keeps its alignment.
func TestPairsRoundTrip(t *testing.T) {
	in := []verdict.MetricSetPair{{
		Name: "latency", ID: "1", Tags: map[string]string{"pod": "a"}, Error: "", Hint: "set kayenta_raw_scopes",
		Values: verdict.PairValues{Control: []float64{1, 2}, Experiment: []float64{3, math.NaN()}, ControlHistory: []float64{0.5}},
		Scopes: map[string]verdict.PairScope{
			"control":    {StartTimeMillis: 1_700_000_000_000, StepMillis: 60_000, WindowMillis: 300_000},
			"experiment": {StartTimeMillis: 1_700_000_000_000, StepMillis: 60_000, WindowMillis: 300_000},
		},
		Attributes: map[string]map[string]string{"control": {"query": "q1"}, "experiment": {"query": "q2"}},
	}}
	out := PairsFromProto(PairsToProto(in))
	if len(out) != 1 || out[0].Name != "latency" || !reflect.DeepEqual(out[0].Scopes, in[0].Scopes) || !reflect.DeepEqual(out[0].Attributes, in[0].Attributes) ||
		out[0].Values.Control[1] != 2 || !math.IsNaN(out[0].Values.Experiment[1]) || out[0].Values.ControlHistory[0] != 0.5 || out[0].Tags["pod"] != "a" || out[0].Hint != in[0].Hint {
		t.Errorf("round trip changed the pairs: %+v", out)
	}
	iso := []verdict.MetricSetPair{{Name: "x", Values: verdict.PairValues{Control: []float64{1}, Experiment: []float64{1}},
		Scopes: map[string]verdict.PairScope{
			"control":    {StartTimeIso: "2023-11-14T22:13:20Z", StepMillis: 60_000},
			"experiment": {StartTimeIso: "2023-11-14T22:13:20Z", StepMillis: 60_000},
		}}}
	mp := PairsToProto(iso)[0]
	if mp.GetControlStartMillis() != 1_700_000_000_000 || mp.GetExperimentStartMillis() != 1_700_000_000_000 {
		t.Errorf("ISO starts lost: %d %d", mp.GetControlStartMillis(), mp.GetExperimentStartMillis())
	}
}
