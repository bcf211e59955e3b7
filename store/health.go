package store

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
)

// ErrUnavailable marks a database that cannot be written (disk full,
// read-only, its file gone) or read.
var ErrUnavailable = errors.New("database unavailable")

// Probe writes to the database, as every change does, and reports whether
// it can: a full disk, a read-only file or a lost connection fail it. For
// SQLite it also checks that the file it opened is still the one at its
// path: a deleted or replaced file would otherwise be written to unseen
// and read back empty after a restart. A thorough probe (the first after
// opening) also checks SQLite's pages (PRAGMA quick_check, which reads the
// whole file): a corrupt database is unavailable, not ready.
func (s *Store) Probe(ctx context.Context, thorough bool) error {
	if s.file != "" {
		info, err := os.Stat(s.file)
		switch {
		case err != nil:
			return fmt.Errorf("%w: the database file %s: %w", ErrUnavailable, s.file, err)
		case !os.SameFile(info, s.fileInfo):
			return fmt.Errorf("%w: the database file %s was replaced after judge opened it", ErrUnavailable, s.file)
		}
		if thorough {
			var result string
			if err := s.queryRow(ctx, `PRAGMA quick_check(1)`).Scan(&result); err != nil {
				return fmt.Errorf("%w: the database file %s cannot be checked: %w", ErrUnavailable, s.file, err)
			}
			if result != "ok" {
				return fmt.Errorf("%w: the database file %s is corrupt: %s", ErrUnavailable, s.file, result)
			}
		}
	}
	if _, err := s.exec(ctx, `INSERT INTO write_probe (id, at) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET at = excluded.at`,
		s.now().UnixNano()); err != nil {
		return fmt.Errorf("%w: a write failed: %w", ErrUnavailable, err)
	}
	return nil
}

// IsDatabaseError reports whether err comes from the database (its driver:
// SQLite or PostgreSQL) rather than from judge: a failed write, a corrupt
// file, a lost server. The service answers those as unavailable (503),
// never as an internal error.
func IsDatabaseError(err error) bool {
	var (
		lite *sqlite.Error
		pg   *pgconn.PgError
		conn *pgconn.ConnectError
	)
	return errors.Is(err, ErrUnavailable) || errors.As(err, &lite) || errors.As(err, &pg) || errors.As(err, &conn) || pgconn.SafeToRetry(err) || pgconn.Timeout(err)
}
