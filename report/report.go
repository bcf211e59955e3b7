// Package report renders analyses as self-contained HTML pages: no network
// requests, charts drawn server-side as inline SVG, readable without
// JavaScript and in print, with text alternatives for every chart and the
// classification always written out (colour is never the only signal).
package report

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"image/color"
	"io"
	"math"
	"slices"
	"strings"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"

	"github.com/canaryjudge/judge/stats"
	"github.com/canaryjudge/judge/verdict"
)

// ErrRender is returned when a page cannot be rendered.
var ErrRender = errors.New("report could not be rendered")

//go:embed analysis.html.tmpl backtest.html.tmpl sequence.html.tmpl
var templates embed.FS

var page = template.Must(template.New("analysis.html.tmpl").Funcs(template.FuncMap{
	"num":     num,
	"percent": func(v float64) string { return fmt.Sprintf("%.1f", v) },
	"lower":   strings.ToLower,
	"bounds":  boundsText,
	// An interval's missing end is unbounded, as text output prints it.
	"lowEnd": func(v *float64) string {
		if v == nil {
			return "−∞"
		}
		return num(v)
	},
	"highEnd": func(v *float64) string {
		if v == nil {
			return "+∞"
		}
		return num(v)
	},
}).ParseFS(templates, "analysis.html.tmpl"))

// metricView is one metric's section of the page.
type metricView struct {
	verdict.MetricResult
	SeriesChart template.HTML
	SeriesAlt   string
	ECDFChart   template.HTML
	ECDFAlt     string
	ShiftChart  template.HTML
	ShiftAlt    string
	// Fetched says what was compared, per side: the rendered query, the
	// first point's time, the step and the window of each point (series
	// fetched from a source; empty for given data without them).
	Fetched []fetchView
}

// fetchView is one side of a metric as fetched.
type fetchView struct {
	Side, Query, Start, Step, Window string
}

// fetched describes the sides of a pair that carry a query or a grid.
func fetched(p *verdict.MetricSetPair) []fetchView {
	var out []fetchView
	for _, side := range []struct{ key, name string }{{"control", "baseline"}, {"experiment", "canary"}} {
		sc := p.Scopes[side.key]
		q := p.Attributes[side.key]["query"]
		if q == "" && sc.StepMillis == 0 {
			continue
		}
		v := fetchView{Side: side.name, Query: q, Start: sc.StartTimeIso}
		if sc.StepMillis > 0 {
			v.Step = (time.Duration(sc.StepMillis) * time.Millisecond).String()
		}
		if sc.WindowMillis > 0 {
			v.Window = (time.Duration(sc.WindowMillis) * time.Millisecond).String()
		}
		out = append(out, v)
	}
	return out
}

// Link is a navigation link shown at the top of a page: a link to URL;
// with Fields, a button posting them to URL as a form (the web UI's
// actions); with neither, plain text.
type Link struct {
	Text, URL string
	Fields    map[string]string
}

