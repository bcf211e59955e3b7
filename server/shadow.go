package server

import (
	"cmp"
	"context"
	"fmt"

	"github.com/canaryjudge/judge/analysis"
	judgev1 "github.com/canaryjudge/judge/proto/judge/v1"
	"github.com/canaryjudge/judge/protoconv"
	"github.com/canaryjudge/judge/verdict"
)

// shadowVerdicts judges an analysis' series again with each of its
// config's shadows (verdict.Config.Shadow) — another judge on the same
// config, or another stored config — at the analysis' level (a look's
// share of the level scales a shadow config's own), and counts each in
// judge_shadow_verdicts_total. Shadows are never enforced: one that
// cannot judge says why in its error and changes nothing else. cfg is the
// analysis' config at the level it was tested, scale that level over the
// config's own (a look's share; 1 otherwise); series are the pairs it
// fetched (nil when the spec gave them inline).
func (s *Service) shadowVerdicts(ctx context.Context, cfg *verdict.Config, scale float64, enforced *verdict.Result, series []*judgev1.MetricPair, spec *judgev1.AnalysisSpec) []*judgev1.ShadowVerdict {
	if len(cfg.Shadow) == 0 {
		return nil
	}
	pairs := protoconv.PairsFromProto(series)
	if series == nil {
		pairs = inlinePairs(spec, cfg)
	}
	var thresholds *verdict.Thresholds
	if t := spec.GetThresholds(); t != nil {
		thresholds = &verdict.Thresholds{Pass: t.GetPass(), Marginal: t.GetMarginal()}
	}
	out := make([]*judgev1.ShadowVerdict, 0, len(cfg.Shadow))
	for _, sh := range cfg.Shadow {
		v := &judgev1.ShadowVerdict{Shadow: sh.Name()}
		res, err := s.shadowJudge(ctx, sh, cfg, scale, pairs, thresholds)
		if err != nil {
			v.Error = err.Error()
		} else {
			v.Judge, v.Result, v.Score, v.Reason = string(res.Judge), string(res.Result), res.Score, res.Reason
		}
		s.metrics.shadows.WithLabelValues(cfg.Name, sh.Name(), string(enforced.Result), cmp.Or(v.Result, "ERROR")).Inc()
		out = append(out, v)
	}
	return out
}

// shadowJudge is one shadow's verdict on the pairs.
func (s *Service) shadowJudge(ctx context.Context, sh verdict.Shadow, cfg *verdict.Config, scale float64, pairs []verdict.MetricSetPair, thresholds *verdict.Thresholds) (*verdict.Result, error) {
	if sh.Judge != "" {
		return analysis.Judge(ctx, cfg, pairs, verdict.Options{Judge: sh.Judge, Thresholds: thresholds})
	}
	body, err := s.storedConfig(ctx, sh.Config)
	if err != nil {
		return nil, fmt.Errorf("shadow config %q: %w", sh.Config, err)
	}
	other, err := s.parseConfig(body, fmt.Sprintf("stored config %q", sh.Config))
	if err != nil {
		return nil, err
	}
	// A look's share of the level applies to the shadow's own level.
	scaled := *other
	scaled.FamilyWiseError *= scale
	return analysis.Judge(ctx, &scaled, pairsOf(&scaled, pairs), verdict.Options{Thresholds: thresholds})
}
