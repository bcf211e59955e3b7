package analysis

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/canaryjudge/judge/store"
)

// Claims is the polling loop shared by everything that claims stored work
// under a lease: the analysis worker and the standalone scheduler. It
// claims and hands over work until its context ends, waits Poll (with
// jitter) when there is none, and backs off to MaxWait, logging once, while
// claiming fails (the database is down), so a replica neither floods the
// log nor the database during an outage.
type Claims[T any] struct {
	// Claim takes the next piece of work, or store.ErrNotFound when there
	// is none.
	Claim func(ctx context.Context) (T, error)
	// Handle runs one claimed piece of work to its end.
	Handle func(T)
	// Poll is the wait between claims when there is no work; MaxWait the
	// longest wait while claiming fails (RetryDelay(Poll) when zero).
	Poll, MaxWait time.Duration
	Log           *slog.Logger
	// What names the work in the log ("analysis").
	What string
}

// RetryDelay is how long a claimer waits, at most, before it tries again
// while the database is unreachable: 20 polls, between 1 s and 30 s.
func RetryDelay(poll time.Duration) time.Duration {
	return min(max(20*poll, time.Second), 30*time.Second)
}

// Run claims until ctx is done.
func (c *Claims[T]) Run(ctx context.Context) {
	maxWait := c.MaxWait
	if maxWait <= 0 {
		maxWait = RetryDelay(c.Poll)
	}
	wait, failing := c.Poll, false
	for ctx.Err() == nil {
		item, err := c.Claim(ctx)
		switch {
		case err == nil:
			if failing {
				c.Log.Info("claiming works again", "work", c.What)
			}
			wait, failing = c.Poll, false
			c.Handle(item)
			continue
		case errors.Is(err, store.ErrNotFound), ctx.Err() != nil:
			wait = c.Poll
		default:
			// The first failure waits one poll, as an empty queue does;
			// each further one twice as long, up to maxWait.
			if failing {
				wait = min(2*wait, maxWait)
			} else {
				c.Log.Warn("claim failed; backing off", "work", c.What, "err", err)
				wait = c.Poll
			}
			failing = true
		}
		// Jitter keeps the replicas' polls apart.
		select {
		case <-ctx.Done():
		case <-time.After(wait/2 + rand.N(wait+1)): //nolint:gosec // jitter, not a secret
		}
	}
}
