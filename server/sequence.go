package server

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/canaryjudge/judge/auth"
	judgev1 "github.com/canaryjudge/judge/proto/judge/v1"
	"github.com/canaryjudge/judge/protoconv"
	"github.com/canaryjudge/judge/sequence"
	"github.com/canaryjudge/judge/store"
	"github.com/canaryjudge/judge/verdict"
)

// maxSequenceBytes bounds a sequence's name: room for the names judge
// builds from a deployer's (argo:<namespace>/<AnalysisRun>/<uid>/<metric>,
// flagger:<namespace>/<name>/<checksum>) at Kubernetes' longest names.
const maxSequenceBytes = 1024

// checkSequence validates a spec's sequence fields.
func checkSequence(spec *judgev1.AnalysisSpec) error {
	name := spec.GetSequence()
	if name == "" {
		if spec.GetPassEarly() {
			return fmt.Errorf("spec.pass_early: needs spec.sequence: %w", errInvalid)
		}
		return nil
	}
	if len(name) > maxSequenceBytes || !utf8.ValidString(name) || strings.ContainsFunc(name, func(r rune) bool { return !unicode.IsPrint(r) }) {
		return fmt.Errorf("spec.sequence: want up to %d bytes of printable UTF-8: %w", maxSequenceBytes, errInvalid)
	}
	if err := auth.CheckSequenceName(name); err != nil {
		return fmt.Errorf("spec.sequence: %w (a sequence is read back at /v1/sequences/<name>): %w", err, errInvalid)
	}
	if spec.GetLook() != 0 {
		return fmt.Errorf("spec.look %d: a sequence numbers its own looks; leave look 0 with spec.sequence: %w", spec.GetLook(), errInvalid)
	}
	if looks := spec.GetLooks(); looks < 0 || looks > sequence.MaxLooks {
		return fmt.Errorf("spec.looks %d: want 0 (open-ended) to %d planned looks: %w", looks, sequence.MaxLooks, errInvalid)
	}
	return nil
}

// judgeLook judges the next look of the spec's sequence: the store numbers
// it (on any replica, across restarts), the look is tested at its share of
// the config's level (sequence.Plan), and its verdict and decision are
// stored. A sequence that established a regression answers FAIL at once;
// a look past the planned ones is FAIL; a look that reached no verdict is
// dropped, spending nothing.
func (s *Service) judgeLook(ctx context.Context, spec *judgev1.AnalysisSpec, cfg *verdict.Config, id string, rec *webhookRecord) (*judgev1.Verdict, []*judgev1.MetricPair, error) {
	name := spec.GetSequence()
	plan := sequence.Plan{Alpha: cmp.Or(cfg.FamilyWiseError, 0.05), Looks: int(spec.GetLooks()), PassEarly: spec.GetPassEarly()}
	// The series do not depend on the look's number: they are fetched
	// while the store numbers the look.
	eval := s.startEvaluation(ctx, spec, cfg, plan.PassEarly)
	seq, k, err := s.store.BeginLook(ctx, name, plan.Looks, auth.CallerFrom(ctx).Owner)
	if errors.Is(err, store.ErrSequencePlan) {
		eval.abandon(err)
		return nil, nil, fmt.Errorf("spec.looks: sequence %q: %w: %w", name, err, errInvalid)
	}
	if err != nil {
		eval.abandon(err)
		return nil, nil, err
	}
	failed := func(reason string, look int32) *judgev1.Verdict {
		return &judgev1.Verdict{Judge: cmp.Or(spec.GetJudge(), string(cfg.Judge)), Result: string(verdict.ResultFail), Reason: reason,
			Thresholds: &judgev1.Thresholds{Pass: cfg.Thresholds.Pass, Marginal: cfg.Thresholds.Marginal},
			Look:       &judgev1.SequenceLook{Sequence: name, Look: look, Looks: int32(plan.Looks), Decision: string(sequence.Fail)}} //nolint:gosec // at most sequence.MaxLooks
	}
	if seq.State == store.SequenceFailed {
		eval.abandon(errSequenceFailed)
		return failed(fmt.Sprintf("sequence %q has failed: %s", name, seq.Reason), 0), nil, nil
	}
	if err := plan.Check(k); err != nil {
		eval.abandon(err)
		if dropErr := s.store.DropLook(context.WithoutCancel(ctx), name, k); dropErr != nil {
			s.log.Warn("drop a look past the plan", "sequence", name, "look", k, "err", dropErr)
		}
		return failed(fmt.Sprintf("sequence %q: %v; start a new sequence to judge this canary again", name, err), int32(k)), nil, nil //nolint:gosec // at most sequence.MaxLooks
	}
	lookCfg := *cfg
	lookCfg.FamilyWiseError = plan.Level(k)
	res, series, err := eval.finish(&lookCfg)
	if err != nil {
		if dropErr := s.store.DropLook(context.WithoutCancel(ctx), name, k); dropErr != nil {
			s.log.Warn("drop a look that reached no verdict", "sequence", name, "look", k, "err", dropErr)
		}
		return nil, nil, err
	}
	decision, why, underpowered := plan.Decide(k, res)
	v := protoconv.VerdictToProto(res)
	v.Shadows = s.shadowVerdicts(ctx, &lookCfg, lookCfg.FamilyWiseError/plan.Alpha, res, series, spec)
	v.Reason = fmt.Sprintf("%s. Sequence %q, %s", res.Reason, name, why)
	v.Look = &judgev1.SequenceLook{Sequence: name, Look: int32(k), Looks: int32(plan.Looks), Level: plan.Level(k), //nolint:gosec // at most sequence.MaxLooks
		Spent: plan.Spent(k), Decision: string(decision), Underpowered: underpowered}
	if decision == sequence.Continue {
		v.Look.NextLevel = plan.Level(k + 1)
	}
	state := store.SequenceOpen
	switch decision {
	case sequence.Fail:
		state = store.SequenceFailed
	case sequence.PassEarly:
		state = store.SequencePassedEarly
	case sequence.Pass:
		state = store.SequencePassed
	}
	raw, err := protojson.Marshal(v)
	if err == nil {
		err = s.finishLook(ctx, name, k, id, raw, state, why, series, rec)
	}
	if err != nil && verdict.Outcome(v.GetResult()) != verdict.ResultFail {
		// What is not stored cannot be continued: no pass on it.
		return nil, nil, fmt.Errorf("store look %d of sequence %q: %w", k, name, err)
	}
	if err != nil {
		s.log.Warn("store a failing look", "sequence", name, "look", k, "err", err)
	}
	return v, series, nil
}

