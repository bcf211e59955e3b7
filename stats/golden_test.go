package stats

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"testing"
)

// goldenFloat decodes a JSON number, the strings "+Inf", "-Inf" and "NaN",
// or null (NaN).
type goldenFloat float64

func (g *goldenFloat) UnmarshalJSON(b []byte) error {
	switch string(b) {
	case "null", `"NaN"`:
		*g = goldenFloat(math.NaN())
	case `"+Inf"`, `"Inf"`:
		*g = goldenFloat(math.Inf(1))
	case `"-Inf"`:
		*g = goldenFloat(math.Inf(-1))
	default:
		var f float64
		if err := json.Unmarshal(b, &f); err != nil {
			return err
		}
		*g = goldenFloat(f)
	}
	return nil
}

// wilcoxCase is one line of testdata/wilcox.jsonl, produced by R 4.2.2's
// wilcox.test(canary, baseline, alternative, conf.int=TRUE, conf.level).
type wilcoxCase struct {
	ID            int            `json:"id"`
	Kind          string         `json:"kind"`
	Alternative   string         `json:"alternative"`
	ConfLevel     float64        `json:"conf_level"`
	Canary        []float64      `json:"canary"`
	Baseline      []float64      `json:"baseline"`
	Method        string         `json:"method"`
	W             float64        `json:"w"`
	PValue        float64        `json:"p_value"`
	Estimate      goldenFloat    `json:"estimate"`
	CILow         goldenFloat    `json:"ci_low"`
	CIHigh        goldenFloat    `json:"ci_high"`
	EstimateRange [2]goldenFloat `json:"estimate_bracket"`
	CILowRange    [2]goldenFloat `json:"ci_low_bracket"`
	CIHighRange   [2]goldenFloat `json:"ci_high_bracket"`
	// Achieved is R's attr(conf.int, "conf.level") (wilcox_extra.jsonl only).
	Achieved goldenFloat `json:"achieved"`
}

func readWilcoxGolden(t testing.TB, path string) []wilcoxCase {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("open golden cases: %v", err)
	}
	defer f.Close()
	var cases []wilcoxCase
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for line := 1; sc.Scan(); line++ {
		if len(sc.Bytes()) == 0 {
			continue
		}
		var c wilcoxCase
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			t.Fatalf("%s:%d: %v", path, line, err)
		}
		cases = append(cases, c)
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	return cases
}

// relClose reports whether got is within rel relative error (or abs absolute
// error) of want; equal infinities are close.
func relClose(got, want, rel, abs float64) bool {
	if got == want {
		return true
	}
	if math.IsNaN(got) || math.IsNaN(want) || math.IsInf(got, 0) || math.IsInf(want, 0) {
		return false
	}
	d := math.Abs(got - want)
	return d <= abs || d <= rel*math.Abs(want)
}

// inBracket reports whether v lies in [lo, hi] with relative slack rel.
func inBracket(v float64, b [2]goldenFloat, rel float64) bool {
	lo, hi := float64(b[0]), float64(b[1])
	if v == lo || v == hi {
		return true
	}
	return v >= lo-rel*math.Abs(lo) && v <= hi+rel*math.Abs(hi)
}

