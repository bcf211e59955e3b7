package analysis

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/canaryjudge/judge/metrics"
	"github.com/canaryjudge/judge/verdict"
)

// plan renders every metric's query for both scopes.
func (r *Runner) plan(cfg *verdict.Config, req *Request, opts Options) ([]fetch, error) {
	if r.Sources == nil {
		return nil, fmt.Errorf("%w: no metrics accounts are configured", ErrConfig)
	}
	limits := r.limits()
	if n := len(cfg.Metrics); n > limits.MaxMetrics {
		return nil, fmt.Errorf("%w: canary config %q has %d metrics, more than the limit of %d", ErrInvalidRequest, cfg.Name, n, limits.MaxMetrics)
	}
	var jobs []fetch
	for i := range cfg.Metrics {
		m := &cfg.Metrics[i]
		name := scopeName(m)
		pair, ok := req.Scopes[name]
		if !ok {
			return nil, fmt.Errorf("%w: metric %q uses scope %q, which the request does not give (scopes: %s)",
				ErrInvalidRequest, m.Name, name, strings.Join(slices.Sorted(maps.Keys(req.Scopes)), ", "))
		}
		typ, err := sourceType(m, opts.Account, r.Sources)
		if err != nil {
			return nil, fmt.Errorf("metric %q: %w", m.Name, err)
		}
		account, err := r.Sources.pick(typ, opts.Account)
		if err != nil {
			return nil, fmt.Errorf("metric %q: %w", m.Name, err)
		}
		for _, side := range []struct {
			control bool
			scope   *Scope
			name    string
		}{{true, pair.Control, "controlScope"}, {false, pair.Experiment, "experimentScope"}} {
			text, err := render(m, typ, cfg.Templates, side.scope.vars(), account.KayentaRawScopes)
			if err != nil {
				return nil, fmt.Errorf("%w: metric %q, scopes.%s.%s: %w", ErrInvalidRequest, m.Name, name, side.name, err)
			}
			q := metrics.Query{Text: text, Start: side.scope.Start, End: side.scope.End, Step: time.Duration(side.scope.Step) * time.Second}
			if n := q.Points(); n > limits.MaxPoints {
				return nil, fmt.Errorf("%w: scopes.%s.%s: %d points per series, more than the limit of %d", ErrInvalidRequest, name, side.name, n, limits.MaxPoints)
			}
			jobs = append(jobs, fetch{metric: i, control: side.control, account: account, query: q, window: queryWindow(typ, text), scope: side.scope.Scope})
			if h := historyQuery(cfg, m, opts, side.control, q, limits.MaxPoints); h != nil {
				jobs = append(jobs, fetch{metric: i, control: true, history: true, account: account, query: *h})
			}
		}
	}
	return jobs, nil
}

// historyQuery is the query of the baseline's history before its window:
// cfg.HistoryWindows windows ending one step before the window starts, for
// the default judge's rank-tested metrics (its noise model, the jump
// test's reference and the INCONCLUSIVE rule; the kayenta judge and
// threshold tests do not read it). The history is one series, held to
// the same points limit as the windows: fewer windows are fetched when
// all of them would exceed it, and none when not even one fits.
func historyQuery(cfg *verdict.Config, m *verdict.Metric, opts Options, control bool, q metrics.Query, maxPoints int) *metrics.Query {
	judge := cmp.Or(opts.Judge, cfg.Judge, verdict.JudgeDefault)
	if !control || judge != verdict.JudgeDefault || cfg.HistoryWindows == nil || *cfg.HistoryWindows == 0 ||
		!slices.Contains(m.Tests, verdict.TestMannWhitney) || q.Step <= 0 {
		return nil
	}
	window := q.End.Sub(q.Start)
	windows := min(*cfg.HistoryWindows, maxPoints/max(q.Points(), 1))
	if windows <= 0 {
		return nil
	}
	h := q
	h.End = q.Start.Add(-q.Step)
	h.Start = q.Start.Add(-time.Duration(windows) * window)
	if !h.End.After(h.Start) {
		return nil
	}
	return &h
}

// mainJobs counts the fetches of the windows themselves (not history).
func mainJobs(jobs []fetch) int {
	n := 0
	for _, j := range jobs {
		if !j.history {
			n++
		}
	}
	return n
}

