package backtest

import (
	"maps"
	"math"
	"math/rand/v2"
	"slices"

	"gonum.org/v1/gonum/stat/distuv"
)

// Realistic noise models: series shaped the way Prometheus, Datadog and New
// Relic queries return them, for the synthetic corpus. Each generates the
// baseline's history and window and the canary's window of one metric at
// a one-minute step.
const (
	// NoiseRateWindow is rate(requests_total[5m]) at a 1 m step: Poisson
	// request counts per minute under AR(1) traffic, averaged over five
	// overlapping minutes (a moving average, as Prometheus' rate window
	// makes it).
	NoiseRateWindow = "rate-window"
	// NoiseHistogram is histogram_quantile(0.99, rate(latency_bucket[5m]))
	// at a 1 m step: log-normal request latencies counted into Prometheus'
	// default buckets, summed over five overlapping minutes, the 0.99
	// quantile interpolated inside its bucket, and the largest finite
	// bound when it falls in the +Inf bucket. Level shifts and tails are
	// applied to the requests, not the series.
	NoiseHistogram = "p99-histogram"
	// NoiseHistogramBusy is the same p99 at ten times the traffic (about
	// 600 requests a minute), where the quantile is estimated well enough
	// that a shift of the latencies moves it more than its noise.
	NoiseHistogramBusy = "p99-histogram-busy"
	// NoisePoisson is a low-rate error counter: Poisson counts with 0.5
	// events a minute, mostly zeros; regressions change the rate.
	NoisePoisson = "poisson"
	// NoiseDaily is CPU on separate hosts with a daily cycle (±30% over
	// 1,440 minutes, same phase for both) and AR(1) noise: the history
	// holds part of the cycle's slope.
	NoiseDaily = "daily"
	// NoiseSawtooth is memory behind one load balancer: a GC sawtooth per
	// pod (the heap grows 3% of the live set a minute and returns to it at
	// each collection, every 10 to 20 minutes, at its own phase) on
	// a slow random wander of the live set that the two share
	// (time-aligned).
	NoiseSawtooth = "sawtooth"
	// NoiseAlignedCPU is CPU of pods behind one load balancer
	// (time-aligned): the load they share (AR(1) at ρ, sd 0.3 on the log
	// scale) times each pod's own slow noise (AR(1) at 0.8, sd 0.1), so
	// that the paired differences are themselves strongly dependent.
	NoiseAlignedCPU = "aligned-cpu"
	// NoiseAlignedQuiet is the same with quieter, faster own noise (AR(1)
	// at 0.7, sd 0.03): the pods' differences are still strongly
	// dependent, but a 10% shift is several times their long-run spread.
	NoiseAlignedQuiet = "aligned-cpu-quiet"
	// NoiseFleetHistory is mean latency of a canary and baseline taking
	// 5% of the traffic each (about 30 requests a minute), while the
	// history comes from the whole fleet (600 a minute), so it is smoother
	// than the windows it is compared with.
	NoiseFleetHistory = "fleet-history"
	// NoiseRollingMean is a recording rule's avg_over_time(x[5m]) at a 1 m
	// step whose window the scopes do not carry (as a new user's query
	// would not): the five-point rolling mean of log-normal noise (AR(1)
	// at ρ on the log scale, sd 0.2) on separate hosts. Its lag-1
	// correlation is 0.8 at ρ 0, but the dependence ends after four
	// steps, which an AR(1) fit reads as slower wandering.
	NoiseRollingMean = "rolling-mean"
	// NoiseRollingShared is the same rolling mean of pods behind one load
	// balancer (time-aligned): the load they share (AR(1) at ρ, sd 0.3 on
	// the log scale) times each pod's own log-normal noise (sd 0.2),
	// averaged over five points after the product.
	NoiseRollingShared = "rolling-mean-shared"
	// NoiseHeavyTailed is a metric on separate hosts whose noise has
	// heavy tails: AR(1) at ρ driven by Student-t innovations on 3
	// degrees of freedom (scaled to unit variance), 100 + 10·e, so that a
	// few points in a window lie many spreads out.
	NoiseHeavyTailed = "heavy-tailed"
)