// TestMannWhitneyGolden checks every R golden case with the acceptance rule
// of testdata/README.md: W equal, p-value within 1e-9 relative (or 1e-300
// absolute), exact bounds within 1e-12 relative, asymptotic bounds inside
// the bracket where R's step function crosses its target.
func TestMannWhitneyGolden(t *testing.T) {
	cases := readWilcoxGolden(t, "testdata/wilcox.jsonl")
	if len(cases) < 300 {
		t.Fatalf("got %d golden cases, want at least 300", len(cases))
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%d-%s-%s", c.ID, c.Kind, c.Method), func(t *testing.T) {
			alt, err := ParseAlternative(c.Alternative)
			if err != nil {
				t.Fatal(err)
			}
			got, err := MannWhitney(c.Canary, c.Baseline, MannWhitneyOptions{Alternative: alt, ConfLevel: c.ConfLevel})
			if err != nil {
				t.Fatalf("MannWhitney: %v", err)
			}
			if got.Method.String() != c.Method {
				t.Errorf("method = %v, want %s", got.Method, c.Method)
			}
			if got.W != c.W {
				t.Errorf("W = %v, want %v", got.W, c.W)
			}
			if !relClose(got.PValue, c.PValue, 1e-9, 1e-300) {
				t.Errorf("p = %.17g, want %.17g", got.PValue, c.PValue)
			}
			checks := []struct {
				name    string
				got     float64
				want    goldenFloat
				bracket [2]goldenFloat
			}{
				{"estimate", got.Estimate, c.Estimate, c.EstimateRange},
				{"ci_low", got.CILow, c.CILow, c.CILowRange},
				{"ci_high", got.CIHigh, c.CIHigh, c.CIHighRange},
			}
			for _, ch := range checks {
				if c.Method == "exact" {
					if !relClose(ch.got, float64(ch.want), 1e-12, 0) {
						t.Errorf("%s = %.17g, want %.17g", ch.name, ch.got, float64(ch.want))
					}
					continue
				}
				if !inBracket(ch.got, ch.bracket, 1e-12) {
					t.Errorf("%s = %.17g, want in [%.17g, %.17g] (R printed %.17g)",
						ch.name, ch.got, float64(ch.bracket[0]), float64(ch.bracket[1]), float64(ch.want))
				}
			}
		})
	}
}

// TestMannWhitneyExtraR checks edge cases generated with R 4.2.2
// (testdata/gen_wilcox_extra.R): single values, conf levels 0.5 and 0.999,
// heavy ties, constant samples, values at 1e-7 and 1e9 scale. W and the
// p-value must match as in the golden rule, exact intervals and estimates to
// 1e-12 and the achieved level where R reports it. R's asymptotic bounds come
// from uniroot(tol = 1e-4), so an asymptotic bound is accepted when no
// pairwise difference lies strictly between it and R's value, beyond that
// tolerance: both sit on the same step.
func TestMannWhitneyExtraR(t *testing.T) {
	cases := readWilcoxGolden(t, "testdata/wilcox_extra.jsonl")
	if len(cases) < 500 {
		t.Fatalf("got %d cases, want at least 500", len(cases))
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%d-%s-%s-n%d-%d", c.ID, c.Kind, c.Method, len(c.Canary), len(c.Baseline)), func(t *testing.T) {
			alt, err := ParseAlternative(c.Alternative)
			if err != nil {
				t.Fatal(err)
			}
			got, err := MannWhitney(c.Canary, c.Baseline, MannWhitneyOptions{Alternative: alt, ConfLevel: c.ConfLevel})
			if err != nil {
				t.Fatalf("MannWhitney: %v", err)
			}
			if got.Method.String() != c.Method || got.W != c.W || !relClose(got.PValue, c.PValue, 1e-9, 1e-300) {
				t.Errorf("method %v W %v p %.17g; want %s %v %.17g", got.Method, got.W, got.PValue, c.Method, c.W, c.PValue)
			}
			var diffs []float64
			for _, a := range c.Canary {
				for _, b := range c.Baseline {
					diffs = append(diffs, a-b)
				}
			}
			sameStep := func(a, b float64) bool {
				if a == b {
					return true
				}
				if math.IsInf(a, 0) || math.IsInf(b, 0) {
					return false
				}
				lo, hi := math.Min(a, b)+1e-4, math.Max(a, b)-1e-4
				for _, d := range diffs {
					if d > lo && d < hi {
						return false
					}
				}
				return true
			}
			bounds := []struct {
				name      string
				got, want float64
			}{{"ci_low", got.CILow, float64(c.CILow)}, {"ci_high", got.CIHigh, float64(c.CIHigh)}}
			if c.Method == "exact" {
				bounds = append(bounds, struct {
					name      string
					got, want float64
				}{"estimate", got.Estimate, float64(c.Estimate)})
			}
			for _, b := range bounds {
				ok := sameStep(b.got, b.want)
				if c.Method == "exact" {
					ok = relClose(b.got, b.want, 1e-12, 0)
				}
				if !ok {
					t.Errorf("%s = %.17g, R %.17g", b.name, b.got, b.want)
				}
			}
			if achieved := float64(c.Achieved); c.Method == "exact" && achieved != c.ConfLevel && !relClose(got.ConfLevel, achieved, 1e-12, 0) {
				t.Errorf("achieved conf level %v, R %v", got.ConfLevel, achieved)
			}
		})
	}
}
