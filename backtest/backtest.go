// Package backtest replays labelled cases through a canary config and the
// judges: would this config, with these thresholds, have caught past
// incidents, and how often would it have failed a good release? Cases come
// from NAB-format series with incident labels (LoadNAB) or from a seeded
// synthetic generator (Synthetic).
package backtest

import (
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"

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
	Expected string `json:"expected"`
	// Kind and Size describe a synthetic case ("aa", "level-shift", …; the
	// regression's size, 0 for A/A).
	Kind string  `json:"kind,omitempty"`
	Size float64 `json:"size,omitempty"`
	// Config judges the case; nil uses the run's config.
	Config *verdict.Config         `json:"-"`
	Pairs  []verdict.MetricSetPair `json:"-"`
}

// Outcome is one judge's result on one case.
type Outcome struct {
	ID       string  `json:"id"`
	Source   string  `json:"source"`
	Kind     string  `json:"kind,omitempty"`
	Size     float64 `json:"size,omitempty"`
	Expected string  `json:"expected"`
	Result   string  `json:"result"`
	Score    float64 `json:"score"`
	Error    string  `json:"error,omitempty"`
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
	// ByKind is detection per regression kind and size (synthetic cases).
	ByKind []KindSummary `json:"by_kind,omitempty"`
}

// KindSummary is the detection of one regression kind and size: a point
// of a power curve.
type KindSummary struct {
	Kind     string  `json:"kind"`
	Size     float64 `json:"size"`
	Cases    int     `json:"cases"`
	Detected int     `json:"detected"`
	Rate     float64 `json:"rate"`
}

// JudgeReport is one judge's outcomes and summary.
type JudgeReport struct {
	Judge   string    `json:"judge"`
	Cases   []Outcome `json:"cases"`
	Summary Summary   `json:"summary"`
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
func Run(cases []Case, cfg *verdict.Config, judges []string, thresholds *verdict.Thresholds, progress func()) Report {
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

func judgeCase(c Case, cfg *verdict.Config, judge string, thresholds *verdict.Thresholds) Outcome {
	o := Outcome{ID: c.ID, Source: c.Source, Kind: c.Kind, Size: c.Size, Expected: c.Expected}
	if c.Config != nil {
		cfg = c.Config
	}
	res, err := verdict.Analyze(cfg, c.Pairs, verdict.Options{Judge: judge, Thresholds: thresholds})
	if err != nil {
		o.Result, o.Error = "ERROR", err.Error()
		return o
	}
	o.Result, o.Score = res.Result, res.Score
	return o
}

// Summarize counts outcomes. A case whose analysis could not run counts as
// an error, in neither recall nor false fails.
func Summarize(outcomes []Outcome) Summary {
	var s Summary
	type key struct {
		kind string
		size float64
	}
	kinds := map[key]*KindSummary{}
	for _, o := range outcomes {
		if o.Error != "" {
			s.Errors++
			continue
		}
		if o.Result == verdict.ResultMarginal {
			s.Marginal++
		}
		failed := o.Result == verdict.ResultFail
		switch o.Expected {
		case verdict.ResultFail:
			s.Incidents++
			if failed {
				s.Detected++
			}
			if o.Kind != "" {
				k := key{o.Kind, o.Size}
				if kinds[k] == nil {
					kinds[k] = &KindSummary{Kind: o.Kind, Size: o.Size}
				}
				kinds[k].Cases++
				if failed {
					kinds[k].Detected++
				}
			}
		default:
			s.Controls++
			if failed {
				s.FalseFails++
			}
		}
	}
	s.Recall = ratio(s.Detected, s.Incidents)
	s.FalseFailRate = ratio(s.FalseFails, s.Controls)
	for _, k := range kinds {
		k.Rate = ratio(k.Detected, k.Cases)
		s.ByKind = append(s.ByKind, *k)
	}
	slices.SortFunc(s.ByKind, func(a, b KindSummary) int {
		if a.Kind != b.Kind {
			if a.Kind < b.Kind {
				return -1
			}
			return 1
		}
		switch {
		case a.Size < b.Size:
			return -1
		case a.Size > b.Size:
			return 1
		}
		return 0
	})
	return s
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// String describes a summary in one line.
func (s Summary) String() string {
	return fmt.Sprintf("incidents %d, detected %d (recall %.1f%%); controls %d, false fails %d (%.1f%%); marginal %d; errors %d",
		s.Incidents, s.Detected, 100*s.Recall, s.Controls, s.FalseFails, 100*s.FalseFailRate, s.Marginal, s.Errors)
}
