package report

import (
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/vg"
)

// sans is the charts' typeface: the page's is sans-serif too.
var sans = font.Font{Typeface: "Liberation", Variant: "Sans"}

// newPlot is a plot in the pages' style: sans-serif text, ticks labelled
// with up to four significant digits as the tables print numbers (25, not
// 25.00; 1.02, not 1; 4e+06, not 4000000).
func newPlot() *plot.Plot {
	p := plot.New()
	for _, s := range []*font.Font{&p.Title.TextStyle.Font, &p.X.Label.TextStyle.Font, &p.Y.Label.TextStyle.Font,
		&p.X.Tick.Label.Font, &p.Y.Tick.Label.Font, &p.Legend.TextStyle.Font} {
		size := s.Size
		*s = sans
		s.Size = size
	}
	p.X.Tick.Marker = precise{}
	p.Y.Tick.Marker = precise{}
	return p
}

// precise labels gonum's default ticks with %.4g.
type precise struct{}

func (precise) Ticks(lo, hi float64) []plot.Tick {
	ticks := plot.DefaultTicks{}.Ticks(lo, hi)
	for i := range ticks {
		if ticks[i].Label != "" {
			ticks[i].Label = strconv.FormatFloat(ticks[i].Value, 'g', 4, 64)
		}
	}
	return ticks
}

// headroom raises the top of the value axis by share of its range, so that
// a legend at the top sits above the data, not on it.
func headroom(p *plot.Plot, share float64) {
	p.Y.Max += (p.Y.Max - p.Y.Min) * share
	p.Legend.Top = true
	p.Legend.Padding = vg.Points(2)
}

// upTo is precise ticks no higher than a maximum: a share axis with
// headroom for its legend shows no share above 1.
type upTo struct{ max float64 }

func (u upTo) Ticks(lo, hi float64) []plot.Tick {
	var out []plot.Tick
	labelled := false
	for _, t := range (precise{}).Ticks(lo, hi) {
		if t.Value <= u.max+1e-9 {
			out = append(out, t)
			labelled = labelled || t.Label != "" && t.Value > u.max-1e-9
		}
	}
	if !labelled && hi >= u.max {
		out = append(out, plot.Tick{Value: u.max, Label: strconv.FormatFloat(u.max, 'g', 4, 64)})
	}
	return out
}