// sourceType is the source a metric is fetched from: the type of its
// Kayenta query, or the one key of its native query map (the named
// account's type when it has several).
func sourceType(m *verdict.Metric, account string, s *Sources) (string, error) {
	if raw, ok := m.Query["kayenta"]; ok {
		var probe struct {
			Type string `json:"type"`
		}
		if err := json.Unmarshal([]byte(raw), &probe); err != nil {
			return "", fmt.Errorf("%w: query: %w", ErrConfig, err)
		}
		t := strings.ToLower(probe.Type)
		if _, ok := backend(t); ok {
			return t, nil
		}
		if t == "" {
			return "", fmt.Errorf("%w: query.type is missing", ErrConfig)
		}
		return "", fmt.Errorf("%w: query.type %q is not one of %s", ErrConfig, probe.Type, strings.Join(backendTypes(), ", "))
	}
	var types []string
	for t := range m.Query {
		if _, ok := backend(t); !ok {
			return "", fmt.Errorf("%w: query.%s: not one of %s", ErrConfig, t, strings.Join(backendTypes(), ", "))
		}
		types = append(types, t)
	}
	slices.Sort(types)
	switch len(types) {
	case 0:
		return "", fmt.Errorf("%w: the metric has no query (query.prometheus, query.datadog or query.newrelic)", ErrConfig)
	case 1:
		return types[0], nil
	}
	if s == nil {
		return "", fmt.Errorf("%w: the metric has queries for %s", ErrConfig, strings.Join(types, ", "))
	}
	for _, a := range s.accounts {
		if a.Name == account && slices.Contains(types, a.Type) {
			return a.Type, nil
		}
	}
	return "", fmt.Errorf("%w: the metric has queries for %s: choose the account with --metrics-account", ErrConfig, strings.Join(types, ", "))
}

// render expands a metric's query for one scope: scope values escaped for
// where they land, or, for an account with raw scopes, as they are.
func render(m *verdict.Metric, typ string, templates, vars map[string]string, raw bool) (string, error) {
	b, ok := backend(typ)
	if !ok {
		return "", fmt.Errorf("%w: no metrics source of type %q", ErrConfig, typ)
	}
	lang := b.Language
	if raw {
		lang = b.Verbatim
	}
	if q, ok := m.Query["kayenta"]; ok {
		return b.FromKayenta(lang, []byte(q), templates, vars)
	}
	return metrics.Expand(m.Query[typ], vars, lang)
}

// Check renders every query of a run without fetching anything: the
// errors Run would return before fetching.
func (r *Runner) Check(cfg *verdict.Config, req *Request, opts Options) error {
	if err := req.Validate(); err != nil {
		return err
	}
	_, err := r.plan(cfg, req, opts)
	return err
}

// Fingerprints identify, per metric, the series a run would fetch: a
// hash of every query it renders for the metric (account, text, range and
// step), the baseline's history included, and nothing else. Series
// fetched under one fingerprint are the ones a run would fetch again, so
// a cache of fetched series can be checked by it; a changed query, scope
// or window changes it, a changed threshold, judge or other metric does
// not.
func (r *Runner) Fingerprints(cfg *verdict.Config, req *Request, opts Options) (map[string]string, error) {
	if err := req.Validate(); err != nil {
		return nil, err
	}
	jobs, err := r.plan(cfg, req, opts)
	if err != nil {
		return nil, err
	}
	hashes := map[string]hash.Hash{}
	for _, j := range jobs {
		name := cfg.Metrics[j.metric].Name
		if hashes[name] == nil {
			hashes[name] = sha256.New()
		}
		fmt.Fprintf(hashes[name], "%q %t %t %q %d %d %d\n", j.account.Name, j.control, j.history, j.query.Text,
			j.query.Start.UnixMilli(), j.query.End.UnixMilli(), j.query.Step.Milliseconds())
	}
	out := make(map[string]string, len(hashes))
	for name, h := range hashes {
		out[name] = hex.EncodeToString(h.Sum(nil))
	}
	return out, nil
}

// patternChars are what a scope holds when it is a regular expression, a
// matcher or a filter of several tags rather than one value: Kayenta
// substitutes such scopes as they are, judge escapes them.
const patternChars = "*|[](){}^$?+=,~ "

// patternHint is the note of a fetch that came back empty for a scope that
// looks like a pattern and was escaped: it matched only a series whose
// value is that text. It names the account setting that substitutes
// scopes as Kayenta does.
func patternHint(j fetch) string {
	if j.account.KayentaRawScopes || !strings.ContainsAny(j.scope, patternChars) {
		return ""
	}
	return fmt.Sprintf("the scope %.80q looks like a regular expression or matcher, but judge escaped it, so it matched only a series whose value is that very text; "+
		"if your callers rely on Kayenta substituting scopes as they are, set kayenta_raw_scopes: true on account %q (for trusted callers only: a scope can then add query syntax)",
		j.scope, j.account.Name)
}
