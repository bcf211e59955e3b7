package verdict

import "slices"

// judgeMetric prepares one metric's series and runs each of its tests,
// appending their cases to cases for the decision across metrics.
func judgeMetric(cases []*metricCase, work *scratch, cfg *Config, m *Metric, pair *MetricSetPair, judgeImpl Judge, opts Options) []*metricCase {
	var canaryRaw, controlRaw []float64
	step := 60.0
	if pair != nil {
		canaryRaw, controlRaw = pair.Values.Experiment, pair.Values.Control
		if s, ok := pair.Scopes["experiment"]; ok && s.StepMillis > 0 {
			step = float64(s.StepMillis) / 1000
		}
	}
	cs, bs := prepare(canaryRaw, m), prepare(controlRaw, m)
	canary, control := cs.values, bs.values
	var history []float64
	aligned := false
	if pair != nil {
		history = prepare(pair.Values.ControlHistory, m).values
		aligned = pair.TimeAligned()
	}
	canarySorted, controlSorted := work.sortedClone(canary), work.sortedClone(control)
	var sparse *thinned
	window := 0
	if pair != nil && judgeImpl.Thins() {
		if sparse = thinPair(pair, m); sparse == nil {
			window = pair.overlap()
		}
	}
	for _, test := range m.Tests {
		r := work.newCase()
		*r = metricCase{
			MetricResult: MetricResult{
				Name: m.Name, Test: test, Groups: slices.Clone(m.Groups), Muted: m.Muted, ConfiguredCritical: m.Critical,
				Baseline: describe(controlSorted), Canary: describe(canarySorted), Bounds: boundsOf(m, test),
			},
			metric: m, canary: canary, control: control, canarySorted: canarySorted, controlSorted: controlSorted,
			canarySeries: &cs, controlSeries: &bs, canaryMeasured: cs.measured, controlMeasured: bs.measured,
			history: history, aligned: aligned, metrics: len(cfg.Metrics), window: window,
		}
		if sparse != nil && test != TestThreshold {
			sparse.apply(r)
		}
		if pair != nil {
			r.ID, r.Tags, r.hint = pair.ID, pair.Tags, pair.Hint
		}
		switch {
		case pair != nil && pair.Error != "":
			fail(r, "the series could not be fetched: "+pair.Error)
		case infiniteCanary(r):
		case test == TestThreshold:
			thresholdTest(r, step)
		default:
			judgeImpl.Test(r, cfg.FamilyWiseError, opts)
		}
		cases = append(cases, r)
	}
	return cases
}
