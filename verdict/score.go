package verdict

import (
	"cmp"
	"fmt"
	"math"
	"slices"
)

// score computes group scores, the weighted final score and the result,
// after Kayenta's WeightedSumScorer and ThresholdScoreClassifier, with the
// changes that keep a failure from ever reading as PASS:
//
//   - muted metrics are reported but not scored;
//   - group score = 100 · #PASS / #(PASS, HIGH, LOW, NODATA_FAIL, ERROR):
//     ERROR counts as not passing (Kayenta aborts the run instead); NODATA
//     and INCONCLUSIVE (not judgeable) are not counted, and a group with
//     nothing counted counts as 100;
//   - final score = Σ group score · weight / 100, where groups without a
//     weight share what the weighted groups leave of 100, rounded to two
//     decimals;
//   - FAIL with score 0, whatever the thresholds, when a critical metric did
//     not pass, when NODATA and ERROR together make up at least
//     maxNodataFraction of the scored metrics (so an analysis where every
//     metric is NODATA or ERROR is never PASS), or when no metric is scored;
//   - otherwise PASS if score ≥ pass, MARGINAL if ≥ marginal, else FAIL;
//     and at most MARGINAL when a critical metric, or every metric
//     counted, is INCONCLUSIVE: what could not be judged never fails an
//     analysis on its own, and never lets it pass.
func score(res *Result, cfg *Config) {
	type counts struct{ pass, counted int }
	byGroup := map[string]*counts{}
	var order []string
	for _, g := range cfg.Groups {
		order = append(order, g.Name)
	}
	scored, nodata, judged := 0, 0, 0
	var critical, unjudged *MetricResult
	for i := range res.Metrics {
		r := &res.Metrics[i]
		if r.Muted {
			continue
		}
		scored++
		if r.Classification == Nodata || r.Classification == Error {
			nodata++
		}
		switch {
		case r.Classification == Inconclusive:
			if unjudged == nil || r.Critical && !unjudged.Critical {
				unjudged = r
			}
		case r.Critical && r.Classification != Pass && critical == nil:
			critical = r
		}
		if r.Classification != Inconclusive && r.Classification != Nodata {
			judged++
		}
		for _, g := range r.Groups {
			c, ok := byGroup[g]
			if !ok {
				c = &counts{}
				byGroup[g] = c
				if !slices.Contains(order, g) {
					order = append(order, g)
				}
			}
			switch r.Classification {
			case Pass:
				c.pass++
				c.counted++
			case High, Low, NodataFail, Error:
				c.counted++
			}
		}
	}

	weights := map[string]float64{}
	var weightSum float64
	for _, g := range cfg.Groups {
		if g.Weight != nil {
			weights[g.Name] = *g.Weight
			weightSum += *g.Weight
		}
	}
	var unweighted int
	for _, g := range order {
		if _, ok := weights[g]; !ok && byGroup[g] != nil {
			unweighted++
		}
	}
	share := 0.0
	if unweighted > 0 {
		share = (100 - weightSum) / float64(unweighted)
	}

	var total float64
	for _, g := range order {
		c := byGroup[g]
		if c == nil {
			continue // a configured group without scored metrics
		}
		w, ok := weights[g]
		if !ok {
			w = share
		}
		gs := GroupScore{Name: g, Weight: w, Score: 100}
		if c.counted == 0 {
			gs.NoData = true
		} else {
			gs.Score = 100 * float64(c.pass) / float64(c.counted)
		}
		total += gs.Score * w / 100
		res.Groups = append(res.Groups, gs)
	}
	res.Score = math.Round(total*100) / 100

	forced := true
	switch {
	case critical != nil:
		res.Reason = fmt.Sprintf("critical metric %s is %s: %s", critical.Name, critical.Classification, critical.Reason)
	case scored == 0:
		res.Reason = "no metric is scored (every metric is muted or the config has none)"
	case float64(nodata)/float64(scored) >= *cfg.MaxNodataFraction:
		res.Reason = fmt.Sprintf("%d of %d scored metrics have no data or failed (at least %.0f%%)", nodata, scored, 100**cfg.MaxNodataFraction)
	default:
		forced = false
	}
	switch {
	case forced:
		res.Score = 0
		res.Result = ResultFail
	case res.Score >= res.Thresholds.Pass:
		res.Result = ResultPass
	case res.Score >= res.Thresholds.Marginal:
		res.Result = ResultMarginal
	default:
		res.Result = ResultFail
	}
	if res.Result == ResultPass && unjudged != nil && (unjudged.Critical || judged == 0) {
		res.Result = ResultMarginal
		which := "critical metric"
		if !unjudged.Critical {
			which = "no metric could be judged; metric"
		}
		res.Reason = fmt.Sprintf("MARGINAL, not PASS: %s %s is INCONCLUSIVE: %s", which, unjudged.Name, unjudged.Reason)
	}
	if res.Reason == "" {
		res.Reason = fmt.Sprintf("score %.2f against thresholds pass %g, marginal %g", res.Score, res.Thresholds.Pass, res.Thresholds.Marginal)
		if worst := worstMetric(res); worst != nil {
			res.Reason += fmt.Sprintf("; worst metric %s is %s", worst.Name, worst.Classification)
		}
	}
}

// severity orders classifications from worst to best for reports.
func severity(r *MetricResult) int {
	s := map[Classification]int{High: 1, Low: 1, Inconclusive: 1, NodataFail: 2, Error: 3, Nodata: 4, Pass: 5}[r.Classification]
	if r.Critical && r.Classification != Pass {
		s = 0
	}
	if r.Muted {
		s += 10
	}
	return s
}

func worstMetric(res *Result) *MetricResult {
	var worst *MetricResult
	for i := range res.Metrics {
		r := &res.Metrics[i]
		if r.Classification != Pass && (worst == nil || severity(r) < severity(worst)) {
			worst = r
		}
	}
	return worst
}

// WorstFirst returns the metric results ordered from worst to best, stable
// in config order.
func (res *Result) WorstFirst() []MetricResult {
	out := slices.Clone(res.Metrics)
	slices.SortStableFunc(out, func(a, b MetricResult) int {
		if c := severity(&a) - severity(&b); c != 0 {
			return c
		}
		return cmp.Compare(pOrOne(a.AdjustedPValue), pOrOne(b.AdjustedPValue))
	})
	return out
}

// pOrOne is a p-value, 1 when there is none.
func pOrOne(p *float64) float64 {
	if p == nil {
		return 1
	}
	return *p
}
