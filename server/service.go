// Package server is judge's gRPC and HTTP/JSON service: synchronous
// analyses, stored asynchronous analyses run by workers of any replica, and
// stored canary configs.
package server

import (
	"cmp"
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"regexp"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	otelcodes "go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/canaryjudge/judge/analysis"
	"github.com/canaryjudge/judge/kayenta"
	"github.com/canaryjudge/judge/metrics"
	judgev1 "github.com/canaryjudge/judge/proto/judge/v1"
	"github.com/canaryjudge/judge/sequence"
	"github.com/canaryjudge/judge/store"
	"github.com/canaryjudge/judge/tracing"
	"github.com/canaryjudge/judge/verdict"
)

// The errors of this package.
var (
	// errInvalid marks a client mistake; it becomes INVALID_ARGUMENT.
	errInvalid = errors.New("invalid argument")
	// errNoSource is returned for scopes while no metrics source is
	// configured; it becomes FAILED_PRECONDITION.
	errNoSource = errors.New("judge has no metrics account configured (metrics.accounts in judge serve's config), so it cannot fetch the baseline's and canary's series for this request (an Argo Rollouts or Flagger webhook, a Kayenta canary, spec.scopes): add an account, or send the samples inline in spec.metrics")
)

// Limits bound what one request may ask: the verdict engine's limits, the
// same for the CLI, gRPC and HTTP.
type Limits = verdict.Limits

// DefaultLimits are the limits of a server started without configuration.
var DefaultLimits = verdict.DefaultLimits

// Service implements judge.v1.JudgeService.
type Service struct {
	judgev1.UnimplementedJudgeServiceServer
	store   *store.Store
	limits  Limits
	metrics *Metrics
	// scoreMaxAge is how old a Flagger verdict may be and still count.
	scoreMaxAge time.Duration
	log         *slog.Logger
	// watchPoll is how often WatchAnalysis looks for a change made by
	// another replica; changes made here wake watchers at once.
	watchPoll time.Duration
	watchers  watchers
	configs   configCache
	// runner fetches the series of specs given scopes; nil without metrics
	// accounts.
	runner *analysis.Runner
	// beforeJudge, when set (by tests), runs before an analysis is judged.
	beforeJudge func(context.Context, *judgev1.AnalysisSpec)
}

// watchers wakes the watchers of an analysis when this replica changes it.
type watchers struct {
	mu sync.Mutex
	m  map[string][]chan struct{}
}

// subscribe returns a channel that receives after the next notify(id), and
// a function to stop listening.
func (w *watchers) subscribe(id string) (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	w.mu.Lock()
	if w.m == nil {
		w.m = map[string][]chan struct{}{}
	}
	w.m[id] = append(w.m[id], ch)
	w.mu.Unlock()
	return ch, func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		list := w.m[id]
		for i, c := range list {
			if c == ch {
				list = append(list[:i], list[i+1:]...)
				break
			}
		}
		if len(list) == 0 {
			delete(w.m, id)
		} else {
			w.m[id] = list
		}
	}
}

