package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"runtime/debug"
	"time"

	"github.com/cenkalti/backoff/v5"
	"google.golang.org/protobuf/encoding/protojson"

	judgev1 "github.com/canaryjudge/judge/proto/judge/v1"
	"github.com/canaryjudge/judge/store"
)

// errInternal is what an analysis that panicked records; the panic and its
// stack go to the log only.
var errInternal = errors.New("internal error")

// worker claims stored analyses and runs them. A worker holds a lease on the
// analysis it runs and renews it; if the replica dies, the lease expires and
// a worker of any replica (or this one, restarted) claims it again, up to
// maxAttempts claims in all.
type worker struct {
	svc         *Service
	owner       string
	lease       time.Duration
	poll        time.Duration
	maxAttempts int
	log         *slog.Logger
}

// run claims and runs analyses until ctx is done. The analysis in hand when
// ctx ends is finished first, so a graceful shutdown loses nothing; abort
// ends it early (a shutdown past its timeout), leaving it to be claimed
// again once its lease expires.
func (w *worker) run(ctx, abort context.Context) {
	for ctx.Err() == nil {
		a, err := w.svc.store.Claim(ctx, w.owner, w.lease, w.maxAttempts)
		switch {
		case err == nil:
			w.process(abort, a)
			continue
		case errors.Is(err, store.ErrNotFound), ctx.Err() != nil:
		default:
			w.log.Warn("claim analysis", "err", err)
		}
		// Jitter keeps the replicas' polls apart.
		wait := w.poll/2 + rand.N(w.poll) //nolint:gosec // jitter, not a secret
		select {
		case <-ctx.Done():
		case <-time.After(wait):
		}
	}
}

// errJudged ends the lease renewal once the analysis is judged.
var errJudged = errors.New("judged")

// process runs one claimed analysis and records its outcome. Judging runs
// under a context that is cancelled when the lease is lost (another worker
// took over, or the analysis was cancelled) or when abort ends.
func (w *worker) process(abort context.Context, a store.Analysis) {
	ctx, cancel := context.WithCancelCause(abort)
	defer cancel(nil)
	renewed := make(chan struct{})
	go func() {
		defer close(renewed)
		w.renew(ctx, cancel, a.ID)
	}()

	verdict, series, runErr := w.judge(ctx, a)
	lost := context.Cause(ctx)
	cancel(errJudged)
	<-renewed
	if lost != nil {
		w.svc.metrics.asyncAnalyses.WithLabelValues("lost").Inc()
		w.log.Info("analysis not recorded", "id", a.ID, "reason", lost)
		return
	}
	var o store.Outcome
	if runErr != nil {
		o.Error = runErr.Error()
	} else if o.Verdict, runErr = protojson.Marshal(verdict); runErr != nil {
		w.log.Error("encode verdict", "id", a.ID, "err", runErr)
		o.Error, o.Verdict = errInternal.Error(), nil
	}
	if series != nil {
		if o.Series, runErr = json.Marshal(pairsFromProto(series)); runErr != nil {
			w.log.Error("encode series", "id", a.ID, "err", runErr)
			o.Series = nil
		}
	}
	raw := o.Verdict
	finishCtx, done := context.WithTimeout(context.WithoutCancel(abort), 10*time.Second)
	defer done()
	if err := w.svc.store.Finish(finishCtx, a.ID, w.owner, o); err != nil {
		w.svc.metrics.asyncAnalyses.WithLabelValues("lost").Inc()
		w.log.Warn("record analysis outcome", "id", a.ID, "err", err)
		return
	}
	w.svc.watchers.notify(a.ID)
	outcome := "succeeded"
	if raw == nil {
		outcome = "failed"
	}
	w.svc.metrics.asyncAnalyses.WithLabelValues(outcome).Inc()
	w.log.Info("analysis finished", "id", a.ID, "outcome", outcome, "attempt", a.Attempts)
}

// judge resolves and judges a stored analysis. A panic is recovered: the
// analysis fails with "internal error" and the replica keeps running.
func (w *worker) judge(ctx context.Context, a store.Analysis) (v *judgev1.Verdict, series []*judgev1.MetricPair, err error) {
	defer func() {
		if p := recover(); p != nil {
			w.svc.metrics.panics.Inc()
			w.log.Error("panic while judging an analysis", "id", a.ID, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			v, series, err = nil, nil, errInternal
		}
	}()
	spec := &judgev1.AnalysisSpec{}
	if err := protojson.Unmarshal(a.Spec, spec); err != nil {
		w.log.Error("stored spec unreadable", "id", a.ID, "err", err)
		return nil, nil, errors.New("stored spec unreadable")
	}
	resolved, cfg, err := w.svc.resolve(ctx, spec)
	if err != nil {
		return nil, nil, err
	}
	return w.svc.judge(ctx, resolved, cfg)
}

// renew extends the lease every third of its length until ctx ends. A
// transient database error is retried with backoff for as long as the lease
// would still hold; a lost lease, or one that ran out while the database was
// unreachable, cancels ctx with the reason.
func (w *worker) renew(ctx context.Context, cancel context.CancelCauseFunc, id string) {
	t := time.NewTicker(w.lease / 3)
	defer t.Stop()
	held := time.Now().Add(w.lease) // a local, conservative estimate of the lease's end
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		_, err := backoff.Retry(ctx, func() (struct{}, error) {
			err := w.svc.store.Renew(ctx, id, w.owner, w.lease)
			if errors.Is(err, store.ErrLeaseLost) {
				return struct{}{}, backoff.Permanent(err)
			}
			return struct{}{}, err
		}, backoff.WithBackOff(backoff.NewExponentialBackOff()), backoff.WithMaxElapsedTime(time.Until(held)))
		switch {
		case err == nil:
			held = time.Now().Add(w.lease)
		case ctx.Err() != nil:
			return
		case errors.Is(err, store.ErrLeaseLost):
			cancel(err)
			return
		default:
			cancel(fmt.Errorf("lease of analysis %s expired while renewing failed: %w", id, err))
			return
		}
	}
}
