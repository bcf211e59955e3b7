package server

import (
	"context"
	"encoding/json"

	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/canaryjudge/judge/analysis"
	"github.com/canaryjudge/judge/auth"
	judgev1 "github.com/canaryjudge/judge/proto/judge/v1"
	"github.com/canaryjudge/judge/protoconv"
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
	// The look is its creator's, whose rights were checked when it was
	// created.
	ctx = auth.WithCaller(ctx, auth.Caller{Owner: a.CreatedBy})
	resolved, cfg, err := s.resolve(ctx, spec)
	if err != nil {
		return s.failedOutcome(ctx, err)
	}
	v, series, err := s.judge(ctx, resolved, cfg, a.ID, nil)
	if err != nil {
		return s.failedOutcome(ctx, err)
	}
	var o store.Outcome
	if o.Verdict, err = protojson.Marshal(v); err != nil {
		s.log.Error("encode verdict", "id", a.ID, "err", err)
		return store.Outcome{Error: analysis.ErrInternal.Error()}
	}
	if series != nil {
		if o.Series, err = json.Marshal(protoconv.PairsFromProto(series)); err != nil {
			s.log.Error("encode series", "id", a.ID, "err", err)
			o.Series = nil
		}
	}
	return o
}

// analyzeRecorded judges a spec synchronously, as Analyze does, and stores
// the judged analysis, finished, so that a deployer's webhook can answer
// with its id and report. The id is drawn first, and a sequence's look
// stores the analysis in the statement that finishes it. A failure to
// store the analysis is logged, unlinks the look and leaves the id empty:
// the verdict stands either way.
func (s *Service) analyzeRecorded(ctx context.Context, spec *judgev1.AnalysisSpec) (string, *judgev1.Verdict, error) {
	resolved, cfg, err := s.resolve(ctx, spec)
	if err != nil {
		return "", nil, s.grpcError(err)
	}
	id, err := store.NewID()
	if err != nil {
		return "", nil, s.grpcError(err)
	}
	rec := &webhookRecord{Recorded: store.Recorded{ConfigName: cfg.Name, Application: resolved.GetApplication()}}
	if n, ok := spec.GetConfig().(*judgev1.AnalysisSpec_CanaryConfigName); ok {
		rec.ConfigName = n.CanaryConfigName
	}
	if rec.Spec, err = protojson.Marshal(resolved); err != nil {
		// Judged all the same; the analysis cannot be stored.
		s.log.Error("encode a webhook analysis", "err", err)
		rec, id = nil, ""
	}
	release, err := s.admit.enter(ctx)
	if err != nil {
		return "", nil, s.grpcError(err)
	}
	defer release()
	v, series, err := s.judge(ctx, resolved, cfg, id, rec)
	if err != nil {
		return "", nil, s.grpcError(err)
	}
	if rec == nil || rec.stored {
		return id, v, nil
	}
	verdictJSON, err := protojson.Marshal(v)
	if err == nil {
		err = rec.setOutcome(verdictJSON, series)
	}
	if err == nil {
		err = s.store.RecordAnalysis(ctx, id, rec.Recorded)
	}
	if err == nil {
		return id, v, nil
	}
	s.log.Warn("store a webhook analysis", "err", err)
	if l := v.GetLook(); l.GetSequence() != "" && l.GetLook() > 0 {
		if err := s.store.LinkLook(context.WithoutCancel(ctx), l.GetSequence(), int(l.GetLook()), ""); err != nil {
			s.log.Warn("unlink a look from its unstored analysis", "sequence", l.GetSequence(), "err", err)
		}
	}
	return "", v, nil
}

// webhookRecord is a webhook's analysis for the look that judges it to
// store as it is finished (store.FinishLookRecorded); the look fills its
// outcome, and stored says it was stored.
type webhookRecord struct {
	store.Recorded
	stored bool
}

// setOutcome sets the analysis' outcome: the verdict's JSON and, when the
// spec fetched them, the series.
func (r *webhookRecord) setOutcome(verdict []byte, series []*judgev1.MetricPair) error {
	r.Outcome = store.Outcome{Verdict: verdict}
	if series == nil {
		return nil
	}
	var err error
	r.Outcome.Series, err = json.Marshal(protoconv.PairsFromProto(series))
	return err
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
func (s *Service) finished(id string, outcome analysis.WorkerOutcome) {
	s.metrics.asyncAnalyses.WithLabelValues(string(outcome)).Inc()
	if outcome != analysis.Lost {
		s.watchers.notify(id)
	}
}
