package server

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/canaryjudge/judge/analysis"
	"github.com/canaryjudge/judge/auth"
	judgev1 "github.com/canaryjudge/judge/proto/judge/v1"
	"github.com/canaryjudge/judge/protoconv"
	"github.com/canaryjudge/judge/sequence"
	"github.com/canaryjudge/judge/store"
	"github.com/canaryjudge/judge/verdict"
)

// maxReplayPage bounds the analyses one ReplayAnalyses call re-judges:
// each reads its stored series, which can be megabytes.
const maxReplayPage = 200

// LabelAnalysis records what a stored analysis turned out to be.
func (s *Service) LabelAnalysis(ctx context.Context, req *judgev1.LabelAnalysisRequest) (*judgev1.LabelAnalysisResponse, error) {
	owner := auth.CallerFrom(ctx).Owner
	a, err := s.store.SetLabel(ctx, req.GetId(), req.GetLabel(), owner, labeller(owner))
	if err != nil {
		return nil, s.grpcError(err)
	}
	pa, err := analysisToProto(a, false)
	if err != nil {
		return nil, s.grpcError(err)
	}
	return &judgev1.LabelAnalysisResponse{Analysis: pa}, nil
}

// labeller is who a label is recorded as set by: the token's owner, or,
// with authentication off, the one owner everyone is.
func labeller(owner string) string { return cmp.Or(owner, "anyone (authentication off)") }

// replayCandidate is what ReplayAnalyses judges stored series with: a
// config (nil: each analysis' own), a judge and thresholds (nil: each
// analysis' own).
type replayCandidate struct {
	cfg        *verdict.Config
	judge      verdict.JudgeName
	thresholds *verdict.Thresholds
}

// ReplayAnalyses re-judges stored analyses with a candidate.
func (s *Service) ReplayAnalyses(ctx context.Context, req *judgev1.ReplayAnalysesRequest) (*judgev1.ReplayAnalysesResponse, error) {
	if req.GetSince() == nil || !req.GetSince().IsValid() {
		return nil, s.grpcError(fmt.Errorf("since: required, the earliest creation time of the analyses to replay: %w", errInvalid))
	}
	limit := int(req.GetPageSize())
	switch {
	case limit == 0:
		limit = 50
	case limit < 0 || limit > maxReplayPage:
		return nil, s.grpcError(fmt.Errorf("page_size: %d is not in 1–%d: %w", limit, maxReplayPage, errInvalid))
	}
	cand, err := s.replayCandidate(ctx, req)
	if err != nil {
		return nil, s.grpcError(err)
	}
	f := store.AnalysisFilter{Status: store.StatusSucceeded, ConfigName: req.GetConfigName(), Since: req.GetSince().AsTime(), Labelled: req.GetLabelledOnly()}
	list, next, err := s.store.ListAnalyses(ctx, f, limit, req.GetPageToken())
	if err != nil {
		return nil, s.grpcError(err)
	}
	resp := &judgev1.ReplayAnalysesResponse{NextPageToken: next}
	for _, summary := range list {
		a, err := s.store.GetAnalysis(ctx, summary.ID)
		if err != nil {
			return nil, s.grpcError(err)
		}
		resp.Analyses = append(resp.Analyses, s.replay(ctx, a, cand))
	}
	return resp, nil
}

// replayCandidate checks the request's candidate.
func (s *Service) replayCandidate(ctx context.Context, req *judgev1.ReplayAnalysesRequest) (replayCandidate, error) {
	var c replayCandidate
	var err error
	switch cc := req.GetCandidate().(type) {
	case *judgev1.ReplayAnalysesRequest_CanaryConfig:
		c.cfg, err = s.parseConfig(cc.CanaryConfig, "canary_config")
	case *judgev1.ReplayAnalysesRequest_CanaryConfigName:
		body, gerr := s.storedConfig(ctx, cc.CanaryConfigName)
		if gerr != nil {
			return c, gerr
		}
		c.cfg, err = s.parseConfig(body, fmt.Sprintf("stored config %q", cc.CanaryConfigName))
	}
	if err != nil {
		return c, err
	}
	c.judge = verdict.JudgeName(req.GetJudge())
	if err := verdict.CheckJudge(c.judge); err != nil {
		return c, fmt.Errorf("judge: %w: %w", err, errInvalid)
	}
	if t := req.GetThresholds(); t != nil {
		checked, err := verdict.RequestThresholds(&verdict.Thresholds{Pass: t.GetPass(), Marginal: t.GetMarginal()})
		if err != nil {
			return c, fmt.Errorf("thresholds.%w: %w", err, errInvalid)
		}
		c.thresholds = checked
	}
	return c, nil
}

