package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Errors of sequences.
var (
	// ErrSequencePlan is returned when a look names a sequence stored with
	// another planned number of looks.
	ErrSequencePlan = errors.New("the sequence was started with another number of looks")
	// ErrNotOwner is returned when a look names a sequence, or a Flagger
	// call a canary, that another caller started.
	ErrNotOwner = errors.New("started by another token")
)

// Sequence states.
const (
	SequenceOpen        = "open"
	SequenceFailed      = "failed"
	SequencePassedEarly = "passed_early"
	SequencePassed      = "passed"
)

// Sequence is a stored sequence of looks at one canary.
type Sequence struct {
	Name string
	// Looks is the planned number of looks (0: open-ended).
	Looks int
	// State is SequenceOpen, SequenceFailed (a regression was established,
	// or the last look did not pass: every later look fails),
	// SequencePassedEarly or SequencePassed (the last planned look passed);
	// Reason says why.
	State, Reason        string
	CreatedAt, UpdatedAt time.Time
	// Owner is the caller that started it (auth.Caller.Owner).
	Owner string
}

// SequenceLook is one look of a sequence.
type SequenceLook struct {
	Look       int
	AnalysisID string
	At         time.Time
	// Verdict is the look's verdict as JSON; empty while it is judged.
	Verdict []byte
}

// BeginLook starts the next look of the named sequence for owner,
// creating the sequence at its first look, and returns the sequence and the
// look's number. Looks of one sequence are numbered one after another on
// every replica (a row lock, or SQLite's single writer). A failed sequence
// takes no more looks: BeginLook returns it with look 0. A sequence stored
// with another number of looks is ErrSequencePlan; one started by another
// owner is ErrNotOwner.
func (s *Store) BeginLook(ctx context.Context, name string, looks int, owner string) (Sequence, int, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return Sequence{}, 0, fmt.Errorf("begin look of sequence: %w", err)
	}
	defer tx.Rollback()
	seq, err := s.claimSequence(ctx, tx, name, looks, owner)
	if err != nil || seq.State == SequenceFailed {
		return seq, 0, err
	}
	// The next look's number and its row in one statement: the sequence's
	// row is locked, so no other look of it is begun meanwhile.
	var look int
	if err := tx.QueryRowContext(ctx, s.dialect.rebind(`INSERT INTO sequence_looks (sequence, look, at)
		SELECT ?, COALESCE(MAX(look), 0) + 1, ? FROM sequence_looks WHERE sequence = ? RETURNING look`), name, s.now().UnixNano(), name).Scan(&look); err != nil {
		return Sequence{}, 0, fmt.Errorf("begin look of sequence: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return Sequence{}, 0, fmt.Errorf("begin look of sequence: %w", err)
	}
	return seq, look, nil
}

// ClaimSequence creates the named sequence for owner, or checks that an
// existing one is owner's with the same planned looks (ErrNotOwner,
// ErrSequencePlan otherwise): an asynchronous analysis claims its sequence
// when it is created, so a look queued for later is refused at once.
func (s *Store) ClaimSequence(ctx context.Context, name string, looks int, owner string) (Sequence, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return Sequence{}, fmt.Errorf("claim sequence: %w", err)
	}
	defer tx.Rollback()
	seq, err := s.claimSequence(ctx, tx, name, looks, owner)
	if err != nil {
		return seq, err
	}
	if err := tx.Commit(); err != nil {
		return Sequence{}, fmt.Errorf("claim sequence: %w", err)
	}
	return seq, nil
}

