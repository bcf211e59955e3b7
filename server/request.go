package server

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/canaryjudge/judge/analysis"
	"github.com/canaryjudge/judge/auth"
	judgev1 "github.com/canaryjudge/judge/proto/judge/v1"
	"github.com/canaryjudge/judge/protoconv"
	"github.com/canaryjudge/judge/sequence"
	"github.com/canaryjudge/judge/verdict"
)

// Analyze judges a canary synchronously.
func (s *Service) Analyze(ctx context.Context, req *judgev1.AnalyzeRequest) (*judgev1.AnalyzeResponse, error) {
	spec, cfg, err := s.resolve(ctx, req.GetSpec())
	if err != nil {
		return nil, s.grpcError(err)
	}
	release, err := s.admit.enter(ctx)
	if err != nil {
		return nil, s.grpcError(err)
	}
	defer release()
	v, series, err := s.judge(ctx, spec, cfg, "", nil)
	if err != nil {
		return nil, s.grpcError(err)
	}
	return &judgev1.AnalyzeResponse{Verdict: v, Series: series}, nil
}

// resolve validates a spec and returns it with the config inlined (a stored
// config is copied into the spec, so an analysis keeps judging against the
// config it was created with).
func (s *Service) resolve(ctx context.Context, spec *judgev1.AnalysisSpec) (*judgev1.AnalysisSpec, *verdict.Config, error) {
	if spec == nil {
		return nil, nil, fmt.Errorf("spec: missing: %w", errInvalid)
	}
	if len(spec.GetScopes()) > 0 {
		if s.runner == nil {
			return nil, nil, errNoSource
		}
		if len(spec.GetMetrics()) > 0 {
			return nil, nil, fmt.Errorf("spec: set metrics or scopes, not both: %w", errInvalid)
		}
	} else if len(spec.GetMetrics()) == 0 {
		return nil, nil, fmt.Errorf("spec.metrics: no metrics given (or scopes to fetch them): %w", errInvalid)
	}
	if n := len(spec.GetMetrics()); n > s.limits.MaxMetrics {
		return nil, nil, fmt.Errorf("spec.metrics: %d metrics, more than the limit of %d: %w", n, s.limits.MaxMetrics, errInvalid)
	}
	seen := make(map[string]int, len(spec.GetMetrics()))
	for i, m := range spec.GetMetrics() {
		if m.GetName() == "" {
			return nil, nil, fmt.Errorf("spec.metrics[%d].name: missing: %w", i, errInvalid)
		}
		if j, dup := seen[m.GetName()]; dup {
			return nil, nil, fmt.Errorf("spec.metrics[%d].name: %q also names spec.metrics[%d]: %w", i, m.GetName(), j, errInvalid)
		}
		seen[m.GetName()] = i
		for _, f := range [...]struct {
			field  string
			points int
		}{{"control", len(m.GetControl())}, {"experiment", len(m.GetExperiment())}, {"control_history", len(m.GetControlHistory())}} {
			if f.points > s.limits.MaxPoints {
				return nil, nil, fmt.Errorf("spec.metrics[%d] (%s).%s: %d points, more than the limit of %d: %w",
					i, m.GetName(), f.field, f.points, s.limits.MaxPoints, errInvalid)
			}
		}
		if st := m.GetStepSeconds(); st < 0 || st > analysis.MaxStepSeconds || math.IsNaN(st) || math.IsInf(st, 0) {
			return nil, nil, fmt.Errorf("spec.metrics[%d] (%s).step_seconds: %v is not a number of seconds from 0 to %d: %w", i, m.GetName(), st, analysis.MaxStepSeconds, errInvalid)
		}
		if ws := m.GetWindowSeconds(); ws < 0 || ws > analysis.MaxStepSeconds || math.IsNaN(ws) || math.IsInf(ws, 0) {
			return nil, nil, fmt.Errorf("spec.metrics[%d] (%s).window_seconds: %v is not a number of seconds from 0 to %d: %w", i, m.GetName(), ws, analysis.MaxStepSeconds, errInvalid)
		}
		for _, f := range [...]struct{ field, query string }{{"control_query", m.GetControlQuery()}, {"experiment_query", m.GetExperimentQuery()}} {
			if len(f.query) > maxQueryBytes {
				return nil, nil, fmt.Errorf("spec.metrics[%d] (%s).%s: %d bytes, more than the limit of %d: %w", i, m.GetName(), f.field, len(f.query), maxQueryBytes, errInvalid)
			}
		}
	}
	if err := checkLabels(spec); err != nil {
		return nil, nil, err
	}
	if look, looks := spec.GetLook(), spec.GetLooks(); spec.GetSequence() == "" && (look != 0 || looks != 0) && (looks < 1 || looks > sequence.MaxLooks || look < 1 || look > looks) {
		return nil, nil, fmt.Errorf("spec.look %d of spec.looks %d: want a look from 1 to looks, and 1 to %d looks: %w", look, looks, sequence.MaxLooks, errInvalid)
	}
	if err := checkSequence(spec); err != nil {
		return nil, nil, err
	}
	if name := spec.GetSequence(); name != "" {
		if err := auth.CallerFrom(ctx).MayWriteSequence(name); err != nil {
			return nil, nil, err
		}
	}
	thresholds := spec.GetThresholds()
	if t := thresholds; t != nil {
		// An empty thresholds object means the config's thresholds (95/75
		// unless the config says otherwise), as an absent one does.
		checked, err := verdict.RequestThresholds(&verdict.Thresholds{Pass: t.GetPass(), Marginal: t.GetMarginal()})
		if err != nil {
			return nil, nil, fmt.Errorf("spec.thresholds.%w: %w", err, errInvalid)
		}
		if checked == nil {
			thresholds = nil
		}
	}
	if err := verdict.CheckJudge(verdict.JudgeName(spec.GetJudge())); err != nil {
		return nil, nil, fmt.Errorf("spec.judge: %w: %w", err, errInvalid)
	}

	var body *structpb.Struct
	source := "spec.canary_config"
	switch c := spec.GetConfig().(type) {
	case *judgev1.AnalysisSpec_CanaryConfig:
		body = c.CanaryConfig
	case *judgev1.AnalysisSpec_CanaryConfigName:
		var err error
		if body, err = s.storedConfig(ctx, c.CanaryConfigName); err != nil {
			return nil, nil, err
		}
		source = fmt.Sprintf("stored config %q", c.CanaryConfigName)
	default:
		return nil, nil, fmt.Errorf("spec: set canary_config or canary_config_name: %w", errInvalid)
	}
	cfg, err := s.parseConfig(body, source)
	if err != nil {
		return nil, nil, err
	}
	known := make(map[string]bool, len(cfg.Metrics))
	for _, m := range cfg.Metrics {
		known[m.Name] = true
	}
	for i, m := range spec.GetMetrics() {
		if !known[m.GetName()] {
			return nil, nil, fmt.Errorf("spec.metrics[%d].name: %q is not a metric of canary config %q: %w", i, m.GetName(), cfg.Name, errInvalid)
		}
	}
	resolved := &judgev1.AnalysisSpec{
		Config:         &judgev1.AnalysisSpec_CanaryConfig{CanaryConfig: body},
		Metrics:        spec.GetMetrics(),
		Scopes:         spec.GetScopes(),
		Thresholds:     thresholds,
		Judge:          spec.GetJudge(),
		MetricsAccount: spec.GetMetricsAccount(),
		Application:    spec.GetApplication(),
		Annotations:    spec.GetAnnotations(),
		Look:           spec.GetLook(),
		Looks:          spec.GetLooks(),
		Sequence:       spec.GetSequence(),
		PassEarly:      spec.GetPassEarly(),
	}
	if len(resolved.GetScopes()) > 0 {
		// Render every query now, so a bad scope (or one that cannot be
		// placed in a query safely) is refused at submission.
		if err := s.runner.Check(cfg, protoconv.ScopesFromProto(resolved.GetScopes()), analysis.Options{Account: resolved.GetMetricsAccount()}); err != nil {
			return nil, nil, err
		}
	}
	return resolved, cfg, nil
}

