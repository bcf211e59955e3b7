package analysis

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	"golang.org/x/sync/errgroup"

	"github.com/canaryjudge/judge/metrics"
	"github.com/canaryjudge/judge/tracing"
	"github.com/canaryjudge/judge/verdict"
)

// Sources are the configured metrics accounts and their clients.
type Sources struct {
	accounts []metrics.Account
	sources  map[string]metrics.Source
}

// NewSources builds a client for every account; in may be nil.
func NewSources(accounts []metrics.Account, in *metrics.Instruments) (*Sources, error) {
	s := &Sources{sources: map[string]metrics.Source{}}
	for i := range accounts {
		a := accounts[i]
		if err := a.Defaults(); err != nil {
			return nil, fmt.Errorf("metrics.accounts[%d]: %w", i, err)
		}
		if _, dup := s.sources[a.Name]; dup {
			return nil, fmt.Errorf("metrics.accounts[%d]: %w: account name %q is used twice", i, metrics.ErrConfig, a.Name)
		}
		b, ok := backend(a.Type)
		if !ok {
			return nil, fmt.Errorf("metrics.accounts[%d]: %w: type %q is not one of %s", i, metrics.ErrConfig, a.Type, strings.Join(backendTypes(), ", "))
		}
		src, err := b.New(a, in)
		if err != nil {
			return nil, fmt.Errorf("metrics.accounts[%d]: %w", i, err)
		}
		s.accounts = append(s.accounts, a)
		s.sources[a.Name] = src
	}
	return s, nil
}

// WithSource returns sources with one more account served by src (an
// in-memory source in tests).
func (s *Sources) WithSource(a metrics.Account, src metrics.Source) *Sources {
	out := &Sources{accounts: slices.Clone(s.accounts), sources: map[string]metrics.Source{}}
	for k, v := range s.sources {
		out.sources[k] = v
	}
	out.accounts = append(out.accounts, a)
	out.sources[a.Name] = src
	return out
}

// metricNamer is a source that lists the names of its metrics.
type metricNamer interface {
	MetricNames(ctx context.Context) ([]string, error)
}

// MaxMetricNames bounds the names MetricNames returns.
const MaxMetricNames = 10_000

