package server

import (
	"context"
	"encoding/json"

	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/canaryjudge/judge/analysis"
	judgev1 "github.com/canaryjudge/judge/proto/judge/v1"
	"github.com/canaryjudge/judge/store"
)

// judgeStored judges a claimed asynchronous analysis for an
// analysis.Worker: the stored spec is resolved and judged as a synchronous
// request would be, and the verdict and any fetched series are encoded for
// the store.
func (s *Service) judgeStored(ctx context.Context, a store.Analysis) store.Outcome {
	spec := &judgev1.AnalysisSpec{}
	if err := protojson.Unmarshal(a.Spec, spec); err != nil {
		s.log.Error("stored spec unreadable", "id", a.ID, "err", err)
		return store.Outcome{Error: "stored spec unreadable"}
	}
	resolved, cfg, err := s.resolve(ctx, spec)
	if err != nil {
		return s.failedOutcome(ctx, err)
	}
	v, series, err := s.judge(ctx, resolved, cfg)
	if err != nil {
		return s.failedOutcome(ctx, err)
	}
	var o store.Outcome
	if o.Verdict, err = protojson.Marshal(v); err != nil {
		s.log.Error("encode verdict", "id", a.ID, "err", err)
		return store.Outcome{Error: analysis.ErrInternal.Error()}
	}
	if series != nil {
		if o.Series, err = json.Marshal(pairsFromProto(series)); err != nil {
			s.log.Error("encode series", "id", a.ID, "err", err)
			o.Series = nil
		}
	}
	return o
}

// failedOutcome is the outcome of an analysis that could not be judged.
// One stopped because it was cancelled (or its lease lost) is not an
// internal error: the worker records nothing for it and logs it at INFO.
func (s *Service) failedOutcome(ctx context.Context, err error) store.Outcome {
	if ctx.Err() != nil {
		return store.Outcome{Error: "analysis stopped: " + context.Cause(ctx).Error()}
	}
	return store.Outcome{Error: s.clientMessage(err)}
}

// clientMessage is what a client may read of an error: what the API would
// answer (an unexpected error, such as one with SQL text, is logged and
// reads "internal error").
func (s *Service) clientMessage(err error) string {
	return status.Convert(s.grpcError(err)).Message()
}

// finished records an asynchronous analysis' outcome in the metrics and
// wakes its watchers.
func (s *Service) finished(id, outcome string) {
	s.metrics.asyncAnalyses.WithLabelValues(outcome).Inc()
	if outcome != "lost" {
		s.watchers.notify(id)
	}
}
