package store

import (
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"time"

	_ "modernc.org/sqlite" // registers the pure-Go "sqlite" driver
)

// openSQLite opens dataDir/judge.db. One connection serialises every
// statement, which also makes claims atomic without row locks; WAL and a
// busy timeout keep readers of other processes out of the way.
func openSQLite(dataDir string) (*Store, error) {
	if dataDir == "" {
		return nil, fmt.Errorf("sqlite: data directory not set")
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("sqlite: create data directory: %w", err)
	}
	path := filepath.Join(dataDir, "judge.db")
	// A data directory that held a database (its marker says so) but has
	// none now lost it: starting empty would silently drop every config,
	// sequence and verdict.
	marker := filepath.Join(dataDir, createdMarker)
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		if _, merr := os.Stat(marker); merr == nil {
			return nil, fmt.Errorf("sqlite: %s is missing, but %s held a database (%s says so): restore the file, or delete the marker to start with an empty database", path, dataDir, createdMarker)
		}
	}
	// The database holds configs and verdicts: readable by its owner only.
	// SQLite creates the -wal and -shm files with the database's mode.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("sqlite: create database file: %w", err)
	}
	info, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("sqlite: create database file: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("sqlite: create database file: %w", err)
	}
	if err := os.WriteFile(marker, []byte("judge.db was created here; judge refuses to start without it\n"), 0o600); err != nil {
		return nil, fmt.Errorf("sqlite: write %s: %w", marker, err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		return nil, fmt.Errorf("sqlite: restrict database file: %w", err)
	}
	q := url.Values{}
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "busy_timeout(5000)")
	q.Add("_pragma", "synchronous(NORMAL)")
	// Write transactions take the write lock at BEGIN, so two handles on one
	// file wait for each other (busy_timeout) instead of failing to upgrade.
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("sqlite %s: %w", path, err)
	}
	db.SetMaxOpenConns(1)
	return &Store{
		db: db,
		// One connection serialises config versions; the clock is the
		// machine's, the only replica's.
		dialect: dialect{name: "sqlite", rebind: func(q string) string { return q },
			clock: "CAST(unixepoch('subsec') * 1000000000 AS INTEGER)"},
		now:  func() time.Time { return time.Now().UTC() },
		file: path, fileInfo: info,
	}, nil
}

// createdMarker, in a data directory, records that it held a database.
const createdMarker = "judge.db.created"
