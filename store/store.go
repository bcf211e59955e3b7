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
	"database/sql/driver"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strconv"
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

// Status is the state of an analysis.
type Status string

// Analysis states.
const (
	StatusPending   Status = "pending"
	StatusRunning   Status = "running"
	StatusSucceeded Status = "succeeded"
	StatusFailed    Status = "failed"
	StatusCanceled  Status = "canceled"
)

// Final reports whether no worker will change the status again.
func (s Status) Final() bool {
	return s == StatusSucceeded || s == StatusFailed || s == StatusCanceled
}

// Config is a stored canary config.
type Config struct {
	Name      string
	Body      []byte // JSON
	Version   int64
	UpdatedAt time.Time
}

// Analysis is a stored analysis.
type Analysis struct {
	ID         string
	Status     Status
	ConfigName string
	Spec       []byte // the request, JSON
	Verdict    []byte // the verdict, JSON; set when succeeded
	Series     []byte // the fetched series (a MetricSetPairList), JSON; only from GetAnalysis
	Error      string
	CreatedAt  time.Time
	UpdatedAt  time.Time
	Attempts   int
	// Owner is the worker holding the analysis' lease.
	Owner      string
	LeaseUntil time.Time
	// CreatedBy is the caller that created it (auth.Caller.Owner): the
	// owner of the sequence it is a look of.
	CreatedBy string
	// Label is what the analysis turned out to be (LabelRegression,
	// LabelGood, or empty), LabelledBy who said so and LabelledAt when.
	Label      string
	LabelledBy string
	LabelledAt time.Time
}

// AnalysisFilter restricts ListAnalyses; zero fields match everything.
type AnalysisFilter struct {
	Status      Status
	ConfigName  string
	Application string
	// Since keeps analyses created at or after it; Labelled those with a
	// label.
	Since    time.Time
	Labelled bool
}

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

