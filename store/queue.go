package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Claim hands the oldest pending analysis, or a running one whose lease
// expired, to owner for the lease duration. An analysis that has already
// been claimed maxAttempts times and whose lease expired (its worker died
// each time) is failed instead of claimed again, so one poisonous analysis
// cannot take every replica down forever. It returns ErrNotFound when there
// is nothing to do. Lease deadlines are set and compared on the database's
// clock. On PostgreSQL, concurrent claims from several replicas skip each
// other's rows (FOR UPDATE SKIP LOCKED), so each analysis goes to exactly one
// worker at a time.
func (s *Store) Claim(ctx context.Context, owner string, lease time.Duration, maxAttempts int) (Analysis, error) {
	clock := "(" + s.dialect.clock + ")"
	if _, err := s.exec(ctx, `UPDATE analyses
		SET status = ?, error = ?, owner = '', lease_until = 0, updated_at = `+clock+`
		WHERE status = ? AND lease_until < `+clock+` AND attempts >= ?`,
		string(StatusFailed), fmt.Sprintf("gave up after %d attempts: the replica running it stopped each time", maxAttempts),
		string(StatusRunning), maxAttempts); err != nil {
		return Analysis{}, fmt.Errorf("claim analysis: fail exhausted analyses: %w", err)
	}
	a, err := scanAnalysis(s.queryRow(ctx, `UPDATE analyses
		SET status = ?, owner = ?, lease_until = `+clock+` + ?, attempts = attempts + 1, updated_at = `+clock+`
		WHERE id = (
			SELECT id FROM analyses
			WHERE status = ? OR (status = ? AND lease_until < `+clock+` AND attempts < ?)
			ORDER BY created_at LIMIT 1 `+s.dialect.skipLocked+`)
		RETURNING `+analysisColumns,
		string(StatusRunning), owner, lease.Nanoseconds(),
		string(StatusPending), string(StatusRunning), maxAttempts))
	if errors.Is(err, sql.ErrNoRows) {
		return Analysis{}, ErrNotFound
	}
	if err != nil {
		return Analysis{}, fmt.Errorf("claim analysis: %w", err)
	}
	return a, nil
}

// Renew extends owner's lease on a running analysis, on the database's
// clock. It returns ErrLeaseLost when owner no longer holds it (another
// worker took over, or the analysis was cancelled).
func (s *Store) Renew(ctx context.Context, id, owner string, lease time.Duration) error {
	res, err := s.exec(ctx, `UPDATE analyses SET lease_until = (`+s.dialect.clock+`) + ? WHERE id = ? AND owner = ? AND status = ?`,
		lease.Nanoseconds(), id, owner, string(StatusRunning))
	if err != nil {
		return fmt.Errorf("renew analysis %q: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("analysis %q: %w", id, ErrLeaseLost)
	}
	return nil
}

// Finish records the outcome of a running analysis held by owner. It
// returns ErrLeaseLost when owner no longer holds it, so a late worker
// cannot overwrite another's result.
func (s *Store) Finish(ctx context.Context, id, owner string, o Outcome) error {
	status := StatusSucceeded
	if o.Verdict == nil {
		status = StatusFailed
	}
	res, err := s.exec(ctx, `UPDATE analyses SET status = ?, verdict = ?, series = ?, error = ?, updated_at = ?, owner = '', lease_until = 0
		WHERE id = ? AND owner = ? AND status = ?`,
		string(status), string(o.Verdict), string(o.Series), o.Error, s.now().UnixNano(), id, owner, string(StatusRunning))
	if err != nil {
		return fmt.Errorf("finish analysis %q: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("analysis %q: %w", id, ErrLeaseLost)
	}
	return nil
}

// Queue is the state of the analysis queue: analyses waiting for a
// replica, analyses running, and when the oldest waiting one was created
// (zero when none waits).
type Queue struct {
	Pending, Running int
	OldestPending    time.Time
}

// QueueState counts pending and running analyses and finds the oldest
// pending one, for the queue metrics.
func (s *Store) QueueState(ctx context.Context) (Queue, error) {
	var q Queue
	var oldest sql.NullInt64
	err := s.queryRow(ctx, `SELECT
		COALESCE(SUM(CASE WHEN status = ? THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN status = ? THEN 1 ELSE 0 END), 0),
		MIN(CASE WHEN status = ? THEN created_at END)
		FROM analyses WHERE status IN (?, ?)`,
		string(StatusPending), string(StatusRunning), string(StatusPending), string(StatusPending), string(StatusRunning)).Scan(&q.Pending, &q.Running, &oldest)
	if err != nil {
		return Queue{}, fmt.Errorf("queue state: %w", err)
	}
	if oldest.Valid {
		q.OldestPending = time.Unix(0, oldest.Int64)
	}
	return q, nil
}
