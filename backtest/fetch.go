package backtest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
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
	Fingerprints(cfg *verdict.Config, req *analysis.Request, opts analysis.Options) (map[string]string, error)
}

// fingerprintTag is the tag of a cached pair holding the fingerprint of
// the queries that fetched it (analysis.Runner.Fingerprints).
const fingerprintTag = "judge.fingerprint"

var _ Fetcher = (*analysis.Runner)(nil)

// FetchOptions configure FetchIncidents.
type FetchOptions struct {
	// Analysis chooses the account and the judge whose plan is fetched
	// (the default judge's includes the baseline's history).
	Analysis analysis.Options
	// Cache, when set, is a directory holding one file per case: the
	// series fetched for it (a MetricSetPairList, as judge analyze
	// --save-data writes, each pair tagged with its queries'
	// fingerprint), read instead of fetching when every metric's queries
	// are unchanged. Metrics of other configs stay in the file, so configs
	// that share metrics can be swept from one cache.
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
	prints, err := f.Fingerprints(cfg, req, o.Analysis)
	switch {
	case errors.Is(err, analysis.ErrConfig):
		return c, err
	case err != nil:
		c.Error = err.Error()
		return c, nil
	}
	path := ""
	var cached []verdict.MetricSetPair
	if o.Cache != "" {
		path = filepath.Join(o.Cache, cacheName(in))
		cached = readCached(path)
		if pairs, ok := cachedPairs(cached, cfg, prints); ok {
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
		if err := writeCached(path, merged(cached, out.Pairs, prints)); err != nil {
			return c, fmt.Errorf("--cache: %w", err)
		}
	}
	return c, nil
}

// cachedPairs are the config's metrics from a case's cache file, in the
// config's order, when every one is there under its current fingerprint.
func cachedPairs(cached []verdict.MetricSetPair, cfg *verdict.Config, prints map[string]string) ([]verdict.MetricSetPair, bool) {
	byName := map[string]verdict.MetricSetPair{}
	for _, p := range cached {
		byName[p.Name] = p
	}
	out := make([]verdict.MetricSetPair, 0, len(cfg.Metrics))
	for _, m := range cfg.Metrics {
		p, ok := byName[m.Name]
		if !ok || p.Tags[fingerprintTag] != prints[m.Name] {
			return nil, false
		}
		out = append(out, p)
	}
	return out, true
}

// merged is what a case's cache file holds after a fetch: the pairs just
// fetched, tagged with their fingerprints, and the cached pairs of metrics
// this config does not have.
func merged(cached, fetched []verdict.MetricSetPair, prints map[string]string) []verdict.MetricSetPair {
	out := make([]verdict.MetricSetPair, 0, len(cached)+len(fetched))
	have := map[string]bool{}
	for _, p := range fetched {
		tags := maps.Clone(p.Tags)
		if tags == nil {
			tags = map[string]string{}
		}
		tags[fingerprintTag] = prints[p.Name]
		p.Tags = tags
		out = append(out, p)
		have[p.Name] = true
	}
	for _, p := range cached {
		if !have[p.Name] {
			out = append(out, p)
		}
	}
	return out
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
// and a hash of its scopes (or change), so a case renamed or moved in time
// is fetched anew.
func cacheName(in *Incident) string {
	safe := strings.Map(func(r rune) rune {
		if r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-' || r == '_' || r == '.') {
			return r
		}
		return '_'
	}, in.Name)
	where, _ := json.Marshal(struct {
		Scopes map[string]analysis.ScopePair `json:"scopes,omitempty"`
		Change *Change                       `json:"change,omitempty"`
	}{in.Scopes, in.Change})
	sum := sha256.Sum256(where)
	return fmt.Sprintf("%.80s-%s.json", strings.TrimLeft(safe, "."), hex.EncodeToString(sum[:8]))
}

// readCached reads a case's cache file; a missing or unreadable one holds
// nothing.
func readCached(path string) []verdict.MetricSetPair {
	raw, err := os.ReadFile(path) //nolint:gosec // a file of the user's cache directory
	if err != nil {
		return nil
	}
	pairs, err := verdict.ParseMetricSetPairList(raw, path)
	if err != nil {
		return nil
	}
	return pairs
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
