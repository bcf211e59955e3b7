package store

import (
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Config is a stored canary config.
type Config struct {
	Name      string
	Body      []byte // JSON
	Version   int64
	UpdatedAt time.Time
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