// migrations are applied in order; each entry is one schema version.
var migrations = []string{
	`CREATE TABLE canary_configs (
		name TEXT PRIMARY KEY,
		version BIGINT NOT NULL,
		body TEXT NOT NULL,
		updated_at BIGINT NOT NULL
	);
	CREATE TABLE canary_config_versions (
		name TEXT NOT NULL,
		version BIGINT NOT NULL,
		body TEXT NOT NULL,
		updated_at BIGINT NOT NULL,
		PRIMARY KEY (name, version)
	);
	CREATE TABLE analyses (
		id TEXT PRIMARY KEY,
		status TEXT NOT NULL,
		config_name TEXT NOT NULL,
		spec TEXT NOT NULL,
		verdict TEXT NOT NULL DEFAULT '',
		error TEXT NOT NULL DEFAULT '',
		created_at BIGINT NOT NULL,
		updated_at BIGINT NOT NULL,
		attempts INTEGER NOT NULL DEFAULT 0,
		owner TEXT NOT NULL DEFAULT '',
		lease_until BIGINT NOT NULL DEFAULT 0
	);
	CREATE INDEX analyses_claim ON analyses (status, created_at);
	CREATE INDEX analyses_newest ON analyses (created_at, id);`,
	// Retention deletes finished analyses by age.
	`CREATE INDEX analyses_finished ON analyses (status, updated_at);`,
	// The series an analysis given scopes fetched, kept with its verdict.
	`ALTER TABLE analyses ADD COLUMN series TEXT NOT NULL DEFAULT '';`,
	// Standalone canary analyses: series of analyses over growing windows.
	`CREATE TABLE standalone_analyses (
		id TEXT PRIMARY KEY,
		status TEXT NOT NULL,
		request TEXT NOT NULL,
		runs TEXT NOT NULL,
		result TEXT NOT NULL DEFAULT '',
		next_at BIGINT NOT NULL,
		created_at BIGINT NOT NULL,
		updated_at BIGINT NOT NULL,
		owner TEXT NOT NULL DEFAULT '',
		lease_until BIGINT NOT NULL DEFAULT 0
	);
	CREATE INDEX standalone_due ON standalone_analyses (status, next_at);`,
	// The application an analysis is for (Spinnaker lists executions by it).
	`ALTER TABLE analyses ADD COLUMN application TEXT NOT NULL DEFAULT '';
	CREATE INDEX analyses_application ON analyses (application, created_at);`,
	// Flagger's verdicts, per canary revision, shared by every replica.
	`CREATE TABLE flagger_verdicts (
		namespace TEXT NOT NULL,
		name TEXT NOT NULL,
		checksum TEXT NOT NULL,
		first_seen BIGINT NOT NULL,
		judged_at BIGINT NOT NULL DEFAULT 0,
		result TEXT NOT NULL DEFAULT '',
		passed INTEGER NOT NULL DEFAULT 0,
		score DOUBLE PRECISION NOT NULL DEFAULT 0,
		PRIMARY KEY (namespace, name, checksum)
	);
	CREATE INDEX flagger_verdicts_judged ON flagger_verdicts (judged_at);`,
	// Sequences of looks at one canary, each look with its verdict.
	`CREATE TABLE sequences (
		name TEXT PRIMARY KEY,
		looks INTEGER NOT NULL,
		state TEXT NOT NULL,
		reason TEXT NOT NULL DEFAULT '',
		created_at BIGINT NOT NULL,
		updated_at BIGINT NOT NULL
	);
	CREATE INDEX sequences_updated ON sequences (updated_at);
	CREATE TABLE sequence_looks (
		sequence TEXT NOT NULL,
		look INTEGER NOT NULL,
		at BIGINT NOT NULL,
		analysis_id TEXT NOT NULL DEFAULT '',
		verdict TEXT NOT NULL DEFAULT '',
		PRIMARY KEY (sequence, look)
	);`,
	// Ownership: the caller that started a sequence, that created an
	// analysis, and that sent a Flagger canary's current revision; the
	// write probe of /readyz; retention of Flagger's and standalone
	// analyses' rows.
	`ALTER TABLE sequences ADD COLUMN owner TEXT NOT NULL DEFAULT '';
	ALTER TABLE analyses ADD COLUMN created_by TEXT NOT NULL DEFAULT '';
	CREATE TABLE flagger_canaries (
		namespace TEXT NOT NULL,
		name TEXT NOT NULL,
		checksum TEXT NOT NULL,
		owner TEXT NOT NULL,
		seen_at BIGINT NOT NULL,
		PRIMARY KEY (namespace, name)
	);
	CREATE INDEX flagger_canaries_seen ON flagger_canaries (seen_at);
	CREATE INDEX flagger_verdicts_seen ON flagger_verdicts (first_seen);
	CREATE INDEX standalone_updated ON standalone_analyses (updated_at);
	CREATE TABLE write_probe (
		id INTEGER PRIMARY KEY,
		at BIGINT NOT NULL
	);`,
	// Labels: what an analysis turned out to be, who said so and when.
	`ALTER TABLE analyses ADD COLUMN label TEXT NOT NULL DEFAULT '';
	ALTER TABLE analyses ADD COLUMN labelled_by TEXT NOT NULL DEFAULT '';
	ALTER TABLE analyses ADD COLUMN labelled_at BIGINT NOT NULL DEFAULT 0;`,
}

