package backtest

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/canaryjudge/judge/verdict"
)

// MetricName is the metric of NAB cases: a config given to a NAB backtest
// must judge a metric of this name.
const MetricName = "value"

// DefaultConfig is the built-in single-metric config of NAB backtests: a
// change either way is a regression.
func DefaultConfig() *verdict.Config {
	cfg, err := verdict.ParseConfig([]byte("name: nab\nmetrics:\n  - {name: value, groups: [nab], direction: either, critical: true}\n"), "built-in")
	if err != nil {
		panic(err) // the literal above is valid
	}
	return cfg
}

const nabTime = "2006-01-02 15:04:05"

// LoadNAB turns NAB-format series into cases. labels is NAB's
// combined_windows.json ({"dir/file.csv": [[start, end], …]}); each series
// is dir/file.csv under dataDir with a timestamp,value header.
//
// Points are taken in file order. Placement, per series of n points:
//   - Incident: the points inside a labelled window are the canary (L
//     points); the L points right before them are the baseline; expected
//     FAIL. A window with fewer than L points before it is skipped.
//   - Control: scanning from the first point in steps of L, each stretch of
//     2L points (baseline, then canary) that overlaps no incident's window
//     or baseline becomes a control, expected PASS, the next scan starting
//     where it ended; at most max(2·incidents, 2) controls per series,
//     with L the series' first incident's length (or n/10 for a series
//     without incidents).
func LoadNAB(dataDir, labelsFile string) ([]Case, error) {
	raw, err := os.ReadFile(labelsFile)
	if err != nil {
		return nil, fmt.Errorf("%w: labels %s: %w", ErrInput, labelsFile, err)
	}
	var labels map[string][][2]string
	if err := json.Unmarshal(raw, &labels); err != nil {
		return nil, fmt.Errorf("%w: labels %s: want {\"dir/file.csv\": [[start, end], …]}", ErrInput, labelsFile)
	}
	files := make([]string, 0, len(labels))
	for f := range labels {
		files = append(files, f)
	}
	slices.Sort(files)
	var cases []Case
	for _, f := range files {
		times, values, err := readSeries(filepath.Join(dataDir, filepath.FromSlash(f)))
		if err != nil {
			return nil, err
		}
		fileCases, err := nabCases(f, times, values, labels[f])
		if err != nil {
			return nil, err
		}
		cases = append(cases, fileCases...)
	}
	return cases, nil
}

// readSeries reads a timestamp,value CSV, naming the file and line in
// errors.
func readSeries(path string) ([]time.Time, []float64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrInput, err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = 2
	var (
		times  []time.Time
		values []float64
	)
	for line := 1; ; line++ {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, nil, fmt.Errorf("%w: %s:%d: %w", ErrInput, path, line, err)
		}
		if line == 1 && rec[0] == "timestamp" {
			continue
		}
		t, err := time.Parse(nabTime, rec[0])
		if err != nil {
			return nil, nil, fmt.Errorf("%w: %s:%d: timestamp %q is not YYYY-MM-DD HH:MM:SS", ErrInput, path, line, rec[0])
		}
		v, err := strconv.ParseFloat(rec[1], 64)
		if err != nil {
			return nil, nil, fmt.Errorf("%w: %s:%d: value %q is not a number", ErrInput, path, line, rec[1])
		}
		// Points stay in file order: a repeated timestamp's later value wins,
		// and a timestamp that goes back (NAB has a few such glitches) is
		// kept in place.
		if n := len(times); n > 0 && t.Equal(times[n-1]) {
			values[n-1] = v
			continue
		}
		times, values = append(times, t), append(values, v)
	}
	if len(values) == 0 {
		return nil, nil, fmt.Errorf("%w: %s: no points", ErrInput, path)
	}
	return times, values, nil
}

// span is a half-open range of point indices.
type span struct{ from, to int }

func (s span) overlaps(o span) bool { return s.from < o.to && o.from < s.to }