// KindBurst is a regression of the last fifth of the canary's window: Size
// times its level (or, for counters, its rate).
const KindBurst = "burst"

// shape draws one metric's history, baseline window and canary window;
// reg, unless A/A, is applied where the shape knows how (the requests or
// the rate behind the series), and applied says so; otherwise the caller
// applies it to the canary's series.
type shape func(rng *rand.Rand, o SyntheticOptions, rho float64, reg Regression) (history, control, canary []float64, applied bool)

// Shapes returns the names of the realistic noise models, sorted.
func Shapes() []string { return slices.Sorted(maps.Keys(shapes)) }

// shapes are the realistic noise models by name.
var shapes = map[string]shape{
	NoiseRateWindow: rateWindow,
	NoiseHistogram: func(rng *rand.Rand, o SyntheticOptions, rho float64, reg Regression) ([]float64, []float64, []float64, bool) {
		return histogramP99(rng, o, rho, reg, 0.6)
	},
	NoiseHistogramBusy: func(rng *rand.Rand, o SyntheticOptions, rho float64, reg Regression) ([]float64, []float64, []float64, bool) {
		return histogramP99(rng, o, rho, reg, 6)
	},
	NoisePoisson: poissonCounter,
	NoiseDaily:   daily,
	NoiseAlignedCPU: func(rng *rand.Rand, o SyntheticOptions, rho float64, _ Regression) ([]float64, []float64, []float64, bool) {
		return alignedCPU(rng, o, rho, 0.8, 0.1)
	},
	NoiseAlignedQuiet: func(rng *rand.Rand, o SyntheticOptions, rho float64, _ Regression) ([]float64, []float64, []float64, bool) {
		return alignedCPU(rng, o, rho, 0.7, 0.03)
	},
	NoiseSawtooth:      sawtooth,
	NoiseFleetHistory:  fleetHistory,
	NoiseRollingMean:   rollingMean,
	NoiseRollingShared: rollingShared,
	NoiseHeavyTailed:   heavyTailed,
}

// rangeSteps is how many steps a 5 m range window ([5m]) spans at a 1 m
// step.
const rangeSteps = 5

// shapeWindows are the range windows (ms) of the shapes' queries, which
// the runner would pass in the scopes.
var shapeWindows = map[string]int64{NoiseRateWindow: rangeSteps * 60_000, NoiseHistogram: rangeSteps * 60_000, NoiseHistogramBusy: rangeSteps * 60_000}

func rateWindow(rng *rand.Rand, o SyntheticOptions, rho float64, _ Regression) (history, control, canary []float64, applied bool) {
	side := func(n int) []float64 {
		traffic := logNormal(ar1(rng, n+rangeSteps-1, rho), 0.2, nil, 0)
		counts := make([]float64, len(traffic))
		for i, t := range traffic {
			counts[i] = float64(poisson(rng, 1.2*t)) // about 120 requests a minute
		}
		return movingMean(counts, rangeSteps, 60)
	}
	base := side(o.History + o.Points)
	return base[:o.History], base[o.History:], side(o.Points), false
}

func rollingMean(rng *rand.Rand, o SyntheticOptions, rho float64, _ Regression) (history, control, canary []float64, applied bool) {
	side := func(n int) []float64 {
		return movingMean(logNormal(ar1(rng, n+rangeSteps-1, rho), 0.2, nil, 0), rangeSteps, 1)
	}
	base := side(o.History + o.Points)
	return base[:o.History], base[o.History:], side(o.Points), false
}

func rollingShared(rng *rand.Rand, o SyntheticOptions, rho float64, _ Regression) (history, control, canary []float64, applied bool) {
	load := ar1(rng, o.History+o.Points+rangeSteps-1, rho)
	pod := func(load []float64) []float64 {
		return movingMean(logNormal(ar1(rng, len(load), 0), 0.2, load, 0.3), rangeSteps, 1)
	}
	base := pod(load)
	return base[:o.History], base[o.History:], pod(load[o.History:]), false
}