// migrate applies the migrations not yet recorded in schema_migrations, each
// in its own transaction, all on one connection that holds the dialect's
// migration lock from the first statement to the last, so replicas that
// start together never race on the schema.
func (s *Store) migrate(ctx context.Context) error {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	defer conn.Close()
	if s.dialect.lockMigrations != "" {
		if _, err := conn.ExecContext(ctx, s.dialect.lockMigrations); err != nil {
			return fmt.Errorf("migrations: lock: %w", err)
		}
		defer func() {
			// A failed unlock ends with the session: the connection is
			// discarded rather than returned to the pool holding the lock.
			if _, err := conn.ExecContext(context.WithoutCancel(ctx), s.dialect.unlockMigrations); err != nil {
				_ = conn.Raw(func(any) error { return driver.ErrBadConn })
			}
		}()
	}
	if _, err := conn.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)`); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	for i, m := range migrations {
		version := i + 1
		if err := s.applyMigration(ctx, conn, version, m); err != nil {
			return fmt.Errorf("migration %d: %w", version, err)
		}
	}
	return nil
}

func (s *Store) applyMigration(ctx context.Context, conn *sql.Conn, version int, stmts string) error {
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, s.dialect.rebind(`SELECT COUNT(*) FROM schema_migrations WHERE version = ?`), version).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return nil
	}
	for _, stmt := range strings.Split(stmts, ";") {
		if strings.TrimSpace(stmt) == "" {
			continue
		}
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, s.dialect.rebind(`INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`),
		version, s.now().UnixNano()); err != nil {
		return err
	}
	return tx.Commit()
}

// PutConfig stores a new version of the named config.
func (s *Store) PutConfig(ctx context.Context, name string, body []byte) (Config, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return Config{}, fmt.Errorf("put config %q: %w", name, err)
	}
	defer tx.Rollback()
	if s.dialect.lockConfig != "" {
		if _, err := tx.ExecContext(ctx, s.dialect.rebind(s.dialect.lockConfig), name); err != nil {
			return Config{}, fmt.Errorf("put config %q: %w", name, err)
		}
	}
	var version int64
	if err := tx.QueryRowContext(ctx, s.dialect.rebind(
		`SELECT COALESCE(MAX(version), 0) FROM canary_config_versions WHERE name = ?`), name).Scan(&version); err != nil {
		return Config{}, fmt.Errorf("put config %q: %w", name, err)
	}
	c := Config{Name: name, Body: body, Version: version + 1, UpdatedAt: s.now()}
	at := c.UpdatedAt.UnixNano()
	if _, err := tx.ExecContext(ctx, s.dialect.rebind(
		`INSERT INTO canary_config_versions (name, version, body, updated_at) VALUES (?, ?, ?, ?)`),
		name, c.Version, string(body), at); err != nil {
		return Config{}, fmt.Errorf("put config %q: %w", name, err)
	}
	if _, err := tx.ExecContext(ctx, s.dialect.rebind(
		`INSERT INTO canary_configs (name, version, body, updated_at) VALUES (?, ?, ?, ?)
		 ON CONFLICT (name) DO UPDATE SET version = excluded.version, body = excluded.body, updated_at = excluded.updated_at`),
		name, c.Version, string(body), at); err != nil {
		return Config{}, fmt.Errorf("put config %q: %w", name, err)
	}
	if err := tx.Commit(); err != nil {
		return Config{}, fmt.Errorf("put config %q: %w", name, err)
	}
	return c, nil
}

// GetConfig returns the latest version of the named config.
func (s *Store) GetConfig(ctx context.Context, name string) (Config, error) {
	var (
		c    Config
		body string
		at   int64
	)
	err := s.queryRow(ctx, `SELECT name, version, body, updated_at FROM canary_configs WHERE name = ?`, name).
		Scan(&c.Name, &c.Version, &body, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return Config{}, fmt.Errorf("config %q: %w", name, ErrNotFound)
	}
	if err != nil {
		return Config{}, fmt.Errorf("get config %q: %w", name, err)
	}
	c.Body, c.UpdatedAt = []byte(body), time.Unix(0, at).UTC()
	return c, nil
}

// ListConfigs returns up to limit configs (without body) ordered by name,
// after the page token, and the token of the next page ("" on the last).
func (s *Store) ListConfigs(ctx context.Context, limit int, token string) ([]Config, string, error) {
	after := ""
	if token != "" {
		b, err := base64.RawURLEncoding.DecodeString(token)
		if err != nil || !strings.HasPrefix(string(b), "c:") {
			return nil, "", ErrBadPageToken
		}
		after = string(b[2:])
	}
	rows, err := s.db.QueryContext(ctx, s.dialect.rebind(
		`SELECT name, version, updated_at FROM canary_configs WHERE name > ? ORDER BY name LIMIT ?`), after, limit+1)
	if err != nil {
		return nil, "", fmt.Errorf("list configs: %w", err)
	}
	defer rows.Close()
	var out []Config
	for rows.Next() {
		var (
			c  Config
			at int64
		)
		if err := rows.Scan(&c.Name, &c.Version, &at); err != nil {
			return nil, "", fmt.Errorf("list configs: %w", err)
		}
		c.UpdatedAt = time.Unix(0, at).UTC()
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("list configs: %w", err)
	}
	next := ""
	if len(out) > limit {
		out = out[:limit]
		next = base64.RawURLEncoding.EncodeToString([]byte("c:" + out[limit-1].Name))
	}
	return out, next, nil
}

// DeleteConfig deletes the named config and its versions.
func (s *Store) DeleteConfig(ctx context.Context, name string) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("delete config %q: %w", name, err)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, s.dialect.rebind(`DELETE FROM canary_configs WHERE name = ?`), name)
	if err != nil {
		return fmt.Errorf("delete config %q: %w", name, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("config %q: %w", name, ErrNotFound)
	}
	if _, err := tx.ExecContext(ctx, s.dialect.rebind(`DELETE FROM canary_config_versions WHERE name = ?`), name); err != nil {
		return fmt.Errorf("delete config %q: %w", name, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("delete config %q: %w", name, err)
	}
	return nil
}

const analysisColumns = `id, status, config_name, spec, verdict, error, created_at, updated_at, attempts, owner, lease_until, series, created_by, label, labelled_by, labelled_at`

// listColumns are analysisColumns without the stored spec, which lists and
// watches never need: a spec can hold megabytes of series.
const listColumns = `id, status, config_name, '', verdict, error, created_at, updated_at, attempts, owner, lease_until, '', created_by, label, labelled_by, labelled_at`

func scanAnalysis(row interface{ Scan(...any) error }) (Analysis, error) {
	var (
		a                             Analysis
		status, spec, verdict, series string
		created, updated, leaseEnd    int64
		labelled                      int64
	)
	if err := row.Scan(&a.ID, &status, &a.ConfigName, &spec, &verdict, &a.Error, &created, &updated, &a.Attempts, &a.Owner, &leaseEnd, &series, &a.CreatedBy,
		&a.Label, &a.LabelledBy, &labelled); err != nil {
		return Analysis{}, err
	}
	if labelled != 0 {
		a.LabelledAt = time.Unix(0, labelled).UTC()
	}
	a.Status = Status(status)
	a.Spec = []byte(spec)
	if verdict != "" {
		a.Verdict = []byte(verdict)
	}
	if series != "" {
		a.Series = []byte(series)
	}
	a.CreatedAt, a.UpdatedAt = time.Unix(0, created).UTC(), time.Unix(0, updated).UTC()
	a.LeaseUntil = time.Unix(0, leaseEnd).UTC()
	return a, nil
}

// CreateAnalysis stores a pending analysis created by createdBy and
// returns it with its id.
func (s *Store) CreateAnalysis(ctx context.Context, configName, application, createdBy string, spec []byte) (Analysis, error) {
	id, err := newID()
	if err != nil {
		return Analysis{}, err
	}
	now := s.now()
	a := Analysis{ID: id, Status: StatusPending, ConfigName: configName, Spec: spec, CreatedAt: now, UpdatedAt: now, CreatedBy: createdBy}
	if _, err := s.exec(ctx, `INSERT INTO analyses (id, status, config_name, application, spec, created_at, updated_at, created_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		id, string(StatusPending), configName, application, string(spec), now.UnixNano(), now.UnixNano(), createdBy); err != nil {
		return Analysis{}, fmt.Errorf("create analysis: %w", err)
	}
	return a, nil
}

