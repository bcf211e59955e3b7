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

// SeeFlaggerRevision records a webhook call by owner for a canary's
// revision: the revision becomes the canary's current one (the one the
// score query answers for), and its first call is kept and returned.
// A canary whose current revision another owner sent is ErrNotOwner: one
// token's calls cannot replace another's revision or verdicts. Revisions
// of the same canary first seen more than a day before are deleted.
func (s *Store) SeeFlaggerRevision(ctx context.Context, namespace, name, checksum, owner string) (time.Time, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return time.Time{}, fmt.Errorf("record flagger revision: %w", err)
	}
	defer tx.Rollback()
	now := s.now()
	if _, err := tx.ExecContext(ctx, s.dialect.rebind(`INSERT INTO flagger_canaries (namespace, name, checksum, owner, seen_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (namespace, name) DO NOTHING`), namespace, name, checksum, owner, now.UnixNano()); err != nil {
		return time.Time{}, fmt.Errorf("record flagger canary: %w", err)
	}
	lock := ""
	if s.dialect.skipLocked != "" {
		lock = " FOR UPDATE"
	}
	var current string
	if err := tx.QueryRowContext(ctx, s.dialect.rebind(`SELECT owner FROM flagger_canaries WHERE namespace = ? AND name = ?`+lock), namespace, name).Scan(&current); err != nil {
		return time.Time{}, fmt.Errorf("read flagger canary: %w", err)
	}
	if current != owner {
		return time.Time{}, fmt.Errorf("flagger canary %s/%s: %w", namespace, name, ErrNotOwner)
	}
	if _, err := tx.ExecContext(ctx, s.dialect.rebind(`UPDATE flagger_canaries SET checksum = ?, seen_at = ? WHERE namespace = ? AND name = ?`),
		checksum, now.UnixNano(), namespace, name); err != nil {
		return time.Time{}, fmt.Errorf("record flagger canary: %w", err)
	}
	if _, err := tx.ExecContext(ctx, s.dialect.rebind(`INSERT INTO flagger_verdicts (namespace, name, checksum, first_seen) VALUES (?, ?, ?, ?)
		ON CONFLICT (namespace, name, checksum) DO NOTHING`), namespace, name, checksum, now.UnixNano()); err != nil {
		return time.Time{}, fmt.Errorf("record flagger revision: %w", err)
	}
	var first int64
	if err := tx.QueryRowContext(ctx, s.dialect.rebind(`SELECT first_seen FROM flagger_verdicts WHERE namespace = ? AND name = ? AND checksum = ?`),
		namespace, name, checksum).Scan(&first); err != nil {
		return time.Time{}, fmt.Errorf("read flagger revision: %w", err)
	}
	if _, err := tx.ExecContext(ctx, s.dialect.rebind(`DELETE FROM flagger_verdicts WHERE namespace = ? AND name = ? AND checksum <> ? AND first_seen < ?`),
		namespace, name, checksum, now.Add(-flaggerKeep).UnixNano()); err != nil {
		return time.Time{}, fmt.Errorf("delete old flagger revisions: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return time.Time{}, fmt.Errorf("record flagger revision: %w", err)
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

// FlaggerVerdicts returns the judgement of each canary's current revision
// (the one its webhook last saw) judged at or after since, newest first, at
// most limit.
func (s *Store) FlaggerVerdicts(ctx context.Context, since time.Time, limit int) ([]FlaggerVerdict, error) {
	rows, err := s.db.QueryContext(ctx, s.dialect.rebind(`SELECT v.namespace, v.name, v.checksum, v.first_seen, v.judged_at, v.result, v.passed, v.score
		FROM flagger_verdicts v JOIN flagger_canaries c ON c.namespace = v.namespace AND c.name = v.name AND c.checksum = v.checksum
		WHERE v.judged_at >= ? AND v.judged_at > 0 ORDER BY v.judged_at DESC LIMIT ?`), since.UnixNano(), limit)
	if err != nil {
		return nil, fmt.Errorf("list flagger verdicts: %w", err)
	}
	defer rows.Close()
	var out []FlaggerVerdict
	for rows.Next() {
		var (
			v             FlaggerVerdict
			first, judged int64
			passed        int
		)
		if err := rows.Scan(&v.Namespace, &v.Name, &v.Checksum, &first, &judged, &v.Result, &passed, &v.Score); err != nil {
			return nil, fmt.Errorf("list flagger verdicts: %w", err)
		}
		v.FirstSeen, v.JudgedAt, v.Passed = time.Unix(0, first).UTC(), time.Unix(0, judged).UTC(), passed == 1
		out = append(out, v)
	}
	return out, rows.Err()
}

// LatestFlaggerVerdict returns the judgement of a canary's current
// revision (the one its webhook last saw, from its owner) if it was judged
// at or after since; ErrNotFound otherwise: a newer revision not judged yet
// has no verdict, whatever an older one had.
func (s *Store) LatestFlaggerVerdict(ctx context.Context, namespace, name string, since time.Time) (FlaggerVerdict, error) {
	v := FlaggerVerdict{Namespace: namespace, Name: name}
	var (
		first, judged int64
		passed        int
	)
	err := s.queryRow(ctx, `SELECT v.checksum, v.first_seen, v.judged_at, v.result, v.passed, v.score
		FROM flagger_verdicts v JOIN flagger_canaries c ON c.namespace = v.namespace AND c.name = v.name AND c.checksum = v.checksum
		WHERE v.namespace = ? AND v.name = ? AND v.judged_at >= ? AND v.judged_at > 0`,
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

// DeleteFlagger deletes the revisions first seen and last judged before
// the cutoff and the canaries not called since, and returns how many rows
// it deleted.
func (s *Store) DeleteFlagger(ctx context.Context, before time.Time) (int, error) {
	cut := before.UnixNano()
	res, err := s.exec(ctx, `DELETE FROM flagger_verdicts WHERE first_seen < ? AND judged_at < ?`, cut, cut)
	if err != nil {
		return 0, fmt.Errorf("delete flagger verdicts: %w", err)
	}
	n, _ := res.RowsAffected()
	res, err = s.exec(ctx, `DELETE FROM flagger_canaries WHERE seen_at < ?`, cut)
	if err != nil {
		return int(n), fmt.Errorf("delete flagger canaries: %w", err)
	}
	m, _ := res.RowsAffected()
	return int(n + m), nil
}
