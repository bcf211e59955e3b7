// Package store persists canary configs and asynchronous analyses in an
// embedded SQLite database (one replica) or a shared PostgreSQL database
// (several replicas). Analyses are claimed by one worker at a time with a
// lease, so an analysis whose worker died is picked up again once its lease
// expires.
package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"
)

// The errors of this package.
var (
	// ErrNotFound is returned when a config or analysis does not exist.
	ErrNotFound = errors.New("not found")
	// ErrLeaseLost is returned when a worker no longer owns the analysis it
	// reports on (its lease expired and another worker claimed it, or the
	// analysis was cancelled).
	ErrLeaseLost = errors.New("analysis lease lost")
	// ErrBadPageToken is returned for a page token this store did not issue.
	ErrBadPageToken = errors.New("bad page token")
	// ErrInvalidLabel is returned for an analysis label that is not
	// LabelRegression, LabelGood or empty.
	ErrInvalidLabel = errors.New("invalid label")
)

// Store is a database of configs and analyses. All methods are safe for
// concurrent use.
type Store struct {
	db      *sql.DB
	dialect dialect
	now     func() time.Time
	// file and fileInfo are SQLite's database file and what it was when
	// opened (Probe checks it is still there).
	file     string
	fileInfo os.FileInfo
}

// dialect holds what differs between SQLite and PostgreSQL.
type dialect struct {
	name string
	// rebind turns '?' placeholders into the driver's.
	rebind func(string) string
	// skipLocked is appended to the claim's row selection.
	skipLocked string
	// lockMigrations and unlockMigrations hold a session lock around all
	// migrations, so replicas that start together take turns on the schema.
	lockMigrations, unlockMigrations string
	// lockConfig serialises new versions of one config name in a
	// transaction ('?' is the name).
	lockConfig string
	// clock is an expression for the database's time in Unix nanoseconds:
	// lease deadlines are set and compared on one clock, not each replica's.
	clock string
	// insertInWith reports that a WITH clause may insert (PostgreSQL):
	// a row inserted and another updated in one statement.
	insertInWith bool
}

// Open opens the database and runs pending migrations. databaseURL
// "postgres://…" or "postgresql://…" selects PostgreSQL; an empty URL
// selects SQLite in dataDir/judge.db.
func Open(ctx context.Context, databaseURL, dataDir string) (*Store, error) {
	var (
		s   *Store
		err error
	)
	switch {
	case strings.HasPrefix(databaseURL, "postgres://"), strings.HasPrefix(databaseURL, "postgresql://"):
		s, err = openPostgres(databaseURL)
	case databaseURL == "":
		s, err = openSQLite(dataDir)
	default:
		return nil, fmt.Errorf("database URL: want postgres://… or empty for SQLite, got scheme %q", scheme(databaseURL))
	}
	if err != nil {
		return nil, err
	}
	if err := s.migrate(ctx); err != nil {
		return nil, errors.Join(err, s.db.Close())
	}
	return s, nil
}

// scheme returns the scheme of a URL without echoing credentials.
func scheme(u string) string {
	if i := strings.Index(u, "://"); i >= 0 {
		return u[:i]
	}
	return "none"
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error { return s.db.PingContext(ctx) }

// Dialect returns "sqlite" or "postgres".
func (s *Store) Dialect() string { return s.dialect.name }

func (s *Store) exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return s.db.ExecContext(ctx, s.dialect.rebind(q), args...)
}

func (s *Store) queryRow(ctx context.Context, q string, args ...any) *sql.Row {
	return s.db.QueryRowContext(ctx, s.dialect.rebind(q), args...)
}

// NewID returns a new random analysis id (24 hex digits), for a caller
// that must name an analysis before it is recorded (RecordAnalysis).
func NewID() (string, error) {
	var b [12]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("new id: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}