// storedConfig is the body of a stored canary config.
func (s *Service) storedConfig(ctx context.Context, name string) (*structpb.Struct, error) {
	stored, err := s.store.GetConfig(ctx, name)
	if err != nil {
		return nil, err
	}
	body := &structpb.Struct{}
	if err := protojson.Unmarshal(stored.Body, body); err != nil {
		return nil, fmt.Errorf("stored config %q: %w", name, err)
	}
	return body, nil
}

// parseConfig parses a canary config body (native or Kayenta) within the
// server's limits; source names it in errors.
func (s *Service) parseConfig(body *structpb.Struct, source string) (*verdict.Config, error) {
	cfg, err := s.configs.parse(body, source)
	if err != nil {
		return nil, err
	}
	if n := len(cfg.Metrics); n > s.limits.MaxMetrics {
		return nil, fmt.Errorf("%s: %d metrics, more than the limit of %d: %w", source, n, s.limits.MaxMetrics, errInvalid)
	}
	return cfg, nil
}

// judge runs the verdict engine on a resolved spec: on its inline series,
// or on the series fetched for its scopes (returned too). id, when known,
// is the stored analysis the verdict is for; rec, when given, is a
// webhook's analysis for a sequence's look to store. A spec in a named
// sequence is that sequence's next look (judgeLook); one of a planned
// look/looks is tested at its share of the level.
func (s *Service) judge(ctx context.Context, spec *judgev1.AnalysisSpec, cfg *verdict.Config, id string, rec *webhookRecord) (*judgev1.Verdict, []*judgev1.MetricPair, error) {
	if s.beforeJudge != nil {
		s.beforeJudge(ctx, spec)
	}
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	if spec.GetSequence() != "" {
		return s.judgeLook(ctx, spec, cfg, id, rec)
	}
	var look *judgev1.SequenceLook
	alpha := cmp.Or(cfg.FamilyWiseError, 0.05)
	scale := 1.0 // the level tested over the config's own
	if looks := spec.GetLooks(); looks > 1 {
		// One look of a planned sequence: its share of the level.
		plan := sequence.Plan{Alpha: alpha, Looks: int(looks)}
		k := int(spec.GetLook())
		spent := *cfg
		spent.FamilyWiseError = plan.Level(k)
		cfg, scale = &spent, plan.Level(k)/alpha
		look = &judgev1.SequenceLook{Look: spec.GetLook(), Looks: looks, Level: plan.Level(k), Spent: plan.Spent(k)}
		if !plan.Last(k) {
			look.NextLevel = plan.Level(k + 1)
		}
	}
	res, series, err := s.evaluate(ctx, spec, cfg, false)
	if err != nil {
		return nil, nil, err
	}
	v := protoconv.VerdictToProto(res)
	v.Shadows = s.shadowVerdicts(ctx, cfg, scale, res, series, spec)
	if look != nil {
		v.Look = look
		v.Reason += fmt.Sprintf(" (look %d of %d, tested at level %.3g: %.3g of %.3g spent)", look.GetLook(), look.GetLooks(), look.GetLevel(), look.GetSpent(), alpha)
	}
	return v, series, nil
}

