// Package backtest replays labelled cases through a canary config and the
// judges: would this config, with these thresholds, have caught past
// incidents, and how often would it have failed a good release? Cases come
// from NAB-format series with incident labels (LoadNAB) or from a seeded
// synthetic generator (Synthetic).
package backtest

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync"

	"gonum.org/v1/gonum/stat/distuv"

	"github.com/canaryjudge/judge/sequence"
	"github.com/canaryjudge/judge/verdict"
)

// ErrInput is returned for input files that cannot be used.
var ErrInput = errors.New("invalid backtest input")

// Case is one analysis with a known expected outcome.
type Case struct {
	ID string `json:"id"`
	// Source says where the case came from ("nab:<file>", "synthetic").
	Source string `json:"source"`
	// Expected is FAIL for an incident or regression, PASS for a control.
	Expected verdict.Outcome `json:"expected"`
	// Kind and Size describe a synthetic case ("aa", "level-shift", …; the
	// regression's size, 0 for A/A).
	Kind string  `json:"kind,omitempty"`
	Size float64 `json:"size,omitempty"`
	// Noise and Rho describe a synthetic case's noise model and AR(1)
	// coefficient.
	Noise string  `json:"noise,omitempty"`
	Rho   float64 `json:"rho,omitempty"`
	// Points and CV are a synthetic case's points per side and the
	// coefficient of variation of its independent noise.
	Points int     `json:"points,omitempty"`
	CV     float64 `json:"cv,omitempty"`
	// Looks, when more than 1, judges the case as a deployer that looks
	// again and again does: a sequence of analyses of growing windows
	// (judgeSequence). Spending, with looks, tests each look at its share
	// of the family-wise level (stats.SpentLevel) instead of all of it.
	// OpenEnded spends the level as a sequence whose number of looks is
	// not known (sequence.Plan with no looks), PassEarly lets a look
	// before the last pass on equivalence; both imply Spending.
	Looks     int  `json:"looks,omitempty"`
	Spending  bool `json:"spending,omitempty"`
	OpenEnded bool `json:"open_ended,omitempty"`
	PassEarly bool `json:"pass_early,omitempty"`
	// Config judges the case; nil uses the run's config.
	Config *verdict.Config         `json:"-"`
	Pairs  []verdict.MetricSetPair `json:"-"`
	// Error, when set, says why the case cannot be judged (its series
	// could not be fetched, its label is unknown): every judge reports it
	// as ERROR, counted apart from detections and false fails.
	Error string `json:"error,omitempty"`
	// PerMetric records each metric's classification in the outcomes,
	// for recall and false fails per metric (MetricSummaries).
	PerMetric bool `json:"-"`
}

// Outcome is one judge's result on one case.
type Outcome struct {
	ID       string          `json:"id"`
	Source   string          `json:"source"`
	Kind     string          `json:"kind,omitempty"`
	Size     float64         `json:"size,omitempty"`
	Noise    string          `json:"noise,omitempty"`
	Rho      float64         `json:"rho,omitempty"`
	Points   int             `json:"points,omitempty"`
	CV       float64         `json:"cv,omitempty"`
	Expected verdict.Outcome `json:"expected"`
	Result   verdict.Outcome `json:"result"`
	Score    float64         `json:"score"`
	Error    string          `json:"error,omitempty"`
	// Look is the look a sequence ended at (1-based; 0 for one analysis).
	Look int `json:"look,omitempty"`
	// Metrics are the classifications of the case's metrics (cases
	// with PerMetric), in the config's order.
	Metrics []MetricOutcome `json:"metrics,omitempty"`
	// Recorded, for a stored analysis replayed, is the verdict the server
	// recorded when it ran; Result is then the candidate's.
	Recorded *Recorded `json:"recorded,omitempty"`
}

// Recorded is the verdict a server stored for an analysis.
type Recorded struct {
	Judge  verdict.JudgeName `json:"judge"`
	Result verdict.Outcome   `json:"result"`
	Score  float64           `json:"score"`
}

// MetricOutcome is one metric's classification in one case.
type MetricOutcome struct {
	Name           string                 `json:"name"`
	Classification verdict.Classification `json:"classification"`
}

