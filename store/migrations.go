package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"strings"
)

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