// Analysis writes one analysis as an HTML page: the result, score,
// thresholds and reason; the groups with weights and scores; then every
// metric, worst first, with its classification and reason, its statistics
// and, when its series are given, baseline and canary over time (missing
// points are gaps) and their empirical distribution functions. pairs may be
// nil (a verdict without its data).
// links, when given, are shown above the title (the web UI's navigation).
func Analysis(w io.Writer, title string, res *verdict.Result, pairs []verdict.MetricSetPair, links ...Link) error {
	byName := make(map[string]*verdict.MetricSetPair, len(pairs))
	for i := range pairs {
		byName[pairs[i].Name] = &pairs[i]
	}
	var metrics []metricView
	for _, m := range res.WorstFirst() {
		v := metricView{MetricResult: m}
		if p := byName[m.Name]; p != nil {
			v.Fetched = fetched(p)
			var err error
			if v.SeriesChart, err = seriesChart(p.Values.Control, p.Values.Experiment, m.Bounds); err != nil {
				return fmt.Errorf("%w: metric %q: %w", ErrRender, m.Name, err)
			}
			v.SeriesAlt = seriesAlt(p.Values.Control, p.Values.Experiment)
			if v.ECDFChart, err = ecdfChart(p.Values.Control, p.Values.Experiment); err != nil {
				return fmt.Errorf("%w: metric %q: %w", ErrRender, m.Name, err)
			}
			v.ECDFAlt = fmt.Sprintf("Empirical distribution functions: baseline median %s, canary median %s.", num(m.Baseline.Median), num(m.Canary.Median))
		}
		var err error
		if v.ShiftChart, v.ShiftAlt, err = shiftChart(m); err != nil {
			return fmt.Errorf("%w: metric %q: %w", ErrRender, m.Name, err)
		}
		metrics = append(metrics, v)
	}
	var buf bytes.Buffer
	if err := page.Execute(&buf, struct {
		Title   string
		Links   []Link
		Result  *verdict.Result
		Metrics []metricView
	}{title, links, res, metrics}); err != nil {
		return fmt.Errorf("%w: %w", ErrRender, err)
	}
	_, err := w.Write(buf.Bytes())
	return err
}

// num formats an optional or plain number for the page: 4 significant
// digits, "—" when absent, ±∞ and NaN written out.
func num(v any) string {
	switch x := v.(type) {
	case *float64:
		if x == nil {
			return "—"
		}
		return stats.FormatNumber(*x)
	case float64:
		return stats.FormatNumber(x)
	}
	return "—"
}

// seriesAlt describes the time-series chart in words.
func seriesAlt(control, canary []float64) string {
	missing := func(x []float64) int {
		n := 0
		for _, v := range x {
			if math.IsNaN(v) {
				n++
			}
		}
		return n
	}
	return fmt.Sprintf("Baseline (%d points, %d missing) and canary (%d points, %d missing) over time; missing points are gaps.",
		len(control), missing(control), len(canary), missing(canary))
}

// Chart colours: blue baseline and orange canary (distinguishable with the
// common colour-vision deficiencies), canary also dashed.
var (
	baselineStyle = draw.LineStyle{Color: rgb(0x1f, 0x77, 0xb4), Width: vg.Points(1.5)}
	canaryStyle   = draw.LineStyle{Color: rgb(0xd9, 0x5f, 0x02), Width: vg.Points(1.5), Dashes: []vg.Length{vg.Points(4), vg.Points(2)}}
	boundStyle    = draw.LineStyle{Color: rgb(0x55, 0x55, 0x55), Width: vg.Points(1.5), Dashes: []vg.Length{vg.Points(3), vg.Points(2)}}
)

// seriesChart draws both series over their position in the window; each
// run of finite points is one line, so missing points show as gaps.
func seriesChart(control, canary []float64, b *verdict.Bounds) (template.HTML, error) {
	p := newPlot()
	p.X.Label.Text = "point in the window"
	p.Y.Label.Text = "value"
	for _, s := range []struct {
		values []float64
		style  draw.LineStyle
		name   string
	}{{control, baselineStyle, "baseline"}, {canary, canaryStyle, "canary"}} {
		if err := addSeries(p, s.values, 0, s.style, s.name); err != nil {
			return "", err
		}
	}
	// A threshold test's absolute bounds, where the points can be read
	// against them.
	if b != nil {
		for _, t := range []struct {
			v    *float64
			name string
		}{{b.Min, "threshold min"}, {b.Max, "threshold max"}} {
			if t.v == nil || math.IsInf(*t.v, 0) || math.IsNaN(*t.v) {
				continue
			}
			line, err := plotter.NewLine(plotter.XYs{{X: 0, Y: *t.v}, {X: float64(max(len(control), len(canary), 2) - 1), Y: *t.v}})
			if err != nil {
				return "", err
			}
			line.LineStyle = boundStyle
			p.Add(line)
			p.Legend.Add(t.name+" "+num(t.v), line)
		}
	}
	headroom(p, 0.3)
	return svgOf(p, chartHeight)
}

