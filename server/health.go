package server

import (
	"context"
	"fmt"
	"net/http"
	"time"
)

// probeState is the latest write probe's outcome (nil: it succeeded).
type probeState struct {
	err error
	at  time.Time
}

// probe writes to the database every interval (store.Probe) and records
// the outcome for /readyz, logging each change.
func (s *Service) probe(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for first := true; ; first = false {
		// The first probe checks every page; later ones write.
		timeout := min(interval, 5*time.Second)
		if first {
			timeout = time.Minute
		}
		pctx, cancel := context.WithTimeout(ctx, timeout)
		err := s.store.Probe(pctx, first)
		cancel()
		if ctx.Err() != nil {
			return
		}
		if prev := s.probed.Swap(&probeState{err: err, at: time.Now()}); prev == nil || (prev.err == nil) != (err == nil) {
			if err != nil {
				s.log.Error("the database cannot be written: not ready", "err", err)
			} else if prev != nil {
				s.log.Info("the database can be written again: ready")
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// ready serves /readyz: 503 while the latest write probe failed or the
// database does not answer, so a load balancer sends nothing to a replica
// whose writes would fail.
func (s *Service) ready(w http.ResponseWriter, r *http.Request) {
	if p := s.probed.Load(); p != nil && p.err != nil {
		http.Error(w, fmt.Sprintf("database cannot be written (probed %s ago)", time.Since(p.at).Round(time.Second)), http.StatusServiceUnavailable)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.store.Ping(ctx); err != nil {
		http.Error(w, "database unavailable", http.StatusServiceUnavailable)
		return
	}
	fmt.Fprintln(w, "ready")
}