// Summary counts one judge's outcomes: incidents (expected FAIL) and how
// many it failed (detected), controls (expected PASS) and how many it
// failed (false fails), and MARGINAL verdicts of either.
type Summary struct {
	Incidents     int     `json:"incidents"`
	Detected      int     `json:"detected"`
	Recall        float64 `json:"recall"`
	Controls      int     `json:"controls"`
	FalseFails    int     `json:"false_fails"`
	FalseFailRate float64 `json:"false_fail_rate"`
	Marginal      int     `json:"marginal"`
	Errors        int     `json:"errors"`
	// IncidentsPassed counts incidents that ended PASS (waved through,
	// where MARGINAL at least holds them back); ControlsPassed controls
	// that ended PASS (certified, where MARGINAL says the data could not
	// have shown the allowed effect).
	IncidentsPassed int `json:"incidents_passed"`
	ControlsPassed  int `json:"controls_passed"`
	// Unlabelled counts cases with no expected verdict (stored analyses
	// nobody labelled): in neither recall nor false fails. Changed counts
	// replayed analyses whose candidate verdict differs from the recorded
	// one.
	Unlabelled int `json:"unlabelled,omitempty"`
	Changed    int `json:"changed,omitempty"`
	// RecallInterval and FalseFailInterval are the rates' exact 95%
	// confidence intervals (Clopper–Pearson): what a few dozen cases can
	// tell.
	RecallInterval    Interval `json:"recall_interval"`
	FalseFailInterval Interval `json:"false_fail_interval"`
	// Metrics are recall and false flags per metric (cases with
	// PerMetric: an incidents file's).
	Metrics []MetricSummary `json:"metrics,omitempty"`
	// ByKind is detection per regression kind, size and noise model
	// (synthetic cases).
	ByKind []KindSummary `json:"by_kind,omitempty"`
	// ByNoise is the false-fail rate of A/A cases per noise model and ρ
	// (synthetic cases): the per-analysis false-fail rate to hold against
	// the configured family-wise level.
	ByNoise []NoiseSummary `json:"by_noise,omitempty"`
	// PowerCurve is the detection of level shifts in independent noise per
	// size and ρ, beside the parametric limit (synthetic cases).
	PowerCurve []PowerPoint `json:"power_curve,omitempty"`
}

// KindSummary is the detection of one regression kind and size in one
// noise model.
type KindSummary struct {
	Kind     string  `json:"kind"`
	Size     float64 `json:"size"`
	Noise    string  `json:"noise,omitempty"`
	Cases    int     `json:"cases"`
	Detected int     `json:"detected"`
	Rate     float64 `json:"rate"`
}

// NoiseSummary is the false-fail rate of the A/A cases of one noise model
// and AR(1) coefficient.
type NoiseSummary struct {
	Noise         string  `json:"noise"`
	Rho           float64 `json:"rho"`
	Controls      int     `json:"controls"`
	FalseFails    int     `json:"false_fails"`
	FalseFailRate float64 `json:"false_fail_rate"`
}

// PowerPoint is one point of the power curve: level shifts of one size at
// one ρ in independent noise, and the power a test that knew the noise
// model would reach (ParametricPower).
type PowerPoint struct {
	Size       float64 `json:"size"`
	Rho        float64 `json:"rho"`
	Cases      int     `json:"cases"`
	Detected   int     `json:"detected"`
	Rate       float64 `json:"rate"`
	Parametric float64 `json:"parametric_limit"`
}

// JudgeReport is one judge's outcomes and summary.
type JudgeReport struct {
	Judge   verdict.JudgeName `json:"judge"`
	Cases   []Outcome         `json:"cases"`
	Summary Summary           `json:"summary"`
}

// Report is a backtest's result, one report per judge, and the threshold
// advice when asked for.
type Report struct {
	Judges []JudgeReport `json:"judges"`
	Advice *Advice       `json:"advice,omitempty"`
}

// Run judges every case with each judge, in parallel across the cores,
// calling progress (when not nil) after each case. cfg judges cases that
// carry no config of their own.
func Run(cases []Case, cfg *verdict.Config, judges []verdict.JudgeName, thresholds *verdict.Thresholds, progress func()) Report {
	var report Report
	for _, judge := range judges {
		outcomes := make([]Outcome, len(cases))
		var wg sync.WaitGroup
		next := make(chan int)
		for range runtime.GOMAXPROCS(0) {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range next {
					outcomes[i] = judgeCase(cases[i], cfg, judge, thresholds)
					if progress != nil {
						progress()
					}
				}
			}()
		}
		for i := range cases {
			next <- i
		}
		close(next)
		wg.Wait()
		report.Judges = append(report.Judges, JudgeReport{Judge: judge, Cases: outcomes, Summary: Summarize(outcomes)})
	}
	return report
}