// MetricNames lists the metric names of an account whose name contains
// filter (case-insensitively), sorted, at most MaxMetricNames, as Kayenta's
// metrics service metadata: the account named (an unknown name is an
// error naming the accounts), else the first account configured. A source
// that cannot list its metrics (Datadog, New Relic) lists none.
func (s *Sources) MetricNames(ctx context.Context, account, filter string) ([]string, error) {
	if len(s.accounts) == 0 {
		return nil, fmt.Errorf("%w: no metrics account is configured (metrics.accounts)", ErrConfig)
	}
	a := s.accounts[0]
	if account != "" {
		i := slices.IndexFunc(s.accounts, func(x metrics.Account) bool { return x.Name == account })
		if i < 0 {
			_, err := s.pick("", account) // the error naming the accounts there are
			return nil, err
		}
		a = s.accounts[i]
	}
	namer, ok := s.sources[a.Name].(metricNamer)
	if !ok {
		return []string{}, nil
	}
	names, err := namer.MetricNames(ctx)
	if err != nil {
		return nil, err
	}
	filter = strings.ToLower(filter)
	out := []string{}
	for _, n := range names {
		if strings.Contains(strings.ToLower(n), filter) {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out[:min(len(out), MaxMetricNames)], nil
}

// Accounts lists the configured accounts (no secrets are in them).
func (s *Sources) Accounts() []metrics.Account { return slices.Clone(s.accounts) }

// pick chooses the account for a source type: the one named, if it is of
// that type; else the only one of that type. A name that no account has is
// an error naming the accounts there are, as Kayenta refuses an account it
// cannot resolve: falling back to another account would fetch from a
// store the caller did not ask for. (A name of an account of another type
// is kept for the metrics of that type: a config may mix sources.)
func (s *Sources) pick(typ, named string) (metrics.Account, error) {
	if named != "" && !slices.ContainsFunc(s.accounts, func(a metrics.Account) bool { return a.Name == named }) {
		known := make([]string, len(s.accounts))
		for i, a := range s.accounts {
			known[i] = fmt.Sprintf("%s (%s)", a.Name, a.Type)
		}
		return metrics.Account{}, fmt.Errorf("%w: metrics account %.80q is not configured; the accounts are: %s", ErrConfig, named, cmp.Or(strings.Join(known, ", "), "none"))
	}
	var of []metrics.Account
	for _, a := range s.accounts {
		if a.Type == typ {
			if a.Name == named {
				return a, nil
			}
			of = append(of, a)
		}
	}
	switch len(of) {
	case 0:
		return metrics.Account{}, fmt.Errorf("%w: no %s account is configured (metrics.accounts)", ErrConfig, typ)
	case 1:
		return of[0], nil
	}
	names := make([]string, len(of))
	for i, a := range of {
		names[i] = a.Name
	}
	return metrics.Account{}, fmt.Errorf("%w: several %s accounts (%s): choose one with --metrics-account or metricsAccountName", ErrConfig, typ, strings.Join(names, ", "))
}

// Runner runs analyses against sources.
type Runner struct {
	Sources *Sources
	// Concurrency bounds the fetches in flight per analysis (default 16).
	Concurrency int
	// Deadline bounds the fetching of one analysis (default 2m).
	Deadline time.Duration
	// Limits bound the metrics of one analysis and the points of each
	// series fetched, the baseline's history included (DefaultLimits when
	// zero).
	Limits verdict.Limits
	Log    *slog.Logger
}

// limits are the runner's limits, the defaults where unset.
func (r *Runner) limits() verdict.Limits {
	l := r.Limits
	if l.MaxMetrics <= 0 {
		l.MaxMetrics = verdict.DefaultLimits.MaxMetrics
	}
	if l.MaxPoints <= 0 {
		l.MaxPoints = verdict.DefaultLimits.MaxPoints
	}
	return l
}

// Options choose the account, judge and thresholds of one run.
type Options struct {
	// Account picks the account when several of a source type exist.
	Account string
	Judge   verdict.JudgeName
	// Thresholds override the config's (and the request's).
	Thresholds *verdict.Thresholds
	// Equivalence asks for the intervals of an early PASS
	// (verdict.Options.Equivalence).
	Equivalence bool
}

// Outcome is a judged analysis with the series it judged.
type Outcome struct {
	Result *verdict.Result
	// Pairs are the fetched series (a MetricSetPairList), with the fetch
	// error of each metric that could not be fetched.
	Pairs []verdict.MetricSetPair
	// Unavailable is set when every fetch failed because its source could
	// not be reached; Cause is the first such error.
	Unavailable bool
	Cause       error
}

// fetch is one metric × side, or the baseline's history.
type fetch struct {
	metric  int
	control bool
	history bool
	account metrics.Account
	query   metrics.Query
	// window is the span each point of the query reads (queryWindow).
	window time.Duration
	// scope is the side's scope value, for patternHint.
	scope  string
	series metrics.Series
	err    error
}

// Run renders, fetches and judges. Template and scope errors (including a
// scope value that cannot be placed safely) fail the whole run with
// ErrInvalidRequest or ErrConfig before anything is fetched; fetch failures
// become the metric's ERROR, empty results its NODATA.
func (r *Runner) Run(ctx context.Context, cfg *verdict.Config, req *Request, opts Options) (*Outcome, error) {
	return r.Start(ctx, cfg, req, opts).Judge(cfg)
}

// Pending is a run whose series are being fetched while its caller learns
// how to judge them: a sequence's look learns its share of the level from
// the store meanwhile, so its database round trips overlap the fetch.
type Pending struct {
	span   trace.Span
	cancel context.CancelFunc
	done   chan struct{}
	ctx    context.Context //nolint:containedctx // the run's, between Start and Judge
	req    *Request
	opts   Options
	out    *Outcome
	err    error
}

// Start begins Run: it opens the analysis span and fetches the series in
// the background. Its Judge or Abandon must follow.
func (r *Runner) Start(ctx context.Context, cfg *verdict.Config, req *Request, opts Options) *Pending {
	ctx, cancel := context.WithCancel(ctx)
	ctx, span := startAnalysis(ctx, cfg)
	p := &Pending{span: span, cancel: cancel, done: make(chan struct{}), ctx: ctx, req: req, opts: opts}
	go func() {
		defer close(p.done)
		p.out, p.err = r.Fetch(ctx, cfg, req, opts)
	}()
	return p
}

// Judge waits for the series and judges them with cfg: Start's config, or
// a copy of it at another level (only its family-wise error may differ).
// A child span of the analysis' judges them, as every fetch had one.
func (p *Pending) Judge(cfg *verdict.Config) (*Outcome, error) {
	<-p.done
	defer p.cancel()
	out, err := p.out, p.err
	if err == nil {
		vopts := verdict.Options{Judge: p.opts.Judge, Thresholds: p.opts.Thresholds, Equivalence: p.opts.Equivalence}
		if vopts.Thresholds == nil {
			// Checked by Request.Validate before anything was fetched.
			vopts.Thresholds, _ = verdict.RequestThresholds(p.req.Thresholds)
		}
		out.Result, err = Judge(p.ctx, cfg, out.Pairs, vopts)
	}
	if err != nil {
		endAnalysis(p.span, nil, err)
		return nil, err
	}
	endAnalysis(p.span, out.Result, nil)
	return out, nil
}

// Abandon stops the fetch and ends the run unjudged, for why.
func (p *Pending) Abandon(why error) {
	p.cancel()
	<-p.done
	endAnalysis(p.span, nil, why)
}

// Fetch renders and fetches every series of a run without judging them:
// Run's Outcome with no Result, a child span per fetch of ctx's. A
// backtest fetches its cases this way and judges them with each judge.
func (r *Runner) Fetch(ctx context.Context, cfg *verdict.Config, req *Request, opts Options) (*Outcome, error) {
	if err := req.Validate(); err != nil {
		return nil, err
	}
	jobs, err := r.plan(cfg, req, opts)
	if err != nil {
		return nil, err
	}
	deadline := r.Deadline
	if deadline <= 0 {
		deadline = 2 * time.Minute
	}
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, deadline)
	defer cancel()
	g, gctx := errgroup.WithContext(ctx)
	limit := r.Concurrency
	if limit <= 0 {
		limit = 16
	}
	g.SetLimit(limit)
	for i := range jobs {
		j := &jobs[i]
		g.Go(func() error {
			// A crashed fetch is the metric's ERROR, never a crashed
			// analysis and never a pass.
			defer func() {
				if v := recover(); v != nil {
					j.err = fmt.Errorf("internal error while fetching: %v", v)
					if r.Log != nil {
						r.Log.Error("panic while fetching", "metric", cfg.Metrics[j.metric].Name, "panic", fmt.Sprint(v))
					}
				}
			}()
			side := "canary"
			switch {
			case j.history:
				side = "baseline history"
			case j.control:
				side = "baseline"
			}
			fctx, span := tracing.Tracer().Start(gctx, "fetch", trace.WithAttributes(
				attribute.String("judge.metric", cfg.Metrics[j.metric].Name), attribute.String("judge.side", side),
				attribute.String("judge.account", j.account.Name), attribute.String("judge.source", j.account.Type)))
			j.series, j.err = r.Sources.sources[j.account.Name].Fetch(fctx, j.query)
			// A source's own words, scrubbed before any reason, log or
			// span quotes them: an echoed header must not leak.
			j.err = metrics.ScrubError(j.err)
			switch {
			case errors.Is(j.err, metrics.ErrNoData):
				span.SetAttributes(attribute.Int("judge.points", 0))
			case j.err != nil:
				span.RecordError(j.err)
				span.SetStatus(codes.Error, "fetch failed")
			default:
				span.SetAttributes(attribute.Int("judge.points", len(j.series.Values)))
			}
			span.End()
			return nil
		})
	}
	_ = g.Wait()
	if err := parent.Err(); err != nil {
		return nil, fmt.Errorf("analysis stopped while fetching: %w", context.Cause(parent))
	}

	out := &Outcome{Pairs: make([]verdict.MetricSetPair, len(cfg.Metrics))}
	unavailable, failed := 0, 0
	for i, m := range cfg.Metrics {
		// Each pair has its own id, as Kayenta's MetricSetPair: the metric's
		// result carries it, and Deck's canary report finds the series of
		// a result by it.
		out.Pairs[i] = verdict.MetricSetPair{Name: m.Name, ID: uuid.NewString(), Tags: map[string]string{}, Scopes: map[string]verdict.PairScope{},
			Attributes: map[string]map[string]string{}}
	}
	for _, j := range jobs {
		p := &out.Pairs[j.metric]
		if j.history {
			// History only sharpens the noise estimate: without it the
			// metric is judged on its windows alone.
			if j.err == nil {
				p.Values.ControlHistory = j.series.Values
			} else if !errors.Is(j.err, metrics.ErrNoData) && r.Log != nil {
				r.Log.Warn("baseline history not fetched", "metric", cfg.Metrics[j.metric].Name, "err", j.err)
			}
			continue
		}
		side, label := "experiment", "canary"
		if j.control {
			side, label = "control", "baseline"
		}
		p.Scopes[side] = verdict.PairScope{StartTimeMillis: j.query.Start.UnixMilli(), StartTimeIso: j.query.Start.UTC().Format(time.RFC3339),
			StepMillis: j.query.Step.Milliseconds(), WindowMillis: j.window.Milliseconds()}
		p.Tags[side+"Account"] = j.account.Name
		p.Attributes[side] = map[string]string{"query": j.query.Text}
		switch {
		case j.err == nil:
			if j.control {
				p.Values.Control = j.series.Values
			} else {
				p.Values.Experiment = j.series.Values
			}
		case errors.Is(j.err, metrics.ErrNoData):
			// An empty series: the verdict engine says NODATA (or, for a
			// critical metric whose canary stopped reporting, NODATA_FAIL).
			if hint := patternHint(j); hint != "" && p.Hint == "" {
				p.Hint = hint
			}
		default:
			failed++
			if errors.Is(j.err, metrics.ErrUnavailable) {
				unavailable++
				if out.Cause == nil {
					out.Cause = j.err
				}
			}
			msg := label + ": " + j.err.Error()
			if p.Error != "" {
				p.Error += "; " + msg
			} else {
				p.Error = msg
			}
		}
	}
	out.Unavailable = len(jobs) > 0 && unavailable == mainJobs(jobs)
	if failed > 0 && r.Log != nil {
		r.Log.Warn("metric fetches failed", "failed", failed, "of", mainJobs(jobs), "unavailable", unavailable)
	}
	return out, nil
}

// FillWindows sets the window of every pair scope that has none from the
// rendered query in the pair's attributes (Kayenta's attributes.control.query
// and attributes.experiment.query), read in the language of the metric's
// source, so that series judge did not fetch itself (a Kayenta remote
// judge request, a data file) are thinned as the runner's are. A metric
// whose source is not known from its config alone (a native query for
// several sources) is left as it is.
func FillWindows(cfg *verdict.Config, pairs []verdict.MetricSetPair) {
	named := false
	for i := range pairs {
		named = named || len(pairs[i].Attributes) > 0
	}
	if !named {
		return // no pair names its queries: nothing to fill
	}
	types := map[string]string{}
	for i := range cfg.Metrics {
		if typ, err := sourceType(&cfg.Metrics[i], "", nil); err == nil {
			types[cfg.Metrics[i].Name] = typ
		}
	}
	for i := range pairs {
		p := &pairs[i]
		typ, ok := types[p.Name]
		if !ok {
			continue
		}
		for side, sc := range p.Scopes {
			query := p.Attributes[side]["query"]
			if sc.WindowMillis != 0 || sc.StepMillis <= 0 || query == "" {
				continue
			}
			sc.WindowMillis = queryWindow(typ, query).Milliseconds()
			p.Scopes[side] = sc
		}
	}
}

// queryWindow is the span each point of a rendered query reads (a PromQL
// range, a Datadog moving rollup): the judge thins series whose points
// overlap.
func queryWindow(typ, text string) time.Duration {
	if b, ok := backend(typ); ok {
		return b.Window(text)
	}
	return 0
}
