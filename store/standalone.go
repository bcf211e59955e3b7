package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Standalone is a stored standalone canary analysis (Kayenta's
// /standalone_canary_analysis): a series of analyses over growing windows,
// driven by any replica's scheduler under a lease.
type Standalone struct {
	ID      string
	Status  Status // running, succeeded, failed (Kayenta's terminal), canceled
	Request []byte // the request, JSON
	Runs    []byte // the runs so far, JSON
	Result  []byte // the final result, JSON; set when finished
	// NextAt is when the scheduler should look at it again.
	NextAt               time.Time
	CreatedAt, UpdatedAt time.Time
}

const standaloneColumns = `id, status, request, runs, result, next_at, created_at, updated_at`

func scanStandalone(row interface{ Scan(...any) error }) (Standalone, error) {
	var (
		s                         Standalone
		status, req, runs, result string
		next, created, updated    int64
	)
	if err := row.Scan(&s.ID, &status, &req, &runs, &result, &next, &created, &updated); err != nil {
		return Standalone{}, err
	}
	s.Status, s.Request, s.Runs = Status(status), []byte(req), []byte(runs)
	if result != "" {
		s.Result = []byte(result)
	}
	s.NextAt, s.CreatedAt, s.UpdatedAt = time.Unix(0, next).UTC(), time.Unix(0, created).UTC(), time.Unix(0, updated).UTC()
	return s, nil
}

// CreateStandalone stores a running standalone analysis, due at once.
func (s *Store) CreateStandalone(ctx context.Context, request []byte) (Standalone, error) {
	id, err := NewID()
	if err != nil {
		return Standalone{}, err
	}
	now := s.now()
	if _, err := s.exec(ctx, `INSERT INTO standalone_analyses (id, status, request, runs, result, next_at, created_at, updated_at)
		VALUES (?, ?, ?, '[]', '', ?, ?, ?)`, id, string(StatusRunning), string(request), now.UnixNano(), now.UnixNano(), now.UnixNano()); err != nil {
		return Standalone{}, fmt.Errorf("create standalone analysis: %w", err)
	}
	return s.GetStandalone(ctx, id)
}

// GetStandalone returns one standalone analysis.
func (s *Store) GetStandalone(ctx context.Context, id string) (Standalone, error) {
	a, err := scanStandalone(s.queryRow(ctx, `SELECT `+standaloneColumns+` FROM standalone_analyses WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Standalone{}, fmt.Errorf("standalone analysis %q: %w", id, ErrNotFound)
	}
	if err != nil {
		return Standalone{}, fmt.Errorf("get standalone analysis %q: %w", id, err)
	}
	return a, nil
}

// ClaimStandalone hands owner the running standalone analysis that is due
// longest (its NextAt passed and no other scheduler holds it) for the lease
// duration, or returns ErrNotFound.
func (s *Store) ClaimStandalone(ctx context.Context, owner string, lease time.Duration) (Standalone, error) {
	clock := "(" + s.dialect.clock + ")"
	a, err := scanStandalone(s.queryRow(ctx, `UPDATE standalone_analyses
		SET owner = ?, lease_until = `+clock+` + ?
		WHERE id = (
			SELECT id FROM standalone_analyses
			WHERE status = ? AND next_at <= `+clock+` AND lease_until < `+clock+`
			ORDER BY next_at LIMIT 1 `+s.dialect.skipLocked+`)
		RETURNING `+standaloneColumns,
		owner, lease.Nanoseconds(), string(StatusRunning)))
	if errors.Is(err, sql.ErrNoRows) {
		return Standalone{}, ErrNotFound
	}
	if err != nil {
		return Standalone{}, fmt.Errorf("claim standalone analysis: %w", err)
	}
	return a, nil
}

// UpdateStandalone records a scheduler's progress on a standalone analysis
// it holds and releases it: the runs, and either the next time to look or,
// with a final status, the result. It returns ErrLeaseLost when owner no
// longer holds it (or it was cancelled).
func (s *Store) UpdateStandalone(ctx context.Context, id, owner string, status Status, runs, result []byte, next time.Time) error {
	res, err := s.exec(ctx, `UPDATE standalone_analyses
		SET status = ?, runs = ?, result = ?, next_at = ?, updated_at = ?, owner = '', lease_until = 0
		WHERE id = ? AND owner = ? AND status = ?`,
		string(status), string(runs), string(result), next.UnixNano(), s.now().UnixNano(), id, owner, string(StatusRunning))
	if err != nil {
		return fmt.Errorf("update standalone analysis %q: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("standalone analysis %q: %w", id, ErrLeaseLost)
	}
	return nil
}

// CancelStandalone marks a running standalone analysis canceled with the
// final result given; its scheduler's next update then finds it gone
// (ErrLeaseLost) and stops. A finished one is returned unchanged.
func (s *Store) CancelStandalone(ctx context.Context, id string, result []byte) (Standalone, error) {
	if _, err := s.exec(ctx, `UPDATE standalone_analyses
		SET status = ?, result = ?, updated_at = ?, owner = '', lease_until = 0
		WHERE id = ? AND status = ?`,
		string(StatusCanceled), string(result), s.now().UnixNano(), id, string(StatusRunning)); err != nil {
		return Standalone{}, fmt.Errorf("cancel standalone analysis %q: %w", id, err)
	}
	return s.GetStandalone(ctx, id)
}

// DeleteStandaloneFinished deletes standalone analyses that finished
// (succeeded, failed or cancelled) before the cutoff and returns how many.
func (s *Store) DeleteStandaloneFinished(ctx context.Context, before time.Time) (int, error) {
	res, err := s.exec(ctx, `DELETE FROM standalone_analyses WHERE status IN (?, ?, ?) AND updated_at < ?`,
		string(StatusSucceeded), string(StatusFailed), string(StatusCanceled), before.UnixNano())
	if err != nil {
		return 0, fmt.Errorf("delete finished standalone analyses: %w", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}