// addSeries draws a series on p from position offset, one line per run of
// finite points (missing points are gaps), with one legend entry.
func addSeries(p *plot.Plot, values []float64, offset int, style draw.LineStyle, name string) error {
	first := true
	for _, run := range finiteRuns(values) {
		for i := range run {
			run[i].X += float64(offset)
		}
		l, err := plotter.NewLine(run)
		if err != nil {
			return err
		}
		l.LineStyle = style
		p.Add(l)
		if first {
			p.Legend.Add(name, l)
			first = false
		}
	}
	return nil
}

// finiteRuns splits a series into runs of finite points.
func finiteRuns(x []float64) []plotter.XYs {
	var runs []plotter.XYs
	var cur plotter.XYs
	for i, v := range x {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			if len(cur) > 0 {
				runs = append(runs, cur)
				cur = nil
			}
			continue
		}
		cur = append(cur, plotter.XY{X: float64(i), Y: v})
	}
	if len(cur) > 0 {
		runs = append(runs, cur)
	}
	// A single point draws no line: repeat it so that it shows.
	for i, r := range runs {
		if len(r) == 1 {
			runs[i] = append(r, plotter.XY{X: r[0].X + 0.5, Y: r[0].Y})
		}
	}
	return runs
}

// ecdfChart draws the empirical distribution functions of both series.
func ecdfChart(control, canary []float64) (template.HTML, error) {
	p := newPlot()
	p.X.Label.Text = "value"
	p.Y.Label.Text = "share ≤ value"
	for _, s := range []struct {
		values []float64
		style  draw.LineStyle
		name   string
	}{{control, baselineStyle, "baseline"}, {canary, canaryStyle, "canary"}} {
		var finite []float64
		for _, v := range s.values {
			if !math.IsNaN(v) && !math.IsInf(v, 0) {
				finite = append(finite, v)
			}
		}
		if len(finite) == 0 {
			continue
		}
		slices.Sort(finite)
		pts := make(plotter.XYs, len(finite))
		for i, v := range finite {
			pts[i] = plotter.XY{X: v, Y: float64(i+1) / float64(len(finite))}
		}
		l, err := plotter.NewLine(pts)
		if err != nil {
			return "", err
		}
		l.StepStyle = plotter.PostStep
		l.LineStyle = s.style
		p.Add(l)
		p.Legend.Add(s.name, l)
	}
	p.Y.Min = 0
	p.Y.Tick.Marker = upTo{1}
	headroom(p, 0.3)
	p.Legend.Left = true
	return svgOf(p, chartHeight)
}

// Chart sizes: 5 inches wide, chartHeight high (shiftHeight for the
// one-line shift chart).
const (
	chartHeight = 2.4 * vg.Inch
	shiftHeight = 1.1 * vg.Inch
)

// svgOf renders a plot as an inline SVG element (without the XML prolog).
func svgOf(p *plot.Plot, height vg.Length) (template.HTML, error) {
	c := vgsvg.New(5*vg.Inch, height)
	// A margin on every side keeps the outermost tick labels and axis
	// titles inside the chart.
	p.Draw(draw.Crop(draw.New(c), chartMargin, -chartMargin, chartMargin, -chartMargin))
	var buf bytes.Buffer
	if _, err := c.WriteTo(&buf); err != nil {
		return "", err
	}
	s := buf.String()
	if i := strings.Index(s, "<svg"); i >= 0 {
		s = s[i:]
	}
	// Liberation Sans has the metrics of Arial and Helvetica: browsers
	// without it lay the text out as the chart was measured.
	s = strings.ReplaceAll(s, "font-family:Liberation Sans", "font-family:'Liberation Sans',Arimo,Arial,Helvetica,sans-serif")
	return template.HTML(s), nil //nolint:gosec // generated by gonum/plot from numbers only; no input text reaches it
}

// chartMargin is the space left around a chart.
const chartMargin = 6 * vg.Millimeter / 4