// replay re-judges one stored analysis; what cannot be re-judged says why
// in the answer's error, never failing the page.
func (s *Service) replay(ctx context.Context, a store.Analysis, c replayCandidate) *judgev1.ReplayedAnalysis {
	out := &judgev1.ReplayedAnalysis{Id: a.ID, CanaryConfigName: a.ConfigName, CreateTime: timestamppb.New(a.CreatedAt), Label: a.Label}
	recorded := &judgev1.Verdict{}
	if err := protojson.Unmarshal(a.Verdict, recorded); err != nil {
		out.Error = "its stored verdict cannot be read"
		return out
	}
	out.Recorded = replayVerdict(recorded)
	res, err := s.rejudge(ctx, a, recorded, c)
	if err != nil {
		out.Error = err.Error()
		return out
	}
	out.Candidate = replayVerdict(protoconv.VerdictToProto(res))
	return out
}

// rejudge judges a stored analysis' series as the server judged them —
// its config (or the candidate's), judge and thresholds, at the level of
// its look when it was one, with its sequence's decision — without
// fetching anything or storing anything.
func (s *Service) rejudge(ctx context.Context, a store.Analysis, recorded *judgev1.Verdict, c replayCandidate) (*verdict.Result, error) {
	spec := &judgev1.AnalysisSpec{}
	if err := protojson.Unmarshal(a.Spec, spec); err != nil {
		return nil, fmt.Errorf("its stored spec cannot be read")
	}
	cfg := c.cfg
	if cfg == nil {
		own, ok := spec.GetConfig().(*judgev1.AnalysisSpec_CanaryConfig)
		if !ok {
			return nil, fmt.Errorf("its stored spec holds no config")
		}
		var err error
		if cfg, err = s.parseConfig(own.CanaryConfig, "its config"); err != nil {
			return nil, err
		}
	}
	pairs, err := storedPairs(a, spec, cfg)
	if err != nil {
		return nil, err
	}
	if c.cfg != nil {
		// A candidate judges its own metrics: stored series of others are
		// left out, and its metrics the analysis never had are NODATA.
		pairs = pairsOf(c.cfg, pairs)
	}
	opts := verdict.Options{Judge: cmp.Or(c.judge, verdict.JudgeName(spec.GetJudge())), Thresholds: c.thresholds}
	if t := spec.GetThresholds(); opts.Thresholds == nil && t != nil {
		opts.Thresholds = &verdict.Thresholds{Pass: t.GetPass(), Marginal: t.GetMarginal()}
	}
	level := *cfg
	alpha := cmp.Or(cfg.FamilyWiseError, 0.05)
	var plan *sequence.Plan
	k := int(spec.GetLook())
	switch {
	case spec.GetSequence() != "":
		if k = int(recorded.GetLook().GetLook()); k == 0 {
			return nil, fmt.Errorf("the look was not judged: its sequence had already failed")
		}
		plan = &sequence.Plan{Alpha: alpha, Looks: int(spec.GetLooks()), PassEarly: spec.GetPassEarly()}
		level.FamilyWiseError, opts.Equivalence = plan.Level(k), plan.PassEarly
	case spec.GetLooks() > 1:
		level.FamilyWiseError = sequence.Plan{Alpha: alpha, Looks: int(spec.GetLooks())}.Level(k)
	}
	res, err := analysis.JudgeInline(ctx, &level, pairs, opts)
	if err != nil {
		return nil, err
	}
	if plan != nil {
		plan.Decide(k, res)
	}
	return res, nil
}

// storedPairs are the series a stored analysis was judged on: those it
// fetched, or those its spec gave inline.
func storedPairs(a store.Analysis, spec *judgev1.AnalysisSpec, cfg *verdict.Config) ([]verdict.MetricSetPair, error) {
	if len(spec.GetScopes()) > 0 {
		var pairs []verdict.MetricSetPair
		if err := json.Unmarshal(a.Series, &pairs); err != nil {
			return nil, fmt.Errorf("its stored series cannot be read")
		}
		return pairs, nil
	}
	return inlinePairs(spec, cfg), nil
}

// replayVerdict is the gist of a verdict.
func replayVerdict(v *judgev1.Verdict) *judgev1.ReplayVerdict {
	return &judgev1.ReplayVerdict{Judge: v.GetJudge(), Result: v.GetResult(), Score: v.GetScore(), Reason: v.GetReason()}
}

// pairsOf keeps the series of cfg's metrics: another config judges its
// own metrics on series fetched for the first, and its metrics the series
// lack are NODATA.
func pairsOf(cfg *verdict.Config, pairs []verdict.MetricSetPair) []verdict.MetricSetPair {
	return slices.DeleteFunc(slices.Clone(pairs), func(p verdict.MetricSetPair) bool {
		return !slices.ContainsFunc(cfg.Metrics, func(m verdict.Metric) bool { return m.Name == p.Name })
	})
}
