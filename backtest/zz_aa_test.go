package backtest

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/canaryjudge/judge/verdict"
)

func TestZZAA(t *testing.T) {
	noise := os.Getenv("ZZ_NOISE")
	if noise == "" {
		t.Skip()
	}
	kind, size, _ := strings.Cut(os.Getenv("ZZ_REG"), ":")
	s, _ := strconv.ParseFloat(size, 64)
	rho, _ := strconv.ParseFloat(os.Getenv("ZZ_RHO"), 64)
	n, _ := strconv.Atoi(os.Getenv("ZZ_CASES"))
	seed, _ := strconv.Atoi(os.Getenv("ZZ_SEED"))
	pts, _ := strconv.Atoi(os.Getenv("ZZ_POINTS"))
	if pts == 0 {
		pts = 60
	}
	hist, noHist := 180, false
	if os.Getenv("ZZ_HIST") == "-1" {
		hist, noHist = 0, true
	}
	cases, err := Synthetic(uint64(seed), n, SyntheticOptions{Noises: []string{noise}, Rhos: []float64{rho}, Regressions: []Regression{{kind, s}}, Points: pts, History: hist, NoHistory: noHist, CV: 0.2})
	if err != nil {
		t.Fatal(err)
	}
	wantAA := os.Getenv("ZZ_AA") != ""
	for _, c := range cases {
		if (c.Kind == KindAA) != wantAA {
			continue
		}
		res, err := verdict.Analyze(SyntheticConfig(), c.Pairs, verdict.Options{Judge: verdict.JudgeDefault})
		if err != nil {
			t.Fatal(err)
		}
		if wantAA && res.Result != verdict.ResultFail {
			continue
		}
		fmt.Println(c.ID, res.Result, res.Score)
		for _, m := range res.Metrics {
			if (!wantAA && m.Name == "m00") || (wantAA && m.Classification != verdict.Pass) {
				r := m.Reason
				fmt.Printf("  %s %s rho=%v p=%v %s\n", m.Name, m.Classification, deref(m.Autocorr), deref(m.PValue), r)
			}
		}
	}
}

func deref(p *float64) float64 {
	if p == nil {
		return -1
	}
	return *p
}
