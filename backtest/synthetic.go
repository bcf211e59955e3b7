package backtest

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"

	"github.com/canaryjudge/judge/verdict"
)

// SyntheticMetrics and SyntheticPoints shape every synthetic analysis: 20
// critical metrics (regressions are increases), 60 points per side.
const (
	SyntheticMetrics = 20
	SyntheticPoints  = 60
)

// Regression kinds of synthetic cases.
const (
	KindAA         = "aa"          // no change
	KindLevelShift = "level-shift" // the canary's level times Size
	KindVariance   = "variance"    // the canary's noise times Size
	KindTail       = "tail"        // a third of the canary's points Size times slower
	KindErrors     = "errors"      // a zero-inflated counter that starts counting (Size events per point)
	KindRamp       = "ramp"        // a level rising to Size times over the window
	KindStep       = "step"        // a level shift by Size from halfway through the window
)

// syntheticKinds are the regressions and sizes generated, in turn.
var syntheticKinds = []struct {
	kind  string
	sizes []float64
}{
	{KindLevelShift, []float64{1.1, 1.2, 1.35, 1.5}},
	{KindVariance, []float64{2, 3}},
	{KindTail, []float64{3}},
	{KindErrors, []float64{1, 3}},
	{KindRamp, []float64{1.5}},
	{KindStep, []float64{1.35}},
}

// SyntheticConfig judges synthetic cases: 20 critical metrics m00…m19
// where an increase is a regression.
func SyntheticConfig() *verdict.Config {
	var b strings.Builder
	b.WriteString("name: synthetic\nmetrics:\n")
	for i := range SyntheticMetrics {
		fmt.Fprintf(&b, "  - {name: m%02d, groups: [all], direction: increase, critical: true}\n", i)
	}
	cfg, err := verdict.ParseConfig([]byte(b.String()), "built-in")
	if err != nil {
		panic(err) // the text above is valid
	}
	return cfg
}

// Synthetic generates n seeded cases: half A/A (expected PASS), half
// regressions of metric m00 (expected FAIL) cycling through the kinds and
// sizes above. The noise of each case is AR(1) with ρ cycling through 0,
// 0.3, 0.5 and 0.8, log-normal with a 20% coefficient of variation, and
// every second case adds traffic shared by baseline and canary (a common
// AR(1) component of the same size). The same seed gives the same cases.
func Synthetic(seed uint64, n int) []Case {
	rng := rand.New(rand.NewPCG(seed, 0x6a75646765)) //nolint:gosec // reproducible test data, not a secret
	rhos := []float64{0, 0.3, 0.5, 0.8}
	var regressions []struct {
		kind string
		size float64
	}
	for _, k := range syntheticKinds {
		for _, s := range k.sizes {
			regressions = append(regressions, struct {
				kind string
				size float64
			}{k.kind, s})
		}
	}
	cases := make([]Case, n)
	for i := range cases {
		rho := rhos[(i/2)%len(rhos)]
		shared := (i/2)%2 == 1
		kind, size := KindAA, 0.0
		if i%2 == 1 {
			r := regressions[(i/2)%len(regressions)]
			kind, size = r.kind, r.size
		}
		c := Case{ID: fmt.Sprintf("synthetic-%04d", i), Source: "synthetic", Kind: kind, Size: size, Expected: verdict.ResultPass}
		if kind != KindAA {
			c.Expected = verdict.ResultFail
		}
		for m := range SyntheticMetrics {
			var common []float64
			if shared {
				common = ar1(rng, SyntheticPoints, rho)
			}
			control := noiseSeries(rng, rho, common)
			canary := noiseSeries(rng, rho, common)
			if m == 0 {
				if kind == KindErrors {
					control, canary = counter(rng, 0), counter(rng, size)
				} else {
					regress(rng, canary, kind, size)
				}
			}
			c.Pairs = append(c.Pairs, verdict.MetricSetPair{Name: fmt.Sprintf("m%02d", m),
				Values: verdict.PairValues{Control: control, Experiment: canary}})
		}
		cases[i] = c
	}
	return cases
}

const cv = 0.2

// ar1 is an AR(1) series of unit marginal variance.
func ar1(rng *rand.Rand, n int, rho float64) []float64 {
	out := make([]float64, n)
	e := rng.NormFloat64()
	for i := range out {
		e = rho*e + math.Sqrt(1-rho*rho)*rng.NormFloat64()
		out[i] = e
	}
	return out
}

// noiseSeries is a log-normal series around 100 with AR(1) noise of CV
// 20%, plus the shared component when given.
func noiseSeries(rng *rand.Rand, rho float64, common []float64) []float64 {
	e := ar1(rng, SyntheticPoints, rho)
	sigma := math.Sqrt(math.Log(1 + cv*cv))
	out := make([]float64, SyntheticPoints)
	for i := range out {
		z := e[i]
		if common != nil {
			z = (z + common[i]) / math.Sqrt2
		}
		out[i] = 100 * math.Exp(sigma*z-sigma*sigma/2)
	}
	return out
}

// counter is a zero-inflated error count: mostly zeros at baseline, about
// rate events per point when it starts counting.
func counter(rng *rand.Rand, rate float64) []float64 {
	out := make([]float64, SyntheticPoints)
	for i := range out {
		if rng.Float64() < 0.05 {
			out[i] = 1
		}
		if rate > 0 {
			out[i] += float64(poisson(rng, rate))
		}
	}
	return out
}

func poisson(rng *rand.Rand, lambda float64) int {
	l, k, p := math.Exp(-lambda), 0, 1.0
	for {
		p *= rng.Float64()
		if p <= l {
			return k
		}
		k++
	}
}

// regress applies a regression to a canary series in place.
func regress(rng *rand.Rand, x []float64, kind string, size float64) {
	mean := 0.0
	for _, v := range x {
		mean += v / float64(len(x))
	}
	for i := range x {
		switch kind {
		case KindLevelShift:
			x[i] *= size
		case KindVariance:
			x[i] = mean + (x[i]-mean)*size
		case KindTail:
			if rng.IntN(3) == 0 {
				x[i] *= size
			}
		case KindRamp:
			x[i] *= 1 + (size-1)*float64(i)/float64(len(x)-1)
		case KindStep:
			if i >= len(x)/2 {
				x[i] *= size
			}
		}
	}
}
