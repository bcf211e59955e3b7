package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/canaryjudge/judge/auth"
	judgev1 "github.com/canaryjudge/judge/proto/judge/v1"
	"github.com/canaryjudge/judge/protoconv"
	"github.com/canaryjudge/judge/store"
	"github.com/canaryjudge/judge/verdict"
)

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
	owner := auth.CallerFrom(ctx).Owner
	if seq := spec.GetSequence(); seq != "" {
		// The look is queued: its sequence is claimed now, so another
		// owner's look is refused at once, not when a worker runs it.
		if _, err := s.store.ClaimSequence(ctx, seq, int(spec.GetLooks()), owner); err != nil {
			if errors.Is(err, store.ErrSequencePlan) {
				err = fmt.Errorf("spec.looks: sequence %q: %w: %w", seq, err, errInvalid)
			}
			return nil, s.grpcError(err)
		}
	}
	a, err := s.store.CreateAnalysis(ctx, name, spec.GetApplication(), owner, raw)
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
	a, err := s.store.CancelAnalysis(ctx, req.GetId(), auth.CallerFrom(ctx).Owner)
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
		Label:            a.Label,
		LabelledBy:       a.LabelledBy,
	}
	if !a.LabelledAt.IsZero() {
		pa.LabelTime = timestamppb.New(a.LabelledAt)
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
		pa.Series = protoconv.PairsToProto(pairs)
	}
	if a.Verdict != nil {
		pa.Verdict = &judgev1.Verdict{}
		if err := protojson.Unmarshal(a.Verdict, pa.Verdict); err != nil {
			return nil, fmt.Errorf("stored verdict of analysis %s: %w", a.ID, err)
		}
	}
	return pa, nil
}
