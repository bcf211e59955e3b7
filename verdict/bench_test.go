package verdict

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strings"
	"sync"
	"testing"
)

// benchInput is 10 metrics × 60 points a side, on one time grid (as a
// fetch gives them), with a baseline history of 180 points: the shape of
// make bench-server's requests.
func benchInput(tb testing.TB) (*Config, []MetricSetPair) {
	return sizedInput(tb, 60)
}

// sizedInput is benchInput with n points a side and 3n of history.
func sizedInput(tb testing.TB, n int) (*Config, []MetricSetPair) {
	tb.Helper()
	var cfg strings.Builder
	cfg.WriteString("metrics:\n")
	var pairs []MetricSetPair
	for i := range 10 {
		fmt.Fprintf(&cfg, "  - {name: m%d, groups: [g], direction: increase}\n", i)
		p := MetricSetPair{Name: fmt.Sprintf("m%d", i), Scopes: map[string]PairScope{
			"control": {StartTimeMillis: 1_700_000_000_000, StepMillis: 60_000}, "experiment": {StartTimeMillis: 1_700_000_000_000, StepMillis: 60_000}}}
		for j := range n {
			p.Values.Control = append(p.Values.Control, 100+10*math.Sin(float64(j*(i+3))*0.7)+float64((j*37+i)%11))
			p.Values.Experiment = append(p.Values.Experiment, 101+10*math.Sin(float64(j*(i+5))*0.9)+float64((j*41+i)%13))
		}
		for j := range 3 * n {
			p.Values.ControlHistory = append(p.Values.ControlHistory, 100+10*math.Sin(float64(j*(i+2))*0.8)+float64((j*29+i)%11))
		}
		pairs = append(pairs, p)
	}
	c, err := ParseConfig([]byte(cfg.String()), "bench")
	if err != nil {
		tb.Fatal(err)
	}
	return c, pairs
}

// TestAllocationsPerMetric: the default judge's allocations are a number
// per metric, not per point: 16 times the points allocate barely more
// (slices that grow by appending add a few), and no metric takes more than
// 120.
func TestAllocationsPerMetric(t *testing.T) {
	allocs := func(n int) float64 {
		cfg, pairs := sizedInput(t, n)
		return testing.AllocsPerRun(5, func() {
			if _, err := Analyze(cfg, pairs, Options{}); err != nil {
				t.Fatal(err)
			}
		})
	}
	small, large := allocs(60), allocs(960)
	if large > 1.3*small || large/10 > 120 {
		t.Errorf("allocations for 10 metrics: %.0f at 60 points, %.0f at 960", small, large)
	}
}

// BenchmarkAnalyze judges benchInput with each judge; the kayenta judge
// (one asymptotic Mann-Whitney per metric) is the floor the default judge
// is compared with.
func BenchmarkAnalyze(b *testing.B) {
	cfg, pairs := benchInput(b)
	for _, judge := range []JudgeName{JudgeKayenta, JudgeDefault} {
		b.Run(string(judge), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Analyze(cfg, pairs, Options{Judge: judge}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	// make bench-server's requests: no history, no time grid.
	bare := make([]MetricSetPair, len(pairs))
	for i, p := range pairs {
		bare[i] = MetricSetPair{Name: p.Name, Values: PairValues{Control: p.Values.Control, Experiment: p.Values.Experiment}}
	}
	b.Run("default-bare", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := Analyze(cfg, bare, Options{}); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestScratchReuse: analyses that run at once, each with its own input,
// give the verdicts each gives alone, though they share pooled working
// memory (the sorted copies and the cases), and a verdict is unchanged by
// the analyses that reuse that memory after it returned.
func TestScratchReuse(t *testing.T) {
	cfg, pairs := benchInput(t)
	inputs := make([][]MetricSetPair, 8)
	want := make([]*Result, len(inputs))
	for i := range inputs {
		shifted := make([]MetricSetPair, len(pairs))
		for j, p := range pairs {
			p.Values.Experiment = append([]float64(nil), p.Values.Experiment...)
			for k := range p.Values.Experiment {
				p.Values.Experiment[k] *= 1 + 0.05*float64(i)
			}
			shifted[j] = p
		}
		inputs[i] = shifted
		res, err := Analyze(cfg, shifted, Options{Judge: JudgeKayenta})
		if err != nil {
			t.Fatal(err)
		}
		want[i] = res
	}
	kept, err := json.Marshal(want[0])
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := range 20 {
				i := (g + n) % len(inputs)
				got, err := Analyze(cfg, inputs[i], Options{Judge: JudgeKayenta})
				if err != nil {
					t.Error(err)
					return
				}
				if !reflect.DeepEqual(got, want[i]) {
					t.Errorf("input %d judged alongside others: %+v, want %+v", i, got, want[i])
					return
				}
			}
		}()
	}
	wg.Wait()
	if after, _ := json.Marshal(want[0]); string(after) != string(kept) {
		t.Errorf("a returned verdict changed after later analyses: %s, was %s", after, kept)
	}
}
