package report

import (
	"bytes"
	"cmp"
	"fmt"
	"html/template"
	"image/color"
	"io"
	"math"
	"slices"

	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/canaryjudge/judge/backtest"
	"github.com/canaryjudge/judge/verdict"
)

// MaxBacktestCases bounds the cases drawn in a backtest report: the cases
// judged against their expectation come first, then the rest, in order.
const MaxBacktestCases = 60

var backtestPage = template.Must(template.New("backtest.html.tmpl").Funcs(template.FuncMap{
	"num":     num,
	"percent": func(v float64) string { return fmt.Sprintf("%.1f", 100*v) },
	"interval": func(i backtest.Interval) string {
		return fmt.Sprintf("[%.0f%%, %.0f%%]", 100*i[0], 100*i[1])
	},
	// few flags a rate that rests on fewer than 20 cases.
	"few": func(n int) string {
		if n < 20 {
			return "†"
		}
		return ""
	},
}).ParseFS(templates, "backtest.html.tmpl"))

type caseView struct {
	ID, Source, Kind, Noise string
	Size, Rho               float64
	Expected                string
	Results                 []string
	Wrong                   bool
	Chart                   template.HTML
	Alt                     string
}

type judgeView struct {
	backtest.JudgeReport
	PowerChart template.HTML
	PowerAlt   string
}

// Backtest writes a backtest report as an HTML page: per judge the summary
// (recall, false fails), the A/A false-fail rate per noise model and ρ,
// detection per regression, and the power curve beside the parametric
// limit; the threshold sweep when there is one; and up to MaxBacktestCases
// cases, those judged against their expectation first, each with its first
// metric's series (baseline history grey, baseline window blue, canary
// orange; a canary window that follows its baseline is shaded).
func Backtest(w io.Writer, title string, rep backtest.Report, cases []backtest.Case) error {
	var judges []judgeView
	for _, j := range rep.Judges {
		v := judgeView{JudgeReport: j}
		if len(j.Summary.PowerCurve) > 0 {
			var err error
			if v.PowerChart, err = powerChart(j.Summary.PowerCurve); err != nil {
				return fmt.Errorf("%w: power curve: %w", ErrRender, err)
			}
			v.PowerAlt = "Detection of level shifts by size, one line per ρ, solid: the judge, dotted: the parametric limit (the table below has the numbers)."
		}
		judges = append(judges, v)
	}
	outcomes := map[string][]backtest.Outcome{}
	for _, j := range rep.Judges {
		for _, o := range j.Cases {
			outcomes[o.ID] = append(outcomes[o.ID], o)
		}
	}
	var views []caseView
	for _, c := range cases {
		v := caseView{ID: c.ID, Source: c.Source, Kind: c.Kind, Noise: c.Noise, Size: c.Size, Rho: c.Rho, Expected: string(c.Expected)}
		for i, o := range outcomes[c.ID] {
			v.Results = append(v.Results, fmt.Sprintf("%s: %s (%.0f)", rep.Judges[i].Judge, o.Result, o.Score))
			if (o.Result == verdict.ResultFail) != (c.Expected == verdict.ResultFail) {
				v.Wrong = true
			}
		}
		views = append(views, v)
	}
	slices.SortStableFunc(views, func(a, b caseView) int {
		switch {
		case a.Wrong == b.Wrong:
			return 0
		case a.Wrong:
			return -1
		}
		return 1
	})
	views = views[:min(len(views), MaxBacktestCases)]
	byID := make(map[string]*backtest.Case, len(cases))
	for i := range cases {
		byID[cases[i].ID] = &cases[i]
	}
	for i := range views {
		c := byID[views[i].ID]
		if len(c.Pairs) == 0 {
			continue
		}
		var err error
		if views[i].Chart, views[i].Alt, err = caseChart(c.Pairs[0]); err != nil {
			return fmt.Errorf("%w: case %s: %w", ErrRender, c.ID, err)
		}
	}
	var buf bytes.Buffer
	if err := backtestPage.Execute(&buf, struct {
		Title  string
		Judges []judgeView
		Advice *backtest.Advice
		Cases  []caseView
		Total  int
	}{title, judges, rep.Advice, views, len(cases)}); err != nil {
		return fmt.Errorf("%w: %w", ErrRender, err)
	}
	_, err := w.Write(buf.Bytes())
	return err
}