func heavyTailed(rng *rand.Rand, o SyntheticOptions, rho float64, _ Regression) (history, control, canary []float64, applied bool) {
	side := func(n int) []float64 {
		// Student's t on 3 degrees of freedom has variance 3.
		t3 := distuv.StudentsT{Mu: 0, Sigma: 1 / math.Sqrt(3), Nu: 3, Src: rng}
		out := make([]float64, n)
		e := t3.Rand()
		for i := range out {
			e = rho*e + math.Sqrt(1-rho*rho)*t3.Rand()
			out[i] = 100 + 10*e
		}
		return out
	}
	base := side(o.History + o.Points)
	return base[:o.History], base[o.History:], side(o.Points), false
}

// movingMean is the mean of each run of w values, divided by per.
func movingMean(x []float64, w int, per float64) []float64 {
	out := make([]float64, len(x)-w+1)
	for i := range out {
		s := 0.0
		for _, v := range x[i : i+w] {
			s += v
		}
		out[i] = s / float64(w) / per
	}
	return out
}

// promBuckets are client_golang's default histogram buckets (seconds).
var promBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

// histogramP99 draws the p99 shapes: perTraffic requests a minute per
// unit of traffic, which wanders around 100.
func histogramP99(rng *rand.Rand, o SyntheticOptions, rho float64, reg Regression, perTraffic float64) (history, control, canary []float64, applied bool) {
	side := func(n int, scale, slowShare, slow float64) []float64 {
		traffic := logNormal(ar1(rng, n+rangeSteps-1, rho), 0.2, nil, 0)
		latency := ar1(rng, n+rangeSteps-1, rho)
		perMinute := make([][]float64, len(traffic))
		for i := range traffic {
			counts := make([]float64, len(promBuckets)+1)
			for range poisson(rng, perTraffic*traffic[i]) {
				l := scale * 0.1 * math.Exp(0.6*rng.NormFloat64()+0.1*latency[i])
				if slowShare > 0 && rng.Float64() < slowShare {
					l *= slow
				}
				b, _ := slices.BinarySearch(promBuckets, l)
				counts[b]++
			}
			perMinute[i] = counts
		}
		out := make([]float64, n)
		for i := range out {
			window := make([]float64, len(promBuckets)+1)
			for _, c := range perMinute[i : i+rangeSteps] {
				for b, v := range c {
					window[b] += v
				}
			}
			out[i] = bucketQuantile(0.99, window)
		}
		return out
	}
	base := side(o.History+o.Points, 1, 0, 1)
	scale, share, slow := 1.0, 0.0, 1.0
	switch reg.Kind {
	case KindLevelShift:
		scale, applied = reg.Size, true
	case KindTail:
		share, slow, applied = 0.05, reg.Size, true
	}
	return base[:o.History], base[o.History:], side(o.Points, scale, share, slow), applied
}

// bucketQuantile is Prometheus' histogram_quantile over one set of bucket
// counts (not cumulative; the last is +Inf): linear interpolation inside
// the bucket holding the rank, the largest finite bound when that is the
// +Inf bucket, NaN without observations.
func bucketQuantile(q float64, counts []float64) float64 {
	total := 0.0
	for _, c := range counts {
		total += c
	}
	if total == 0 {
		return math.NaN()
	}
	rank, cum := q*total, 0.0
	for b, c := range counts {
		if cum+c >= rank && c > 0 {
			if b == len(promBuckets) {
				return promBuckets[len(promBuckets)-1]
			}
			lo := 0.0
			if b > 0 {
				lo = promBuckets[b-1]
			}
			return lo + (promBuckets[b]-lo)*(rank-cum)/c
		}
		cum += c
	}
	return promBuckets[len(promBuckets)-1]
}

