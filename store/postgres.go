package store

import (
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
)

// openPostgres connects to PostgreSQL through pgx's database/sql driver.
func openPostgres(databaseURL string) (*Store, error) {
	db, err := sql.Open("pgx", databaseURL)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	db.SetMaxOpenConns(16)
	db.SetConnMaxIdleTime(5 * time.Minute)
	return &Store{
		db: db,
		dialect: dialect{
			name:       "postgres",
			rebind:     dollarPlaceholders,
			skipLocked: "FOR UPDATE SKIP LOCKED",
			// Replicas that start together take turns on the schema.
			lockMigrations:   "SELECT pg_advisory_lock(7428190133)",
			unlockMigrations: "SELECT pg_advisory_unlock(7428190133)",
			lockConfig:       "SELECT pg_advisory_xact_lock(7428, hashtext(?))",
			clock:            "CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000000000 AS BIGINT)",
			insertInWith:     true,
		},
		now: func() time.Time { return time.Now().UTC() },
	}, nil
}

// dollarPlaceholders rewrites '?' placeholders as $1, $2, … (the queries of
// this package hold no '?' inside string literals).
func dollarPlaceholders(q string) string {
	var b strings.Builder
	n := 0
	for _, r := range q {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}