func (w *watchers) notify(id string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, ch := range w.m[id] {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

// configCache keeps recently parsed configs by their JSON text: deployers
// send the same config with every analysis. Parsed configs are never
// modified, so they are shared between requests.
type configCache struct {
	mu sync.Mutex
	m  map[string]*verdict.Config
}

// configCacheSize bounds the cache's entries, and configCacheMaxBytes the
// size of a config it keeps (larger ones are parsed every time), so the
// cache stays under 8 MiB.
const (
	configCacheSize     = 128
	configCacheMaxBytes = 64 << 10
)

func (c *configCache) parse(raw []byte, source string) (*verdict.Config, error) {
	c.mu.Lock()
	cfg, ok := c.m[string(raw)]
	c.mu.Unlock()
	if ok {
		return cfg, nil
	}
	cfg, err := kayenta.ParseConfig(raw, source)
	if err != nil {
		return nil, err
	}
	if len(raw) > configCacheMaxBytes {
		return cfg, nil
	}
	c.mu.Lock()
	if c.m == nil || len(c.m) >= configCacheSize {
		c.m = make(map[string]*verdict.Config, configCacheSize)
	}
	c.m[string(raw)] = cfg
	c.mu.Unlock()
	return cfg, nil
}

var _ judgev1.JudgeServiceServer = (*Service)(nil)

// NewService returns the service over st.
func NewService(st *store.Store, limits Limits, m *Metrics, log *slog.Logger) *Service {
	return &Service{store: st, limits: limits, metrics: m, log: log, watchPoll: time.Second}
}

// validate checks a spec as CreateAnalysis does, without storing it.
func (s *Service) validate(ctx context.Context, spec *judgev1.AnalysisSpec) error {
	if _, _, err := s.resolve(ctx, spec); err != nil {
		return s.grpcError(err)
	}
	return nil
}

// accounts lists the configured metrics accounts (no secrets in them).
func (s *Service) accounts() []metrics.Account {
	if s.runner == nil {
		return nil
	}
	return s.runner.Sources.Accounts()
}

// metricNames lists a metrics account's metric names (Kayenta's metrics
// service metadata).
func (s *Service) metricNames(ctx context.Context, account, filter string) ([]string, error) {
	if s.runner == nil {
		return nil, fmt.Errorf("%w: %w", analysis.ErrConfig, errNoSource)
	}
	return s.runner.Sources.MetricNames(ctx, account, filter)
}

// Analyze judges a canary synchronously.
func (s *Service) Analyze(ctx context.Context, req *judgev1.AnalyzeRequest) (*judgev1.AnalyzeResponse, error) {
	spec, cfg, err := s.resolve(ctx, req.GetSpec())
	if err != nil {
		return nil, s.grpcError(err)
	}
	v, series, err := s.judge(ctx, spec, cfg, "")
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
		for field, series := range map[string][]float64{"control": m.GetControl(), "experiment": m.GetExperiment(), "control_history": m.GetControlHistory()} {
			if len(series) > s.limits.MaxPoints {
				return nil, nil, fmt.Errorf("spec.metrics[%d] (%s).%s: %d points, more than the limit of %d: %w",
					i, m.GetName(), field, len(series), s.limits.MaxPoints, errInvalid)
			}
		}
		if st := m.GetStepSeconds(); st < 0 || st > analysis.MaxStepSeconds || math.IsNaN(st) || math.IsInf(st, 0) {
			return nil, nil, fmt.Errorf("spec.metrics[%d] (%s).step_seconds: %v is not a number of seconds from 0 to %d: %w", i, m.GetName(), st, analysis.MaxStepSeconds, errInvalid)
		}
		if ws := m.GetWindowSeconds(); ws < 0 || ws > analysis.MaxStepSeconds || math.IsNaN(ws) || math.IsInf(ws, 0) {
			return nil, nil, fmt.Errorf("spec.metrics[%d] (%s).window_seconds: %v is not a number of seconds from 0 to %d: %w", i, m.GetName(), ws, analysis.MaxStepSeconds, errInvalid)
		}
		for field, q := range map[string]string{"control_query": m.GetControlQuery(), "experiment_query": m.GetExperimentQuery()} {
			if len(q) > maxQueryBytes {
				return nil, nil, fmt.Errorf("spec.metrics[%d] (%s).%s: %d bytes, more than the limit of %d: %w", i, m.GetName(), field, len(q), maxQueryBytes, errInvalid)
			}
		}
	}
	if err := checkLabels(spec); err != nil {
		return nil, nil, err
	}
	if look, looks := spec.GetLook(), spec.GetLooks(); spec.GetSequence() == "" && (look != 0 || looks != 0) && (looks < 1 || looks > maxLooks || look < 1 || look > looks) {
		return nil, nil, fmt.Errorf("spec.look %d of spec.looks %d: want a look from 1 to looks, and 1 to %d looks: %w", look, looks, maxLooks, errInvalid)
	}
	if err := checkSequence(spec); err != nil {
		return nil, nil, err
	}
	thresholds := spec.GetThresholds()
	if t := thresholds; t != nil {
		// An empty thresholds object means the config's thresholds (95/75
		// unless the config says otherwise), as an absent one does.
		if t.GetPass() == 0 && t.GetMarginal() == 0 {
			thresholds = nil
		} else if err := (verdict.Thresholds{Pass: t.GetPass(), Marginal: t.GetMarginal()}).Check(); err != nil {
			return nil, nil, fmt.Errorf("spec.thresholds.%w: %w", err, errInvalid)
		}
	}
	if j := spec.GetJudge(); j != "" && j != verdict.JudgeDefault && j != verdict.JudgeKayenta {
		return nil, nil, fmt.Errorf("spec.judge: %q is not one of default, kayenta: %w", j, errInvalid)
	}

	var body *structpb.Struct
	source := "spec.canary_config"
	switch c := spec.GetConfig().(type) {
	case *judgev1.AnalysisSpec_CanaryConfig:
		body = c.CanaryConfig
	case *judgev1.AnalysisSpec_CanaryConfigName:
		stored, err := s.store.GetConfig(ctx, c.CanaryConfigName)
		if err != nil {
			return nil, nil, err
		}
		body = &structpb.Struct{}
		if err := protojson.Unmarshal(stored.Body, body); err != nil {
			return nil, nil, fmt.Errorf("stored config %q: %w", c.CanaryConfigName, err)
		}
		source = fmt.Sprintf("stored config %q", c.CanaryConfigName)
	default:
		return nil, nil, fmt.Errorf("spec: set canary_config or canary_config_name: %w", errInvalid)
	}
	// protojson also rejects what could not be stored with an asynchronous
	// analysis (a NaN number, a value with no kind), so Analyze and
	// CreateAnalysis accept the same configs.
	raw, err := protojson.Marshal(body)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %s: %w", source, strings.TrimPrefix(err.Error(), "proto: "), errInvalid)
	}
	cfg, err := s.configs.parse(raw, source)
	if err != nil {
		return nil, nil, err
	}
	if n := len(cfg.Metrics); n > s.limits.MaxMetrics {
		return nil, nil, fmt.Errorf("%s: %d metrics, more than the limit of %d: %w", source, n, s.limits.MaxMetrics, errInvalid)
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
		if err := s.runner.Check(cfg, scopesFromProto(resolved.GetScopes()), analysis.Options{Account: resolved.GetMetricsAccount()}); err != nil {
			return nil, nil, err
		}
	}
	return resolved, cfg, nil
}