// finishLook stores a look's verdict, with the webhook's analysis rec in
// the same statement when given. An analysis that cannot be stored (or
// encoded) does not keep the look from being stored: the look is then
// finished alone and the webhook records the analysis, or says why not.
func (s *Service) finishLook(ctx context.Context, name string, k int, id string, raw []byte, state, why string, series []*judgev1.MetricPair, rec *webhookRecord) error {
	if rec != nil {
		err := rec.setOutcome(raw, series)
		if err == nil {
			err = s.store.FinishLookRecorded(ctx, name, k, id, raw, state, why, rec.Recorded)
		}
		if err == nil {
			rec.stored = true
			return nil
		}
		s.log.Warn("store a look with its webhook analysis; storing the look alone", "sequence", name, "look", k, "err", err)
	}
	return s.store.FinishLook(ctx, name, k, id, raw, state, why)
}

// GetSequence returns a stored sequence and a page of its looks.
func (s *Service) GetSequence(ctx context.Context, req *judgev1.GetSequenceRequest) (*judgev1.GetSequenceResponse, error) {
	if req.GetSequence() == "" {
		return nil, s.grpcError(fmt.Errorf("sequence: missing: %w", errInvalid))
	}
	if err := auth.CallerFrom(ctx).MayRead(req.GetSequence()); err != nil {
		return nil, s.grpcError(err)
	}
	size, err := lookPageSize(req.GetPageSize())
	if err != nil {
		return nil, s.grpcError(err)
	}
	after, err := lookPageToken(req.GetPageToken())
	if err != nil {
		return nil, s.grpcError(err)
	}
	seq, looks, next, err := s.store.GetSequence(ctx, req.GetSequence(), after, size)
	if err != nil {
		return nil, s.grpcError(err)
	}
	out := &judgev1.GetSequenceResponse{Sequence: seq.Name, Looks: int32(seq.Looks), State: seq.State, Reason: seq.Reason, //nolint:gosec // at most sequence.MaxLooks
		CreateTime: timestamppb.New(seq.CreatedAt), UpdateTime: timestamppb.New(seq.UpdatedAt)}
	if next > 0 {
		out.NextPageToken = "look:" + strconv.Itoa(next)
	}
	for _, l := range looks {
		rec := &judgev1.SequenceLookRecord{AnalysisId: l.AnalysisID, Time: timestamppb.New(l.At), Look: int32(l.Look)} //nolint:gosec // at most sequence.MaxLooks
		if len(l.Verdict) > 0 {
			rec.Verdict = &judgev1.Verdict{}
			if err := protojson.Unmarshal(l.Verdict, rec.Verdict); err != nil {
				s.log.Error("stored look unreadable", "sequence", seq.Name, "look", l.Look, "err", err)
				rec.Verdict = nil
			}
		}
		out.History = append(out.History, rec)
	}
	return out, nil
}

// lookPageSize is a page of looks' size: 0 means store.MaxLookPage.
func lookPageSize(n int32) (int, error) {
	if n < 0 || n > store.MaxLookPage {
		return 0, fmt.Errorf("page_size %d: want 1 to %d (0: %d): %w", n, store.MaxLookPage, store.MaxLookPage, errInvalid)
	}
	if n == 0 {
		return store.MaxLookPage, nil
	}
	return int(n), nil
}

// lookPageToken reads a page token of looks ("look:N", continue after look
// N); the empty token starts at the first look.
func lookPageToken(t string) (int, error) {
	if t == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(strings.TrimPrefix(t, "look:"))
	if !strings.HasPrefix(t, "look:") || err != nil || n < 1 || n > sequence.MaxLooks {
		return 0, fmt.Errorf("page_token %.40q: not a token this server issued: %w", t, errInvalid)
	}
	return n, nil
}