func rgb(r, g, b uint8) color.Color { return color.RGBA{R: r, G: g, B: b, A: 255} }

// shiftChart draws the shift estimate and its interval relative to the
// baseline median, 1 + shift/median (the scale of the allowed effect
// bounds), against the bounds: the interval as a line, the estimate as a
// point, each bound as a vertical line. It draws nothing without an
// estimate, a positive baseline median or a bound.
func shiftChart(m verdict.MetricResult) (template.HTML, string, error) {
	b := m.Bounds
	med := m.Baseline.Median
	if m.Estimate == nil || b == nil || (b.AllowedIncrease == nil && b.AllowedDecrease == nil) || !(med > 0) || math.IsInf(med, 0) {
		return "", "", nil
	}
	rel := func(v float64) float64 { return 1 + v/med }
	est := rel(*m.Estimate)
	lo, hi := est, est
	if m.CILow != nil {
		lo = rel(*m.CILow)
	}
	if m.CIHigh != nil {
		hi = rel(*m.CIHigh)
	}
	bounds := []float64{}
	for _, p := range []*float64{b.AllowedDecrease, b.AllowedIncrease} {
		if p != nil && !math.IsInf(*p, 0) {
			bounds = append(bounds, *p)
		}
	}
	left, right := slices.Min(append(bounds, lo, est)), slices.Max(append(bounds, hi, est))
	pad := math.Max((right-left)*0.15, 0.02)
	left, right = left-pad, right+pad
	if m.CILow == nil {
		lo = left
	}
	if m.CIHigh == nil {
		hi = right
	}
	p := newPlot()
	p.X.Label.Text = "canary level ÷ baseline median"
	p.Y.Min, p.Y.Max = 0, 1
	p.HideY()
	interval, err := plotter.NewLine(plotter.XYs{{X: lo, Y: 0.5}, {X: hi, Y: 0.5}})
	if err != nil {
		return "", "", err
	}
	interval.LineStyle = draw.LineStyle{Color: canaryStyle.Color, Width: vg.Points(3)}
	point, err := plotter.NewScatter(plotter.XYs{{X: est, Y: 0.5}})
	if err != nil {
		return "", "", err
	}
	point.Color = canaryStyle.Color
	point.Radius = vg.Points(4)
	p.Add(interval, point)
	for _, bound := range bounds {
		l, err := plotter.NewLine(plotter.XYs{{X: bound, Y: 0.1}, {X: bound, Y: 0.9}})
		if err != nil {
			return "", "", err
		}
		l.LineStyle = draw.LineStyle{Color: rgb(0x55, 0x55, 0x55), Width: vg.Points(1.5), Dashes: []vg.Length{vg.Points(3), vg.Points(2)}}
		p.Add(l)
	}
	p.X.Min, p.X.Max = left, right
	svg, err := svgOf(p, shiftHeight)
	loText, hiText := num(lo), num(hi)
	if m.CILow == nil {
		loText = "−∞"
	}
	if m.CIHigh == nil {
		hiText = "+∞"
	}
	alt := fmt.Sprintf("Canary level relative to the baseline: %s, interval [%s, %s]; allowed effect: %s.",
		num(est), loText, hiText, boundsText(b))
	return svg, alt, err
}

// allowedText says what an allowed effect-size bound (a ratio to the
// baseline) means: none at 1, else how far.
func allowedText(side string, ratio float64) string {
	if ratio == 1 {
		return "no " + side
	}
	return fmt.Sprintf("%s to ×%s (%+.3g%%)", side, num(ratio), 100*(ratio-1))
}

// boundsText lists the allowed effect bounds in words.
func boundsText(b *verdict.Bounds) string {
	var parts []string
	if b.AllowedDecrease != nil {
		parts = append(parts, allowedText("decrease", *b.AllowedDecrease))
	}
	if b.AllowedIncrease != nil {
		parts = append(parts, allowedText("increase", *b.AllowedIncrease))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}
