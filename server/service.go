// Package server is judge's gRPC and HTTP/JSON service: synchronous
// analyses, stored asynchronous analyses run by workers of any replica, and
// stored canary configs.
package server

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync/atomic"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/canaryjudge/judge/analysis"
	"github.com/canaryjudge/judge/auth"
	"github.com/canaryjudge/judge/metrics"
	judgev1 "github.com/canaryjudge/judge/proto/judge/v1"
	"github.com/canaryjudge/judge/store"
	"github.com/canaryjudge/judge/verdict"
)

// The errors of this package.
var (
	// errInvalid marks a client mistake; it becomes INVALID_ARGUMENT.
	errInvalid = errors.New("invalid argument")
	// errBusy is returned when a synchronous analysis found no free slot in
	// time (admission); it becomes UNAVAILABLE, 503 with Retry-After.
	errBusy = errors.New("judge is busy")
	// errSequenceFailed ends the fetch of a look of a sequence that had
	// already failed (its answer is FAIL without judging).
	errSequenceFailed = errors.New("the sequence has failed")
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
	// admit bounds the synchronous analyses running at once.
	admit *admission
	// probed is the latest write probe of the database (nil before one).
	probed atomic.Pointer[probeState]
}

var _ judgev1.JudgeServiceServer = (*Service)(nil)

// NewService returns the service over st.
func NewService(st *store.Store, limits Limits, m *Metrics, log *slog.Logger) *Service {
	return &Service{store: st, limits: limits, metrics: m, log: log, watchPoll: time.Second,
		admit: newAdmission(DefaultMaxConcurrentAnalyses, DefaultAdmissionWait)}
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

// grpcError maps an error to a gRPC status at the edge of the service.
func (s *Service) grpcError(err error) error {
	switch {
	case errors.Is(err, errInvalid), errors.Is(err, verdict.ErrInvalidConfig), errors.Is(err, verdict.ErrInvalidData),
		errors.Is(err, store.ErrBadPageToken), errors.Is(err, analysis.ErrInvalidRequest), errors.Is(err, store.ErrInvalidLabel):
		return status.Error(codes.InvalidArgument, err.Error())
	case errors.Is(err, analysis.ErrConfig):
		return status.Error(codes.FailedPrecondition, err.Error())
	case errors.Is(err, auth.ErrNotOwner), errors.Is(err, store.ErrNotOwner):
		return status.Error(codes.PermissionDenied, err.Error())
	case errors.Is(err, store.ErrNotFound):
		return status.Error(codes.NotFound, err.Error())
	case errors.Is(err, errNoSource):
		return status.Error(codes.FailedPrecondition, err.Error())
	case errors.Is(err, errBusy):
		return status.Error(codes.Unavailable, err.Error())
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
// that cannot be reached or written (a network error, an error of the
// database itself such as a full disk, or a failing ping), as opposed to a
// bug.
func (s *Service) databaseDown(err error) bool {
	var netErr net.Error
	if errors.As(err, &netErr) || errors.Is(err, sql.ErrConnDone) || errors.Is(err, driver.ErrBadConn) || store.IsDatabaseError(err) {
		return true
	}
	if s.store == nil {
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	return s.store.Ping(ctx) != nil
}