func poissonCounter(rng *rand.Rand, o SyntheticOptions, _ float64, reg Regression) (history, control, canary []float64, applied bool) {
	counts := func(n int, rate func(i int) float64) []float64 {
		out := make([]float64, n)
		for i := range out {
			out[i] = float64(poisson(rng, rate(i)))
		}
		return out
	}
	flat := func(int) float64 { return 0.5 }
	base := counts(o.History+o.Points, flat)
	rate := flat
	switch reg.Kind {
	case KindLevelShift, KindErrors:
		rate, applied = func(int) float64 { return 0.5 * reg.Size }, true
	case KindBurst:
		rate, applied = func(i int) float64 {
			if i >= o.Points*4/5 {
				return 0.5 * reg.Size
			}
			return 0.5
		}, true
	case KindStep:
		rate, applied = func(i int) float64 {
			if i >= o.Points/2 {
				return 0.5 * reg.Size
			}
			return 0.5
		}, true
	}
	return base[:o.History], base[o.History:], counts(o.Points, rate), applied
}

func daily(rng *rand.Rand, o SyntheticOptions, rho float64, _ Regression) (history, control, canary []float64, applied bool) {
	phase := rng.Float64() * 1440
	cycle := func(from, n int) []float64 {
		z := ar1(rng, n, rho)
		out := make([]float64, n)
		for i := range out {
			out[i] = 100 * (1 + 0.3*math.Sin(2*math.Pi*(phase+float64(from+i))/1440)) * math.Exp(0.1*z[i]-0.005)
		}
		return out
	}
	base := cycle(0, o.History+o.Points)
	return base[:o.History], base[o.History:], cycle(o.History, o.Points), false
}

// alignedCPU is CPU of two pods behind one load balancer: the shared
// load (AR(1) at rho, sd 0.3 on the log scale) times each pod's own noise
// (AR(1) at ownRho, sd ownSD).
func alignedCPU(rng *rand.Rand, o SyntheticOptions, rho, ownRho, ownSD float64) (history, control, canary []float64, applied bool) {
	total := o.History + o.Points
	load := ar1(rng, total, rho)
	pod := func(load []float64) []float64 {
		own := ar1(rng, len(load), ownRho)
		out := make([]float64, len(load))
		for i := range out {
			out[i] = 50 * math.Exp(0.3*load[i]+ownSD*own[i]-0.05)
		}
		return out
	}
	base := pod(load)
	return base[:o.History], base[o.History:], pod(load[o.History:]), false
}

func sawtooth(rng *rand.Rand, o SyntheticOptions, _ float64, _ Regression) (history, control, canary []float64, applied bool) {
	total := o.History + o.Points
	wander := make([]float64, total)
	w := 0.0
	for i := range wander {
		w += 0.004 * rng.NormFloat64()
		wander[i] = w
	}
	pod := func(from, n int) []float64 {
		out := make([]float64, n)
		since, next := rng.IntN(20), 10+rng.IntN(11)
		for i := range out {
			if since++; since >= next {
				since, next = 0, 10+rng.IntN(11)
			}
			heap := 1 + 0.03*float64(since)
			out[i] = 1000 * heap * math.Exp(wander[from+i]) * (1 + 0.005*rng.NormFloat64())
		}
		return out
	}
	base := pod(0, total)
	return base[:o.History], base[o.History:], pod(o.History, o.Points), false
}

func fleetHistory(rng *rand.Rand, o SyntheticOptions, _ float64, _ Regression) (history, control, canary []float64, applied bool) {
	meanLatency := func(n int, perMinute float64) []float64 {
		out := make([]float64, n)
		for i := range out {
			k := max(poisson(rng, perMinute), 1)
			s := 0.0
			for range k {
				s += 100 * math.Exp(0.5*rng.NormFloat64()-0.125)
			}
			out[i] = s / float64(k)
		}
		return out
	}
	return meanLatency(o.History, 600), meanLatency(o.Points, 30), meanLatency(o.Points, 30), false
}