// claimSequence inserts the sequence unless it exists, and marks it
// updated, which locks it and reads it back in one statement; then it
// checks its owner and plan (a refused claim is rolled back).
func (s *Store) claimSequence(ctx context.Context, tx *sql.Tx, name string, looks int, owner string) (Sequence, error) {
	now := s.now().UnixNano()
	if _, err := tx.ExecContext(ctx, s.dialect.rebind(`INSERT INTO sequences (name, looks, state, reason, created_at, updated_at, owner)
		VALUES (?, ?, ?, '', ?, ?, ?) ON CONFLICT (name) DO NOTHING`), name, looks, SequenceOpen, now, now, owner); err != nil {
		return Sequence{}, fmt.Errorf("begin look of sequence: %w", err)
	}
	seq := Sequence{Name: name}
	var created, updated int64
	if err := tx.QueryRowContext(ctx, s.dialect.rebind(`UPDATE sequences SET updated_at = ? WHERE name = ?
		RETURNING looks, state, reason, created_at, updated_at, owner`), now, name).
		Scan(&seq.Looks, &seq.State, &seq.Reason, &created, &updated, &seq.Owner); err != nil {
		return Sequence{}, fmt.Errorf("begin look of sequence: %w", err)
	}
	seq.CreatedAt, seq.UpdatedAt = time.Unix(0, created).UTC(), time.Unix(0, updated).UTC()
	if seq.Owner != owner {
		// Neither owner is named: a read token could learn who owns what.
		return Sequence{Name: name}, fmt.Errorf("sequence %q: %w", name, ErrNotOwner)
	}
	if seq.Looks != looks {
		return seq, fmt.Errorf("%w: %d planned looks, not %d", ErrSequencePlan, seq.Looks, looks)
	}
	return seq, nil
}

// FinishLook stores a look's verdict and, when state is not
// SequenceOpen, decides the sequence with its reason. A failed sequence
// stays failed: no later look changes it.
func (s *Store) FinishLook(ctx context.Context, name string, look int, analysisID string, verdict []byte, state, reason string) error {
	return s.finishLook(ctx, name, look, analysisID, verdict, state, reason, nil)
}

// FinishLookRecorded is FinishLook storing with the look, atomically, the
// analysis rec that judged it under analysisID (a deployer's webhook): one
// round trip fewer than recording it after.
func (s *Store) FinishLookRecorded(ctx context.Context, name string, look int, analysisID string, verdict []byte, state, reason string, rec Recorded) error {
	return s.finishLook(ctx, name, look, analysisID, verdict, state, reason, &rec)
}

const finishLookSQL = `UPDATE sequence_looks SET analysis_id = ?, verdict = ? WHERE sequence = ? AND look = ?`