func nabCases(file string, times []time.Time, values []float64, windows [][2]string) ([]Case, error) {
	step := medianStep(times)
	var (
		cases    []Case
		occupied []span
		length   int
	)
	for i, w := range windows {
		start, err1 := time.Parse(nabTime+".000000", w[0])
		end, err2 := time.Parse(nabTime+".000000", w[1])
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("%w: labels of %s: window %d: times must look like \"2014-02-26 13:45:00.000000\"", ErrInput, file, i)
		}
		// The window is the points from the first at or after its start to
		// the last at or before its end, in file order.
		from := slices.IndexFunc(times, func(t time.Time) bool { return !t.Before(start) })
		if from < 0 {
			continue
		}
		to := from
		for to < len(times) && !times[to].After(end) {
			to++
		}
		l := to - from
		if l < 2 {
			continue
		}
		if length == 0 {
			length = l
		}
		occupied = append(occupied, span{max(from-l, 0), to})
		if from-l < 0 {
			continue // no baseline as long as the window
		}
		cases = append(cases, Case{
			ID: fmt.Sprintf("%s#incident-%d", file, i+1), Source: "nab:" + file, Expected: verdict.ResultFail,
			Pairs: []verdict.MetricSetPair{pairOf(values[max(from-l-nabHistoryWindows*l, 0):from-l], values[from-l:from], values[from:to], step, times[from-l], times[from])},
		})
	}
	incidents := len(cases)
	if length == 0 {
		length = len(values) / 10
	}
	if length < 2 {
		return cases, nil
	}
	limit := max(2*incidents, 2)
	for p, n := 0, 0; p+2*length <= len(values) && n < limit; {
		cand := span{p, p + 2*length}
		if slices.ContainsFunc(occupied, cand.overlaps) {
			p += length
			continue
		}
		n++
		cases = append(cases, Case{
			ID: fmt.Sprintf("%s#control-%d", file, n), Source: "nab:" + file, Expected: verdict.ResultPass,
			Pairs: []verdict.MetricSetPair{pairOf(values[max(p-nabHistoryWindows*length, 0):p], values[p:p+length], values[p+length:p+2*length], step, times[p], times[p+length])},
		})
		p += 2 * length
	}
	return cases, nil
}

// nabHistoryWindows is how many windows of the series before a case's
// baseline come with it as the baseline's history (fewer at the start of a
// file), as the analysis runner fetches them (historyWindows).
const nabHistoryWindows = verdict.DefaultHistoryWindows

func pairOf(history, control, experiment []float64, step time.Duration, controlStart, experimentStart time.Time) verdict.MetricSetPair {
	scope := func(t time.Time) verdict.PairScope {
		return verdict.PairScope{StepMillis: step.Milliseconds(), StartTimeMillis: t.UnixMilli(), StartTimeIso: t.UTC().Format(time.RFC3339)}
	}
	return verdict.MetricSetPair{Name: MetricName,
		Values: verdict.PairValues{Control: slices.Clone(control), Experiment: slices.Clone(experiment), ControlHistory: slices.Clone(history)},
		Scopes: map[string]verdict.PairScope{"control": scope(controlStart), "experiment": scope(experimentStart)}}
}

func medianStep(times []time.Time) time.Duration {
	if len(times) < 2 {
		return time.Minute
	}
	d := make([]time.Duration, len(times)-1)
	for i := range d {
		d[i] = times[i+1].Sub(times[i])
	}
	slices.Sort(d)
	return d[len(d)/2]
}

// NAB halves, for choosing settings on one half of the real series and
// reporting the other (SplitNAB).
const (
	HalfTune    = "tune"
	HalfHoldout = "holdout"
)

// SplitNAB keeps the cases of one half of the NAB files: the files (case
// sources) in name order go alternately to the tuning half (first, third,
// …) and the held-out half, so each half holds every second series of each
// directory and no series is in both.
func SplitNAB(cases []Case, half string) ([]Case, error) {
	if half != HalfTune && half != HalfHoldout {
		return nil, fmt.Errorf("%w: half %q: want %s or %s", ErrInput, half, HalfTune, HalfHoldout)
	}
	var files []string
	for _, c := range cases {
		if !slices.Contains(files, c.Source) {
			files = append(files, c.Source)
		}
	}
	slices.Sort(files)
	var out []Case
	for _, c := range cases {
		i := slices.Index(files, c.Source)
		if (i%2 == 0) == (half == HalfTune) {
			out = append(out, c)
		}
	}
	return out, nil
}