// evaluate judges a spec against cfg (whose level may be a look's share).
func (s *Service) evaluate(ctx context.Context, spec *judgev1.AnalysisSpec, cfg *verdict.Config, equivalence bool) (*verdict.Result, []*judgev1.MetricPair, error) {
	return s.startEvaluation(ctx, spec, cfg, equivalence).finish(cfg)
}

// evaluation is a spec being judged: its series fetched in the background
// (pending) when it gives scopes, or given inline.
type evaluation struct {
	s       *Service
	ctx     context.Context //nolint:containedctx // the request's, between start and finish
	spec    *judgev1.AnalysisSpec
	opts    verdict.Options
	pending *analysis.Pending
	start   time.Time
}

// startEvaluation begins evaluate: a spec given scopes starts fetching its
// series. finish or abandon must follow.
func (s *Service) startEvaluation(ctx context.Context, spec *judgev1.AnalysisSpec, cfg *verdict.Config, equivalence bool) *evaluation {
	e := &evaluation{s: s, ctx: ctx, spec: spec, start: time.Now(),
		opts: verdict.Options{Judge: verdict.JudgeName(spec.GetJudge()), Equivalence: equivalence}}
	if t := spec.GetThresholds(); t != nil {
		e.opts.Thresholds = &verdict.Thresholds{Pass: t.GetPass(), Marginal: t.GetMarginal()}
	}
	if len(spec.GetScopes()) > 0 {
		e.pending = s.runner.Start(ctx, cfg, protoconv.ScopesFromProto(spec.GetScopes()), analysis.Options{
			Account: spec.GetMetricsAccount(), Judge: e.opts.Judge, Thresholds: e.opts.Thresholds, Equivalence: equivalence,
		})
	}
	return e
}

// finish judges the spec's series against cfg: the config the evaluation
// started with, or a copy of it at another level.
func (e *evaluation) finish(cfg *verdict.Config) (*verdict.Result, []*judgev1.MetricPair, error) {
	if e.pending != nil {
		out, err := e.pending.Judge(cfg)
		if err != nil {
			return nil, nil, err
		}
		e.s.metrics.observeAnalysis(string(out.Result.Result), time.Since(e.start))
		return out.Result, protoconv.PairsToProto(out.Pairs), nil
	}
	pairs := inlinePairs(e.spec, cfg)
	res, err := analysis.JudgeInline(e.ctx, cfg, pairs, e.opts)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", errInvalid, err)
	}
	e.s.metrics.observeAnalysis(string(res.Result), time.Since(e.start))
	return res, nil, nil
}

// abandon stops an evaluation that will not be judged, for why.
func (e *evaluation) abandon(why error) {
	if e.pending != nil {
		e.pending.Abandon(why)
	}
}

// inlinePairs are the series a spec gives inline, with the windows of
// cfg's queries (analysis.FillWindows); a caller's error text is dropped.
func inlinePairs(spec *judgev1.AnalysisSpec, cfg *verdict.Config) []verdict.MetricSetPair {
	pairs := make([]verdict.MetricSetPair, len(spec.GetMetrics()))
	for i, m := range spec.GetMetrics() {
		pairs[i] = protoconv.PairFromProto(m)
		pairs[i].Error = ""
	}
	analysis.FillWindows(cfg, pairs)
	return pairs
}