func judgeCase(c Case, cfg *verdict.Config, judge verdict.JudgeName, thresholds *verdict.Thresholds) Outcome {
	o := Outcome{ID: c.ID, Source: c.Source, Kind: c.Kind, Size: c.Size, Noise: c.Noise, Rho: c.Rho, Points: c.Points, CV: c.CV, Expected: c.Expected}
	if c.Config != nil {
		cfg = c.Config
	}
	if c.Error != "" {
		o.Result, o.Error = "ERROR", c.Error
		return o
	}
	if judge == JudgeReference {
		o.Result = referenceCase(c, cfg)
		return o
	}
	if c.Looks > 1 {
		return judgeSequence(o, c, cfg, judge, thresholds)
	}
	res, err := verdict.Analyze(cfg, c.Pairs, verdict.Options{Judge: judge, Thresholds: thresholds})
	if err != nil {
		o.Result, o.Error = "ERROR", err.Error()
		return o
	}
	o.Result, o.Score = res.Result, res.Score
	if c.PerMetric {
		for _, m := range res.Metrics {
			o.Metrics = append(o.Metrics, MetricOutcome{Name: m.Name, Classification: m.Classification})
		}
	}
	return o
}

// judgeSequence judges a case as a deployer looks at a canary: c.Looks
// analyses of windows growing from the start (the first k/c.Looks of each
// series at look k, the baseline's history unchanged). Without spending
// each look is a test at the configured level, and a FAIL at any look ends
// the sequence FAIL at once; otherwise the last look's verdict is the
// sequence's (only a PASS passes). This measures how the chance of failing
// an unchanged canary grows with the looks. With spending each look is
// tested at its share of the level (sequence.Plan, planned or open-ended)
// and decided as the server decides it: the sequence ends FAIL at any look
// whose verdict is FAIL (a deployer's failed measurement, whether or not a
// regression is established), PASS at an early equivalence (PassEarly) or
// at the last look's PASS.
func judgeSequence(o Outcome, c Case, cfg *verdict.Config, judge verdict.JudgeName, thresholds *verdict.Thresholds) Outcome {
	spending := c.Spending || c.OpenEnded || c.PassEarly
	plan := sequence.Plan{Alpha: cmp.Or(cfg.FamilyWiseError, 0.05), Looks: c.Looks, PassEarly: c.PassEarly}
	if c.OpenEnded {
		plan.Looks = 0
	}
	for k := 1; k <= c.Looks; k++ {
		pairs := make([]verdict.MetricSetPair, len(c.Pairs))
		for i, p := range c.Pairs {
			cut := func(s verdict.Series) verdict.Series { return s[:max((len(s)*k+c.Looks-1)/c.Looks, 1)] }
			p.Values.Control, p.Values.Experiment = cut(p.Values.Control), cut(p.Values.Experiment)
			pairs[i] = p
		}
		lookCfg := cfg
		if spending {
			spent := *cfg
			spent.FamilyWiseError = plan.Level(k)
			lookCfg = &spent
		}
		res, err := verdict.Analyze(lookCfg, pairs, verdict.Options{Judge: judge, Thresholds: thresholds, Equivalence: c.PassEarly})
		if err != nil {
			o.Result, o.Error, o.Look = "ERROR", fmt.Sprintf("look %d: %v", k, err), k
			return o
		}
		var d sequence.Decision
		if spending {
			// An underpowered PASS becomes MARGINAL here.
			d, _, _ = plan.Decide(k, res)
		}
		o.Result, o.Score, o.Look = res.Result, res.Score, k
		if res.Result == verdict.ResultFail || k == c.Looks || d == sequence.PassEarly {
			return o
		}
	}
	return o
}