func (s *Store) finishLook(ctx context.Context, name string, look int, analysisID string, verdict []byte, state, reason string, rec *Recorded) error {
	finish := []any{analysisID, string(verdict), name, look}
	switch {
	case state == SequenceOpen && rec == nil:
		// Most looks decide nothing: one statement, no transaction.
		if _, err := s.exec(ctx, finishLookSQL, finish...); err != nil {
			return fmt.Errorf("finish look %d of sequence: %w", look, err)
		}
		return nil
	case state == SequenceOpen && s.dialect.insertInWith:
		// The insert of a data-modifying WITH runs as part of the
		// statement: one statement, atomic, no transaction.
		if _, err := s.exec(ctx, `WITH recorded AS (`+insertAnalysisSQL+`) `+finishLookSQL,
			append(rec.args(analysisID, s.now()), finish...)...); err != nil {
			return fmt.Errorf("finish look %d of sequence: %w", look, err)
		}
		return nil
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("finish look %d of sequence: %w", look, err)
	}
	defer tx.Rollback()
	if rec != nil {
		if _, err := tx.ExecContext(ctx, s.dialect.rebind(insertAnalysisSQL), rec.args(analysisID, s.now())...); err != nil {
			return fmt.Errorf("finish look %d of sequence: record its analysis: %w", look, err)
		}
	}
	if _, err := tx.ExecContext(ctx, s.dialect.rebind(finishLookSQL), finish...); err != nil {
		return fmt.Errorf("finish look %d of sequence: %w", look, err)
	}
	if state != SequenceOpen {
		if _, err := tx.ExecContext(ctx, s.dialect.rebind(`UPDATE sequences SET state = ?, reason = ?, updated_at = ? WHERE name = ? AND state <> ?`),
			state, reason, s.now().UnixNano(), name, SequenceFailed); err != nil {
			return fmt.Errorf("finish look %d of sequence: %w", look, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("finish look %d of sequence: %w", look, err)
	}
	return nil
}

// LinkLook sets the stored analysis of a look, or with an empty
// analysisID clears it (a deployer's webhook whose analysis could not be
// stored after its look named it).
func (s *Store) LinkLook(ctx context.Context, name string, look int, analysisID string) error {
	if _, err := s.exec(ctx, `UPDATE sequence_looks SET analysis_id = ? WHERE sequence = ? AND look = ?`, analysisID, name, look); err != nil {
		return fmt.Errorf("link look %d of sequence: %w", look, err)
	}
	return nil
}

// DropLook removes a look that reached no verdict (the analysis could not
// run), so that it spends none of the sequence's level and the caller's
// retry takes its number.
func (s *Store) DropLook(ctx context.Context, name string, look int) error {
	if _, err := s.exec(ctx, `DELETE FROM sequence_looks WHERE sequence = ? AND look = ? AND verdict = ''`, name, look); err != nil {
		return fmt.Errorf("drop look %d of sequence: %w", look, err)
	}
	return nil
}

// Bounds of a page of looks.
const (
	// MaxLookPage is the most looks in one page of GetSequence.
	MaxLookPage = 100
	// maxLookPageBytes is the most verdict bytes in one page: a page stops
	// after the look that reaches it.
	maxLookPageBytes = 8 << 20
)

// GetSequence returns a sequence and a page of its looks, first look first:
// the looks after look after, at most limit (1 to MaxLookPage) and about
// 8 MiB of verdicts, and the look to continue after (0 when none is left).
func (s *Store) GetSequence(ctx context.Context, name string, after, limit int) (Sequence, []SequenceLook, int, error) {
	seq := Sequence{Name: name}
	var created, updated int64
	err := s.queryRow(ctx, `SELECT looks, state, reason, created_at, updated_at, owner FROM sequences WHERE name = ?`, name).
		Scan(&seq.Looks, &seq.State, &seq.Reason, &created, &updated, &seq.Owner)
	if errors.Is(err, sql.ErrNoRows) {
		return Sequence{}, nil, 0, fmt.Errorf("sequence %q: %w", name, ErrNotFound)
	}
	if err != nil {
		return Sequence{}, nil, 0, fmt.Errorf("get sequence: %w", err)
	}
	seq.CreatedAt, seq.UpdatedAt = time.Unix(0, created).UTC(), time.Unix(0, updated).UTC()
	limit = min(max(limit, 1), MaxLookPage)
	rows, err := s.db.QueryContext(ctx, s.dialect.rebind(`SELECT look, analysis_id, at, verdict FROM sequence_looks
		WHERE sequence = ? AND look > ? ORDER BY look LIMIT ?`), name, after, limit+1)
	if err != nil {
		return Sequence{}, nil, 0, fmt.Errorf("get sequence looks: %w", err)
	}
	defer rows.Close()
	var (
		looks []SequenceLook
		bytes int
		next  int
	)
	for rows.Next() {
		if len(looks) == limit || bytes >= maxLookPageBytes {
			next = looks[len(looks)-1].Look
			break
		}
		var (
			l  SequenceLook
			at int64
			v  string
		)
		if err := rows.Scan(&l.Look, &l.AnalysisID, &at, &v); err != nil {
			return Sequence{}, nil, 0, fmt.Errorf("get sequence looks: %w", err)
		}
		l.At, l.Verdict = time.Unix(0, at).UTC(), []byte(v)
		bytes += len(v)
		looks = append(looks, l)
	}
	if err := rows.Err(); err != nil {
		return Sequence{}, nil, 0, fmt.Errorf("get sequence looks: %w", err)
	}
	return seq, looks, next, nil
}

// DeleteSequences deletes sequences not looked at since before, with
// their looks, and returns how many.
func (s *Store) DeleteSequences(ctx context.Context, before time.Time) (int, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("delete sequences: %w", err)
	}
	defer tx.Rollback()
	cut := before.UnixNano()
	if _, err := tx.ExecContext(ctx, s.dialect.rebind(`DELETE FROM sequence_looks WHERE sequence IN (SELECT name FROM sequences WHERE updated_at < ?)`), cut); err != nil {
		return 0, fmt.Errorf("delete sequences: %w", err)
	}
	res, err := tx.ExecContext(ctx, s.dialect.rebind(`DELETE FROM sequences WHERE updated_at < ?`), cut)
	if err != nil {
		return 0, fmt.Errorf("delete sequences: %w", err)
	}
	n, _ := res.RowsAffected()
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("delete sequences: %w", err)
	}
	return int(n), nil
}
