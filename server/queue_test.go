package server

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/canaryjudge/judge/store"
)

// TestQueueCollector checks the queue metrics from the store's state, and
// that a store that does not answer leaves them out without failing the
// scrape.
func TestQueueCollector(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_800_000_000, 0)
	c := newQueueCollector(func(context.Context) (store.Queue, error) {
		return store.Queue{Pending: 4, Running: 2, OldestPending: now.Add(-90 * time.Second)}, nil
	})
	c.now = func() time.Time { return now }
	want := `# HELP judge_queue_analyses Asynchronous analyses in the queue by status (pending, running), across replicas.
# TYPE judge_queue_analyses gauge
judge_queue_analyses{status="pending"} 4
judge_queue_analyses{status="running"} 2
# HELP judge_queue_oldest_pending_age_seconds Age of the oldest analysis waiting for a replica (0 when none waits).
# TYPE judge_queue_oldest_pending_age_seconds gauge
judge_queue_oldest_pending_age_seconds 90
`
	if err := testutil.CollectAndCompare(c, strings.NewReader(want)); err != nil {
		t.Error(err)
	}
	down := newQueueCollector(func(context.Context) (store.Queue, error) { return store.Queue{}, errors.New("database down") })
	reg := prometheus.NewRegistry()
	reg.MustRegister(down)
	if mfs, err := reg.Gather(); err != nil || len(mfs) != 0 {
		t.Errorf("store down: %d families, %v", len(mfs), err)
	}
}
