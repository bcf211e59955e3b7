package analysis

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"time"

	"github.com/cenkalti/backoff/v5"

	"github.com/canaryjudge/judge/store"
)

// ErrInternal is what an analysis that panicked records; the panic and its
// stack go to the log only.
var ErrInternal = errors.New("internal error")

// Queue is where asynchronous analyses wait; *store.Store implements it.
type Queue interface {
	Claim(ctx context.Context, owner string, lease time.Duration, maxAttempts int) (store.Analysis, error)
	Renew(ctx context.Context, id, owner string, lease time.Duration) error
	Finish(ctx context.Context, id, owner string, o store.Outcome) error
}

var _ Queue = (*store.Store)(nil)

// WorkerOutcome is how a worker's analysis ended (Worker.Finished).
type WorkerOutcome string

// Worker outcomes.
const (
	// Succeeded: judged, and the verdict stored.
	Succeeded WorkerOutcome = "succeeded"
	// Failed: stored as failed, with the reason it could not be judged.
	Failed WorkerOutcome = "failed"
	// Lost: not recorded by this worker (its lease was lost, the analysis
	// cancelled, or the store unreachable); it is claimed again or was
	// finished elsewhere.
	Lost WorkerOutcome = "lost"
)

// Worker claims stored analyses from a queue and runs them. It holds a
// lease on the analysis it runs and renews it; if the replica dies, the
// lease expires and a worker of any replica (or this one, restarted) claims
// it again, up to MaxAttempts claims in all.
type Worker struct {
	Queue Queue
	// Judge runs one claimed analysis and returns its outcome (a verdict
	// and series, or an error for a failed analysis). Its context is
	// cancelled when the lease is lost or the analysis cancelled.
	Judge       func(ctx context.Context, a store.Analysis) store.Outcome
	Owner       string
	Lease, Poll time.Duration
	MaxAttempts int
	Log         *slog.Logger
	// Finished, when set, is told how each analysis ended.
	Finished func(id string, outcome WorkerOutcome)
	// Panicked, when set, is told of each recovered panic.
	Panicked func()
}

// Run claims and runs analyses until ctx is done. The analysis in hand when
// ctx ends is finished first, so a graceful shutdown loses nothing; abort
// ends it early (a shutdown past its timeout), leaving it to be claimed
// again once its lease expires.
func (w *Worker) Run(ctx, abort context.Context) {
	claims := Claims[store.Analysis]{
		Claim: func(ctx context.Context) (store.Analysis, error) {
			return w.Queue.Claim(ctx, w.Owner, w.Lease, w.MaxAttempts)
		},
		Handle: func(a store.Analysis) { w.process(abort, a) },
		Poll:   w.Poll, Log: w.Log, What: "analysis",
	}
	claims.Run(ctx)
}

// errJudged ends the lease renewal once the analysis is judged.
var errJudged = errors.New("judged")

// process runs one claimed analysis and records its outcome.
func (w *Worker) process(abort context.Context, a store.Analysis) {
	ctx, cancel := context.WithCancelCause(abort)
	defer cancel(nil)
	renewed := make(chan struct{})
	go func() {
		defer close(renewed)
		w.renew(ctx, cancel, a.ID)
	}()

	o := w.judge(ctx, a)
	lost := context.Cause(ctx)
	cancel(errJudged)
	<-renewed
	if lost != nil {
		w.finished(a.ID, Lost)
		w.Log.Info("analysis not recorded", "id", a.ID, "reason", lost)
		return
	}
	finishCtx, done := context.WithTimeout(context.WithoutCancel(abort), 10*time.Second)
	defer done()
	if err := w.Queue.Finish(finishCtx, a.ID, w.Owner, o); err != nil {
		// An outcome the store refused (rather than a lost lease or a
		// database that is down) fails the analysis with the reason, so
		// it is not claimed again and again and never reads as judged.
		failed := store.Outcome{Error: "the outcome could not be stored; the analysis is failed rather than retried"}
		if errors.Is(err, store.ErrLeaseLost) || o.Verdict == nil || w.Queue.Finish(finishCtx, a.ID, w.Owner, failed) != nil {
			w.finished(a.ID, Lost)
			w.Log.Warn("record analysis outcome", "id", a.ID, "err", err)
			return
		}
		w.Log.Warn("analysis outcome refused by the store; recorded as failed", "id", a.ID, "err", err)
		o = failed
	}
	outcome := Succeeded
	if o.Verdict == nil {
		outcome = Failed
	}
	w.finished(a.ID, outcome)
	w.Log.Info("analysis finished", "id", a.ID, "outcome", outcome, "attempt", a.Attempts)
}

func (w *Worker) finished(id string, outcome WorkerOutcome) {
	if w.Finished != nil {
		w.Finished(id, outcome)
	}
}

// judge runs Judge, recovering a panic: the analysis fails with "internal
// error" and the replica keeps running.
func (w *Worker) judge(ctx context.Context, a store.Analysis) (o store.Outcome) {
	defer func() {
		if p := recover(); p != nil {
			if w.Panicked != nil {
				w.Panicked()
			}
			w.Log.Error("panic while judging an analysis", "id", a.ID, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			o = store.Outcome{Error: ErrInternal.Error()}
		}
	}()
	return w.Judge(ctx, a)
}

// renew extends the lease every third of its length until ctx ends. A
// transient database error is retried with backoff for as long as the lease
// would still hold; a lost lease, or one that ran out while the database was
// unreachable, cancels ctx with the reason.
func (w *Worker) renew(ctx context.Context, cancel context.CancelCauseFunc, id string) {
	t := time.NewTicker(w.Lease / 3)
	defer t.Stop()
	held := time.Now().Add(w.Lease) // a local, conservative estimate of the lease's end
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		_, err := backoff.Retry(ctx, func() (struct{}, error) {
			err := w.Queue.Renew(ctx, id, w.Owner, w.Lease)
			if errors.Is(err, store.ErrLeaseLost) {
				return struct{}{}, backoff.Permanent(err)
			}
			return struct{}{}, err
		}, backoff.WithBackOff(backoff.NewExponentialBackOff()), backoff.WithMaxElapsedTime(time.Until(held)))
		switch {
		case err == nil:
			held = time.Now().Add(w.Lease)
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