// GetAnalysis returns one analysis with its spec.
func (s *Store) GetAnalysis(ctx context.Context, id string) (Analysis, error) {
	return s.getAnalysis(ctx, id, analysisColumns)
}

// GetAnalysisSummary returns one analysis without its spec.
func (s *Store) GetAnalysisSummary(ctx context.Context, id string) (Analysis, error) {
	return s.getAnalysis(ctx, id, listColumns)
}

// AnalysisState returns an analysis' status and last update, a cheap read
// for watchers that only need to know whether anything changed.
func (s *Store) AnalysisState(ctx context.Context, id string) (Status, time.Time, error) {
	var (
		status  string
		updated int64
	)
	err := s.queryRow(ctx, `SELECT status, updated_at FROM analyses WHERE id = ?`, id).Scan(&status, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return "", time.Time{}, fmt.Errorf("analysis %q: %w", id, ErrNotFound)
	}
	if err != nil {
		return "", time.Time{}, fmt.Errorf("get analysis %q: %w", id, err)
	}
	return Status(status), time.Unix(0, updated).UTC(), nil
}

func (s *Store) getAnalysis(ctx context.Context, id, columns string) (Analysis, error) {
	a, err := scanAnalysis(s.queryRow(ctx, `SELECT `+columns+` FROM analyses WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Analysis{}, fmt.Errorf("analysis %q: %w", id, ErrNotFound)
	}
	if err != nil {
		return Analysis{}, fmt.Errorf("get analysis %q: %w", id, err)
	}
	return a, nil
}

// ListAnalyses returns up to limit analyses, newest first, matching the
// filter, after the page token, and the token of the next page.
func (s *Store) ListAnalyses(ctx context.Context, f AnalysisFilter, limit int, token string) ([]Analysis, string, error) {
	q := `SELECT ` + listColumns + ` FROM analyses WHERE 1 = 1`
	var args []any
	if f.Status != "" {
		q += ` AND status = ?`
		args = append(args, string(f.Status))
	}
	if f.ConfigName != "" {
		q += ` AND config_name = ?`
		args = append(args, f.ConfigName)
	}
	if f.Application != "" {
		q += ` AND application = ?`
		args = append(args, f.Application)
	}
	if !f.Since.IsZero() {
		q += ` AND created_at >= ?`
		args = append(args, f.Since.UnixNano())
	}
	if f.Labelled {
		q += ` AND label <> ''`
	}
	if token != "" {
		at, id, err := decodeAnalysisToken(token)
		if err != nil {
			return nil, "", err
		}
		q += ` AND (created_at < ? OR (created_at = ? AND id < ?))`
		args = append(args, at, at, id)
	}
	q += ` ORDER BY created_at DESC, id DESC LIMIT ?`
	args = append(args, limit+1)
	rows, err := s.db.QueryContext(ctx, s.dialect.rebind(q), args...)
	if err != nil {
		return nil, "", fmt.Errorf("list analyses: %w", err)
	}
	defer rows.Close()
	var out []Analysis
	for rows.Next() {
		a, err := scanAnalysis(rows)
		if err != nil {
			return nil, "", fmt.Errorf("list analyses: %w", err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("list analyses: %w", err)
	}
	next := ""
	if len(out) > limit {
		out = out[:limit]
		last := out[limit-1]
		next = base64.RawURLEncoding.EncodeToString([]byte(fmt.Sprintf("a:%d:%s", last.CreatedAt.UnixNano(), last.ID)))
	}
	return out, next, nil
}

func decodeAnalysisToken(token string) (int64, string, error) {
	b, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		return 0, "", ErrBadPageToken
	}
	parts := strings.SplitN(string(b), ":", 3)
	if len(parts) != 3 || parts[0] != "a" {
		return 0, "", ErrBadPageToken
	}
	at, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil {
		return 0, "", ErrBadPageToken
	}
	return at, parts[2], nil
}

// CancelAnalysis cancels a pending or running analysis that createdBy
// created and returns it; a finished analysis is returned unchanged, and
// one another caller created is ErrNotOwner.
func (s *Store) CancelAnalysis(ctx context.Context, id, createdBy string) (Analysis, error) {
	res, err := s.exec(ctx, `UPDATE analyses SET status = ?, updated_at = ?, owner = '', lease_until = 0
		WHERE id = ? AND status IN (?, ?) AND created_by = ?`,
		string(StatusCanceled), s.now().UnixNano(), id, string(StatusPending), string(StatusRunning), createdBy)
	if err != nil {
		return Analysis{}, fmt.Errorf("cancel analysis %q: %w", id, err)
	}
	a, err := s.GetAnalysis(ctx, id)
	if err != nil {
		return a, err
	}
	if n, _ := res.RowsAffected(); n == 0 && !a.Status.Final() && a.CreatedBy != createdBy {
		return Analysis{}, fmt.Errorf("analysis %q: %w", id, ErrNotOwner)
	}
	return a, nil
}

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

// DeleteFinished deletes analyses that finished (succeeded, failed or
// cancelled) before the cutoff, batch rows per statement so that claims are
// never blocked for long, and returns how many it deleted.
func (s *Store) DeleteFinished(ctx context.Context, before time.Time, batch int) (int, error) {
	total := 0
	for {
		res, err := s.exec(ctx, `DELETE FROM analyses WHERE id IN (
			SELECT id FROM analyses WHERE status IN (?, ?, ?) AND updated_at < ? LIMIT ?)`,
			string(StatusSucceeded), string(StatusFailed), string(StatusCanceled), before.UnixNano(), batch)
		if err != nil {
			return total, fmt.Errorf("delete finished analyses: %w", err)
		}
		n, _ := res.RowsAffected()
		total += int(n)
		if int(n) < batch || ctx.Err() != nil {
			return total, ctx.Err()
		}
	}
}

// Outcome is how an analysis ended: a verdict (succeeded) or an error
// (failed), and the series it fetched, if any.
type Outcome struct {
	Verdict []byte // JSON; nil for a failure
	Series  []byte // JSON MetricSetPairList; nil when none was fetched
	Error   string
}

// RecordAnalysis stores an analysis judged synchronously (a deployer's
// webhook), finished with its outcome, so that it can be read back and
// reported like any other.
func (s *Store) RecordAnalysis(ctx context.Context, configName, application string, spec []byte, o Outcome) (Analysis, error) {
	id, err := newID()
	if err != nil {
		return Analysis{}, err
	}
	status := StatusSucceeded
	if o.Verdict == nil {
		status = StatusFailed
	}
	now := s.now()
	if _, err := s.exec(ctx, `INSERT INTO analyses (id, status, config_name, application, spec, verdict, series, error, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, id, string(status), configName, application, string(spec), string(o.Verdict), string(o.Series), o.Error,
		now.UnixNano(), now.UnixNano()); err != nil {
		return Analysis{}, fmt.Errorf("record analysis: %w", err)
	}
	return Analysis{ID: id, Status: status, ConfigName: configName, Spec: spec, Verdict: o.Verdict, Series: o.Series, Error: o.Error, CreatedAt: now, UpdatedAt: now}, nil
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

func newID() (string, error) {
	var b [12]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("new id: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
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

// ConfigVersions returns every stored version of the named config, newest
// first (ErrNotFound when there is none).
func (s *Store) ConfigVersions(ctx context.Context, name string) ([]Config, error) {
	rows, err := s.db.QueryContext(ctx, s.dialect.rebind(
		`SELECT version, body, updated_at FROM canary_config_versions WHERE name = ? ORDER BY version DESC`), name)
	if err != nil {
		return nil, fmt.Errorf("config versions %q: %w", name, err)
	}
	defer rows.Close()
	var out []Config
	for rows.Next() {
		var (
			c    = Config{Name: name}
			body string
			at   int64
		)
		if err := rows.Scan(&c.Version, &body, &at); err != nil {
			return nil, fmt.Errorf("config versions %q: %w", name, err)
		}
		c.Body, c.UpdatedAt = []byte(body), time.Unix(0, at)
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("config versions %q: %w", name, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("config %q: %w", name, ErrNotFound)
	}
	return out, nil
}
