package analysis

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/canaryjudge/judge/store"
)

// TestClaims drives the shared claim loop through an outage: claiming fails
// three times (logged once, not per poll), then works (logged once), hands
// over the claimed work, finds no more and stops with its context.
func TestClaims(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var logged bytes.Buffer
	results := []error{errors.New("db down"), errors.New("db down"), errors.New("db down"), nil, store.ErrNotFound}
	var claimed, handled []int
	c := Claims[int]{
		Claim: func(context.Context) (int, error) {
			n := len(claimed)
			claimed = append(claimed, n)
			if n >= len(results) {
				cancel()
				return 0, store.ErrNotFound
			}
			return n, results[n]
		},
		Handle:  func(n int) { handled = append(handled, n) },
		Poll:    time.Millisecond,
		MaxWait: 4 * time.Millisecond,
		Log:     slog.New(slog.NewTextHandler(&logged, nil)),
		What:    "thing",
	}
	done := make(chan struct{})
	go func() { c.Run(ctx); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Claims.Run did not stop with its context")
	}
	if len(handled) != 1 || handled[0] != 3 {
		t.Errorf("handled %v, want [3] (the one claim that succeeded)", handled)
	}
	if len(claimed) != len(results)+1 {
		t.Errorf("claimed %d times, want %d", len(claimed), len(results)+1)
	}
	log := logged.String()
	if n := strings.Count(log, "claim failed; backing off"); n != 1 {
		t.Errorf("the outage was logged %d times, want once:\n%s", n, log)
	}
	if n := strings.Count(log, "claiming works again"); n != 1 {
		t.Errorf("the recovery was logged %d times, want once:\n%s", n, log)
	}
	if !strings.Contains(log, "work=thing") {
		t.Errorf("the log does not name the work:\n%s", log)
	}
}

func TestRetryDelay(t *testing.T) {
	for _, tc := range []struct{ poll, want time.Duration }{
		{time.Millisecond, time.Second},
		{200 * time.Millisecond, 4 * time.Second},
		{5 * time.Second, 30 * time.Second},
	} {
		if got := RetryDelay(tc.poll); got != tc.want {
			t.Errorf("RetryDelay(%v) = %v, want %v", tc.poll, got, tc.want)
		}
	}
}