// scopesFromProto converts the API's scopes to an analysis request.
func scopesFromProto(scopes map[string]*judgev1.ScopePair) *analysis.Request {
	req := &analysis.Request{Scopes: make(map[string]analysis.ScopePair, len(scopes))}
	side := func(s *judgev1.Scope) *analysis.Scope {
		if s == nil {
			return nil
		}
		out := &analysis.Scope{Scope: s.GetScope(), Location: s.GetLocation(), Step: s.GetStepSeconds(), ExtendedScopeParams: s.GetExtendedScopeParams()}
		if s.GetStart() != nil {
			out.Start = s.GetStart().AsTime()
		}
		if s.GetEnd() != nil {
			out.End = s.GetEnd().AsTime()
		}
		return out
	}
	for name, p := range scopes {
		req.Scopes[name] = analysis.ScopePair{Control: side(p.GetControlScope()), Experiment: side(p.GetExperimentScope())}
	}
	return req
}

// judge runs the verdict engine on a resolved spec: on its inline series,
// or on the series fetched for its scopes (returned too). id, when known,
// is the stored analysis the verdict is for. A spec in a named sequence is
// that sequence's next look (judgeLook); one of a planned look/looks is
// tested at its share of the level.
func (s *Service) judge(ctx context.Context, spec *judgev1.AnalysisSpec, cfg *verdict.Config, id string) (*judgev1.Verdict, []*judgev1.MetricPair, error) {
	if s.beforeJudge != nil {
		s.beforeJudge(ctx, spec)
	}
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	if spec.GetSequence() != "" {
		return s.judgeLook(ctx, spec, cfg, id)
	}
	var look *judgev1.SequenceLook
	alpha := cmp.Or(cfg.FamilyWiseError, 0.05)
	if looks := spec.GetLooks(); looks > 1 {
		// One look of a planned sequence: its share of the level.
		plan := sequence.Plan{Alpha: alpha, Looks: int(looks)}
		k := int(spec.GetLook())
		spent := *cfg
		spent.FamilyWiseError = plan.Level(k)
		cfg = &spent
		look = &judgev1.SequenceLook{Look: spec.GetLook(), Looks: looks, Level: plan.Level(k), Spent: plan.Spent(k)}
		if !plan.Last(k) {
			look.NextLevel = plan.Level(k + 1)
		}
	}
	res, series, err := s.evaluate(ctx, spec, cfg, false)
	if err != nil {
		return nil, nil, err
	}
	v := verdictToProto(res)
	if look != nil {
		v.Look = look
		v.Reason += fmt.Sprintf(" (look %d of %d, tested at level %.3g: %.3g of %.3g spent)", look.GetLook(), look.GetLooks(), look.GetLevel(), look.GetSpent(), alpha)
	}
	return v, series, nil
}

