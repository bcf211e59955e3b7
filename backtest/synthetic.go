package backtest

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"time"

	"gonum.org/v1/gonum/stat/distuv"

	"github.com/canaryjudge/judge/verdict"
)

// SyntheticMetrics and SyntheticPoints shape every synthetic analysis: 20
// critical metrics (regressions are increases), 60 points per side, and
// SyntheticHistory points of the baseline's history before its window (what
// the analysis runner fetches with history_windows: 3).
const (
	SyntheticMetrics = 20
	SyntheticPoints  = 60
	SyntheticHistory = 3 * SyntheticPoints
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

// Noise models of synthetic cases.
const (
	// NoiseIndependent is log-normal AR(1) noise with a 20% coefficient of
	// variation, independent between baseline and canary.
	NoiseIndependent = "independent"
	// NoiseShared is traffic shared by baseline and canary behind one load
	// balancer: a common log-normal AR(1) component with standard deviation
	// 0.3 on the log scale plus independent pod noise with 0.05.
	NoiseShared = "shared"
	// NoiseSkewed is independent log-normal AR(1) noise with twice the
	// coefficient of variation (40% by default): skewed, with spikes.
	NoiseSkewed = "skewed"
)

// Regression is one injected regression: its kind and size.
type Regression struct {
	Kind string
	Size float64
}

// SyntheticOptions shape a synthetic corpus; the zero value is the default
// corpus (every noise model, ρ and regression below, 60 points per side,
// 180 points of history, a 20% coefficient of variation).
type SyntheticOptions struct {
	Noises      []string
	Rhos        []float64
	Regressions []Regression
	// Points per side, History points of the baseline before its window
	// (NoHistory: none).
	Points, History int
	NoHistory       bool
	// NoWindow leaves the queries' range windows out of the scopes (data
	// that does not say how long a window each point spans).
	NoWindow bool
	// CV is the coefficient of variation of independent noise.
	CV float64
	// Looks, when more than 1, judges each case as a sequence of that
	// many analyses of growing windows (Case.Looks); Spending tests each
	// look at its share of the level (Case.Spending), OpenEnded as a
	// sequence of unknown length, PassEarly lets a look pass early.
	Looks     int
	Spending  bool
	OpenEnded bool
	PassEarly bool
}

// ErrSynthetic is returned for synthetic options that cannot be used.
var ErrSynthetic = errors.New("invalid synthetic options")

// withDefaults fills unset options and checks the rest.
func (o SyntheticOptions) withDefaults() (SyntheticOptions, error) {
	if len(o.Noises) == 0 {
		o.Noises = []string{NoiseIndependent, NoiseShared, NoiseSkewed}
	}
	for _, n := range o.Noises {
		if _, realistic := shapes[n]; !realistic && n != NoiseIndependent && n != NoiseShared && n != NoiseSkewed {
			return o, fmt.Errorf("%w: noise %q: want independent, shared, skewed or one of the realistic shapes %s", ErrSynthetic, n,
				strings.Join(Shapes(), ", "))
		}
	}
	if len(o.Rhos) == 0 {
		o.Rhos = []float64{0, 0.3, 0.5, 0.8}
	}
	for _, r := range o.Rhos {
		if !(r >= 0 && r < 1) {
			return o, fmt.Errorf("%w: rho %v: want 0 ≤ ρ < 1", ErrSynthetic, r)
		}
	}
	if len(o.Regressions) == 0 {
		o.Regressions = syntheticRegressions
	}
	for _, r := range o.Regressions {
		ok := r.Size > 0 && !math.IsInf(r.Size, 0)
		switch r.Kind {
		case KindLevelShift, KindVariance, KindTail, KindRamp, KindStep, KindErrors, KindBurst:
		default:
			ok = false
		}
		if !ok {
			return o, fmt.Errorf("%w: regression %s:%v: want level-shift, variance, tail, errors, ramp, step or burst with a positive size", ErrSynthetic, r.Kind, r.Size)
		}
	}
	if o.Points == 0 {
		o.Points = SyntheticPoints
	}
	if o.History == 0 && !o.NoHistory {
		o.History = SyntheticHistory
	}
	if o.Points < 3 || o.Points > 10_000 || o.History < 0 || o.History > 100_000 {
		return o, fmt.Errorf("%w: points %d, history %d: want 3–10000 points and 0–100000 of history", ErrSynthetic, o.Points, o.History)
	}
	if o.Looks < 0 || o.Looks > o.Points {
		return o, fmt.Errorf("%w: looks %d: want 1 to the %d points (each look needs a point of its own)", ErrSynthetic, o.Looks, o.Points)
	}
	if o.CV == 0 {
		o.CV = 0.2
	}
	if !(o.CV > 0 && o.CV <= 10) {
		return o, fmt.Errorf("%w: cv %v: want a coefficient of variation in (0, 10]", ErrSynthetic, o.CV)
	}
	return o, nil
}

// syntheticRegressions are the regressions generated, in turn.
var syntheticRegressions = []Regression{
	{KindLevelShift, 1.05}, {KindLevelShift, 1.1}, {KindLevelShift, 1.2}, {KindLevelShift, 1.35}, {KindLevelShift, 1.5},
	{KindVariance, 2}, {KindVariance, 3},
	{KindTail, 3},
	{KindErrors, 1}, {KindErrors, 3},
	{KindRamp, 1.5},
	{KindStep, 1.35},
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

// syntheticStart is the canary window's start in every synthetic case;
// baseline and canary run concurrently, on one time grid.
var syntheticStart = time.Date(2026, 1, 5, 12, 0, 0, 0, time.UTC)

// Synthetic generates n seeded cases: even cases A/A (expected PASS), odd
// cases a regression of metric m00 (expected FAIL). With N noise models, P
// values of ρ, R regressions and j = i/2, A/A case j has noise j mod N and
// ρ number (j/N) mod P; regression case j has regression j mod R, noise
// (j/R) mod N and ρ (j/(N·R)) mod P, so that every N·P·R regression cases
// hold every regression at every noise and ρ. Baseline and canary share one
// time grid (their scopes name the same start and a 60 s step) and the
// baseline comes with opts.History points of history. The same seed and
// options give the same cases.
func Synthetic(seed uint64, n int, opts SyntheticOptions) ([]Case, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(seed, 0x6a75646765)) //nolint:gosec // reproducible test data, not a secret
	cases := make([]Case, n)
	N, P, R := len(opts.Noises), len(opts.Rhos), len(opts.Regressions)
	for i := range cases {
		j := i / 2
		reg := Regression{KindAA, 0}
		noise, rho := opts.Noises[j%N], opts.Rhos[(j/N)%P]
		if i%2 == 1 {
			reg = opts.Regressions[j%R]
			noise, rho = opts.Noises[(j/R)%N], opts.Rhos[(j/(N*R))%P]
		}
		c := Case{ID: fmt.Sprintf("synthetic-%05d", i), Source: "synthetic", Kind: reg.Kind, Size: reg.Size,
			Noise: noise, Rho: rho, Points: opts.Points, CV: opts.CV, Expected: verdict.ResultPass, Looks: opts.Looks, Spending: opts.Spending,
			OpenEnded: opts.OpenEnded, PassEarly: opts.PassEarly}
		if reg.Kind != KindAA {
			c.Expected = verdict.ResultFail
		}
		scope := verdict.PairScope{StartTimeMillis: syntheticStart.UnixMilli(), StartTimeIso: syntheticStart.Format(time.RFC3339), StepMillis: 60_000}
		if !opts.NoWindow {
			scope.WindowMillis = shapeWindows[noise]
		}
		for m := range SyntheticMetrics {
			metricReg := Regression{KindAA, 0}
			if m == 0 {
				metricReg = reg
			}
			history, control, canary := drawMetric(rng, noise, rho, opts, metricReg)
			c.Pairs = append(c.Pairs, verdict.MetricSetPair{Name: fmt.Sprintf("m%02d", m),
				Values: verdict.PairValues{Control: control, Experiment: canary, ControlHistory: history},
				Scopes: map[string]verdict.PairScope{"control": scope, "experiment": scope}})
		}
		cases[i] = c
	}
	return cases, nil
}

// drawMetric draws one metric's history, baseline window and canary
// window under a noise model, with reg applied to the canary (where a
// realistic shape applies it itself, to the requests or the rate behind
// the series).
func drawMetric(rng *rand.Rand, noise string, rho float64, o SyntheticOptions, reg Regression) (history, control, canary []float64) {
	if gen, realistic := shapes[noise]; realistic {
		history, control, canary, applied := gen(rng, o, rho, reg)
		if reg.Kind != KindAA && !applied {
			regress(rng, canary, reg.Kind, reg.Size)
		}
		return history, control, canary
	}
	history, control, canary = noisePair(rng, noise, rho, o)
	switch reg.Kind {
	case KindAA:
	case KindErrors:
		history, control, canary = counter(rng, o.History, 0), counter(rng, o.Points, 0), counter(rng, o.Points, reg.Size)
	default:
		regress(rng, canary, reg.Kind, reg.Size)
	}
	return history, control, canary
}

// noisePair draws the baseline's history and window and the canary's
// window of one metric under a noise model.
func noisePair(rng *rand.Rand, noise string, rho float64, o SyntheticOptions) (history, control, canary []float64) {
	total := o.History + o.Points
	switch noise {
	case NoiseShared:
		common := ar1(rng, total, rho)
		base := logNormal(common, 0.3, ar1(rng, total, 0), 0.05)
		can := logNormal(common[o.History:], 0.3, ar1(rng, o.Points, 0), 0.05)
		return base[:o.History], base[o.History:], can
	default:
		cv := o.CV
		if noise == NoiseSkewed {
			cv *= 2
		}
		sigma := math.Sqrt(math.Log(1 + cv*cv))
		base := logNormal(ar1(rng, total, rho), sigma, nil, 0)
		return base[:o.History], base[o.History:], logNormal(ar1(rng, o.Points, rho), sigma, nil, 0)
	}
}

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

// logNormal is 100·exp(σ·z + σ₂·z₂ − (σ² + σ₂²)/2): a log-normal series
// around 100 from standard normal series z and, when given, z₂.
func logNormal(z []float64, sigma float64, z2 []float64, sigma2 float64) []float64 {
	out := make([]float64, len(z))
	for i := range out {
		v := sigma*z[i] - sigma*sigma/2
		if z2 != nil {
			v += sigma2*z2[i] - sigma2*sigma2/2
		}
		out[i] = 100 * math.Exp(v)
	}
	return out
}

// counter is a zero-inflated error count: mostly zeros at baseline, about
// rate events per point when it starts counting.
func counter(rng *rand.Rand, n int, rate float64) []float64 {
	out := make([]float64, n)
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

// poisson draws a Poisson count: by Knuth's product of uniforms up to a
// mean of 100, by gonum's sampler above (where e^−λ would lose precision).
func poisson(rng *rand.Rand, lambda float64) int {
	if lambda > 100 {
		return int(distuv.Poisson{Lambda: lambda, Src: rng}.Rand())
	}
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
		case KindBurst:
			if i >= len(x)*4/5 {
				x[i] *= size
			}
		}
	}
}
