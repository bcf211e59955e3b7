package report

import (
	"bytes"
	"fmt"
	"html/template"
	"io"
	"math"
	"slices"
	"strconv"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/canaryjudge/judge/verdict"
)

var sequencePage = template.Must(template.New("sequence.html.tmpl").Funcs(template.FuncMap{
	"num":  num,
	"time": func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
}).ParseFS(templates, "sequence.html.tmpl"))

// Sequence is a sequence of looks at one canary, for SequencePage.
type Sequence struct {
	Name string
	// Looks is the planned number of looks (0: open-ended).
	Looks         int
	State, Reason string
	History       []Look
}

// Look is one look of a sequence; Result is nil while it is judged.
type Look struct {
	Look      int
	At        time.Time
	Level     float64
	Spent     float64
	Decision  string
	ReportURL string
	Result    *verdict.Result
}

// sequenceMetric is one metric's intervals over the looks.
type sequenceMetric struct {
	Name  string
	Chart template.HTML
	Alt   string
}

// SequencePage writes a sequence as an HTML page: its plan, state and
// reason; per metric, the shift's interval at each look's level against
// the look (the metric's confidence sequence, canary level relative to the
// baseline median as in the analysis report); and a table of the looks.
func SequencePage(w io.Writer, title string, s Sequence, links ...Link) error {
	var names []string
	for _, l := range s.History {
		if l.Result == nil {
			continue
		}
		for _, m := range l.Result.Metrics {
			if !slices.Contains(names, m.Name) {
				names = append(names, m.Name)
			}
		}
	}
	var metrics []sequenceMetric
	for _, name := range names {
		chart, alt, err := intervalsChart(name, s.History)
		if err != nil {
			return fmt.Errorf("%w: metric %q: %w", ErrRender, name, err)
		}
		metrics = append(metrics, sequenceMetric{Name: name, Chart: chart, Alt: alt})
	}
	var buf bytes.Buffer
	if err := sequencePage.Execute(&buf, struct {
		Title   string
		Links   []Link
		Seq     Sequence
		Metrics []sequenceMetric
	}{title, links, s, metrics}); err != nil {
		return fmt.Errorf("%w: %w", ErrRender, err)
	}
	_, err := w.Write(buf.Bytes())
	return err
}

// intervalsChart draws one metric's shift interval at each look, relative
// to the baseline median (1 + shift/median): a vertical bar from the
// interval's low to its high end (an open end drawn to the chart's edge)
// with the estimate as a point. Looks without an estimate or a positive
// baseline median are left out.
func intervalsChart(name string, looks []Look) (template.HTML, string, error) {
	type bar struct{ x, est, lo, hi float64 }
	var bars []bar
	var ends []float64
	for _, l := range looks {
		if l.Result == nil {
			continue
		}
		i := slices.IndexFunc(l.Result.Metrics, func(m verdict.MetricResult) bool { return m.Name == name })
		if i < 0 {
			continue
		}
		m := l.Result.Metrics[i]
		med := m.Baseline.Median
		if m.Estimate == nil || !(med > 0) || math.IsInf(med, 0) {
			continue
		}
		rel := func(p *float64, open float64) float64 {
			if p == nil {
				return open
			}
			return 1 + *p/med
		}
		b := bar{x: float64(l.Look), est: rel(m.Estimate, 0), lo: rel(m.CILow, math.Inf(-1)), hi: rel(m.CIHigh, math.Inf(1))}
		bars = append(bars, b)
		ends = append(ends, b.est)
		for _, e := range []float64{b.lo, b.hi} {
			if !math.IsInf(e, 0) {
				ends = append(ends, e)
			}
		}
	}
	if len(bars) == 0 {
		return "", "", nil
	}
	low, high := slices.Min(ends), slices.Max(ends)
	pad := math.Max((high-low)*0.1, 0.02)
	low, high = low-pad, high+pad
	p := newPlot()
	p.X.Label.Text = "look"
	p.Y.Label.Text = "canary / baseline"
	var xticks []plot.Tick
	for _, b := range bars {
		xticks = append(xticks, plot.Tick{Value: b.x, Label: strconv.FormatFloat(b.x, 'f', 0, 64)})
	}
	p.X.Tick.Marker = plot.ConstantTicks(xticks)
	var points plotter.XYs
	alt := fmt.Sprintf("%s: the shift's interval at each look's level, relative to the baseline:", name)
	for _, b := range bars {
		lo, hi := math.Max(b.lo, low), math.Min(b.hi, high)
		l, err := plotter.NewLine(plotter.XYs{{X: b.x, Y: lo}, {X: b.x, Y: hi}})
		if err != nil {
			return "", "", err
		}
		l.LineStyle = draw.LineStyle{Color: canaryStyle.Color, Width: vg.Points(3)}
		p.Add(l)
		points = append(points, plotter.XY{X: b.x, Y: b.est})
		alt += fmt.Sprintf(" look %g %s [%s, %s];", b.x, num(b.est), num(b.lo), num(b.hi))
	}
	scatter, err := plotter.NewScatter(points)
	if err != nil {
		return "", "", err
	}
	scatter.Color = canaryStyle.Color
	scatter.Radius = vg.Points(3)
	neutral, err := plotter.NewLine(plotter.XYs{{X: 0.5, Y: 1}, {X: bars[len(bars)-1].x + 0.5, Y: 1}})
	if err != nil {
		return "", "", err
	}
	neutral.LineStyle = draw.LineStyle{Color: rgb(0x55, 0x55, 0x55), Width: vg.Points(1), Dashes: []vg.Length{vg.Points(3), vg.Points(2)}}
	p.Add(scatter, neutral)
	p.Y.Min, p.Y.Max = low, high
	p.X.Min, p.X.Max = 0.5, bars[len(bars)-1].x+0.5
	svg, err := svgOf(p, 2.2*vg.Inch)
	return svg, alt, err
}