// evaluate judges a spec against cfg (whose level may be a look's share).
func (s *Service) evaluate(ctx context.Context, spec *judgev1.AnalysisSpec, cfg *verdict.Config, equivalence bool) (*verdict.Result, []*judgev1.MetricPair, error) {
	start := time.Now()
	opts := verdict.Options{Judge: spec.GetJudge(), Equivalence: equivalence}
	if t := spec.GetThresholds(); t != nil {
		opts.Thresholds = &verdict.Thresholds{Pass: t.GetPass(), Marginal: t.GetMarginal()}
	}
	if len(spec.GetScopes()) > 0 {
		out, err := s.runner.Run(ctx, cfg, scopesFromProto(spec.GetScopes()), analysis.Options{
			Account: spec.GetMetricsAccount(), Judge: opts.Judge, Thresholds: opts.Thresholds, Equivalence: equivalence,
		})
		if err != nil {
			return nil, nil, err
		}
		s.metrics.observeAnalysis(out.Result.Result, time.Since(start))
		return out.Result, pairsToProto(out.Pairs), nil
	}
	pairs := make([]verdict.MetricSetPair, len(spec.GetMetrics()))
	for i, m := range spec.GetMetrics() {
		pairs[i] = pairFromProto(m)
		pairs[i].Error = ""
	}
	analysis.FillWindows(cfg, pairs)
	_, span := tracing.Tracer().Start(ctx, "analysis", trace.WithAttributes(
		attribute.String("judge.config", cfg.Name), attribute.Int("judge.metrics", len(cfg.Metrics))))
	res, err := verdict.Analyze(cfg, pairs, opts)
	if err != nil {
		span.RecordError(err)
		span.SetStatus(otelcodes.Error, "invalid analysis")
		span.End()
		return nil, nil, fmt.Errorf("%w: %w", errInvalid, err)
	}
	span.SetAttributes(attribute.String("judge.result", res.Result), attribute.Float64("judge.score", res.Score))
	span.End()
	s.metrics.observeAnalysis(res.Result, time.Since(start))
	return res, nil, nil
}

// grpcError maps an error to a gRPC status at the edge of the service.
func (s *Service) grpcError(err error) error {
	switch {
	case errors.Is(err, errInvalid), errors.Is(err, verdict.ErrInvalidConfig), errors.Is(err, verdict.ErrInvalidData),
		errors.Is(err, store.ErrBadPageToken), errors.Is(err, analysis.ErrInvalidRequest):
		return status.Error(codes.InvalidArgument, err.Error())
	case errors.Is(err, analysis.ErrConfig):
		return status.Error(codes.FailedPrecondition, err.Error())
	case errors.Is(err, store.ErrNotFound):
		return status.Error(codes.NotFound, err.Error())
	case errors.Is(err, errNoSource):
		return status.Error(codes.FailedPrecondition, err.Error())
	case errors.Is(err, context.Canceled):
		return status.Error(codes.Canceled, "request cancelled")
	case errors.Is(err, context.DeadlineExceeded):
		return status.Error(codes.DeadlineExceeded, "deadline exceeded")
	}
	if s.databaseDown(err) {
		s.log.Warn("database unavailable", "err", err)
		return status.Error(codes.Unavailable, "database unavailable")
	}
	s.log.Error("internal error", "err", err)
	return status.Error(codes.Internal, "internal error")
}

