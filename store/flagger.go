package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// FlaggerVerdict is the judgement of one revision of a Flagger canary
// (namespace, name, and Flagger's checksum of the revision).
type FlaggerVerdict struct {
	Namespace, Name, Checksum string
	// FirstSeen is the first webhook call for the revision.
	FirstSeen time.Time
	// JudgedAt is the latest judgement (zero until judged), with its
	// result, whether the webhook passed it and its score.
	JudgedAt time.Time
	Result   string
	Passed   bool
	Score    float64
}

// flaggerKeep is how long the judgements of a canary's earlier revisions
// are kept once a new revision is seen.
const flaggerKeep = 24 * time.Hour

// SeeFlaggerRevision records the first webhook call for a canary's
// revision, keeping the earliest, and returns when that was. Revisions of
// the same canary first seen more than a day before are deleted.
func (s *Store) SeeFlaggerRevision(ctx context.Context, namespace, name, checksum string) (time.Time, error) {
	now := s.now()
	if _, err := s.exec(ctx, `INSERT INTO flagger_verdicts (namespace, name, checksum, first_seen) VALUES (?, ?, ?, ?)
		ON CONFLICT (namespace, name, checksum) DO NOTHING`, namespace, name, checksum, now.UnixNano()); err != nil {
		return time.Time{}, fmt.Errorf("record flagger revision: %w", err)
	}
	var first int64
	if err := s.queryRow(ctx, `SELECT first_seen FROM flagger_verdicts WHERE namespace = ? AND name = ? AND checksum = ?`,
		namespace, name, checksum).Scan(&first); err != nil {
		return time.Time{}, fmt.Errorf("read flagger revision: %w", err)
	}
	if _, err := s.exec(ctx, `DELETE FROM flagger_verdicts WHERE namespace = ? AND name = ? AND checksum <> ? AND first_seen < ?`,
		namespace, name, checksum, now.Add(-flaggerKeep).UnixNano()); err != nil {
		return time.Time{}, fmt.Errorf("delete old flagger revisions: %w", err)
	}
	return time.Unix(0, first).UTC(), nil
}

// RecordFlaggerVerdict stores the latest judgement of a revision seen
// with SeeFlaggerRevision.
func (s *Store) RecordFlaggerVerdict(ctx context.Context, v FlaggerVerdict) error {
	passed := 0
	if v.Passed {
		passed = 1
	}
	res, err := s.exec(ctx, `UPDATE flagger_verdicts SET judged_at = ?, result = ?, passed = ?, score = ?
		WHERE namespace = ? AND name = ? AND checksum = ?`, v.JudgedAt.UnixNano(), v.Result, passed, v.Score, v.Namespace, v.Name, v.Checksum)
	if err != nil {
		return fmt.Errorf("record flagger verdict: %w", err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		return fmt.Errorf("record flagger verdict of %s/%s: %w", v.Namespace, v.Name, ErrNotFound)
	}
	return nil
}

// FlaggerVerdicts returns the latest judgement of each canary judged at or
// after since (of any of its revisions), newest first, at most limit.
func (s *Store) FlaggerVerdicts(ctx context.Context, since time.Time, limit int) ([]FlaggerVerdict, error) {
	rows, err := s.db.QueryContext(ctx, s.dialect.rebind(`SELECT namespace, name, checksum, first_seen, judged_at, result, passed, score
		FROM flagger_verdicts WHERE judged_at >= ? AND judged_at > 0 ORDER BY judged_at DESC LIMIT ?`), since.UnixNano(), limit)
	if err != nil {
		return nil, fmt.Errorf("list flagger verdicts: %w", err)
	}
	defer rows.Close()
	var out []FlaggerVerdict
	seen := map[[2]string]bool{}
	for rows.Next() {
		var (
			v             FlaggerVerdict
			first, judged int64
			passed        int
		)
		if err := rows.Scan(&v.Namespace, &v.Name, &v.Checksum, &first, &judged, &v.Result, &passed, &v.Score); err != nil {
			return nil, fmt.Errorf("list flagger verdicts: %w", err)
		}
		key := [2]string{v.Namespace, v.Name}
		if seen[key] {
			continue
		}
		seen[key] = true
		v.FirstSeen, v.JudgedAt, v.Passed = time.Unix(0, first).UTC(), time.Unix(0, judged).UTC(), passed == 1
		out = append(out, v)
	}
	return out, rows.Err()
}

// LatestFlaggerVerdict returns the latest judgement of a canary (of any of
// its revisions) judged at or after since; ErrNotFound when none is.
func (s *Store) LatestFlaggerVerdict(ctx context.Context, namespace, name string, since time.Time) (FlaggerVerdict, error) {
	v := FlaggerVerdict{Namespace: namespace, Name: name}
	var (
		first, judged int64
		passed        int
	)
	err := s.queryRow(ctx, `SELECT checksum, first_seen, judged_at, result, passed, score FROM flagger_verdicts
		WHERE namespace = ? AND name = ? AND judged_at >= ? AND judged_at > 0 ORDER BY judged_at DESC LIMIT 1`,
		namespace, name, since.UnixNano()).Scan(&v.Checksum, &first, &judged, &v.Result, &passed, &v.Score)
	if errors.Is(err, sql.ErrNoRows) {
		return v, ErrNotFound
	}
	if err != nil {
		return v, fmt.Errorf("read flagger verdict: %w", err)
	}
	v.FirstSeen, v.JudgedAt, v.Passed = time.Unix(0, first).UTC(), time.Unix(0, judged).UTC(), passed == 1
	return v, nil
}
