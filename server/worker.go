package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"google.golang.org/protobuf/encoding/protojson"

	judgev1 "github.com/canaryjudge/judge/proto/judge/v1"
	"github.com/canaryjudge/judge/store"
)

// worker claims stored analyses and runs them. A worker holds a lease on the
// analysis it runs and renews it; if the replica dies, the lease expires and
// a worker of any replica (or this one, restarted) claims it again.
type worker struct {
	svc   *Service
	owner string
	lease time.Duration
	poll  time.Duration
	log   *slog.Logger
}

// run claims and runs analyses until ctx is done. The analysis in hand when
// ctx ends is finished first, so a graceful shutdown loses nothing.
func (w *worker) run(ctx context.Context) {
	for ctx.Err() == nil {
		a, err := w.svc.store.Claim(ctx, w.owner, w.lease)
		switch {
		case err == nil:
			w.process(a)
			continue
		case errors.Is(err, store.ErrNotFound), ctx.Err() != nil:
		default:
			w.log.Warn("claim analysis", "err", err)
		}
		// Jitter keeps the replicas' polls apart.
		wait := w.poll/2 + rand.N(w.poll)
		select {
		case <-ctx.Done():
		case <-time.After(wait):
		}
	}
}

// process runs one claimed analysis and records its outcome. It does not
// depend on the worker's context: once claimed, an analysis is finished.
func (w *worker) process(a store.Analysis) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	renewed := make(chan error, 1)
	go func() { renewed <- w.renew(ctx, a.ID) }()

	verdict, runErr := w.judge(a)
	cancel()
	if err := <-renewed; err != nil {
		w.svc.metrics.asyncAnalyses.WithLabelValues("lost").Inc()
		w.log.Info("analysis lost while running", "id", a.ID, "reason", err)
		return
	}
	var (
		raw    []byte
		errMsg string
	)
	if runErr != nil {
		errMsg = runErr.Error()
	} else if raw, runErr = protojson.Marshal(verdict); runErr != nil {
		errMsg = "encode verdict: " + runErr.Error()
		raw = nil
	}
	finishCtx, done := context.WithTimeout(context.Background(), 10*time.Second)
	defer done()
	if err := w.svc.store.Finish(finishCtx, a.ID, w.owner, raw, errMsg); err != nil {
		w.svc.metrics.asyncAnalyses.WithLabelValues("lost").Inc()
		w.log.Warn("record analysis outcome", "id", a.ID, "err", err)
		return
	}
	outcome := "succeeded"
	if raw == nil {
		outcome = "failed"
	}
	w.svc.metrics.asyncAnalyses.WithLabelValues(outcome).Inc()
	w.log.Info("analysis finished", "id", a.ID, "outcome", outcome, "attempt", a.Attempts)
}

func (w *worker) judge(a store.Analysis) (*judgev1.Verdict, error) {
	spec := &judgev1.AnalysisSpec{}
	if err := protojson.Unmarshal(a.Spec, spec); err != nil {
		return nil, fmt.Errorf("stored spec: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), w.lease)
	defer cancel()
	resolved, cfg, err := w.svc.resolve(ctx, spec)
	if err != nil {
		return nil, err
	}
	return w.svc.judge(resolved, cfg)
}

// renew extends the lease every third of its length until ctx ends, and
// reports a lost lease (cancellation, or another worker took over).
func (w *worker) renew(ctx context.Context, id string) error {
	t := time.NewTicker(w.lease / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			// One last check: a cancellation while running wins.
			check, done := context.WithTimeout(context.Background(), 5*time.Second)
			defer done()
			return w.svc.store.Renew(check, id, w.owner, w.lease)
		case <-t.C:
			if err := w.svc.store.Renew(ctx, id, w.owner, w.lease); err != nil && ctx.Err() == nil {
				return err
			}
		}
	}
}
