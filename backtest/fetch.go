package backtest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"unicode"

	"golang.org/x/sync/errgroup"

	"github.com/canaryjudge/judge/analysis"
	"github.com/canaryjudge/judge/verdict"
)

// Fetcher fetches the series of one analysis request, as the analysis
// runner does for judge analyze --scopes (same rendering, escaping,
// limits, rate limits and retries), and fingerprints what it would fetch.
type Fetcher interface {
	Fetch(ctx context.Context, cfg *verdict.Config, req *analysis.Request, opts analysis.Options) (*analysis.Outcome, error)
	Fingerprint(cfg *verdict.Config, req *analysis.Request, opts analysis.Options) (string, error)
}

var _ Fetcher = (*analysis.Runner)(nil)

// FetchOptions configure FetchIncidents.
type FetchOptions struct {
	// Analysis chooses the account and the judge whose plan is fetched
	// (the default judge's includes the baseline's history).
	Analysis analysis.Options
	// Cache, when set, is a directory holding one file per case: the
	// series fetched for it (a MetricSetPairList, as judge analyze
	// --save-data writes), read instead of fetching when the case's
	// queries are unchanged.
	Cache string
	// Parallel bounds the cases fetched at once (default 4).
	Parallel int
	// Progress, when set, is called after each case.
	Progress func()
}

// FetchIncidents fetches the series of every incident (or reads them from
// the cache) and returns the cases to judge, in the incidents' order. A
// case whose label is unknown, whose request cannot be rendered, whose
// fetch failed or whose metric has no data on either side carries Error
// and is never judged. The error returned is for the whole run: accounts
// that do not fit the config (analysis.ErrConfig), or ctx ending.
func FetchIncidents(ctx context.Context, f Fetcher, incidents []Incident, cfg *verdict.Config, o FetchOptions) ([]Case, error) {
	if o.Cache != "" {
		if err := os.MkdirAll(o.Cache, 0o750); err != nil {
			return nil, fmt.Errorf("--cache: %w", err)
		}
	}
	cases := make([]Case, len(incidents))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(max(o.Parallel, 1))
	if o.Parallel == 0 {
		g.SetLimit(4)
	}
	for i := range incidents {
		g.Go(func() error {
			c, err := fetchIncident(gctx, f, &incidents[i], cfg, o)
			if err != nil {
				return err
			}
			cases[i] = c
			if o.Progress != nil {
				o.Progress()
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return cases, nil
}

// fetchIncident is one case of FetchIncidents.
func fetchIncident(ctx context.Context, f Fetcher, in *Incident, cfg *verdict.Config, o FetchOptions) (Case, error) {
	c := Case{ID: in.Name, Source: "incidents", PerMetric: true}
	expected, ok := in.Label.Expected()
	if !ok {
		c.Error = fmt.Sprintf("label %.40q: want %s or %s", in.Label, LabelRegression, LabelGood)
		return c, nil
	}
	c.Expected = expected
	req := in.Request(cfg)
	fp, err := f.Fingerprint(cfg, req, o.Analysis)
	switch {
	case errors.Is(err, analysis.ErrConfig):
		return c, err
	case err != nil:
		c.Error = err.Error()
		return c, nil
	}
	path := ""
	if o.Cache != "" {
		path = filepath.Join(o.Cache, cacheName(in.Name, fp))
		if pairs, ok := readCached(path, cfg); ok {
			c.Pairs = pairs
			return c, nil
		}
	}
	out, err := f.Fetch(ctx, cfg, req, o.Analysis)
	switch {
	case errors.Is(err, analysis.ErrConfig), ctx.Err() != nil:
		return c, errors.Join(err, ctx.Err())
	case err != nil:
		c.Error = err.Error()
		return c, nil
	}
	if reason := unusable(out.Pairs); reason != "" {
		c.Error = reason
		return c, nil
	}
	c.Pairs = out.Pairs
	if path != "" {
		if err := writeCached(path, out.Pairs); err != nil {
			return c, fmt.Errorf("--cache: %w", err)
		}
	}
	return c, nil
}

// unusable says why fetched series cannot make a case: a metric whose
// fetch failed, or one with no data on either side (a query that matches
// nothing at that time cannot tell a regression from a good deployment).
// One side alone empty is judged: a canary that stopped reporting is
// evidence.
func unusable(pairs []verdict.MetricSetPair) string {
	var problems []string
	for _, p := range pairs {
		switch {
		case p.Error != "":
			problems = append(problems, fmt.Sprintf("metric %q: %s", p.Name, p.Error))
		case len(p.Values.Control) == 0 && len(p.Values.Experiment) == 0:
			problems = append(problems, fmt.Sprintf("metric %q: no data for the baseline or the canary (query %.200q)", p.Name, p.Attributes["experiment"]["query"]))
		}
	}
	return strings.Join(problems, "; ")
}

// cacheName is a case's cache file: its name, made safe for a file name,
// and the fingerprint of its queries, so a changed query, scope or window
// is fetched anew.
func cacheName(name, fingerprint string) string {
	safe := strings.Map(func(r rune) rune {
		if r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-' || r == '_' || r == '.') {
			return r
		}
		return '_'
	}, name)
	return fmt.Sprintf("%.80s-%.16s.json", strings.TrimLeft(safe, "."), fingerprint)
}

// readCached reads a case's cached series; a missing, unreadable or
// incomplete file (a metric of the config not in it) is fetched anew.
func readCached(path string, cfg *verdict.Config) ([]verdict.MetricSetPair, bool) {
	raw, err := os.ReadFile(path) //nolint:gosec // a file of the user's cache directory
	if err != nil {
		return nil, false
	}
	pairs, err := verdict.ParseMetricSetPairList(raw, path)
	if err != nil {
		return nil, false
	}
	have := map[string]bool{}
	for _, p := range pairs {
		have[p.Name] = true
	}
	for _, m := range cfg.Metrics {
		if !have[m.Name] {
			return nil, false
		}
	}
	return pairs, true
}

// writeCached writes a case's series to the cache, whole or not at all
// (a temporary file renamed into place).
func writeCached(path string, pairs []verdict.MetricSetPair) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".case-*.json")
	if err != nil {
		return err
	}
	defer func() { _ = os.Remove(tmp.Name()) }() // gone after the rename
	werr := writePairs(tmp, pairs)
	if cerr := tmp.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return werr
	}
	return os.Rename(tmp.Name(), path)
}

// writePairs writes series as judge analyze --save-data does.
func writePairs(w io.Writer, pairs []verdict.MetricSetPair) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(pairs)
}