// databaseDown reports whether an unexpected error comes from a database
// that cannot be reached (a network error, or a failing ping), as opposed to
// a bug.
func (s *Service) databaseDown(err error) bool {
	var netErr net.Error
	if errors.As(err, &netErr) || errors.Is(err, sql.ErrConnDone) || errors.Is(err, driver.ErrBadConn) {
		return true
	}
	if s.store == nil {
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	return s.store.Ping(ctx) != nil
}

// CreateAnalysis stores an analysis for the workers.
func (s *Service) CreateAnalysis(ctx context.Context, req *judgev1.CreateAnalysisRequest) (*judgev1.CreateAnalysisResponse, error) {
	spec, cfg, err := s.resolve(ctx, req.GetSpec())
	if err != nil {
		return nil, s.grpcError(err)
	}
	raw, err := protojson.Marshal(spec)
	if err != nil {
		return nil, s.grpcError(err)
	}
	name := cfg.Name
	if n, ok := req.GetSpec().GetConfig().(*judgev1.AnalysisSpec_CanaryConfigName); ok {
		name = n.CanaryConfigName
	}
	a, err := s.store.CreateAnalysis(ctx, name, spec.GetApplication(), raw)
	if err != nil {
		return nil, s.grpcError(err)
	}
	pa, err := analysisToProto(a, true)
	if err != nil {
		return nil, s.grpcError(err)
	}
	return &judgev1.CreateAnalysisResponse{Analysis: pa}, nil
}

// GetAnalysis returns one analysis.
func (s *Service) GetAnalysis(ctx context.Context, req *judgev1.GetAnalysisRequest) (*judgev1.GetAnalysisResponse, error) {
	a, err := s.store.GetAnalysis(ctx, req.GetId())
	if err != nil {
		return nil, s.grpcError(err)
	}
	pa, err := analysisToProto(a, true)
	if err != nil {
		return nil, s.grpcError(err)
	}
	return &judgev1.GetAnalysisResponse{Analysis: pa}, nil
}

// ListAnalyses lists analyses, newest first.
func (s *Service) ListAnalyses(ctx context.Context, req *judgev1.ListAnalysesRequest) (*judgev1.ListAnalysesResponse, error) {
	limit, err := pageSize(req.GetPageSize())
	if err != nil {
		return nil, s.grpcError(err)
	}
	f := store.AnalysisFilter{ConfigName: req.GetCanaryConfigName(), Application: req.GetApplication()}
	if st := req.GetStatus(); st != judgev1.AnalysisStatus_ANALYSIS_STATUS_UNSPECIFIED {
		f.Status = statusFromProto[st]
		if f.Status == "" {
			return nil, s.grpcError(fmt.Errorf("status: unknown value %d: %w", st, errInvalid))
		}
	}
	list, next, err := s.store.ListAnalyses(ctx, f, limit, req.GetPageToken())
	if err != nil {
		return nil, s.grpcError(err)
	}
	resp := &judgev1.ListAnalysesResponse{NextPageToken: next}
	for _, a := range list {
		pa, err := analysisToProto(a, false)
		if err != nil {
			return nil, s.grpcError(err)
		}
		resp.Analyses = append(resp.Analyses, pa)
	}
	return resp, nil
}

// CancelAnalysis cancels a pending or running analysis.
func (s *Service) CancelAnalysis(ctx context.Context, req *judgev1.CancelAnalysisRequest) (*judgev1.CancelAnalysisResponse, error) {
	a, err := s.store.CancelAnalysis(ctx, req.GetId())
	if err != nil {
		return nil, s.grpcError(err)
	}
	s.watchers.notify(a.ID)
	pa, err := analysisToProto(a, true)
	if err != nil {
		return nil, s.grpcError(err)
	}
	return &judgev1.CancelAnalysisResponse{Analysis: pa}, nil
}

// WatchAnalysis streams the analysis whenever its status changes. Between
// changes it reads only the analysis' status and update time: at once when
// this replica changes the analysis, and every watchPoll for changes made by
// other replicas. The stored spec is never loaded.
func (s *Service) WatchAnalysis(req *judgev1.WatchAnalysisRequest, stream judgev1.JudgeService_WatchAnalysisServer) error {
	ctx := stream.Context()
	changed, stop := s.watchers.subscribe(req.GetId())
	defer stop()
	ticker := time.NewTicker(s.watchPoll)
	defer ticker.Stop()
	var (
		last    store.Status
		updated time.Time
	)
	for {
		st, at, err := s.store.AnalysisState(ctx, req.GetId())
		if err != nil {
			return s.grpcError(err)
		}
		if st != last || !at.Equal(updated) {
			a, err := s.store.GetAnalysisSummary(ctx, req.GetId())
			if err != nil {
				return s.grpcError(err)
			}
			if a.Status != last {
				pa, err := analysisToProto(a, false)
				if err != nil {
					return s.grpcError(err)
				}
				if err := stream.Send(&judgev1.WatchAnalysisResponse{Analysis: pa}); err != nil {
					return err
				}
			}
			last, updated = a.Status, a.UpdatedAt
		}
		if last.Final() {
			return nil
		}
		select {
		case <-ctx.Done():
			return s.grpcError(ctx.Err())
		case <-changed:
		case <-ticker.C:
		}
	}
}

var configName = regexp.MustCompile(`^[A-Za-z0-9._-]{1,200}$`)

// PutCanaryConfig validates and stores a config.
func (s *Service) PutCanaryConfig(ctx context.Context, req *judgev1.PutCanaryConfigRequest) (*judgev1.PutCanaryConfigResponse, error) {
	if !configName.MatchString(req.GetName()) {
		return nil, s.grpcError(fmt.Errorf("name: %q must be 1–200 letters, digits, '.', '_' or '-': %w", req.GetName(), errInvalid))
	}
	if req.GetConfig() == nil {
		return nil, s.grpcError(fmt.Errorf("config: missing: %w", errInvalid))
	}
	raw, err := protojson.Marshal(req.GetConfig())
	if err != nil {
		return nil, s.grpcError(err)
	}
	if _, err := kayenta.ParseConfig(raw, "config"); err != nil {
		return nil, s.grpcError(err)
	}
	c, err := s.store.PutConfig(ctx, req.GetName(), raw)
	if err != nil {
		return nil, s.grpcError(err)
	}
	pc, err := configToProto(c, true)
	if err != nil {
		return nil, s.grpcError(err)
	}
	return &judgev1.PutCanaryConfigResponse{CanaryConfig: pc}, nil
}

// GetCanaryConfig returns a stored config.
func (s *Service) GetCanaryConfig(ctx context.Context, req *judgev1.GetCanaryConfigRequest) (*judgev1.GetCanaryConfigResponse, error) {
	c, err := s.store.GetConfig(ctx, req.GetName())
	if err != nil {
		return nil, s.grpcError(err)
	}
	pc, err := configToProto(c, true)
	if err != nil {
		return nil, s.grpcError(err)
	}
	return &judgev1.GetCanaryConfigResponse{CanaryConfig: pc}, nil
}

// ListCanaryConfigs lists stored configs by name.
func (s *Service) ListCanaryConfigs(ctx context.Context, req *judgev1.ListCanaryConfigsRequest) (*judgev1.ListCanaryConfigsResponse, error) {
	limit, err := pageSize(req.GetPageSize())
	if err != nil {
		return nil, s.grpcError(err)
	}
	list, next, err := s.store.ListConfigs(ctx, limit, req.GetPageToken())
	if err != nil {
		return nil, s.grpcError(err)
	}
	resp := &judgev1.ListCanaryConfigsResponse{NextPageToken: next}
	for _, c := range list {
		pc, err := configToProto(c, false)
		if err != nil {
			return nil, s.grpcError(err)
		}
		resp.CanaryConfigs = append(resp.CanaryConfigs, pc)
	}
	return resp, nil
}

// DeleteCanaryConfig deletes a stored config.
func (s *Service) DeleteCanaryConfig(ctx context.Context, req *judgev1.DeleteCanaryConfigRequest) (*judgev1.DeleteCanaryConfigResponse, error) {
	if err := s.store.DeleteConfig(ctx, req.GetName()); err != nil {
		return nil, s.grpcError(err)
	}
	return &judgev1.DeleteCanaryConfigResponse{}, nil
}

func pageSize(n int32) (int, error) {
	switch {
	case n == 0:
		return 50, nil
	case n < 0 || n > 1000:
		return 0, fmt.Errorf("page_size: %d is not in 1–1000: %w", n, errInvalid)
	}
	return int(n), nil
}

var statusToProto = map[store.Status]judgev1.AnalysisStatus{
	store.StatusPending:   judgev1.AnalysisStatus_ANALYSIS_STATUS_PENDING,
	store.StatusRunning:   judgev1.AnalysisStatus_ANALYSIS_STATUS_RUNNING,
	store.StatusSucceeded: judgev1.AnalysisStatus_ANALYSIS_STATUS_SUCCEEDED,
	store.StatusFailed:    judgev1.AnalysisStatus_ANALYSIS_STATUS_FAILED,
	store.StatusCanceled:  judgev1.AnalysisStatus_ANALYSIS_STATUS_CANCELED,
}

var statusFromProto = func() map[judgev1.AnalysisStatus]store.Status {
	m := make(map[judgev1.AnalysisStatus]store.Status, len(statusToProto))
	for k, v := range statusToProto {
		m[v] = k
	}
	return m
}()

func analysisToProto(a store.Analysis, withSpec bool) (*judgev1.Analysis, error) {
	pa := &judgev1.Analysis{
		Id:               a.ID,
		Status:           statusToProto[a.Status],
		CanaryConfigName: a.ConfigName,
		Error:            a.Error,
		CreateTime:       timestamppb.New(a.CreatedAt),
		UpdateTime:       timestamppb.New(a.UpdatedAt),
		Attempts:         int32(a.Attempts), //nolint:gosec // at most Config.MaxAttempts
	}
	if withSpec {
		pa.Spec = &judgev1.AnalysisSpec{}
		if err := protojson.Unmarshal(a.Spec, pa.Spec); err != nil {
			return nil, fmt.Errorf("stored spec of analysis %s: %w", a.ID, err)
		}
	}
	if withSpec && a.Series != nil {
		var pairs []verdict.MetricSetPair
		if err := json.Unmarshal(a.Series, &pairs); err != nil {
			return nil, fmt.Errorf("stored series of analysis %s: %w", a.ID, err)
		}
		pa.Series = pairsToProto(pairs)
	}
	if a.Verdict != nil {
		pa.Verdict = &judgev1.Verdict{}
		if err := protojson.Unmarshal(a.Verdict, pa.Verdict); err != nil {
			return nil, fmt.Errorf("stored verdict of analysis %s: %w", a.ID, err)
		}
	}
	return pa, nil
}

func configToProto(c store.Config, withBody bool) (*judgev1.CanaryConfig, error) {
	pc := &judgev1.CanaryConfig{Name: c.Name, Version: c.Version, UpdateTime: timestamppb.New(c.UpdatedAt)}
	if withBody {
		pc.Config = &structpb.Struct{}
		if err := protojson.Unmarshal(c.Body, pc.Config); err != nil {
			return nil, fmt.Errorf("stored config %q: %w", c.Name, err)
		}
	}
	return pc, nil
}