// Summarize counts outcomes. A case whose analysis could not run counts as
// an error, in neither recall nor false fails.
func Summarize(outcomes []Outcome) Summary {
	var s Summary
	type kindKey struct {
		kind  string
		size  float64
		noise string
	}
	type noiseKey struct {
		noise string
		rho   float64
	}
	type powerKey struct{ size, rho float64 }
	kinds := map[kindKey]*KindSummary{}
	noises := map[noiseKey]*NoiseSummary{}
	power := map[powerKey]*PowerPoint{}
	for _, o := range outcomes {
		if o.Error != "" {
			s.Errors++
			continue
		}
		if o.Result == verdict.ResultMarginal {
			s.Marginal++
		}
		if o.Recorded != nil && o.Recorded.Result != o.Result {
			s.Changed++
		}
		failed, passed := o.Result == verdict.ResultFail, o.Result == verdict.ResultPass
		switch o.Expected {
		case verdict.ResultFail:
			s.Incidents++
			if failed {
				s.Detected++
			}
			if passed {
				s.IncidentsPassed++
			}
			if o.Kind == "" {
				continue
			}
			k := kindKey{o.Kind, o.Size, o.Noise}
			if kinds[k] == nil {
				kinds[k] = &KindSummary{Kind: o.Kind, Size: o.Size, Noise: o.Noise}
			}
			kinds[k].Cases++
			if o.Kind == KindLevelShift && o.Noise == NoiseIndependent {
				pk := powerKey{o.Size, o.Rho}
				if power[pk] == nil {
					power[pk] = &PowerPoint{Size: o.Size, Rho: o.Rho, Parametric: ParametricPower(o.Size, o.Rho, o.Points, o.CV)}
				}
				power[pk].Cases++
				if failed {
					power[pk].Detected++
				}
			}
			if failed {
				kinds[k].Detected++
			}
		case verdict.ResultPass:
			s.Controls++
			if failed {
				s.FalseFails++
			}
			if passed {
				s.ControlsPassed++
			}
			if o.Noise == "" {
				continue
			}
			k := noiseKey{o.Noise, o.Rho}
			if noises[k] == nil {
				noises[k] = &NoiseSummary{Noise: o.Noise, Rho: o.Rho}
			}
			noises[k].Controls++
			if failed {
				noises[k].FalseFails++
			}
		default:
			s.Unlabelled++
		}
	}
	s.Recall = ratio(s.Detected, s.Incidents)
	s.FalseFailRate = ratio(s.FalseFails, s.Controls)
	s.RecallInterval, s.FalseFailInterval = rateInterval(s.Detected, s.Incidents), rateInterval(s.FalseFails, s.Controls)
	s.Metrics = metricSummaries(outcomes)
	for _, k := range kinds {
		k.Rate = ratio(k.Detected, k.Cases)
		s.ByKind = append(s.ByKind, *k)
	}
	slices.SortFunc(s.ByKind, func(a, b KindSummary) int {
		return cmp.Or(cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Size, b.Size), cmp.Compare(a.Noise, b.Noise))
	})
	for _, k := range noises {
		k.FalseFailRate = ratio(k.FalseFails, k.Controls)
		s.ByNoise = append(s.ByNoise, *k)
	}
	slices.SortFunc(s.ByNoise, func(a, b NoiseSummary) int {
		return cmp.Or(cmp.Compare(a.Noise, b.Noise), cmp.Compare(a.Rho, b.Rho))
	})
	for _, p := range power {
		p.Rate = ratio(p.Detected, p.Cases)
		s.PowerCurve = append(s.PowerCurve, *p)
	}
	slices.SortFunc(s.PowerCurve, func(a, b PowerPoint) int {
		return cmp.Or(cmp.Compare(a.Rho, b.Rho), cmp.Compare(a.Size, b.Size))
	})
	return s
}

// ParametricPower is the power against a level shift of the given size
// (canary level × size) in one of SyntheticMetrics metrics of independent
// synthetic noise with AR(1) coefficient rho, n points per side and
// coefficient of variation cv, of the test that knows everything the judges
// must estimate: the log-normal scale, σ² = log(1 + cv²) and rho. It
// compares the mean log levels of the two windows, one-sided at the
// Bonferroni level 0.05/SyntheticMetrics:
//
//	power = Φ(log(size)/SE − z_{1−0.05/20}),  SE² = 2σ²·v(ρ)/n,
//
// with v(ρ) = (1+ρ)/(1−ρ) − 2ρ(1−ρⁿ)/(n(1−ρ)²) the variance factor of the
// mean of n AR(1) points. No test that estimates the noise reaches it.
func ParametricPower(size, rho float64, points int, cv float64) float64 {
	n := float64(points)
	v := 1.0
	if rho != 0 {
		v = (1+rho)/(1-rho) - 2*rho*(1-math.Pow(rho, n))/(n*(1-rho)*(1-rho))
	}
	se := math.Sqrt(2 * math.Log(1+cv*cv) * v / n)
	z := distuv.UnitNormal.Quantile(1 - 0.05/SyntheticMetrics)
	return distuv.UnitNormal.CDF(math.Log(size)/se - z)
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// String describes a summary in one line.
func (s Summary) String() string {
	return fmt.Sprintf("incidents %d, detected %d (recall %.1f%%); controls %d, false fails %d (%.1f%%); marginal %d; errors %d; PASS: incidents %d, controls %d",
		s.Incidents, s.Detected, 100*s.Recall, s.Controls, s.FalseFails, 100*s.FalseFailRate, s.Marginal, s.Errors, s.IncidentsPassed, s.ControlsPassed)
}