// powerChart draws detection against level-shift size, a line per ρ, with
// the parametric limit dotted.
func powerChart(points []backtest.PowerPoint) (template.HTML, error) {
	p := newPlot()
	p.X.Label.Text = "level shift (canary × size)"
	p.Y.Label.Text = "share detected"
	p.Y.Min, p.Y.Max = 0, 1
	p.Y.Tick.Marker = upTo{1}
	var rhos []float64
	for _, pt := range points {
		if !slices.Contains(rhos, pt.Rho) {
			rhos = append(rhos, pt.Rho)
		}
	}
	slices.Sort(rhos)
	palette := []color.Color{rgb(0x1b, 0x9e, 0x77), rgb(0xd9, 0x5f, 0x02), rgb(0x75, 0x70, 0xb3), rgb(0xe7, 0x29, 0x8a), rgb(0x66, 0x66, 0x66)}
	for i, rho := range rhos {
		var got, limit plotter.XYs
		for _, pt := range points {
			if pt.Rho == rho {
				got = append(got, plotter.XY{X: pt.Size, Y: pt.Rate})
				limit = append(limit, plotter.XY{X: pt.Size, Y: pt.Parametric})
			}
		}
		slices.SortFunc(got, func(a, b plotter.XY) int { return cmp.Compare(a.X, b.X) })
		slices.SortFunc(limit, func(a, b plotter.XY) int { return cmp.Compare(a.X, b.X) })
		col := palette[i%len(palette)]
		l, pts, err := plotter.NewLinePoints(got)
		if err != nil {
			return "", err
		}
		l.Color, pts.Color = col, col
		lim, err := plotter.NewLine(limit)
		if err != nil {
			return "", err
		}
		lim.Color, lim.Dashes = col, []vg.Length{vg.Points(1), vg.Points(3)}
		p.Add(l, pts, lim)
		p.Legend.Add(fmt.Sprintf("ρ %g", rho), l, pts)
	}
	// The legend sits in headroom above 1, never on a curve.
	p.Y.Max = 1 + 0.14*float64(len(rhos)+1)
	p.Legend.Top, p.Legend.Left = true, true
	return svgOf(p, chartHeight)
}

// caseChart draws one metric of a case on one time axis: the baseline's
// history and window, and the canary — after the baseline (shaded) when the
// two windows follow each other, over it when they are concurrent.
func caseChart(pair verdict.MetricSetPair) (template.HTML, string, error) {
	v := pair.Values
	h, b, c := len(v.ControlHistory), len(v.Control), len(v.Experiment)
	cs, okC := pair.Scopes["control"]
	es, okE := pair.Scopes["experiment"]
	concurrent := okC && okE && cs.StartTimeMillis != 0 && cs.StartTimeMillis == es.StartTimeMillis
	canaryStart := h + b
	if concurrent {
		canaryStart = h
	}
	p := newPlot()
	p.X.Label.Text = "point"
	p.Y.Label.Text = pair.Name
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, s := range [][]float64{v.ControlHistory, v.Control, v.Experiment} {
		for _, x := range s {
			if !math.IsNaN(x) && !math.IsInf(x, 0) {
				lo, hi = min(lo, x), max(hi, x)
			}
		}
	}
	if !math.IsInf(lo, 1) && !concurrent && c > 0 {
		shade, err := plotter.NewPolygon(plotter.XYs{{X: float64(canaryStart), Y: lo}, {X: float64(canaryStart + c), Y: lo},
			{X: float64(canaryStart + c), Y: hi}, {X: float64(canaryStart), Y: hi}})
		if err != nil {
			return "", "", err
		}
		shade.Color, shade.Width = color.RGBA{R: 0xfd, G: 0xe0, B: 0xc0, A: 0xff}, 0
		p.Add(shade)
	}
	history := draw.LineStyle{Color: rgb(0x99, 0x99, 0x99), Width: vg.Points(1)}
	for _, part := range []struct {
		values []float64
		offset int
		style  draw.LineStyle
		name   string
	}{{v.ControlHistory, 0, history, "baseline history"}, {v.Control, h, baselineStyle, "baseline"}, {v.Experiment, canaryStart, canaryStyle, "canary"}} {
		if err := addSeries(p, part.values, part.offset, part.style, part.name); err != nil {
			return "", "", err
		}
	}
	headroom(p, 0.45)
	chart, err := svgOf(p, chartHeight)
	layout := "the canary window (shaded) right after the baseline window"
	if concurrent {
		layout = "the canary over the same time as the baseline window"
	}
	return chart, fmt.Sprintf("%d points of baseline history, %d of baseline and %d of canary; %s.", h, b, c, layout), err
}
