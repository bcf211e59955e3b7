package backtest

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/canaryjudge/judge/verdict"
)

var updateCorpus = flag.Bool("update-corpus", false, "rewrite testdata/corpus-verdicts.json.gz from the current engine")

// corpusVerdict is what the baseline keeps of one case's verdict: the
// result and score, and per metric its classification and every number
// the engine computed (reasons are left out: their numbers are these).
type corpusVerdict struct {
	Case    string            `json:"case"`
	Judge   verdict.JudgeName `json:"judge"`
	Result  verdict.Outcome   `json:"result"`
	Score   float64           `json:"score"`
	Metrics []corpusMetric    `json:"metrics"`
}

type corpusMetric struct {
	Name           string                 `json:"name"`
	Classification verdict.Classification `json:"classification"`
	Critical       bool                   `json:"critical"`
	Numbers        []any                  `json:"numbers"`
}

// corpusVerdicts judges 120 synthetic cases (seed 1, every noise model and
// regression kind) with both judges.
func corpusVerdicts(t *testing.T) []corpusVerdict {
	t.Helper()
	cases, err := Synthetic(1, 120, SyntheticOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cfg := SyntheticConfig()
	var out []corpusVerdict
	for _, c := range cases {
		for _, judge := range []verdict.JudgeName{verdict.JudgeDefault, verdict.JudgeKayenta} {
			res, err := verdict.Analyze(cfg, c.Pairs, verdict.Options{Judge: judge})
			if err != nil {
				t.Fatalf("%s %s: %v", c.ID, judge, err)
			}
			v := corpusVerdict{Case: c.ID, Judge: judge, Result: res.Result, Score: res.Score}
			for _, m := range res.Metrics {
				var nums []any
				for _, p := range []*float64{m.PValue, m.AdjustedPValue, m.Estimate, m.CILow, m.CIHigh, m.EffectSize, m.TailPValue, m.MeanRatio, m.Aggregate, m.Autocorr} {
					if p == nil {
						nums = append(nums, nil)
					} else {
						nums = append(nums, fmt.Sprint(*p))
					}
				}
				v.Metrics = append(v.Metrics, corpusMetric{Name: m.Name, Classification: m.Classification, Critical: m.Critical, Numbers: nums})
			}
			out = append(out, v)
		}
	}
	return out
}

// TestCorpusVerdictsUnchanged compares every verdict of the synthetic
// corpus, metric by metric, with the committed baseline: classifications
// and results exactly, every number within 1e-9 relative. A change to the
// engine's structure or speed must leave it unchanged; a deliberate change
// of the statistics rewrites it (-update-corpus) and says why.
func TestCorpusVerdictsUnchanged(t *testing.T) {
	path := filepath.Join("testdata", "corpus-verdicts.json.gz")
	got := corpusVerdicts(t)
	if *updateCorpus {
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		enc := json.NewEncoder(zw)
		for _, v := range got {
			if err := enc.Encode(v); err != nil {
				t.Fatal(err)
			}
		}
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil { //nolint:gosec // test data
			t.Fatal(err)
		}
		return
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(zr)
	var want []corpusVerdict
	for {
		var v corpusVerdict
		if err := dec.Decode(&v); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		want = append(want, v)
	}
	if len(want) != len(got) {
		t.Fatalf("%d verdicts, the baseline has %d", len(got), len(want))
	}
	diffs := 0
	for i := range want {
		w, g := want[i], got[i]
		if w.Case != g.Case || w.Judge != g.Judge || w.Result != g.Result || w.Score != g.Score || len(w.Metrics) != len(g.Metrics) {
			t.Errorf("%s %s: %s %v, baseline %s %v", g.Case, g.Judge, g.Result, g.Score, w.Result, w.Score)
			diffs++
			continue
		}
		for j := range w.Metrics {
			wm, gm := w.Metrics[j], g.Metrics[j]
			if wm.Classification != gm.Classification || wm.Critical != gm.Critical {
				t.Errorf("%s %s %s: %s, baseline %s", g.Case, g.Judge, gm.Name, gm.Classification, wm.Classification)
				diffs++
			}
			for k := range wm.Numbers {
				if !closeNumber(wm.Numbers[k], gm.Numbers[k]) {
					t.Errorf("%s %s %s: number %d is %v, baseline %v", g.Case, g.Judge, gm.Name, k, gm.Numbers[k], wm.Numbers[k])
					diffs++
				}
			}
		}
		if diffs > 20 {
			t.Fatal("more than 20 differences")
		}
	}
}

// closeNumber compares two numbers kept as text (nil: absent) within 1e-9
// relative; infinities and NaN must match exactly.
func closeNumber(a, b any) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	var x, y float64
	if _, err := fmt.Sscan(a.(string), &x); err != nil {
		return a == b
	}
	if _, err := fmt.Sscan(b.(string), &y); err != nil {
		return a == b
	}
	if math.IsInf(x, 0) || math.IsNaN(x) || math.IsInf(y, 0) || math.IsNaN(y) {
		return a == b
	}
	return math.Abs(x-y) <= 1e-9*math.Max(math.Abs(x), math.Abs(y)) || x == y
}
